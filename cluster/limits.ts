/**
 * Every bound of a cluster in one table, with its default: the settings a coordinator gives its
 * members (partitions, heartbeats, checkpoints), how long a stranger may take to authenticate and
 * how many may try at once, and what one connection may send. The coordinator, the member, the
 * transports, the protocol checks and the CLI all read them here; none writes a bound of its own.
 *
 * Errors name the option key (`heartbeatIntervalMs`); the CLI renders the same error with its
 * flag (`--heartbeat-ms`) through {@linkcode ClusterLimitError.render}.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";

/** The largest payload a frame's 4-byte length prefix can declare. */
export const FRAME_PAYLOAD_BYTES_LIMIT = 0xffff_ffff;

/**
 * Bounds and settings of a cluster, of one coordinator, and of each of its connections.
 *
 * @example
 * ```ts
 * import { type ClusterLimits, resolveClusterLimits } from "./limits.ts";
 * const limits: ClusterLimits = resolveClusterLimits({ partitions: 16, heartbeatIntervalMs: 100 });
 * limits.failureTimeoutMs; // 400: four heartbeat intervals
 * limits.leaseMs; // 1000: the default
 * ```
 */
export interface ClusterLimits {
  /** Partitions the world is split into (a coordinator's required setting). */
  readonly partitions: number;
  /** How often members send heartbeats. */
  readonly heartbeatIntervalMs: number;
  /** Silence, counted while the coordinator itself runs, after which a member is failed. */
  readonly failureTimeoutMs: number;
  /**
   * How long a member that joined may take to start (its runtime made, and setup run on the first
   * member) before its first heartbeat: until then heartbeats cannot come, and silence is not
   * held against it.
   */
  readonly startTimeoutMs: number;
  /** Ticks between a member's checkpoints. */
  readonly checkpointEveryTicks: number;
  /** How long a connection may take to authenticate, and then to send its first message. */
  readonly handshakeTimeoutMs: number;
  /** Connections still authenticating at once; one more evicts the oldest. */
  readonly unauthenticatedConnectionsMax: number;
  /** Log entries (transfers) a member may accumulate between checkpoints before it is failed. */
  readonly memberLogEntriesMax: number;
  /** The largest frame (payload and MAC) an authenticated peer may send or be sent. */
  readonly frameBytesMax: number;
  /** Bytes queued for sending, and received bytes buffered undelivered, per connection. */
  readonly queuedBytesMax: number;
  /** The largest frame a peer may send before it has authenticated (the handshake's are ~150). */
  readonly handshakeFrameBytesMax: number;
  /** Bytes a peer may send in all before it has authenticated. */
  readonly handshakeBytesMax: number;
  /** MessagePack values (map keys included) one frame may hold: bounds the work of decoding it. */
  readonly frameElementsMax: number;
  /**
   * The leader lease of coordinators sharing a store: renewed every third of it, and a standby
   * takes over once it has expired, so a leader killed is replaced within about this long.
   */
  readonly leaseMs: number;
  /** How long a member that lost its coordinator keeps running and looking for one. */
  readonly coordinatorGraceMs: number;
}

/**
 * A key of the table.
 *
 * @example
 * ```ts
 * import { CLUSTER_LIMIT_RANGES, type ClusterLimitKey } from "./limits.ts";
 * const key: ClusterLimitKey = "heartbeatIntervalMs";
 * CLUSTER_LIMIT_RANGES[key]; // [10, 60000]
 * ```
 */
export type ClusterLimitKey = keyof ClusterLimits;

/** The least and the greatest value a key accepts. */
export type LimitRange = readonly [low: number, high: number];

/**
 * The range of every key, checked by {@linkcode resolveClusterLimits}.
 *
 * @example
 * ```ts
 * import { CLUSTER_LIMIT_RANGES } from "./limits.ts";
 * CLUSTER_LIMIT_RANGES.partitions; // [1, 4096]
 * ```
 */
export const CLUSTER_LIMIT_RANGES: Readonly<Record<ClusterLimitKey, LimitRange>> = Object.freeze({
  partitions: [1, 4096],
  heartbeatIntervalMs: [10, 60_000],
  failureTimeoutMs: [20, 600_000],
  startTimeoutMs: [100, 86_400_000],
  checkpointEveryTicks: [1, 1 << 20],
  handshakeTimeoutMs: [10, 600_000],
  unauthenticatedConnectionsMax: [1, 1 << 16],
  memberLogEntriesMax: [1, 1 << 24],
  frameBytesMax: [256, FRAME_PAYLOAD_BYTES_LIMIT],
  queuedBytesMax: [1024, Number.MAX_SAFE_INTEGER],
  handshakeFrameBytesMax: [256, FRAME_PAYLOAD_BYTES_LIMIT],
  handshakeBytesMax: [256, Number.MAX_SAFE_INTEGER],
  frameElementsMax: [16, 1 << 24],
  leaseMs: [100, 600_000],
  coordinatorGraceMs: [100, 86_400_000],
});

/**
 * The defaults. `partitions` has none (a coordinator must say), and `failureTimeoutMs` defaults
 * to FAILURE_TIMEOUT_HEARTBEATS heartbeat intervals.
 *
 * @example
 * ```ts
 * import { DEFAULT_CLUSTER_LIMITS } from "./limits.ts";
 * DEFAULT_CLUSTER_LIMITS.heartbeatIntervalMs; // 500
 * ```
 */
export const DEFAULT_CLUSTER_LIMITS: Readonly<
  Omit<ClusterLimits, "partitions" | "failureTimeoutMs">
> = Object.freeze({
  heartbeatIntervalMs: 500,
  startTimeoutMs: 60_000,
  checkpointEveryTicks: 60,
  handshakeTimeoutMs: 5_000,
  unauthenticatedConnectionsMax: 64,
  memberLogEntriesMax: 65_536,
  frameBytesMax: 64 * 1024 * 1024,
  queuedBytesMax: 256 * 1024 * 1024,
  handshakeFrameBytesMax: 1024,
  handshakeBytesMax: 4096,
  frameElementsMax: 1 << 20,
  leaseMs: 1_000,
  coordinatorGraceMs: 10_000,
});

/** The default failure timeout, in heartbeat intervals. */
export const FAILURE_TIMEOUT_HEARTBEATS = 4;
/** The shortest failure timeout, in heartbeat intervals: one late heartbeat must not fail a member. */
export const FAILURE_TIMEOUT_HEARTBEATS_MIN = 2;

/**
 * The most partitions a cluster (and a PartitionMap) can have.
 *
 * @example
 * ```ts
 * import { PARTITIONS_MAX } from "./limits.ts";
 * PARTITIONS_MAX; // 4096
 * ```
 */
export const PARTITIONS_MAX: number = CLUSTER_LIMIT_RANGES.partitions[1];

/**
 * A cluster setting out of its range. `render` words the message with any name for the keys
 * (the CLI's flags); `message` uses the keys themselves.
 *
 * @example
 * ```ts
 * import { ClusterLimitError, resolveClusterLimits } from "./limits.ts";
 * try {
 *   resolveClusterLimits({ partitions: 8, heartbeatIntervalMs: 1 });
 * } catch (error) {
 *   if (error instanceof ClusterLimitError) error.render((key) => `--${key}`);
 * }
 * ```
 */
export class ClusterLimitError extends ClusterError {
  /** The key whose value is wrong. */
  readonly key: ClusterLimitKey;
  readonly #words: (name: (key: ClusterLimitKey) => string) => string;

  constructor(key: ClusterLimitKey, words: (name: (key: ClusterLimitKey) => string) => string) {
    super(words((k) => k));
    this.name = "ClusterLimitError";
    this.key = key;
    this.#words = words;
  }

  /** The message with each key named by `name`. */
  render(name: (key: ClusterLimitKey) => string): string {
    return this.#words(name);
  }
}

/**
 * Checks one value against its key's range; throws ClusterLimitError naming the key.
 *
 * @example
 * ```ts
 * import { checkClusterLimit } from "./limits.ts";
 * checkClusterLimit("partitions", 16); // 16
 * ```
 */
export function checkClusterLimit(key: ClusterLimitKey, value: unknown): number {
  const [low, high] = CLUSTER_LIMIT_RANGES[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < low || value > high) {
    throw new ClusterLimitError(
      key,
      (name) => `${name(key)} must be an integer from ${low} to ${high}; got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Fills in the defaults and checks every key of the table found in `given` (other keys are
 * ignored, so a coordinator's whole options object can be given). `partitions` is required when
 * `needPartitions` is true; without it the result's `partitions` is 1.
 *
 * @example
 * ```ts
 * import { resolveClusterLimits } from "./limits.ts";
 * resolveClusterLimits({ partitions: 16, heartbeatIntervalMs: 100 }).failureTimeoutMs; // 400
 * ```
 */
export function resolveClusterLimits(
  given: Partial<ClusterLimits>,
  needPartitions = true,
): ClusterLimits {
  if (needPartitions && given.partitions === undefined) {
    throw new ClusterLimitError(
      "partitions",
      (name) => `${name("partitions")} is required: how many partitions the world is split into`,
    );
  }
  const out: Record<string, number> = { partitions: 1, ...DEFAULT_CLUSTER_LIMITS };
  out.failureTimeoutMs = FAILURE_TIMEOUT_HEARTBEATS *
    checkClusterLimit("heartbeatIntervalMs", given.heartbeatIntervalMs ?? out.heartbeatIntervalMs);
  for (const key of Object.keys(CLUSTER_LIMIT_RANGES) as ClusterLimitKey[]) {
    const value = given[key];
    if (value !== undefined) out[key] = checkClusterLimit(key, value);
  }
  const limits = out as unknown as ClusterLimits;
  const shortestMs = FAILURE_TIMEOUT_HEARTBEATS_MIN * limits.heartbeatIntervalMs;
  if (limits.failureTimeoutMs < shortestMs) {
    throw new ClusterLimitError(
      "failureTimeoutMs",
      (name) =>
        `${name("failureTimeoutMs")} (${limits.failureTimeoutMs} ms) must be at least ` +
        `${FAILURE_TIMEOUT_HEARTBEATS_MIN} times ${name("heartbeatIntervalMs")} ` +
        `(${shortestMs} ms), or a member whose heartbeat is late once would be failed`,
    );
  }
  return Object.freeze(limits);
}
