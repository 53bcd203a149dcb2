/**
 * Taking and running tasks, the same on the main thread and on workers. A
 * task is (system, archetype ordinal in the system's query, first chunk, end
 * chunk); a `run` system's task has archetype ordinal -1. Whoever takes a
 * task of more than one chunk keeps halving it, pushing the upper halves on
 * its own deque where others can steal them, and runs the last chunk; so a
 * thief that steals a range takes half of it and splits the rest.
 *
 * Overflow rule: a task goes to the thread's own deque; if that is full, to
 * the injector; if that is full too, it runs at once on the thread that made
 * it. No task is ever dropped.
 *
 * @module
 */

import type { SystemContext } from "../context.ts";
import type { Query } from "../query.ts";
import type { ScheduledSystem } from "../schedule.ts";
import { STEAL_OK, STEAL_RETRY, TASK_WORDS } from "./deque.ts";
import { CONTROL, type PoolMemory, STAT } from "./_pool_memory.ts";
import { TRACE_KIND, traceOn, writeTrace } from "./task_trace.ts";

/** Archetype ordinal of a `run` system's task. */
export const RUN_TASK = -1;
/** Archetype ordinal of a task over every archetype of the query, in order, on one thread. */
export const WHOLE_QUERY_TASK = -2;

/** What a thread needs to run tasks. */
export interface TaskThread {
  readonly pool: PoolMemory;
  /** 0 for the main thread, 1.. for workers. */
  readonly thread: number;
  readonly systems: readonly ScheduledSystem[];
  readonly contexts: readonly SystemContext[];
  readonly queries: readonly (Query | undefined)[];
  /** Per system: may its chunks run on several threads at once? */
  readonly splittable: readonly boolean[];
  readonly stopFirst: boolean;
}

/** Takes, splits and runs tasks for one thread. */
export class TaskRunner {
  readonly task: Int32Array = new Int32Array(TASK_WORDS);
  private readonly t: TaskThread;
  private victimSeed: number;
  /** Whether the task `take` found came from another thread's deque (for the trace). */
  private stolen = false;

  constructor(thread: TaskThread) {
    this.t = thread;
    this.victimSeed = (thread.thread + 1) * 0x9e3779b1;
  }

  /** Counts a new task, then makes it visible (deque, injector, or run at once). */
  push(system: number, archetype: number, first: number, end: number): void {
    const pool = this.t.pool;
    Atomics.add(pool.control, CONTROL.pending, 1);
    if (pool.deques[this.t.thread].push(system, archetype, first, end)) return;
    if (pool.injector.push(system, archetype, first, end)) return;
    this.runCounted(system, archetype, first, end);
  }

  /** Takes a task into `this.task`: own deque, then the injector, then a random victim. */
  take(): boolean {
    const pool = this.t.pool;
    this.stolen = false;
    if (pool.deques[this.t.thread].pop(this.task)) return true;
    if (pool.injector.pop(this.task)) return true;
    const threads = pool.deques.length;
    this.victimSeed = (Math.imul(this.victimSeed, 1664525) + 1013904223) | 0;
    const start = (this.victimSeed >>> 8) % threads;
    for (let i = 0; i < threads; i++) {
      const victim = (start + i) % threads;
      if (victim === this.t.thread) continue;
      let result = pool.deques[victim].steal(this.task);
      for (let retry = 0; result === STEAL_RETRY && retry < 8; retry++) {
        result = pool.deques[victim].steal(this.task);
      }
      if (result === STEAL_OK) {
        pool.addStat(this.t.thread, STAT.stolen, 1);
        this.stolen = true;
        return true;
      }
    }
    return false;
  }

  /** Runs the task in `this.task`, splitting a range first; then it counts as done. */
  runTaken(): void {
    const system = this.task[0], archetype = this.task[1];
    const first = this.task[2];
    let end = this.task[3];
    if (this.t.splittable[system]) {
      while (end - first > 1) {
        const middle = (first + end) >>> 1;
        this.push(system, archetype, middle, end);
        end = middle;
      }
      this.t.pool.parker.wake(1);
    }
    this.runCounted(system, archetype, first, end);
    this.stolen = false;
  }

  private runCounted(system: number, archetype: number, first: number, end: number): void {
    const pool = this.t.pool;
    try {
      if (Atomics.load(pool.control, CONTROL.stop) === 0) this.run(system, archetype, first, end);
    } finally {
      pool.addStat(this.t.thread, STAT.executed, 1);
      if (Atomics.sub(pool.control, CONTROL.pending, 1) === 1) {
        Atomics.notify(pool.control, CONTROL.pending);
      }
    }
  }

  private run(system: number, archetypeOrdinal: number, first: number, end: number): void {
    const { contexts, pool, thread } = this.t;
    const ctx = contexts[system];
    const started = performance.now();
    ctx.commands.beginSegment(system, archetypeOrdinal < 0 ? 0 : archetypeOrdinal, first);
    try {
      if (archetypeOrdinal === RUN_TASK) {
        ctx.beginRun();
        ctx.runBody!(ctx);
      } else if (archetypeOrdinal === WHOLE_QUERY_TASK) {
        const archetypes = this.t.queries[system]!.archetypes;
        for (let a = 0; a < archetypes.length; a++) {
          this.runChunks(system, a, 0, archetypes[a].chunks.length);
        }
      } else {
        this.runChunks(system, archetypeOrdinal, first, end);
      }
      ctx.finish();
    } catch (error) {
      ctx.finish();
      // As on the blocking backend, a system fails once per stage and its other chunks stop.
      if (Atomics.compareExchange(pool.failed, system, 0, 1) === 0) {
        pool.reportError(thread, system, error instanceof Error ? error.message : String(error));
      }
      if (this.t.stopFirst) Atomics.store(pool.control, CONTROL.stop, 1);
    } finally {
      ctx.commands.publish();
      const ended = performance.now();
      const ms = ended - started;
      pool.systemMs[thread * pool.systemStride + system] += ms;
      pool.addStat(thread, STAT.busyMs, ms);
      if (traceOn(pool)) {
        const stolen = this.stolen ? 1 : 0;
        writeTrace(
          pool,
          thread,
          TRACE_KIND.task,
          started,
          ended,
          system,
          archetypeOrdinal,
          first,
          end,
          stolen,
        );
      }
    }
  }

  private runChunks(system: number, archetypeOrdinal: number, first: number, end: number): void {
    const ctx = this.t.contexts[system];
    const failed = this.t.pool.failed;
    const archetype = this.t.queries[system]!.archetypes[archetypeOrdinal];
    const runChunk = ctx.chunkBody!;
    ctx.beginChunks();
    for (let c = first; c < end; c++) {
      const chunk = archetype.chunks[c];
      if (chunk.count === 0 || Atomics.load(failed, system) !== 0) break;
      ctx.beginChunk(archetype.id, c);
      runChunk(chunk, ctx);
    }
  }
}
