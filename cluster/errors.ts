/**
 * The one error type of the cluster layer.
 *
 * @module
 */

/**
 * A cluster failure a user or a peer caused: a bad address, a missing secret, a frame over the
 * size bound, a closed connection. Each message names what was wrong and how to fix it.
 *
 * @example
 * ```ts
 * import { ClusterError } from "./errors.ts";
 * const error = new ClusterError("no cluster secret: pass --secret or set STATICECS_SECRET");
 * error.name; // "ClusterError"
 * ```
 */
export class ClusterError extends Error {
  /** Wraps `message` (and an optional cause) as a ClusterError. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterError";
  }
}

/**
 * A coordinator turned this connection away before authenticating it because too many were
 * authenticating at once (a flood); trying again shortly is the answer.
 *
 * @example
 * ```ts
 * import { ClusterBusyError, ClusterError } from "./errors.ts";
 * new ClusterBusyError("evicted") instanceof ClusterError; // true
 * ```
 */
export class ClusterBusyError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterBusyError";
  }
}
