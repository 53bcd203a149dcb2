/**
 * A member's recovery log: what happened to its partitions since its last checkpoint, so that a
 * failed member's partitions can be brought back with the entity count exact.
 *
 * Entries are arrivals (entities the coordinator forwarded to the member, with the member's
 * sequence number), departures (ids of entities the member sent away) and what a handoff left
 * behind (`kept`: entities of a partition the member handed over that had moved, inside the
 * member, to another of its partitions since the partition's base). A checkpoint is a
 * consistent cut: the member's partitions at one tick, with the last arrival it had applied; the
 * log then keeps only the arrivals after that one. Entry k sits at position `start + k`, so a
 * partition's base state remembers where in the log it was taken (`basePos`), and a restore
 * replays only what came after it: arrivals into the partition added, departures removed.
 *
 * A handed-over partition is not restored with the others, and the partition its moved entities
 * went to is restored from a base taken before they came: so a failed member's `kept` entities
 * (less those that departed since) go back to the partition they left (`keptSince`).
 *
 * The log also tracks what of it a store has saved (`unsaved`), so a coordinator with a store
 * (store.ts) appends what is new, or rewrites the log after a checkpoint cut it.
 *
 * @module
 */

import { batchCount, type EntityBatch, filterBatch, mergeBatches } from "./batch.ts";

/** One entry of a recovery log. */
export type LogEntry =
  | {
    readonly kind: "arrive";
    /** The member's sequence number of this arrival (1, 2, ...). */
    readonly seq: number;
    readonly partition: number;
    readonly state: EntityBatch;
  }
  | {
    readonly kind: "depart";
    /** ClusterIds of the entities the member sent away. */
    readonly ids: Float64Array;
  }
  | {
    readonly kind: "kept";
    /** The partition the member handed over. */
    readonly partition: number;
    /** Its entities at its base (or arrived since) that the member kept in other partitions. */
    readonly state: EntityBatch;
  };

/** What of a log a store has not saved yet: entries to append, or the whole log to rewrite. */
export interface UnsavedLog {
  readonly rewrite: boolean;
  readonly entries: readonly LogEntry[];
}

/**
 * The log of one member.
 *
 * @example
 * ```ts
 * import { emptyBatch } from "./batch.ts";
 * import { RecoveryLog } from "./recovery_log.ts";
 * const log = new RecoveryLog(1024);
 * log.append({ kind: "arrive", seq: 1, partition: 0, state: emptyBatch() });
 * log.cut(1); // 1: the position of the cut; the arrival was applied, so it is dropped
 * log.end; // 1
 * ```
 */
export class RecoveryLog {
  /** Entries since the last checkpoint; entry k sits at position start + k. */
  entries: LogEntry[];
  start: number;
  /** Most entries the log may hold (limits.ts, memberLogEntriesMax). */
  readonly entriesMax: number;
  #saved: number;
  #rewrite: boolean;

  constructor(entriesMax: number, start = 0, entries: LogEntry[] = []) {
    this.entriesMax = entriesMax;
    this.start = start;
    this.entries = entries;
    this.#saved = entries.length;
    this.#rewrite = false;
  }

  /** The position after the last entry: where a state taken now sits. */
  get end(): number {
    return this.start + this.entries.length;
  }

  /** True when `count` more entries would pass entriesMax. */
  full(count = 1): boolean {
    return this.entries.length + count > this.entriesMax;
  }

  /** Adds an entry at the end. The caller checks `full` first. */
  append(entry: LogEntry): void {
    if (this.full()) throw new RangeError(`recovery log full: ${this.entriesMax} entries`);
    this.entries.push(entry);
  }

  /**
   * A checkpoint's cut: keeps only the arrivals after `appliedSeq` (not yet in the checkpoint,
   * so replayed on restore) and returns the cut's position, the new base position of every
   * partition the member owns.
   */
  cut(appliedSeq: number): number {
    const cut = this.end;
    this.entries = this.entries.filter((e) => e.kind === "arrive" && e.seq > appliedSeq);
    this.start = cut;
    this.#rewrite = true;
    return cut;
  }

  /**
   * A partition's state: its base (taken at `basePos`) with the log since replayed over it. An
   * entity is there if it was in the base or arrived into the partition, and did not depart
   * after: one pass for the last departure of each id, one filter of each piece, so a restore
   * costs the entities it reads, not their product with the entries.
   */
  restore(partition: number, base: EntityBatch, basePos: number): EntityBatch {
    const from = Math.max(0, basePos - this.start);
    const lastDeparture = this.#lastDepartures(from);
    const pieces = [afterDepartures(base, -1, lastDeparture)];
    for (let k = from; k < this.entries.length; k++) {
      const entry = this.entries[k];
      if (entry.kind === "arrive" && entry.partition === partition) {
        pieces.push(afterDepartures(entry.state, k, lastDeparture));
      }
    }
    return pieces.length === 1 ? pieces[0] : mergeBatches(pieces);
  }

  /**
   * What the member kept of partitions it handed over since its checkpoint, less what departed
   * after: for each `kept` entry with entities left, the partition they belong back to.
   */
  keptSince(): { partition: number; state: EntityBatch }[] {
    const out: { partition: number; state: EntityBatch }[] = [];
    const lastDeparture = this.#lastDepartures(0);
    for (let k = 0; k < this.entries.length; k++) {
      const entry = this.entries[k];
      if (entry.kind !== "kept") continue;
      const state = afterDepartures(entry.state, k, lastDeparture);
      if (batchCount(state) > 0) out.push({ partition: entry.partition, state });
    }
    return out;
  }

  /** The index of the last departure of each id among the entries from index `from`. */
  #lastDepartures(from: number): Map<number, number> {
    const last = new Map<number, number>();
    for (let k = from; k < this.entries.length; k++) {
      const entry = this.entries[k];
      if (entry.kind === "depart") { for (const id of entry.ids) last.set(id, k); }
    }
    return last;
  }

  /** The arrivals with a sequence number above `seq`, in order: what a rejoining member lacks. */
  arrivalsAfter(seq: number): Extract<LogEntry, { kind: "arrive" }>[] {
    const out: Extract<LogEntry, { kind: "arrive" }>[] = [];
    for (const entry of this.entries) {
      if (entry.kind === "arrive" && entry.seq > seq) out.push(entry);
    }
    return out;
  }

  /** What a store has not saved yet; marks it saved. */
  takeUnsaved(): UnsavedLog | undefined {
    if (this.#rewrite) {
      this.#rewrite = false;
      this.#saved = this.entries.length;
      return { rewrite: true, entries: this.entries.slice() };
    }
    if (this.#saved === this.entries.length) return undefined;
    const entries = this.entries.slice(this.#saved);
    this.#saved = this.entries.length;
    return { rewrite: false, entries };
  }
}

/** The entities of `state`, logged at index `at`, that no departure after it took away. */
function afterDepartures(
  state: EntityBatch,
  at: number,
  lastDeparture: ReadonlyMap<number, number>,
): EntityBatch {
  if (lastDeparture.size === 0) return state;
  return filterBatch(state, (id) => {
    const last = lastDeparture.get(id);
    return last === undefined || last < at;
  });
}
