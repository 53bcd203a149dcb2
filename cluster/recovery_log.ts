/**
 * A member's recovery log: what happened to its partitions since its last checkpoint, so that a
 * failed member's partitions can be brought back with the entity count exact.
 *
 * Entries are arrivals (entities the coordinator forwarded to the member, with the member's
 * sequence number) and departures (ids of entities the member sent away). A checkpoint is a
 * consistent cut: the member's partitions at one tick, with the last arrival it had applied; the
 * log then keeps only the arrivals after that one. Entry k sits at position `start + k`, so a
 * partition's base state remembers where in the log it was taken (`basePos`), and a restore
 * replays only what came after it: arrivals into the partition added, departures removed.
 *
 * The log also tracks what of it a store has saved (`unsaved`), so a coordinator with a store
 * (store.ts) appends what is new, or rewrites the log after a checkpoint cut it.
 *
 * @module
 */

import { type EntityBatch, filterBatch, mergeBatches } from "./batch.ts";

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

  /** True when another entry would pass entriesMax. */
  get full(): boolean {
    return this.entries.length >= this.entriesMax;
  }

  /** Adds an entry at the end. The caller checks `full` first. */
  append(entry: LogEntry): void {
    if (this.full) throw new RangeError(`recovery log full: ${this.entriesMax} entries`);
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

  /** A partition's state: its base (taken at `basePos`) with the log since replayed over it. */
  restore(partition: number, base: EntityBatch, basePos: number): EntityBatch {
    let state = base;
    for (let k = Math.max(0, basePos - this.start); k < this.entries.length; k++) {
      const entry = this.entries[k];
      if (entry.kind === "arrive") {
        if (entry.partition === partition) state = mergeBatches([state, entry.state]);
      } else {
        const gone = new Set(entry.ids);
        state = filterBatch(state, (id) => !gone.has(id));
      }
    }
    return state;
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
