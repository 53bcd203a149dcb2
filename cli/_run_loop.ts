/**
 * The loop of `staticecs run`: ticks unpaced (as fast as possible) or paced
 * in real time through the runtime's fixed-timestep accumulator, until a tick
 * count, a duration, a stop signal or a failed frame ends it. Given a
 * control (the inspector's), it also pauses, steps one tick at a time and
 * changes its pace while it runs.
 *
 * @module
 */

import type { FrameResult, Runtime } from "../core/runtime.ts";

/** Longest stretch of unpaced ticking before yielding to the event loop (to see signals). */
export const YIELD_INTERVAL_MS = 50;
/** Longest single sleep of the paced loop, so the status line and signals stay live. */
export const SLEEP_MAX_MS = 100;

/** When the loop ends by itself; neither limit means: until a signal. */
export interface LoopLimits {
  readonly ticksMax?: number;
  readonly durationSeconds?: number;
  /** Pace ticks in real time at the runtime's hz. */
  readonly paced: boolean;
  /** Pause, step and pace from outside (the inspector); without it, none of that. */
  readonly control?: LoopControl;
}

/**
 * Pausing, stepping and pacing a run from outside. Time spent paused does
 * not count against `--duration`. Pacing changes how many ticks run per
 * second of wall time, never `dt`: the world at a given tick is the same
 * whatever the pace, pauses and steps on the way.
 */
export interface LoopControl {
  /** Moves on at every change; a running stretch of ticks ends when it does. */
  readonly version: number;
  readonly paused: boolean;
  /** Ticks per second of wall time; undefined: as fast as they run. */
  readonly paceHz: number | undefined;
  /** While paused: true once for each step asked for; the loop then runs one tick. */
  takeStep(): boolean;
  /** The tick a step asked for has run. */
  stepped(): void;
  /** Resolves at the next change, or after `ms`. */
  wait(ms: number): Promise<void>;
}

/** What the loop reports to, and asks whether to stop. */
export interface LoopObserver {
  /** A frame ran; returns true to stop the run after it. */
  frame(result: FrameResult): boolean;
  /** Called between ticks now and then (at least every YIELD_INTERVAL_MS or so). */
  idle(): void;
  /** True once a stop signal arrived. */
  stopRequested(): boolean;
}

/** Why the loop ended. */
export type StopReason = "ticks" | "duration" | "signal" | "error";

/** Ticks run so far and the limits, shared by the stretches of one run. */
interface Run {
  ticks: number;
  readonly ticksMax: number;
  /** Moves back by the time spent paused. */
  deadlineMs: number;
}

/** A stretch ends with the run, or with "changed" when the control moved on. */
type StretchEnd = StopReason | "changed";

const NEVER_CHANGED = () => false;

/**
 * Runs frames until a limit, a signal or a frame the observer stops at.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime } from "../mod.ts";
 * import { runLoop } from "./_run_loop.ts";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * const reason = await runLoop(runtime, { ticksMax: 10, paced: false }, {
 *   frame: (result) => !result.ok,
 *   idle: () => {},
 *   stopRequested: () => false,
 * }); // "ticks"
 * ```
 */
export async function runLoop(
  runtime: Runtime,
  limits: LoopLimits,
  observer: LoopObserver,
): Promise<StopReason> {
  const run: Run = {
    ticks: 0,
    ticksMax: limits.ticksMax ?? Infinity,
    deadlineMs: limits.durationSeconds === undefined
      ? Infinity
      : performance.now() + limits.durationSeconds * 1000,
  };
  const control = limits.control;
  if (control === undefined) {
    const end = limits.paced
      ? await runPaced(runtime, run, observer, 1, NEVER_CHANGED)
      : await runUnpaced(runtime, run, observer, NEVER_CHANGED);
    return end as StopReason;
  }
  for (;;) {
    if (control.paused) {
      const end = await whilePaused(runtime, run, observer, control);
      if (end !== undefined) return end;
      continue;
    }
    const version = control.version;
    const changed = () => control.version !== version;
    const paceHz = control.paceHz;
    const end = paceHz === undefined
      ? await runUnpaced(runtime, run, observer, changed)
      : await runPaced(runtime, run, observer, paceHz / runtime.hz, changed);
    if (end !== "changed") return end;
  }
}

/** Waits while paused, running one tick per step; undefined once resumed. */
async function whilePaused(
  runtime: Runtime,
  run: Run,
  observer: LoopObserver,
  control: LoopControl,
): Promise<StopReason | undefined> {
  const pausedAtMs = performance.now();
  try {
    while (control.paused) {
      if (observer.stopRequested()) return "signal";
      if (run.ticks >= run.ticksMax) return "ticks";
      if (control.takeStep()) {
        const result = runtime.tick();
        run.ticks++;
        control.stepped();
        if (observer.frame(result)) return "error";
        continue;
      }
      await control.wait(SLEEP_MAX_MS);
      observer.idle();
    }
    return undefined;
  } finally {
    run.deadlineMs += performance.now() - pausedAtMs;
  }
}

async function runUnpaced(
  runtime: Runtime,
  run: Run,
  observer: LoopObserver,
  changed: () => boolean,
): Promise<StretchEnd> {
  let yieldAtMs = performance.now() + YIELD_INTERVAL_MS;
  for (;;) {
    if (observer.stopRequested()) return "signal";
    if (run.ticks >= run.ticksMax) return "ticks";
    const result = runtime.tick();
    run.ticks++;
    if (observer.frame(result)) return "error";
    const nowMs = performance.now();
    if (nowMs >= run.deadlineMs) return "duration";
    if (nowMs >= yieldAtMs) {
      await sleep(0);
      observer.idle();
      if (changed()) return "changed";
      yieldAtMs = performance.now() + YIELD_INTERVAL_MS;
    }
  }
}

/**
 * Ticks at the runtime's hz through its accumulator; `simPerWall` simulated
 * seconds are fed per second of wall time (1 paces at hz; pace / hz paces at
 * `pace` ticks per second with the same dt).
 */
async function runPaced(
  runtime: Runtime,
  run: Run,
  observer: LoopObserver,
  simPerWall: number,
  changed: () => boolean,
): Promise<StretchEnd> {
  const dt = 1 / runtime.hz;
  let lastMs = performance.now();
  let stopped = false;
  // One callback for the whole run: advance calls it with each frame it runs.
  const observeFrame = (frame: FrameResult) => {
    if (observer.frame(frame)) stopped = true;
  };
  for (;;) {
    if (observer.stopRequested()) return "signal";
    if (run.ticks >= run.ticksMax) return "ticks";
    if (changed()) return "changed";
    const beforeMs = performance.now();
    if (beforeMs >= run.deadlineMs) return "duration";
    const dueMs = runtime.secondsUntilNextTick() * 1000 / simPerWall;
    await sleep(Math.max(0, Math.min(dueMs, run.deadlineMs - beforeMs, SLEEP_MAX_MS)));
    const nowMs = performance.now();
    // Feed no more time than the remaining ticks need, so --ticks N runs exactly N.
    const neededSeconds = (run.ticksMax - run.ticks - 1) * dt + runtime.secondsUntilNextTick();
    const simSeconds = Math.min((nowMs - lastMs) / 1000 * simPerWall, neededSeconds);
    lastMs = nowMs;
    run.ticks += runtime.advance(simSeconds, observeFrame);
    if (stopped) return "error";
    observer.idle();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
