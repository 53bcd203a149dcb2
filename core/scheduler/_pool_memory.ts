/**
 * The shared memory of a work-stealing pool, laid out once by the main
 * thread and attached to by every worker: control words, one deque per
 * thread (thread 0 is the main thread), the injector, the parker, counters,
 * archetype row counts, event reader cursors, error slots and the task trace
 * rings (task_trace.ts).
 *
 * @module
 */

import { TASK_WORDS, WorkDeque } from "./deque.ts";
import { Injector } from "./injector.ts";
import { Parker } from "./parker.ts";
import { assert } from "../_assert.ts";

/** Control words (Int32). */
export const CONTROL = {
  /** Incremented by the main thread for each stage it runs in parallel. */
  stageSeq: 0,
  /** Tasks pushed and not yet finished. */
  pending: 1,
  /** Nonzero: workers exit their loop. */
  shutdown: 2,
  /** Layout messages posted so far; a worker catches up before running tasks. */
  layoutVersion: 3,
  /** Nonzero: skip the stage's remaining tasks (the stop-first policy after an error). */
  stop: 4,
  /** Archetypes that exist now. */
  archetypes: 5,
  /** Nonzero: threads write task records (task_trace.ts). */
  trace: 6,
} as const;
const CONTROL_WORDS = 8;

/** Per-thread counters (Float64): tasks run, tasks stolen, ms parked, ms busy. */
export const STAT = { executed: 0, stolen: 1, parkedMs: 2, busyMs: 3 } as const;
/** Eight float64 words per thread: a cache line each, so threads do not share lines. */
const STAT_WORDS = 8;

/** Task records each thread's ring keeps (task_trace.ts); a power of two. */
export const TRACE_RECORDS_PER_THREAD = 1024;
/** Float64 words of one task record. */
export const TRACE_WORDS = 8;

/** Errors one thread can report per stage; later ones are counted only. */
export const ERRORS_PER_THREAD_MAX = 8;
/** Bytes of one error message (UTF-8, cut to fit). */
export const ERROR_TEXT_BYTES = 512;

/** Sizes the pool memory is laid out for. */
export interface PoolShape {
  /** Threads including the main thread. */
  readonly threads: number;
  readonly dequeCapacity: number;
  readonly injectorCapacity: number;
  readonly systems: number;
  readonly events: number;
  readonly maxArchetypes: number;
}

/** Views of the pool memory; the same class on every thread. */
export class PoolMemory {
  readonly shape: PoolShape;
  readonly buffer: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly deques: WorkDeque[] = [];
  readonly injector: Injector;
  readonly parker: Parker;
  /** STAT words per thread. */
  readonly stats: Float64Array;
  /** Milliseconds per (thread, system) in the current stage; rows of `systemStride`. */
  readonly systemMs: Float64Array;
  /** Words per thread in `systemMs`: the system count rounded up to a cache line. */
  readonly systemStride: number;
  /** Row count of each archetype, published before each parallel stage. */
  readonly archetypeRows: Int32Array;
  /** Each (system, event) reader cursor for the stage, set by the main thread. */
  readonly cursors: Float64Array;
  /** Where each (system, event) reader got to in the stage, or -1 if it did not read. */
  readonly cursorEnds: Float64Array;
  /** Per system: 1 once it threw this stage; its other chunks are skipped. */
  readonly failed: Int32Array;
  /** Per thread: errors reported this stage (may exceed the slots). */
  readonly errorCounts: Int32Array;
  /** Per thread and slot: the system index. */
  readonly errorSystems: Int32Array;
  /** Per thread and slot: the message length in bytes. */
  readonly errorLengths: Int32Array;
  readonly errorText: Uint8Array;
  /** Per thread: records written to its trace ring (the ring's head), wrapping at 2^31. */
  readonly traceHeads: Int32Array;
  /** Per thread: a ring of TRACE_RECORDS_PER_THREAD records of TRACE_WORDS words. */
  readonly traceRecords: Float64Array;
  /** The calling thread's time origin (epoch ms), which trace times are relative to. */
  readonly traceOrigin: Float64Array;

  /** New memory for `shape`, or (with `buffer`) views of memory another thread made. */
  constructor(shape: PoolShape, buffer?: SharedArrayBuffer) {
    this.shape = shape;
    const init = buffer === undefined;
    this.buffer = buffer ?? new SharedArrayBuffer(PoolMemory.bytesFor(shape));
    let offset = 0;
    const take = (bytes: number): number => {
      const at = offset;
      offset += (bytes + 7) & ~7;
      return at;
    };
    const { threads, systems, events } = shape;
    this.control = new Int32Array(this.buffer, take(CONTROL_WORDS * 4), CONTROL_WORDS);
    for (let t = 0; t < threads; t++) {
      const at = take(WorkDeque.bytesFor(shape.dequeCapacity));
      this.deques.push(new WorkDeque(this.buffer, at, shape.dequeCapacity, init));
    }
    const injectorAt = take(Injector.bytesFor(shape.injectorCapacity));
    this.injector = new Injector(this.buffer, injectorAt, shape.injectorCapacity, init);
    this.parker = new Parker(this.buffer, take(Parker.bytesFor()), init);
    this.stats = new Float64Array(
      this.buffer,
      take(threads * STAT_WORDS * 8),
      threads * STAT_WORDS,
    );
    this.systemStride = (systems + 7) & ~7;
    this.systemMs = new Float64Array(
      this.buffer,
      take(threads * this.systemStride * 8),
      threads * this.systemStride,
    );
    this.archetypeRows = new Int32Array(
      this.buffer,
      take(shape.maxArchetypes * 4),
      shape.maxArchetypes,
    );
    const readers = Math.max(1, systems * events);
    this.cursors = new Float64Array(this.buffer, take(readers * 8), readers);
    this.cursorEnds = new Float64Array(this.buffer, take(readers * 8), readers);
    const slots = threads * ERRORS_PER_THREAD_MAX;
    this.failed = new Int32Array(this.buffer, take(Math.max(1, systems) * 4), Math.max(1, systems));
    this.errorCounts = new Int32Array(this.buffer, take(threads * 4), threads);
    this.errorSystems = new Int32Array(this.buffer, take(slots * 4), slots);
    this.errorLengths = new Int32Array(this.buffer, take(slots * 4), slots);
    this.errorText = new Uint8Array(
      this.buffer,
      take(slots * ERROR_TEXT_BYTES),
      slots * ERROR_TEXT_BYTES,
    );
    this.traceHeads = new Int32Array(this.buffer, take(threads * 4), threads);
    const traceWords = threads * TRACE_RECORDS_PER_THREAD * TRACE_WORDS;
    this.traceRecords = new Float64Array(this.buffer, take(traceWords * 8), traceWords);
    this.traceOrigin = new Float64Array(this.buffer, take(8), 1);
    if (init) this.cursorEnds.fill(-1);
    assert(
      offset === this.buffer.byteLength,
      () => `PoolMemory: the layout takes ${offset} bytes, bytesFor made ${this.buffer.byteLength}`,
    );
  }

  /** Bytes the pool memory of `shape` takes. */
  static bytesFor(shape: PoolShape): number {
    const round = (bytes: number) => (bytes + 7) & ~7;
    const { threads, systems, events } = shape;
    const slots = threads * ERRORS_PER_THREAD_MAX;
    return round(CONTROL_WORDS * 4) +
      threads * round(WorkDeque.bytesFor(shape.dequeCapacity)) +
      round(Injector.bytesFor(shape.injectorCapacity)) + round(Parker.bytesFor()) +
      round(threads * STAT_WORDS * 8) + round(threads * ((systems + 7) & ~7) * 8) +
      round(shape.maxArchetypes * 4) + 2 * round(Math.max(1, systems * events) * 8) +
      round(Math.max(1, systems) * 4) + round(threads * 4) + 2 * round(slots * 4) +
      round(slots * ERROR_TEXT_BYTES) + round(threads * 4) +
      threads * TRACE_RECORDS_PER_THREAD * TRACE_WORDS * 8 + 8;
  }

  /** Adds to a thread's counter. */
  addStat(thread: number, stat: number, value: number): void {
    this.stats[thread * STAT_WORDS + stat] += value;
  }

  /** A thread's counter. */
  stat(thread: number, stat: number): number {
    return this.stats[thread * STAT_WORDS + stat];
  }

  /** Records an error of `system` on `thread`, cutting the message to fit its slot. */
  reportError(thread: number, system: number, message: string): void {
    const n = this.errorCounts[thread]++;
    if (n >= ERRORS_PER_THREAD_MAX) return;
    const slot = thread * ERRORS_PER_THREAD_MAX + n;
    const target = this.errorText.subarray(slot * ERROR_TEXT_BYTES, (slot + 1) * ERROR_TEXT_BYTES);
    const { written } = new TextEncoder().encodeInto(message, target);
    this.errorSystems[slot] = system;
    this.errorLengths[slot] = written;
  }

  /** The errors `thread` reported this stage, then clears them. */
  takeErrors(thread: number): { system: number; message: string }[] {
    const count = this.errorCounts[thread];
    const out: { system: number; message: string }[] = [];
    for (let n = 0; n < Math.min(count, ERRORS_PER_THREAD_MAX); n++) {
      const slot = thread * ERRORS_PER_THREAD_MAX + n;
      const start = slot * ERROR_TEXT_BYTES;
      const bytes = this.errorText.slice(start, start + this.errorLengths[slot]);
      out.push({ system: this.errorSystems[slot], message: new TextDecoder().decode(bytes) });
    }
    if (count > ERRORS_PER_THREAD_MAX) {
      const last = out[out.length - 1];
      out.push({
        system: last.system,
        message: `${count - ERRORS_PER_THREAD_MAX} more errors on this thread this stage`,
      });
    }
    this.errorCounts[thread] = 0;
    return out;
  }
}

export { TASK_WORDS };
