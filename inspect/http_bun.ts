/**
 * The inspector's HTTP server on Bun: `Bun.serve` with the idle timeout off,
 * since the live stream is one long response. Only Bun loads this file (see
 * `http.ts`).
 *
 * @module
 */

import type { HttpHandler, HttpServer } from "./http.ts";

// The part of Bun's server API used here, declared because `deno check` has no Bun types.

interface BunServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

interface BunServeOptions {
  hostname: string;
  port: number;
  /** Seconds a connection may stay silent; 0 turns the limit off. */
  idleTimeout: number;
  fetch(request: Request): Response | Promise<Response>;
  error(error: Error): Response;
}

function bun(): { serve(options: BunServeOptions): BunServer } {
  return (globalThis as unknown as { Bun: { serve(options: BunServeOptions): BunServer } }).Bun;
}

/**
 * Serves `handler` with Bun.serve.
 *
 * @example
 * ```ts ignore
 * import { bunHttpServer } from "./http_bun.ts";
 * const server = await bunHttpServer("127.0.0.1", 0, () => new Response("hi"));
 * await server.close();
 * ```
 */
export function bunHttpServer(
  host: string,
  port: number,
  handler: HttpHandler,
): Promise<HttpServer> {
  // The executor turns a synchronous throw of Bun.serve (address in use) into a rejection.
  return new Promise((resolve) => {
    const server = bun().serve({
      hostname: host,
      port,
      // The stream sends at least every sampling interval, but a paused page must not be cut.
      idleTimeout: 0,
      fetch: handler,
      error: (error) => new Response(`inspector error: ${error.message}\n`, { status: 500 }),
    });
    resolve({
      host: server.hostname,
      port: server.port,
      async close() {
        await server.stop(true);
      },
    });
  });
}
