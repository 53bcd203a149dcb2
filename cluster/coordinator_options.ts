/**
 * How to run a coordinator (CoordinatorOptions) and what it tells a listener as it works
 * (CoordinatorEvent): the inspector's log of handoffs, transfers and failovers.
 *
 * @module
 */

import type { ClusterLimits } from "./limits.ts";
import type { ClusterStore, StoredCluster } from "./store.ts";

/**
 * How to run a coordinator: the cluster limits (limits.ts; `partitions` is required, every
 * other bound has its default there) and the rest.
 *
 * @example
 * ```ts
 * import { Coordinator } from "./coordinator.ts";
 * import type { CoordinatorOptions } from "./coordinator_options.ts";
 * const options: CoordinatorOptions = {
 *   partitions: 16,
 *   secret: "correct horse battery staple",
 *   heartbeatIntervalMs: 100,
 *   log: (line) => console.error(line),
 * };
 * const coordinator = new Coordinator(options);
 * coordinator.failureTimeoutMs; // 400: four heartbeat intervals, failureTimeoutMs's default
 * await coordinator.close();
 * ```
 */
export interface CoordinatorOptions extends Partial<ClusterLimits> {
  readonly partitions: number;
  /** The shared secret: at least 16 bytes that are not whitespace. */
  readonly secret: string;
  /** Seed the members' runtimes derive theirs from (0 if omitted). */
  readonly seed?: number;
  /** Where log lines go (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Milliseconds now; `performance.now` if omitted. */
  readonly clock?: () => number;
  /** Hears handoffs, transfers and failovers as they happen (the inspector's log); optional. */
  readonly onEvent?: (event: CoordinatorEvent) => void;
  /** Where the state is written (a MemoryStore of its own if omitted). */
  readonly store?: ClusterStore;
  /** The leader epoch this coordinator writes under (0 with its own memory store). */
  readonly epoch?: number;
  /** What the store held when this coordinator took over, to continue from. */
  readonly restored?: StoredCluster;
  /** The lease (limits.ts leaseMs) its members are told, so they know when it went silent. */
  readonly leaseMs?: number;
  /** Its address for members, as status reports it. */
  readonly address?: string;
  /** Called once if a write is fenced or fails: the coordinator has stood down. */
  readonly onStandDown?: (reason: string) => void;
}

/**
 * What `CoordinatorOptions.onEvent` hears: a revoke starts a handoff, a
 * transfer is a handoff's entities (or entities crossing between
 * partitions), a failover restarts a dead member's partitions elsewhere.
 *
 * @example
 * ```ts
 * import type { CoordinatorEvent } from "./coordinator_options.ts";
 * function describe(event: CoordinatorEvent): string {
 *   switch (event.kind) {
 *     case "revoke":
 *       return `partition ${event.partition} leaves member ${event.member}`;
 *     case "transfer":
 *       return `${event.entities} entities from member ${event.member}`;
 *     case "failover":
 *       return `member ${event.member} failed (${event.reason})`;
 *   }
 * }
 * describe({ kind: "transfer", partition: 2, member: 1, entities: 40, handoff: false });
 * // "40 entities from member 1"
 * ```
 */
export type CoordinatorEvent =
  | {
    readonly kind: "revoke";
    readonly partition: number;
    readonly member: number;
    /** The member meant to take it, if one is chosen. */
    readonly to: number | null;
  }
  | {
    readonly kind: "transfer";
    readonly partition: number;
    /** The sender. */
    readonly member: number;
    readonly entities: number;
    readonly handoff: boolean;
  }
  | {
    readonly kind: "failover";
    readonly member: number;
    readonly reason: string;
    readonly partitions: readonly number[];
    /**
     * What the failover lost, as the coordinator logs it: the checkpoint's tick and the range of
     * ticks the member ran past it (`from the checkpoint at tick 540: 20 to 26 ticks of state
     * lost ...`), or that setup had not checkpointed.
     */
    readonly loss: string;
  };
