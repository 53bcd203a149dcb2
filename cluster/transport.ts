/**
 * What every cluster transport provides: listening, connecting, and connections that carry
 * messages (objects with a string `t`) as length-prefixed msgpackr frames, with bounds on frame
 * size, decoding work and the bytes queued for sending.
 *
 * A connection starts in its handshake: until `startSession` is called (by auth.ts, once both
 * sides have proved the shared secret), a received frame may be at most `handshakeFrameBytesMax`
 * bytes and all received bytes at most `handshakeBytesMax`, so a stranger costs a few kilobytes.
 * After it, every frame carries a MAC with a sequence number (_session.ts) and may be up to
 * `frameBytesMax`. A peer past a bound is disconnected.
 *
 * Delivery: a connection buffers received frames while `onMessage` is unset and delivers them,
 * in order, on a microtask after a handler is set. So a handler attached right after `connect`
 * or `listen`'s callback (or after another owner, such as authentication, hands the connection
 * over by unsetting its handler) loses nothing. Frames are checked and decoded as they are
 * delivered, so a session started by one message's handler covers every frame after it. The
 * buffer is bounded by `queuedBytesMax` of frame bytes; a peer that overflows it is disconnected.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";
import { type ClusterLimits, DEFAULT_CLUSTER_LIMITS, resolveClusterLimits } from "./limits.ts";
import type { SessionKeys } from "./_session.ts";

/**
 * The bounds of one connection: the transport's part of the cluster limits (limits.ts).
 *
 * @example
 * ```ts
 * import { resolveLimits, type TransportLimits } from "./transport.ts";
 * const limits: TransportLimits = resolveLimits({ frameBytesMax: 1024 * 1024 });
 * limits.frameBytesMax; // 1048576
 * limits.queuedBytesMax; // 268435456: the default
 * ```
 */
export type TransportLimits = Pick<
  ClusterLimits,
  | "frameBytesMax"
  | "queuedBytesMax"
  | "handshakeFrameBytesMax"
  | "handshakeBytesMax"
  | "frameElementsMax"
>;

/** The keys of TransportLimits. */
const TRANSPORT_LIMIT_KEYS = [
  "frameBytesMax",
  "queuedBytesMax",
  "handshakeFrameBytesMax",
  "handshakeBytesMax",
  "frameElementsMax",
] as const satisfies readonly (keyof TransportLimits)[];

/**
 * The limits a transport uses where none are given (limits.ts's defaults): 64 MiB frames,
 * 256 MiB queued, 1 KiB frames and 4 KiB in all before authentication, 2^20 values a frame.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from "./transport.ts";
 * DEFAULT_LIMITS.frameBytesMax; // 67108864
 * ```
 */
export const DEFAULT_LIMITS: TransportLimits = transportLimitsOf(DEFAULT_CLUSTER_LIMITS);

/**
 * Limits for a connection that will never authenticate (tests and benchmarks of the bare
 * transport): the handshake bounds are as wide as the session's.
 *
 * @example
 * ```ts
 * import { UNAUTHENTICATED_LIMITS } from "./transport.ts";
 * UNAUTHENTICATED_LIMITS.handshakeFrameBytesMax; // 67108864
 * ```
 */
export const UNAUTHENTICATED_LIMITS: Partial<TransportLimits> = {
  handshakeFrameBytesMax: DEFAULT_LIMITS.frameBytesMax,
  handshakeBytesMax: Number.MAX_SAFE_INTEGER,
};

/**
 * One end of a message stream to a peer.
 *
 * @example
 * ```ts ignore
 * connection.onMessage = (message) => console.log(message.t);
 * connection.send({ t: "ping" });
 * await connection.drained();
 * connection.close("done");
 * ```
 */
export interface Connection {
  /** "host:port" of the peer. */
  readonly remote: string;
  /**
   * Encodes and sends one message (an object with a string `t`). Queues what the socket does
   * not take at once; throws ClusterError if the queue would pass queuedBytesMax (nothing is
   * sent then) or if the connection is closed.
   */
  send(message: { readonly t: string; readonly [key: string]: unknown }): void;
  /** Bytes accepted by send but not yet written to the socket. */
  readonly queuedBytes: number;
  /** Resolves when every queued byte is written (or the connection closed). */
  drained(): Promise<void>;
  /**
   * Closes at once, dropping what is still queued (await `drained()` first to flush it);
   * onClose fires once with the reason. Idempotent.
   */
  close(reason?: string): void;
  readonly closed: boolean;
  /**
   * Ends the handshake: from the next frame on, every frame sent carries a MAC under
   * `keys.send` and every frame received must carry one under `keys.receive` (or the connection
   * closes), and received frames may be up to `frameBytesMax`. The client side then keeps at most
   * a window (32 KB, more in bulk transfers) written and unacknowledged, and the server side
   * acknowledges what it reads (_flow.ts says why). auth.ts calls it on both sides right after `auth_ok`; once only.
   */
  startSession(keys: SessionKeys, side: "client" | "server"): void;
  /** True once `startSession` has been called. */
  readonly authenticated: boolean;
  /**
   * Each decoded message, in order. A frame error closes this connection only, with the error
   * as the reason. Messages that arrive while this is unset are kept and delivered, on a
   * microtask, once it is set. A handler that throws closes the connection with the error.
   */
  onMessage:
    | ((message: { readonly t: string; readonly [key: string]: unknown }) => void)
    | undefined;
  /**
   * Called once with the close reason, after the messages received before the close have been
   * delivered. Set after the close, it is still called (on a microtask).
   */
  onClose: ((reason: string) => void) | undefined;
}

/**
 * A listening socket. `close` stops accepting; connections already accepted stay open (their
 * owner closes them).
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./memory_transport.ts";
 * import type { Listener } from "./transport.ts";
 * const listener: Listener = await new MemoryTransport().listen("memory", 0, (connection) => {
 *   connection.close("not now");
 * });
 * listener.port > 0; // true: port 0 asks for a free one
 * await listener.close();
 * ```
 */
export interface Listener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A way to reach peers: TCP on Bun or Deno (`tcpTransport()`), or memory for tests.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./memory_transport.ts";
 * const transport = new MemoryTransport();
 * const listener = await transport.listen("127.0.0.1", 0, (connection) => {
 *   connection.onMessage = (message) => connection.send({ t: "pong", to: message.t });
 * });
 * const client = await transport.connect(listener.host, listener.port);
 * client.send({ t: "ping" });
 * client.close();
 * await listener.close();
 * ```
 */
export interface Transport {
  readonly name: string;
  /** port 0 picks a free port; Listener.port says which. */
  listen(
    host: string,
    port: number,
    onConnection: (connection: Connection) => void,
    limits?: Partial<TransportLimits>,
  ): Promise<Listener>;
  connect(host: string, port: number, limits?: Partial<TransportLimits>): Promise<Connection>;
}

/**
 * Fills in DEFAULT_LIMITS and checks each value against its range in limits.ts; throws
 * ClusterLimitError naming the key.
 *
 * @example
 * ```ts
 * import { resolveLimits } from "./transport.ts";
 * resolveLimits({ frameBytesMax: 1024 }).queuedBytesMax; // 268435456
 * ```
 */
export function resolveLimits(limits: Partial<TransportLimits> = {}): TransportLimits {
  return transportLimitsOf(resolveClusterLimits(limits, false));
}

/** The transport's part of a set of cluster limits. */
export function transportLimitsOf(limits: TransportLimits): TransportLimits {
  const out: Partial<Record<keyof TransportLimits, number>> = {};
  for (const key of TRANSPORT_LIMIT_KEYS) out[key] = limits[key];
  return Object.freeze(out as TransportLimits);
}

/**
 * Splits "host:port" ("127.0.0.1:7000", "[::1]:7000", "localhost:7000"); throws ClusterError
 * naming the expected form otherwise. The brackets of an IPv6 host are removed.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./transport.ts";
 * parseHostPort("[::1]:7000"); // { host: "::1", port: 7000 }
 * ```
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):([0-9]{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) {
    throw new ClusterError(
      `bad address ${JSON.stringify(text)}: expected host:port with a port from 0 to 65535, ` +
        `such as 127.0.0.1:7000, [::1]:7000 or localhost:7000 (an IPv6 host goes in brackets)`,
    );
  }
  return { host: match[1] ?? match[2], port };
}

/**
 * Formats a host and port as "host:port", bracketing an IPv6 host (the inverse of parseHostPort).
 *
 * @example
 * ```ts
 * import { formatHostPort } from "./transport.ts";
 * formatHostPort("::1", 7000); // "[::1]:7000"
 * ```
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** How long `connect` waits for the TCP handshake before giving up. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The ClusterError for a failed connect, naming the address and what to check.
 *
 * @example
 * ```ts
 * import { connectError } from "./transport.ts";
 * connectError("127.0.0.1", 1, new Error("refused")).message.startsWith("connect to"); // true
 * ```
 */
export function connectError(host: string, port: number, cause: unknown): ClusterError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ClusterError(
    `connect to ${formatHostPort(host, port)} failed: ${why}; check that the coordinator ` +
      `(staticecs cluster coordinator) listens there and that the address is right`,
    { cause },
  );
}

/**
 * The ClusterError for a failed listen, naming the address and what to check.
 *
 * @example
 * ```ts
 * import { listenError } from "./transport.ts";
 * listenError("127.0.0.1", 80, new Error("in use")).message.startsWith("listen on"); // true
 * ```
 */
export function listenError(host: string, port: number, cause: unknown): ClusterError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ClusterError(
    `listen on ${formatHostPort(host, port)} failed: ${why}; pick a free port (0 picks one) ` +
      `or stop what holds this one`,
    { cause },
  );
}
