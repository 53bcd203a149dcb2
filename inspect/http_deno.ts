/**
 * The inspector's HTTP server on Deno: `Deno.serve`. Only Deno loads this
 * file (see `http.ts`).
 *
 * @module
 */

import type { HttpHandler, HttpServer } from "./http.ts";

/**
 * Serves `handler` with Deno.serve.
 *
 * @example
 * ```ts ignore
 * import { denoHttpServer } from "./http_deno.ts";
 * const server = await denoHttpServer("127.0.0.1", 0, () => new Response("hi"));
 * await server.close();
 * ```
 */
export function denoHttpServer(
  host: string,
  port: number,
  handler: HttpHandler,
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const abort = new AbortController();
    try {
      const server = Deno.serve({
        hostname: host,
        port,
        signal: abort.signal,
        onListen: () => {},
        onError: (error) =>
          new Response(`inspector error: ${(error as Error).message}\n`, { status: 500 }),
      }, (request) => handler(request));
      const address = server.addr as Deno.NetAddr;
      resolve({
        host: address.hostname,
        port: address.port,
        async close() {
          abort.abort();
          await server.finished;
        },
      });
    } catch (error) {
      reject(error);
    }
  });
}
