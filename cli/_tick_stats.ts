/**
 * Tick durations of a run: an exact count and mean, and the last
 * {@linkcode TICK_HISTORY_MAX} durations in a ring for percentiles. Memory is
 * fixed however long the run.
 *
 * @module
 */

/** How many recent tick durations percentiles are computed over. */
export const TICK_HISTORY_MAX = 65_536;

/**
 * Records tick durations in milliseconds.
 *
 * @example
 * ```ts
 * import { TickStats } from "./_tick_stats.ts";
 * const stats = new TickStats();
 * stats.record(1.5);
 * stats.record(2.5);
 * stats.meanMs(); // 2
 * stats.percentileMs(0.99); // 2.5
 * stats.recent(1, 100); // { first: 1, ms: [2.5] }
 * ```
 */
export class TickStats {
  /** Ticks recorded. */
  count = 0;
  /** Sum of every recorded duration. */
  totalMs = 0;
  private readonly historyMs = new Float64Array(TICK_HISTORY_MAX);

  /** Records one tick's duration. */
  record(ms: number): void {
    this.historyMs[this.count % TICK_HISTORY_MAX] = ms;
    this.count++;
    this.totalMs += ms;
  }

  /** Mean duration over every tick; 0 before the first. */
  meanMs(): number {
    return this.count === 0 ? 0 : this.totalMs / this.count;
  }

  /**
   * The durations of ticks recorded from the `from`-th on (counting from 0),
   * at most the newest `max` of them and of those still kept.
   */
  recent(from: number, max: number): { first: number; ms: number[] } {
    const first = Math.max(from, this.count - Math.min(max, TICK_HISTORY_MAX));
    const ms: number[] = [];
    for (let i = first; i < this.count; i++) ms.push(this.historyMs[i % TICK_HISTORY_MAX]);
    return { first, ms };
  }

  /** The `fraction` (0..1] percentile over the recent ticks (nearest rank); 0 before the first. */
  percentileMs(fraction: number): number {
    const kept = Math.min(this.count, TICK_HISTORY_MAX);
    if (kept === 0) return 0;
    const sorted = this.historyMs.slice(0, kept).sort();
    const rank = Math.min(kept, Math.max(1, Math.ceil(fraction * kept)));
    return sorted[rank - 1];
  }
}
