/**
 * How a listening coordinator lets connections in: each must authenticate (auth.ts) and then
 * send its first message, each within the handshake timeout, and at most
 * `unauthenticatedConnectionsMax` may be authenticating at once. A connection past that bound
 * evicts the oldest one still authenticating, telling it that the coordinator is busy; clients
 * try again (auth.ts, connectAuthenticated). A real peer authenticates in one round trip, so
 * under a flood it is the newest connections, not the ones holding slots, that get through.
 * (Protecting a connection from eviction for its first 250 ms, and turning newcomers away
 * instead, let fewer real peers through a flood of 1,000 connections a second: measured with
 * scripts/bench/cluster_hostile.ts, 2 to 4 failed status requests in 500 against none.)
 *
 * @module
 */

import { acceptAuthenticated } from "./auth.ts";
import type { ClusterLimits } from "./limits.ts";
import { LogLimiter } from "./_log_limiter.ts";
import type { Connection } from "./transport.ts";

type Message = { readonly t: string; readonly [key: string]: unknown };

/** What admission needs from its coordinator. */
export interface AdmissionOptions {
  readonly secret: string;
  readonly limits: Pick<ClusterLimits, "handshakeTimeoutMs" | "unauthenticatedConnectionsMax">;
  /** Where lines go; those about strangers, a few a second of each kind at most. */
  readonly log: (line: string) => void;
  /** Gets each connection's first message after authentication; it owns the connection then. */
  readonly onFirstMessage: (connection: Connection, message: Message) => void;
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
  readonly #authenticating = new Map<Connection, AbortController>();
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
      const [oldest, eviction] = this.#authenticating.entries().next().value!;
      this.#authenticating.delete(oldest);
      eviction.abort(
        `evicted: ${unauthenticatedConnectionsMax} connections were authenticating at once ` +
          `(unauthenticatedConnectionsMax), and this was the oldest`,
      );
    }
    const eviction = new AbortController();
    this.#authenticating.set(connection, eviction);
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
