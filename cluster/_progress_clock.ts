/**
 * The time that counts against members' silence: the coordinator's own clock minus the time it
 * was not running (stopped by a signal, swapped out, busy in one long task). Silence the
 * coordinator could not observe is not evidence against a member, so when its periodic tick
 * comes late, the lateness past an allowance is left out of every member's silence.
 *
 * @module
 */

/**
 * A clock that stops while its owner stalls. `tick(wallMs)` is called on a timer; a gap between
 * two ticks longer than `allowanceMs` counts only `allowanceMs`.
 *
 * @example
 * ```ts
 * import { ProgressClock } from "./_progress_clock.ts";
 * const clock = new ProgressClock(0, 100);
 * clock.tick(50); // 0: on time
 * clock.tick(5_050); // 4900: a stall of 4.9 s left out
 * clock.now(5_060); // 160
 * ```
 */
export class ProgressClock {
  readonly allowanceMs: number;
  #lastTickMs: number;
  #stalledMs = 0;

  constructor(wallMs: number, allowanceMs: number) {
    this.#lastTickMs = wallMs;
    this.allowanceMs = allowanceMs;
  }

  /** Progress at `wallMs` (at or after the last tick): wall time minus every stall so far. */
  now(wallMs: number): number {
    const lateMs = Math.max(0, wallMs - this.#lastTickMs - this.allowanceMs);
    return wallMs - this.#stalledMs - lateMs;
  }

  /** Records a tick at `wallMs`; returns how long the owner stalled before it (0 if on time). */
  tick(wallMs: number): number {
    const stalledMs = Math.max(0, wallMs - this.#lastTickMs - this.allowanceMs);
    this.#stalledMs += stalledMs;
    this.#lastTickMs = Math.max(this.#lastTickMs, wallMs);
    return stalledMs;
  }
}
