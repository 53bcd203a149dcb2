/**
 * Where a coordinator keeps the cluster's state, so that another coordinator can take over:
 * the partition map (each partition's owner, its latest checkpoint and where in the owner's
 * recovery log it was taken, entities parked for it), the member registry, each member's
 * recovery log (recovery_log.ts), and the leader lease with its fencing epoch.
 *
 * Two implementations: {@linkcode MemoryStore} (the default: nothing to install, and it dies
 * with the coordinator) and `RedisStore` (redis_store.ts: shared by any number of coordinators,
 * one leading at a time).
 *
 * Leadership: `campaign` takes the lease when nobody holds it and returns a new epoch, one above
 * every epoch before; the leader renews it well inside its expiry. Every write names the
 * writer's epoch and is refused with {@linkcode FencedError} once a newer epoch exists, so a
 * deposed leader (stopped past its lease, then continued) can change nothing; since a
 * coordinator sends members only what it has written, it can assign nothing either.
 *
 * Order: a leader numbers its writes (1, 2, ... within its epoch), and a store applies write k
 * only right after write k - 1 of that epoch. A write sent again (a client that reconnects resends
 * what had no reply, and it may have run) or one whose predecessor never arrived is refused
 * with {@linkcode WriteOrderError}, so the store holds exactly a prefix of the leader's writes,
 * each once, or the leader stands down.
 *
 * @module
 */

import type { EntityBatch } from "./batch.ts";
import { ClusterError } from "./errors.ts";
import type { LogEntry } from "./recovery_log.ts";

/** A member as the store keeps it. */
export interface StoredMember {
  readonly id: number;
  readonly address: string;
  readonly partitions: readonly number[];
  /** Position of its recovery log's first entry. */
  readonly logStart: number;
  /** The last arrival sequence number given to it. */
  readonly seq: number;
  /** The last of its own transfers (its outbound sequence) the coordinator has taken. */
  readonly outSeq: number;
  readonly checkpointTick: number;
  readonly tick: number;
}

/** A partition as the store keeps it; `owner` is a member id or null. */
export interface StoredPartition {
  readonly owner: number | null;
  /** Its latest checkpoint (or the state it was assigned with). */
  readonly base: EntityBatch;
  /** Position in the owner's recovery log where `base` was taken. */
  readonly basePos: number;
  /** Entities waiting for an owner, in arrival order. */
  readonly held: readonly EntityBatch[];
}

/** The cluster-wide facts. */
export interface StoredMeta {
  readonly partitions: number;
  /** Whether setup's entities exist in the cluster. */
  readonly seeded: boolean;
  readonly layout: {
    readonly components: readonly string[];
    readonly fieldBytes: readonly (readonly number[])[];
  } | null;
  readonly nextMemberId: number;
  readonly failovers: number;
}

/** Everything a store holds about one cluster. */
export interface StoredCluster {
  readonly meta: StoredMeta | undefined;
  readonly members: ReadonlyMap<
    number,
    { readonly member: StoredMember; readonly log: LogEntry[] }
  >;
  readonly partitions: ReadonlyMap<number, StoredPartition>;
}

/** One change, applied in order with the others of its write. */
export type StoreWrite =
  | { readonly op: "meta"; readonly meta: StoredMeta }
  | { readonly op: "member"; readonly member: StoredMember }
  | { readonly op: "dropMember"; readonly id: number }
  | { readonly op: "appendLog"; readonly id: number; readonly entries: readonly LogEntry[] }
  | { readonly op: "rewriteLog"; readonly id: number; readonly entries: readonly LogEntry[] }
  | {
    readonly op: "owner";
    readonly partition: number;
    readonly owner: number | null;
    readonly basePos: number;
  }
  | {
    readonly op: "base";
    readonly partition: number;
    readonly base: EntityBatch;
    readonly basePos: number;
  }
  | { readonly op: "held"; readonly partition: number; readonly held: readonly EntityBatch[] };

/** Who leads: the coordinator's address for members and its epoch. */
export interface Leadership {
  readonly epoch: number;
  readonly address: string;
}

/** The store interface. */
export interface ClusterStore {
  /** "memory", or the Redis URL without its password. */
  readonly name: string;
  /** True when other coordinators can share it (so standbys, and members that move, exist). */
  readonly shared: boolean;
  /** Takes the lease if nobody holds it: the new epoch, or undefined. */
  campaign(address: string, leaseMs: number): Promise<number | undefined>;
  /** Extends the lease of `epoch`; false when it is no longer the newest (fenced). */
  renew(epoch: number, address: string, leaseMs: number): Promise<boolean>;
  /** Gives the lease up (a clean stop), so a standby need not wait for it to expire. */
  resign(epoch: number, address: string): Promise<void>;
  /** The lease holder now, if any. */
  leader(): Promise<Leadership | undefined>;
  /**
   * Applies `writes` in order, all or none, as write number `seq` (1, 2, ...) of `epoch`; rejects
   * with FencedError past `epoch`, and with WriteOrderError unless write `seq - 1` of `epoch` is
   * the last one applied (for `seq` 1: none of `epoch` is).
   */
  write(epoch: number, seq: number, writes: readonly StoreWrite[]): Promise<void>;
  load(): Promise<StoredCluster>;
  close(): Promise<void>;
}

/**
 * A write (or a renewal) by a leader whose epoch is no longer the newest: another coordinator
 * took over; this one must stand down.
 *
 * @example
 * ```ts
 * import { FencedError } from "./store.ts";
 * new FencedError(3, 4).message; // "epoch 3 is fenced: epoch 4 leads now"
 * ```
 */
export class FencedError extends ClusterError {
  readonly epoch: number;
  constructor(epoch: number, newest: number | string) {
    super(`epoch ${epoch} is fenced: epoch ${newest} leads now`);
    this.name = "FencedError";
    this.epoch = epoch;
  }
}

/**
 * A write out of its leader's order: sent twice, or after one that never arrived. Nothing of it
 * was applied; the leader must stand down (its successor loads what the store holds).
 *
 * @example
 * ```ts
 * import { WriteOrderError } from "./store.ts";
 * new WriteOrderError(3, 2, "3 1").message; // "write 2 of epoch 3 is out of order: the last applied is 3 1"
 * ```
 */
export class WriteOrderError extends ClusterError {
  constructor(epoch: number, seq: number, last: string) {
    super(
      `write ${seq} of epoch ${epoch} is out of order: the last applied is ${last || "none"}`,
    );
    this.name = "WriteOrderError";
  }
}

/** The state MemoryStore clients share: one per process, or one per test of two "coordinators". */
export class MemoryBackend {
  epoch = 0;
  lease: { epoch: number; address: string; untilMs: number } | undefined;
  /** The last write applied: its epoch and number. */
  written = { epoch: 0, seq: 0 };
  meta: StoredMeta | undefined;
  readonly members = new Map<number, StoredMember>();
  readonly logs = new Map<number, LogEntry[]>();
  readonly partitions = new Map<number, StoredPartition>();
  readonly clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.clock = clock;
  }
}

/**
 * The store in memory: the default. It keeps references (batches are never changed after they
 * are made), so writing costs no copy and no encoding.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./store.ts";
 * const store = new MemoryStore();
 * const epoch = await store.campaign("127.0.0.1:7400", 1000); // 1
 * await store.write(epoch!, 1, [{ op: "held", partition: 0, held: [] }]);
 * ```
 */
export class MemoryStore implements ClusterStore {
  readonly name = "memory";
  readonly shared = false;
  readonly #backend: MemoryBackend;

  constructor(backend: MemoryBackend = new MemoryBackend()) {
    this.#backend = backend;
  }

  campaign(address: string, leaseMs: number): Promise<number | undefined> {
    const b = this.#backend;
    const now = b.clock();
    if (b.lease !== undefined && b.lease.untilMs > now) return Promise.resolve(undefined);
    b.epoch++;
    b.lease = { epoch: b.epoch, address, untilMs: now + leaseMs };
    return Promise.resolve(b.epoch);
  }

  renew(epoch: number, address: string, leaseMs: number): Promise<boolean> {
    const b = this.#backend;
    const now = b.clock();
    if (b.epoch !== epoch) return Promise.resolve(false);
    const held = b.lease !== undefined && b.lease.untilMs > now;
    if (held && b.lease!.epoch !== epoch) return Promise.resolve(false);
    b.lease = { epoch, address, untilMs: now + leaseMs };
    return Promise.resolve(true);
  }

  resign(epoch: number): Promise<void> {
    const b = this.#backend;
    if (b.lease?.epoch === epoch) b.lease = undefined;
    return Promise.resolve();
  }

  leader(): Promise<Leadership | undefined> {
    const lease = this.#backend.lease;
    if (lease === undefined || lease.untilMs <= this.#backend.clock()) {
      return Promise.resolve(undefined);
    }
    return Promise.resolve({ epoch: lease.epoch, address: lease.address });
  }

  write(epoch: number, seq: number, writes: readonly StoreWrite[]): Promise<void> {
    const b = this.#backend;
    if (b.epoch !== epoch) return Promise.reject(new FencedError(epoch, b.epoch));
    const last = b.written.epoch === epoch ? b.written.seq : 0;
    if (seq !== last + 1) {
      const lastText = b.written.epoch === 0 ? "" : `${b.written.epoch} ${b.written.seq}`;
      return Promise.reject(new WriteOrderError(epoch, seq, lastText));
    }
    b.written = { epoch, seq };
    for (const w of writes) applyWrite(b, w);
    return Promise.resolve();
  }

  load(): Promise<StoredCluster> {
    const b = this.#backend;
    const members = new Map<number, { member: StoredMember; log: LogEntry[] }>();
    for (const [id, member] of b.members) {
      members.set(id, { member, log: (b.logs.get(id) ?? []).slice() });
    }
    return Promise.resolve({ meta: b.meta, members, partitions: new Map(b.partitions) });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function applyWrite(b: MemoryBackend, w: StoreWrite): void {
  switch (w.op) {
    case "meta":
      b.meta = w.meta;
      return;
    case "member":
      b.members.set(w.member.id, w.member);
      return;
    case "dropMember":
      b.members.delete(w.id);
      b.logs.delete(w.id);
      return;
    case "appendLog": {
      const log = b.logs.get(w.id);
      if (log === undefined) b.logs.set(w.id, w.entries.slice());
      else log.push(...w.entries);
      return;
    }
    case "rewriteLog":
      b.logs.set(w.id, w.entries.slice());
      return;
    case "owner":
      b.partitions.set(w.partition, {
        ...partitionOf(b, w.partition),
        owner: w.owner,
        basePos: w.basePos,
      });
      return;
    case "base":
      b.partitions.set(w.partition, {
        ...partitionOf(b, w.partition),
        base: w.base,
        basePos: w.basePos,
      });
      return;
    case "held":
      b.partitions.set(w.partition, { ...partitionOf(b, w.partition), held: w.held.slice() });
      return;
  }
}

function partitionOf(b: MemoryBackend, partition: number): StoredPartition {
  return b.partitions.get(partition) ?? { owner: null, base: { groups: [] }, basePos: 0, held: [] };
}
