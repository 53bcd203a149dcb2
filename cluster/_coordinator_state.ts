/**
 * What a coordinator keeps about its members and partitions, and how those records reach its
 * store (store.ts) through its journal (_journal.ts): each change is marked under the record's
 * key and written once per turn with the record's value then. Also the way back: a coordinator
 * that takes over rebuilds its members (adrift until they rejoin) and partitions from what the
 * store holds.
 *
 * @module
 */

import { batchCount, type EntityBatch } from "./batch.ts";
import type { Journal } from "./_journal.ts";
import type { MemberState } from "./protocol.ts";
import { RecoveryLog } from "./recovery_log.ts";
import type { StoredCluster, StoredMeta, StoreWrite } from "./store.ts";
import type { Connection } from "./transport.ts";

/** A member as its coordinator keeps it. */
export interface Member {
  readonly id: number;
  readonly address: string;
  /** Undefined while adrift: known from the store, waiting for it to rejoin. */
  connection: Connection | undefined;
  readonly joinedMs: number;
  state: MemberState;
  readonly partitions: Set<number>;
  /** When its last heartbeat came, on the progress clock (the coordinator's stalls left out). */
  lastHeartbeatMs: number;
  tick: number;
  tickMsMean: number;
  /** Its ticks per millisecond, from its heartbeats at least an interval apart (0 before). */
  ticksPerMs: number;
  /** The wall-clock time and tick the next rate measurement starts from. */
  rateFromMs: number;
  rateFromTick: number;
  checkpointTick: number;
  readonly counts: Map<number, number>;
  /** Since the last checkpoint (recovery_log.ts). */
  log: RecoveryLog;
  /** Last sequence number forwarded to this member. */
  seq: number;
  /** The last of its own transfers taken (they carry its outbound sequence numbers). */
  outSeq: number;
  /** The outSeq it was last acknowledged, and when (wall clock). */
  ackedSeq: number;
  ackedMs: number;
  /**
   * Resolves when its connection has closed. After a shutdown the member closes first: a side
   * that closes with unread bytes resets the connection, and the peer may lose what it had not
   * read yet (the shutdown itself).
   */
  closed: Promise<void>;
}

/** A partition as its coordinator keeps it. */
export interface Partition {
  readonly id: number;
  owner: Member | undefined;
  /** Revoke sent to the owner; its handoff goes to `nextOwner` (or is parked). */
  moving: boolean;
  nextOwner: Member | undefined;
  base: EntityBatch;
  /** Position in the owner's log where `base` was taken. */
  basePos: number;
  /** Entities waiting for an owner, in arrival order. */
  held: EntityBatch[];
  entities: number;
}

/** How far one heartbeat moves a member's measured tick rate toward its own. */
const RATE_SMOOTHING = 0.25;

/**
 * Updates a member's tick rate over spans of at least one heartbeat interval of wall time: the
 * member keeps ticking while the coordinator stalls, so a burst of heartbeats read after a stall
 * must not look like a fast member.
 */
export function measureRate(
  member: Member,
  tick: number,
  wallMs: number,
  intervalMs: number,
): void {
  const spanMs = wallMs - member.rateFromMs;
  if (spanMs < intervalMs || tick < member.rateFromTick) return;
  const ticksPerMs = (tick - member.rateFromTick) / spanMs;
  // Smoothed: one heartbeat held up behind a transfer must not halve or double the rate.
  member.ticksPerMs = member.ticksPerMs === 0
    ? ticksPerMs
    : member.ticksPerMs + RATE_SMOOTHING * (ticksPerMs - member.ticksPerMs);
  member.rateFromMs = wallMs;
  member.rateFromTick = tick;
}

/**
 * What a failover loses, in the member's ticks: from its checkpoint to the tick it last
 * reported, plus what it may have run since that heartbeat at its measured rate (at most one
 * heartbeat interval's worth: running longer, it would have sent another). `progressMs` is now
 * on the coordinator's progress clock.
 */
export function lossText(member: Member, progressMs: number, intervalMs: number): string {
  const reportedTicks = Math.max(0, member.tick - member.checkpointTick);
  const sinceMs = progressMs - member.lastHeartbeatMs;
  const unreportedTicks = Math.round(member.ticksPerMs * Math.min(sinceMs, intervalMs));
  const range = unreportedTicks === 0
    ? `${reportedTicks}`
    : `${reportedTicks} to ${reportedTicks + unreportedTicks}`;
  return `from the checkpoint at tick ${member.checkpointTick}: ${range} ticks of state lost ` +
    `(it last reported tick ${member.tick}, ${Math.round(sinceMs)} ms before; entity count ` +
    `conserved)`;
}

/**
 * Partition numbers in order, for a log line.
 *
 * @example
 * ```ts
 * import { partitionList } from "./_coordinator_state.ts";
 * partitionList(new Set([3, 1])); // "1, 3"
 * ```
 */
export function partitionList(partitions: Iterable<number>): string {
  return [...partitions].sort((a, b) => a - b).join(", ") || "(none)";
}

/** A member's record as it starts: joining (no heartbeat yet), no partition, an empty log. */
export function newMember(
  id: number,
  address: string,
  options: { nowMs: number; progressMs: number; logEntriesMax: number },
): Member {
  return {
    id,
    address,
    connection: undefined,
    joinedMs: options.nowMs,
    state: "joining",
    partitions: new Set(),
    lastHeartbeatMs: options.progressMs,
    tick: 0,
    tickMsMean: 0,
    ticksPerMs: 0,
    rateFromMs: options.nowMs,
    rateFromTick: 0,
    checkpointTick: 0,
    counts: new Map(),
    log: new RecoveryLog(options.logEntriesMax),
    seq: 0,
    outSeq: 0,
    ackedSeq: 0,
    ackedMs: options.nowMs,
    closed: Promise.resolve(),
  };
}

/**
 * Rebuilds members (adrift: they have not reconnected) and the partitions' owners, bases and
 * held entities from `stored`, into `members` and `parts`.
 */
export function restoreFromStore(
  stored: StoredCluster,
  members: Map<number, Member>,
  parts: readonly Partition[],
  make: (id: number, address: string) => Member,
): void {
  for (const { member: record, log } of stored.members.values()) {
    const member = make(record.id, record.address);
    member.state = "adrift";
    member.log = new RecoveryLog(member.log.entriesMax, record.logStart, log);
    member.seq = record.seq;
    member.outSeq = record.outSeq;
    member.checkpointTick = record.checkpointTick;
    member.tick = record.tick;
    members.set(member.id, member);
  }
  for (const [partition, record] of stored.partitions) {
    const part = parts[partition];
    part.owner = record.owner === null ? undefined : members.get(record.owner);
    part.owner?.partitions.add(partition);
    part.base = record.base;
    part.basePos = record.basePos;
    part.held = [...record.held];
    part.entities = batchCount(part.base);
  }
}

/**
 * Marks records changed in a journal. A member no longer current (`isCurrent` false: it left or
 * failed) writes nothing; `drop` removes it and its log instead.
 */
export class StateWriter {
  readonly #journal: Journal;
  readonly #isCurrent: (member: Member) => boolean;

  constructor(journal: Journal, isCurrent: (member: Member) => boolean) {
    this.#journal = journal;
    this.#isCurrent = isCurrent;
  }

  meta(make: () => StoredMeta): void {
    this.#journal.mark("meta", () => [{ op: "meta", meta: make() }]);
  }

  member(member: Member): void {
    this.#journal.mark(`member:${member.id}:`, () =>
      !this.#isCurrent(member) ? [] : [{
        op: "member",
        member: {
          id: member.id,
          address: member.address,
          partitions: [...member.partitions],
          logStart: member.log.start,
          seq: member.seq,
          outSeq: member.outSeq,
          checkpointTick: member.checkpointTick,
          tick: member.tick,
        },
      }]);
  }

  log(member: Member): void {
    this.#journal.mark(`log:${member.id}:`, (): StoreWrite[] => {
      const unsaved = member.log.takeUnsaved();
      if (unsaved === undefined || !this.#isCurrent(member)) return [];
      const op = unsaved.rewrite ? "rewriteLog" : "appendLog";
      return [{ op, id: member.id, entries: unsaved.entries }];
    });
  }

  drop(member: Member): void {
    this.#journal.forget(`member:${member.id}:`);
    this.#journal.forget(`log:${member.id}:`);
    this.#journal.mark(`drop:${member.id}`, () => [{ op: "dropMember", id: member.id }]);
  }

  owner(part: Partition): void {
    this.#journal.mark(`owner:${part.id}`, () => [{
      op: "owner",
      partition: part.id,
      owner: part.owner?.id ?? null,
      basePos: part.basePos,
    }]);
  }

  /** The partition's base (and its owner, which changes with it on an assign). */
  base(part: Partition): void {
    this.owner(part);
    this.#journal.mark(`base:${part.id}`, () => [{
      op: "base",
      partition: part.id,
      base: part.base,
      basePos: part.basePos,
    }]);
  }

  held(part: Partition): void {
    this.#journal.mark(`held:${part.id}`, () => [{
      op: "held",
      partition: part.id,
      held: part.held,
    }]);
  }
}
