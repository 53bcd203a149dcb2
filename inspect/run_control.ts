/**
 * Pause, step, resume and pace for a running scene, as the inspector's page
 * asks for them (`POST /api/control`, with the token). The run loop
 * (cli/_run_loop.ts) reads this object between ticks: paused, it runs one
 * tick per step; pacing changes ticks per second of wall time, never `dt`,
 * so the world at each tick is the one the seed gives however the run was
 * paused, stepped and paced.
 *
 * @module
 */

import type { LoopControl } from "../cli/_run_loop.ts";
import type { Runtime } from "../core/runtime.ts";
import type { RunState } from "./messages.ts";

/** Steps that may wait for the loop at once; more are refused until it catches up. */
export const STEPS_PENDING_MAX = 64;

/** A control request the run's state does not allow (a step while running, say). */
export class ControlRefused extends Error {
  override name = "ControlRefused";
}

/**
 * The control of one run.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime } from "../mod.ts";
 * import { RunControl } from "./run_control.ts";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * const control = new RunControl(runtime, { paused: true, paceHz: undefined });
 * control.resume().paused; // false
 * ```
 */
export class RunControl implements LoopControl {
  version = 0;
  paused: boolean;
  paceHz: number | undefined;
  private readonly runtime: Runtime;
  private readonly wakers = new Set<() => void>();
  /** One per step asked for and not yet run, in order. */
  private readonly steps: { resolve(state: RunState): void; reject(error: Error): void }[] = [];
  private stepsTaken = 0;
  private ended: string | undefined;
  private pausedMs = 0;
  private pausedAtMs: number | undefined;

  constructor(runtime: Runtime, start: { paused: boolean; paceHz: number | undefined }) {
    this.runtime = runtime;
    this.paceHz = start.paceHz;
    this.paused = false;
    if (start.paused) this.pause();
  }

  /** Where the run is now. */
  state(): RunState {
    return {
      tick: this.runtime.ticks,
      paused: this.paused,
      paceHz: this.paceHz ?? null,
      entities: this.runtime.world.entityCount,
    };
  }

  /** Seconds spent paused so far. */
  pausedSeconds(): number {
    const now = this.pausedAtMs === undefined ? 0 : performance.now() - this.pausedAtMs;
    return (this.pausedMs + now) / 1000;
  }

  /** Pauses after the tick running now. */
  pause(): RunState {
    if (!this.paused) this.pausedAtMs = performance.now();
    this.change(() => this.paused = true);
    return this.state();
  }

  /** Runs on from where it is. */
  resume(): RunState {
    if (this.pausedAtMs !== undefined) this.pausedMs += performance.now() - this.pausedAtMs;
    this.pausedAtMs = undefined;
    this.change(() => this.paused = false);
    return this.state();
  }

  /** Ticks per second of wall time (undefined: as fast as they run). */
  pace(hz: number | undefined): RunState {
    this.change(() => this.paceHz = hz);
    return this.state();
  }

  /** Runs one tick of a paused run; resolves once it ran. */
  step(): Promise<RunState> {
    if (this.ended !== undefined) return Promise.reject(new ControlRefused(this.ended));
    if (!this.paused) {
      return Promise.reject(new ControlRefused("step runs one tick of a paused run: pause first"));
    }
    if (this.steps.length - this.stepsTaken >= STEPS_PENDING_MAX) {
      return Promise.reject(
        new ControlRefused(`${STEPS_PENDING_MAX} steps are already waiting; wait for them`),
      );
    }
    const done = new Promise<RunState>((resolve, reject) => this.steps.push({ resolve, reject }));
    this.change(() => {});
    return done;
  }

  /** The run ended: steps still waiting are refused with `why`. */
  finish(why: string): void {
    this.ended = why;
    for (const step of this.steps.splice(0)) step.reject(new ControlRefused(why));
    this.stepsTaken = 0;
    this.change(() => {});
  }

  takeStep(): boolean {
    if (this.stepsTaken >= this.steps.length) return false;
    this.stepsTaken++;
    return true;
  }

  stepped(): void {
    const step = this.steps.shift();
    this.stepsTaken--;
    step?.resolve(this.state());
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private change(apply: () => void): void {
    apply();
    this.version++;
    for (const wake of [...this.wakers]) wake();
  }
}
