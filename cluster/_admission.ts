/**
 * How a listening coordinator lets connections in: each must authenticate (auth.ts) and then
 * send its first message, each within the handshake timeout, and at most
 * `unauthenticatedConnectionsMax` may be authenticating at once. A connection past that bound
 * evicts the oldest one still authenticating, if that one has had EVICTABLE_AFTER_MS to do it;
 * else the newcomer itself is turned away. Either is told that the coordinator is busy, and
 * clients try again (auth.ts, connectAuthenticated). A real peer authenticates in one round trip,
 * so under a flood it gets through: it takes the slot of a stranger that had its chance, and
 * keeps it long enough to finish; strangers cannot hold the slots for longer than that.
 *
 * @module
 */

import { acceptAuthenticated, refuseBusy } from "./auth.ts";
import type { ClusterLimits } from "./limits.ts";
import { LogLimiter } from "./_log_limiter.ts";
import type { Connection } from "./transport.ts";

type Message = { readonly t: string; readonly [key: string]: unknown };

/**
 * How long a connection may authenticate before a newcomer can take its slot: one round trip
 * and two HMACs, with room for a machine under load.
 */
const EVICTABLE_AFTER_MS = 250;

/** What admission needs from its coordinator. */
export interface AdmissionOptions {
  readonly secret: string;
  readonly limits: Pick<ClusterLimits, "handshakeTimeoutMs" | "unauthenticatedConnectionsMax">;
  /** Where lines go; those about strangers, a few a second of each kind at most. */
  readonly log: (line: string) => void;
  /** Gets each connection's first message after authentication; it owns the connection then. */
  readonly onFirstMessage: (connection: Connection, message: Message) => void;
}

/** A connection still authenticating: how to evict it, and since when it tries. */
interface Pending {
  readonly eviction: AbortController;
  readonly sinceMs: number;
}

/**
 * The gate in front of a coordinator.
 *
 * @example
 * ```ts ignore
 * const admission = new Admission({ secret, limits, log, onFirstMessage });
 * await transport.listen(host, port, (connection) => admission.admit(connection));
 * ```
 */
export class Admission {
  readonly #options: AdmissionOptions;
  readonly #refusals: LogLimiter;
  /** Connections still authenticating, oldest first (a Map keeps insertion order). */
  readonly #authenticating = new Map<Connection, Pending>();
  #closed = false;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#refusals = new LogLimiter(options.log);
  }

  /** Connections still authenticating now. */
  get authenticating(): number {
    return this.#authenticating.size;
  }

  /** Takes a new connection: authentication, then its first message, each within the timeout. */
  admit(connection: Connection): void {
    if (this.#closed) return connection.close("the coordinator is shutting down");
    const { unauthenticatedConnectionsMax, handshakeTimeoutMs } = this.#options.limits;
    if (this.#authenticating.size >= unauthenticatedConnectionsMax) {
      const full = `${unauthenticatedConnectionsMax} connections were authenticating at once ` +
        `(unauthenticatedConnectionsMax)`;
      const [oldest, pending] = this.#authenticating.entries().next().value!;
      if (performance.now() - pending.sinceMs < EVICTABLE_AFTER_MS) {
        this.#refusals.line(`cluster: refused connection from ${connection.remote}: busy: ${full}`);
        return refuseBusy(connection, `busy: ${full}, none for long enough to be evicted`);
      }
      this.#authenticating.delete(oldest);
      pending.eviction.abort(`evicted: ${full}, and this was the oldest`);
    }
    const eviction = new AbortController();
    this.#authenticating.set(connection, { eviction, sinceMs: performance.now() });
    void acceptAuthenticated(connection, {
      secret: this.#options.secret,
      timeoutMs: handshakeTimeoutMs,
      log: (line) => this.#refusals.line(line),
      signal: eviction.signal,
    }).then((authenticated) => {
      this.#authenticating.delete(connection);
      if (authenticated === undefined) return;
      if (this.#closed) return authenticated.close("the coordinator is shutting down");
      this.#awaitFirstMessage(authenticated, handshakeTimeoutMs);
    });
  }

  /** Refuses every new connection and closes those still authenticating. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#authenticating.keys()) {
      connection.close("the coordinator is shutting down");
    }
    this.#authenticating.clear();
    this.#refusals.dispose();
  }

  #awaitFirstMessage(connection: Connection, timeoutMs: number): void {
    const timer = setTimeout(() => {
      const why = `no first message within ${timeoutMs} ms of authenticating ` +
        `(handshakeTimeoutMs)`;
      connection.close(why);
    }, timeoutMs);
    connection.onClose = (reason) => {
      clearTimeout(timer);
      // Not limited: this peer knows the secret, so it is a bug or a man in the middle.
      this.#options.log(
        `cluster: connection from ${connection.remote} closed before its first message: ${reason}`,
      );
    };
    connection.onMessage = (message) => {
      clearTimeout(timer);
      // Handed over: what follows waits for the owner's handler.
      connection.onMessage = undefined;
      connection.onClose = undefined;
      this.#options.onFirstMessage(connection, message);
    };
  }
}
