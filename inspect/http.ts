/**
 * The inspector's HTTP server, on the runtime this code runs on: the
 * inspector is written once against web standards (a handler from `Request`
 * to `Response`, a `ReadableStream` body for the live stream), and each
 * runtime gets a small adapter that serves it (`http_bun.ts` over
 * `Bun.serve`, `http_deno.ts` over `Deno.serve`). Both adapters are imported
 * statically: each touches its runtime's global only when called.
 *
 * @module
 */

import { bunHttpServer } from "./http_bun.ts";
import { denoHttpServer } from "./http_deno.ts";
import { hostName } from "../core/_host.ts";

/** Answers one request. */
export type HttpHandler = (request: Request) => Response | Promise<Response>;

/** A listening server. */
export interface HttpServer {
  /** The address it listens on, as bound (a port of 0 becomes the port the system picked). */
  readonly host: string;
  readonly port: number;
  /** Stops listening and ends open connections (streams included). */
  close(): Promise<void>;
}

/**
 * Serves `handler` on host:port with the runtime's own server; rejects if the
 * address cannot be bound.
 *
 * @example
 * ```ts
 * import { serveHttp } from "./http.ts";
 * const server = await serveHttp("127.0.0.1", 0, () => new Response("hello"));
 * const text = await (await fetch(`http://127.0.0.1:${server.port}/`)).text(); // "hello"
 * await server.close();
 * ```
 */
export function serveHttp(host: string, port: number, handler: HttpHandler): Promise<HttpServer> {
  const runtime = hostName();
  if (runtime === "bun") return bunHttpServer(host, port, handler);
  if (runtime === "deno") return denoHttpServer(host, port, handler);
  return Promise.reject(
    new Error("the inspector serves on Bun or Deno; start staticecs with `bun` or `deno run -A`"),
  );
}
