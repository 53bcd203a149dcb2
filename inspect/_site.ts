/**
 * The inspector's routes, the same for the run and the cluster inspector:
 * static files (the page, its script, styles and chart library, all held in
 * the code so that the compiled binary carries them), the live stream at
 * `/stream`, and API routes, each checked by the guard for what it needs
 * (page, read or control) before it runs. Every answer forbids caching and
 * framing; the page's content security policy allows only its own scripts.
 *
 * @module
 */

import { type Guard, type Need, refuse } from "./_guard.ts";
import type { HttpHandler } from "./http.ts";
import type { LiveStream } from "./_stream.ts";

/** Bytes a request body may have (control requests are a few dozen). */
export const REQUEST_BODY_BYTES_MAX = 4096;

/** A static file. */
export interface Asset {
  readonly contentType: string;
  readonly body: string;
}

/** An API route. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly need: Need;
  /** Answers; `body` is the request's text (empty for GET). */
  handle(url: URL, body: string): Response | Promise<Response>;
}

/** What one inspector serves. */
export interface Site {
  readonly assets: Readonly<Record<string, Asset>>;
  readonly stream: LiveStream;
  readonly routes: Readonly<Record<string, Route>>;
  /** A route's error that is the request's fault (400); others are the inspector's (500). */
  readonly isBadRequest: (error: unknown) => boolean;
}

const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

const PAGE_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The request handler of `site` under `guard`.
 *
 * @example
 * ```ts ignore
 * const server = await serveHttp(host, port, siteHandler(site, new Guard(host, token)));
 * ```
 */
export function siteHandler(site: Site, guard: Guard): HttpHandler {
  return async (request) => {
    const url = new URL(request.url);
    const asset = site.assets[url.pathname];
    if (asset !== undefined) {
      return guard.check(request, "page") ?? new Response(asset.body, {
        headers: {
          ...COMMON_HEADERS,
          "content-type": asset.contentType,
          "content-security-policy": PAGE_POLICY,
        },
      });
    }
    if (url.pathname === "/stream") return guard.check(request, "read") ?? site.stream.open();
    if (url.pathname === "/favicon.ico") return new Response(null, { status: 204 });
    const route = site.routes[url.pathname];
    if (route === undefined) return refuse(404, `no ${url.pathname} here; open / for the page`);
    if (request.method !== route.method) {
      return refuse(405, `${url.pathname} takes ${route.method}, not ${request.method}`);
    }
    const refusal = guard.check(request, route.need);
    if (refusal !== undefined) return refusal;
    try {
      const body = route.method === "POST" ? await boundedBody(request) : "";
      const response = await route.handle(url, body);
      for (const [name, value] of Object.entries(COMMON_HEADERS)) {
        response.headers.set(name, value);
      }
      return response;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return refuse(site.isBadRequest(error) ? 400 : 500, message);
    }
  };
}

/** The request's body as text, refused past REQUEST_BODY_BYTES_MAX. */
async function boundedBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  const tooLong = new BodyTooLong(
    `a request body may have at most ${REQUEST_BODY_BYTES_MAX} bytes`,
  );
  if (declared > REQUEST_BODY_BYTES_MAX) throw tooLong;
  const text = await request.text();
  if (text.length > REQUEST_BODY_BYTES_MAX) throw tooLong;
  return text;
}

/** A request body over the bound (a 400). */
export class BodyTooLong extends Error {
  override name = "BodyTooLong";
}
