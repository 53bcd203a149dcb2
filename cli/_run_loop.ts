/**
 * The loop of `staticecs run`: ticks unpaced (as fast as possible) or paced
 * in real time through the runtime's fixed-timestep accumulator, until a tick
 * count, a duration, a stop signal or a failed frame ends it.
 *
 * @module
 */

import type { FrameResult, Runtime } from "../mod.ts";

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
export function runLoop(
  runtime: Runtime,
  limits: LoopLimits,
  observer: LoopObserver,
): Promise<StopReason> {
  const startedMs = performance.now();
  const deadlineMs = limits.durationSeconds === undefined
    ? Infinity
    : startedMs + limits.durationSeconds * 1000;
  const ticksMax = limits.ticksMax ?? Infinity;
  return limits.paced
    ? runPaced(runtime, ticksMax, deadlineMs, observer)
    : runUnpaced(runtime, ticksMax, deadlineMs, observer);
}

async function runUnpaced(
  runtime: Runtime,
  ticksMax: number,
  deadlineMs: number,
  observer: LoopObserver,
): Promise<StopReason> {
  let yieldAtMs = performance.now() + YIELD_INTERVAL_MS;
  for (let ticks = 0;;) {
    if (observer.stopRequested()) return "signal";
    if (ticks >= ticksMax) return "ticks";
    const result = runtime.tick();
    ticks++;
    if (observer.frame(result)) return "error";
    const nowMs = performance.now();
    if (nowMs >= deadlineMs) return "duration";
    if (nowMs >= yieldAtMs) {
      await sleep(0);
      observer.idle();
      yieldAtMs = performance.now() + YIELD_INTERVAL_MS;
    }
  }
}

async function runPaced(
  runtime: Runtime,
  ticksMax: number,
  deadlineMs: number,
  observer: LoopObserver,
): Promise<StopReason> {
  const dt = 1 / runtime.hz;
  let lastMs = performance.now();
  let stopped = false;
  // One callback for the whole run: advance calls it with each frame it runs.
  const observeFrame = (frame: FrameResult) => {
    if (observer.frame(frame)) stopped = true;
  };
  for (let ticks = 0;;) {
    if (observer.stopRequested()) return "signal";
    if (ticks >= ticksMax) return "ticks";
    const beforeMs = performance.now();
    if (beforeMs >= deadlineMs) return "duration";
    const dueMs = runtime.secondsUntilNextTick() * 1000;
    await sleep(Math.max(0, Math.min(dueMs, deadlineMs - beforeMs, SLEEP_MAX_MS)));
    const nowMs = performance.now();
    // Feed no more time than the remaining ticks need, so --ticks N runs exactly N.
    const neededSeconds = (ticksMax - ticks - 1) * dt + runtime.secondsUntilNextTick();
    const realSeconds = Math.min((nowMs - lastMs) / 1000, neededSeconds);
    lastMs = nowMs;
    ticks += runtime.advance(realSeconds, observeFrame);
    if (stopped) return "error";
    observer.idle();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
