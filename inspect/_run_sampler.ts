/**
 * Builds the run stream's messages from what the runtime keeps anyway:
 * frame durations (the run's TickStats ring), time per system
 * (`runtime.systemStats()`, differenced between samples), the backend's
 * `stats()`, the I/O executor's counters and the pool's task records. It
 * runs between ticks, on the inspector's timer, only while a page watches;
 * nothing here touches the frame path.
 *
 * @module
 */

import type { Runtime } from "../core/runtime.ts";
import type { TaskTrace, TraceRecord } from "../core/scheduler/task_trace.ts";
import type { TickStats } from "../cli/_tick_stats.ts";
import type { RunBackend, RunSample, RunState, RunThreads } from "./messages.ts";
import type { RunControl } from "./run_control.ts";

/** Frame durations one sample carries at most (the newest; a page keeps a few thousand). */
export const FRAMES_PER_SAMPLE_MAX = 4096;
/** Frames the Threads view shows. */
export const THREAD_FRAMES = 3;

/**
 * Samples one run.
 *
 * @example
 * ```ts ignore
 * const sampler = new RunSampler(runtime, observer.ticks, control);
 * stream.send(sampler.sample());
 * ```
 */
export class RunSampler {
  readonly startedMs = performance.now();
  private readonly runtime: Runtime;
  private readonly frames: TickStats;
  private readonly control: RunControl;
  private readonly trace: TaskTrace | undefined;
  private framesSent = 0;
  private lastMs = performance.now();
  private lastTicks: number;
  private lastTimedMs: Float64Array;
  private lastTimedCalls: Float64Array;
  private lastTraceTick = -1;

  constructor(runtime: Runtime, frames: TickStats, control: RunControl) {
    this.runtime = runtime;
    this.frames = frames;
    this.control = control;
    this.trace = runtime.backend.taskTrace?.();
    this.lastTicks = runtime.ticks;
    const systems = runtime.schedule.systems.length;
    this.lastTimedMs = new Float64Array(systems);
    this.lastTimedCalls = new Float64Array(systems);
    this.framesSent = frames.count;
  }

  /** Threads that run systems: the pool's, or 1. */
  get threads(): number {
    return this.trace?.threads ?? 1;
  }

  /** Where the run is now. */
  state(): RunState {
    return this.control.state();
  }

  /** Milliseconds since the inspector started. */
  nowMs(): number {
    return performance.now() - this.startedMs;
  }

  /** The newest frame durations (for a page that just opened). */
  recentFrames(): { firstTick: number; ms: number[] } {
    return this.framesFrom(0);
  }

  /** Frames and time per system since the last sample. */
  sample(): RunSample {
    const nowMs = performance.now();
    const ticks = this.runtime.ticks;
    const seconds = (nowMs - this.lastMs) / 1000;
    const ticksPerSecond = seconds > 0 ? (ticks - this.lastTicks) / seconds : 0;
    this.lastMs = nowMs;
    this.lastTicks = ticks;
    const frames = this.framesFrom(this.framesSent);
    this.framesSent = this.frames.count;
    return {
      type: "sample",
      tMs: this.nowMs(),
      state: this.state(),
      frames,
      systemMs: this.systemMs(),
      ticksPerSecond: Math.round(ticksPerSecond * 10) / 10,
    };
  }

  /** A page watches: task records from now on, and samples from the frames it has. */
  startWatching(): void {
    this.trace?.start();
    this.lastTraceTick = -1;
    this.framesSent = this.frames.count;
    this.lastMs = performance.now();
    this.lastTicks = this.runtime.ticks;
  }

  stopWatching(): void {
    this.trace?.stop();
  }

  /** The pool's last THREAD_FRAMES frames, if there is a pool and a frame ran since the last. */
  threadLanes(): RunThreads | undefined {
    const trace = this.trace;
    if (trace === undefined || !trace.enabled) return undefined;
    const records = trace.read(performance.now() - 1000);
    let lastTick = -1;
    for (const r of records) if (r.kind === "stage" && r.tick > lastTick) lastTick = r.tick;
    if (lastTick < 0 || lastTick === this.lastTraceTick) return undefined;
    this.lastTraceTick = lastTick;
    const shown = records.filter((r) =>
      r.kind === "stage" && r.tick > lastTick - THREAD_FRAMES && r.tick <= lastTick
    );
    const fromMs = Math.min(...shown.map((r) => r.startMs));
    const toMs = Math.max(...shown.map((r) => r.endMs));
    return lanes(records, fromMs, toMs, this.runtime.backend.stats().threads);
  }

  /** The backend's counters, its adaptive choices and the I/O executor's counters. */
  backend(): RunBackend {
    const backend = this.runtime.backend;
    const stats = backend.stats();
    const counters: Record<string, number> = {};
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === "number") counters[key] = value;
    }
    const rows = (key: string) => Array.isArray(stats[key]) ? stats[key] : null;
    const executor = this.runtime.ioExecutor;
    return {
      type: "backend",
      tMs: this.nowMs(),
      name: backend.name,
      counters,
      stages: rows("stages"),
      io: rows("io"),
      executor: executor === undefined ? null : {
        kind: executor.kind,
        reason: executor.reason,
        counters: executor.stats(),
        errors: executor.errors?.() ?? {},
      },
    };
  }

  private framesFrom(from: number): { firstTick: number; ms: number[] } {
    const { first, ms } = this.frames.recent(from, FRAMES_PER_SAMPLE_MAX);
    // The frame recorded `count`-th ended at tick `ticks - (count - index)`.
    const firstTick = this.runtime.ticks - (this.frames.count - first);
    return { firstTick, ms: ms.map(roundMs) };
  }

  /** Mean ms per timed call of each system since the last sample; null if none was timed. */
  private systemMs(): (number | null)[] {
    return this.runtime.systemStats().map((stats, i) => {
      const timedMs = stats.meanMs * stats.timedCalls;
      const calls = stats.timedCalls - this.lastTimedCalls[i];
      const ms = timedMs - this.lastTimedMs[i];
      this.lastTimedMs[i] = timedMs;
      this.lastTimedCalls[i] = stats.timedCalls;
      return calls > 0 ? roundMs(ms / calls) : null;
    });
  }
}

/** Records that overlap [fromMs, toMs], as the threads message's rows. */
function lanes(
  records: readonly TraceRecord[],
  fromMs: number,
  toMs: number,
  threadStats: unknown,
): RunThreads {
  const stages: [number, number, number, number, number][] = [];
  const parks: [number, number, number][] = [];
  const tasks: [number, number, number, number, number, number, number, number][] = [];
  for (const r of records) {
    if (r.endMs < fromMs || r.startMs > toMs) continue;
    const start = roundMs(Math.max(r.startMs, fromMs)), end = roundMs(Math.min(r.endMs, toMs));
    if (r.kind === "stage") stages.push([start, end, r.stage, r.tick, r.parallel ? 1 : 0]);
    else if (r.kind === "park") parks.push([r.thread, start, end]);
    else {
      tasks.push([
        r.thread,
        start,
        end,
        r.system,
        r.archetype,
        r.firstChunk,
        r.endChunk,
        r.stolen ? 1 : 0,
      ]);
    }
  }
  const threads = Array.isArray(threadStats) ? threadStats : [];
  return {
    type: "threads",
    fromMs: roundMs(fromMs),
    toMs: roundMs(toMs),
    stages,
    tasks,
    parks,
    threads,
  };
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
