/**
 * What `staticecs run` does with each frame: records its duration, prints
 * its system errors to stderr (a bounded number of them), keeps the live
 * status line fresh, and tells the loop to stop after a frame the stop-first
 * policy cut short.
 *
 * @module
 */

import process from "node:process";
import type { FrameResult, Runtime, SystemFailure } from "../core/runtime.ts";
import type { LoopObserver } from "./_run_loop.ts";
import { StatusLine } from "./_status_line.ts";
import { formatMs, type SummaryError } from "./_summary.ts";
import { TickStats } from "./_tick_stats.ts";

/** System errors kept for the summary; later ones are only counted. */
export const ERRORS_KEPT_MAX = 100;
/** System errors printed to stderr; later ones are only counted. */
export const ERRORS_PRINTED_MAX = 20;

/** How the observer behaves. */
export interface FrameObserverOptions {
  /** Print each error's stack. */
  readonly verbose: boolean;
  /** Show the live status line on stderr. */
  readonly statusLine: boolean;
  /** True once a stop signal arrived. */
  readonly stopRequested: () => boolean;
}

/**
 * Observes the frames of one run.
 *
 * @example
 * ```ts ignore
 * const observer = new FrameObserver(runtime, { verbose, statusLine, stopRequested });
 * await runLoop(runtime, limits, observer);
 * observer.finish();
 * ```
 */
export class FrameObserver implements LoopObserver {
  /** Durations of the frames run. */
  readonly ticks: TickStats = new TickStats();
  /** The first ERRORS_KEPT_MAX system errors. */
  readonly errors: SummaryError[] = [];
  /** Every system error. */
  errorCount = 0;
  /**
   * Milliseconds from the start of the process (the runtime's time origin)
   * to the end of the first frame: start-up time, scene import and setup
   * included. NaN before the first frame.
   */
  firstFrameMs = NaN;
  private readonly runtime: Runtime;
  private readonly options: FrameObserverOptions;
  private readonly status: StatusLine;
  private readonly startedMs = performance.now();

  constructor(runtime: Runtime, options: FrameObserverOptions) {
    this.runtime = runtime;
    this.options = options;
    this.status = new StatusLine(process.stderr, options.statusLine);
  }

  /** Records a frame; true if the run must stop after it. */
  frame(result: FrameResult): boolean {
    if (this.ticks.count === 0) this.firstFrameMs = performance.now();
    this.ticks.record(result.ms);
    if (result.errors.length > 0) {
      this.status.clear();
      for (const failure of result.errors) this.report(failure);
    }
    return result.stopped;
  }

  /** Refreshes the status line if one is due. */
  idle(): void {
    this.status.refresh(() => this.statusText());
  }

  /** True once a stop signal arrived. */
  stopRequested(): boolean {
    return this.options.stopRequested();
  }

  /** Clears the status line and says how many errors were not printed. */
  finish(): void {
    this.status.clear();
    const unprinted = this.errorCount - ERRORS_PRINTED_MAX;
    if (unprinted > 0) {
      process.stderr.write(`staticecs: ${unprinted} more system errors were not printed\n`);
    }
  }

  private report(failure: SystemFailure): void {
    this.errorCount++;
    const { tick, system, phase } = failure;
    const message = withoutSystemName(failure.message.replace(/\s*\n\s*/g, " "), system);
    if (this.errors.length < ERRORS_KEPT_MAX) this.errors.push({ tick, system, phase, message });
    if (this.errorCount > ERRORS_PRINTED_MAX) return;
    process.stderr.write(`tick ${tick}: system ${system} (${phase}): ${message}\n`);
    const stack = (failure.error as Error | undefined)?.stack;
    if (this.options.verbose && typeof stack === "string") process.stderr.write(`${stack}\n`);
  }

  private statusText(): string {
    const seconds = (performance.now() - this.startedMs) / 1000;
    const rate = seconds > 0 ? Math.round(this.ticks.count / seconds) : 0;
    return `tick ${this.runtime.ticks}  entities ${this.runtime.world.entityCount}  ` +
      `tick ms ${formatMs(this.ticks.meanMs())}  ${rate} ticks/s`;
  }
}

/**
 * `message` without a leading "system <name>: " or "system <name> ": errors
 * raised inside a system name it (a library user sees only the message), and
 * the line already starts with it.
 */
function withoutSystemName(message: string, system: string): string {
  for (const prefix of [`system ${system}: `, `system ${system} `]) {
    if (message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return message;
}
