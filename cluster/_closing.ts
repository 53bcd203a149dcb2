/**
 * How a coordinator (leader or standby) lets a connection go after its last message: a side that
 * closes with unread bytes resets the connection, and the peer may lose what it had not read yet
 * (a refusal, a status, a shutdown). So the peer is given CLOSE_GRACE_MS to read it first.
 *
 * @module
 */

import type { Connection } from "./transport.ts";

/** How long a peer has to read its last message (or to close its end) before the close. */
export const CLOSE_GRACE_MS = 2_000;

/**
 * Resolves when `promise` does, or after `ms`, whichever comes first; never rejects on a
 * deadline.
 *
 * @example
 * ```ts
 * import { withDeadline } from "./_closing.ts";
 * await withDeadline(new Promise<void>(() => {}), 10); // resolves after 10 ms
 * ```
 */
export function withDeadline(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Closes `connection` with `why` once what was queued for it has gone out, or after
 * CLOSE_GRACE_MS.
 *
 * @example
 * ```ts ignore
 * send(connection, { t: "error", message: why });
 * closeWhenSent(connection, why);
 * ```
 */
export function closeWhenSent(connection: Connection, why: string): void {
  void withDeadline(connection.drained(), CLOSE_GRACE_MS).then(() => connection.close(why));
}
