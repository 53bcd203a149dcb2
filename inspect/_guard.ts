/**
 * Who may do what with an inspector. A random token is made at start and
 * printed once on stderr. Bound to a loopback address (the default), the
 * page and its read-only data are open to the machine's own users, and a
 * control request (pause, step, resume, pace) must carry the token. Bound to
 * any other address, every request for data or control must carry it; only
 * the page's static files, which hold no data, are served without it. The
 * token travels in an `Authorization: Bearer` header, never in a URL the
 * server sees (the page reads it from its address's `#token=` fragment), so
 * it is not logged, and a header cannot be forged across sites without a
 * preflight the inspector never grants. A loopback inspector also refuses
 * requests whose Host header names anything but a loopback address: a web
 * page elsewhere cannot reach it by pointing a domain of its own at 127.0.0.1.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";

/** Random bytes in a token (shown as twice as many hex digits). */
export const TOKEN_BYTES = 16;

/** What a request asks for. */
export type Need = "page" | "read" | "control";

/**
 * A new token: TOKEN_BYTES random bytes as hex.
 *
 * @example
 * ```ts
 * import { newToken } from "./_guard.ts";
 * newToken().length; // 32
 * ```
 */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * True for a loopback host: 127.0.0.0/8, ::1 or localhost.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./_guard.ts";
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0"); // false
 * ```
 */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare) ||
    bare === "::ffff:127.0.0.1";
}

/**
 * Decides each request against the token and the address the inspector is bound to.
 *
 * @example
 * ```ts
 * import { Guard } from "./_guard.ts";
 * const guard = new Guard("127.0.0.1", "0123");
 * const refusal = guard.check(new Request("http://127.0.0.1:7477/api/control"), "control");
 * refusal?.status; // 401
 * ```
 */
export class Guard {
  /** The inspector is bound to a loopback address. */
  readonly loopback: boolean;
  private readonly token: Uint8Array;

  constructor(boundHost: string, token: string) {
    this.loopback = isLoopback(boundHost);
    this.token = new TextEncoder().encode(token);
  }

  /** A refusal for `request`, or undefined if it may go on. */
  check(request: Request, need: Need): Response | undefined {
    if (this.loopback) {
      const host = hostOf(request);
      if (!isLoopback(host)) {
        return refuse(
          403,
          `this inspector listens on a loopback address and answers requests for it only; ` +
            `open it as http://127.0.0.1:<port>/ (the request named host ${host})`,
        );
      }
    }
    if (need === "page" || (need === "read" && this.loopback)) return undefined;
    if (this.tokenMatches(request)) return undefined;
    const what = need === "control"
      ? "pausing, stepping, resuming and pacing need"
      : "an inspector bound to a non-loopback address shows its data only with";
    return refuse(
      401,
      `${what} the token printed when it started: send the header ` +
        `"Authorization: Bearer <token>" (the page does, once opened with #token=<token> at ` +
        `the end of its address)`,
    );
  }

  private tokenMatches(request: Request): boolean {
    const header = request.headers.get("authorization") ?? "";
    const given = new TextEncoder().encode(header.replace(/^Bearer\s+/i, "").trim());
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}

/** The host a request was sent to, from its Host header (or URL), without the port. */
function hostOf(request: Request): string {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host);
  return match === null ? host : match[1];
}

/**
 * A JSON error response: `{ "error": message }`.
 *
 * @example
 * ```ts
 * import { refuse } from "./_guard.ts";
 * const response = refuse(400, "bad handle");
 * ```
 */
export function refuse(status: number, message: string): Response {
  return Response.json({ error: message }, {
    status,
    headers: { "cache-control": "no-store" },
  });
}
