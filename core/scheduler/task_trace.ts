/**
 * Per-task records of the work-stealing pool, for a live view of how work
 * spreads over threads (the inspector's Threads lanes). Off by default: each
 * thread then reads one control word per task and records nothing. Turned
 * on (while a page is watching), every thread writes, into its own ring in
 * the pool's shared memory, one record per task it runs (system, chunk
 * range, whether it stole it), per park, and the calling thread one per
 * stage; a reader on the calling thread copies the newest records out, off
 * the frame path.
 *
 * Each ring has one writer (its thread) and one reader. The writer fills a
 * record, then publishes it by storing the ring's head (Atomics.store); the
 * reader loads the head, copies records below it, then loads the head again
 * and drops any record the writer may have overwritten meanwhile (more than
 * a ring's length behind the new head). Times are milliseconds since the
 * calling thread's time origin: each thread adds its own origin's distance
 * from it, so lanes of different threads line up (to about a microsecond).
 *
 * @module
 */

import { CONTROL, type PoolMemory, TRACE_RECORDS_PER_THREAD, TRACE_WORDS } from "./_pool_memory.ts";

/** What a record describes (its first word). */
export const TRACE_KIND = { task: 1, park: 2, stage: 3 } as const;

/** One record, as the reader returns it. Times are ms since the calling thread's origin. */
export type TraceRecord =
  | {
    readonly kind: "task";
    readonly thread: number;
    readonly startMs: number;
    readonly endMs: number;
    /** Scene index of the system. */
    readonly system: number;
    /** Archetype ordinal in the system's query; -1 a `run` task, -2 its whole query. */
    readonly archetype: number;
    readonly firstChunk: number;
    readonly endChunk: number;
    /** Taken from another thread's deque. */
    readonly stolen: boolean;
  }
  | { readonly kind: "park"; readonly thread: number; readonly startMs: number; endMs: number }
  | {
    readonly kind: "stage";
    readonly thread: number;
    readonly startMs: number;
    readonly endMs: number;
    /** Position of the stage in the schedule's stages. */
    readonly stage: number;
    readonly tick: number;
    readonly parallel: boolean;
  };

/**
 * True while records are wanted: one read of a shared word (no fence needed:
 * a thread that sees the change a task late records one task more or less).
 *
 * @example
 * ```ts ignore
 * if (traceOn(pool)) writeTrace(pool, thread, TRACE_KIND.park, startedMs, endedMs, 0, 0, 0, 0, 0);
 * ```
 */
export function traceOn(pool: PoolMemory): boolean {
  return pool.control[CONTROL.trace] !== 0;
}

/**
 * Appends a record to `thread`'s ring; `startMs` and `endMs` are this
 * thread's `performance.now()` readings.
 *
 * @example
 * ```ts ignore
 * writeTrace(pool, 1, TRACE_KIND.task, startedMs, performance.now(), system, 0, 3, 4, 1);
 * ```
 */
export function writeTrace(
  pool: PoolMemory,
  thread: number,
  kind: number,
  startMs: number,
  endMs: number,
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
): void {
  // This thread's clock on the calling thread's: both origins are wall-clock epochs.
  const shift = performance.timeOrigin - pool.traceOrigin[0];
  const head = Atomics.load(pool.traceHeads, thread);
  const at = (thread * TRACE_RECORDS_PER_THREAD + head % TRACE_RECORDS_PER_THREAD) * TRACE_WORDS;
  const words = pool.traceRecords;
  words[at] = kind;
  words[at + 1] = startMs + shift;
  words[at + 2] = endMs + shift;
  words[at + 3] = a;
  words[at + 4] = b;
  words[at + 5] = c;
  words[at + 6] = d;
  words[at + 7] = e;
  // The head wraps at 2^31 (Int32): after 2^31 records, about a year of a busy thread.
  Atomics.store(pool.traceHeads, thread, (head + 1) & 0x7fffffff);
}

/**
 * Turns recording on and off and reads the newest records of every thread.
 *
 * @example
 * ```ts ignore
 * const trace = new TaskTrace(pool);
 * trace.start();
 * // ... frames run ...
 * const records = trace.read(performance.now() - 50); // what ended in the last 50 ms
 * trace.stop();
 * ```
 */
export class TaskTrace {
  private readonly pool: PoolMemory;

  constructor(pool: PoolMemory) {
    this.pool = pool;
  }

  /** True while threads record. */
  get enabled(): boolean {
    return traceOn(this.pool);
  }

  /** Threads that record, the calling thread (0) included. */
  get threads(): number {
    return this.pool.traceHeads.length;
  }

  /** Threads record from their next task on. */
  start(): void {
    this.pool.traceOrigin[0] = performance.timeOrigin;
    Atomics.store(this.pool.control, CONTROL.trace, 1);
  }

  /** Threads stop recording (a task running now may still add its record). */
  stop(): void {
    Atomics.store(this.pool.control, CONTROL.trace, 0);
  }

  /**
   * Every record still in the rings that ended at or after `sinceMs` (the
   * calling thread's `performance.now()` scale), oldest first per thread.
   */
  read(sinceMs: number): TraceRecord[] {
    const out: TraceRecord[] = [];
    for (let thread = 0; thread < this.threads; thread++) this.readThread(thread, sinceMs, out);
    return out;
  }

  private readThread(thread: number, sinceMs: number, out: TraceRecord[]): void {
    const heads = this.pool.traceHeads;
    const head = Atomics.load(heads, thread);
    // The slot after the head may be half written: a ring's length minus one is readable.
    const kept = Math.min(head, TRACE_RECORDS_PER_THREAD - 1);
    const found: TraceRecord[] = [];
    for (let back = 1; back <= kept; back++) {
      const record = this.decode(thread, head - back);
      if (record.endMs < sinceMs) break;
      found.push(record);
    }
    // Records the writer may have overwritten while they were copied (or be writing now, in
    // the slot of the new head) are dropped.
    const intactFrom = Atomics.load(heads, thread) - TRACE_RECORDS_PER_THREAD + 1;
    for (let i = found.length - 1; i >= 0; i--) {
      if (head - 1 - i >= intactFrom) out.push(found[i]);
    }
  }

  private decode(thread: number, position: number): TraceRecord {
    const at = (thread * TRACE_RECORDS_PER_THREAD + position % TRACE_RECORDS_PER_THREAD) *
      TRACE_WORDS;
    const w = this.pool.traceRecords;
    const startMs = w[at + 1], endMs = w[at + 2];
    switch (w[at]) {
      case TRACE_KIND.task:
        return {
          kind: "task",
          thread,
          startMs,
          endMs,
          system: w[at + 3],
          archetype: w[at + 4],
          firstChunk: w[at + 5],
          endChunk: w[at + 6],
          stolen: w[at + 7] !== 0,
        };
      case TRACE_KIND.stage:
        return {
          kind: "stage",
          thread,
          startMs,
          endMs,
          stage: w[at + 3],
          tick: w[at + 4],
          parallel: w[at + 5] !== 0,
        };
      default:
        return { kind: "park", thread, startMs, endMs };
    }
  }
}
