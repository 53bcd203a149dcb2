/**
 * A log that writes at most a few lines a second: what strangers cause (refused connections,
 * evictions) must not cost the coordinator more than they cost the stranger, and a flood of
 * connections must not become a flood of synchronous writes to stderr.
 *
 * @module
 */

/** Lines written per window at most; the rest are counted and summed up in one line. */
const LINES_PER_WINDOW_MAX = 10;
const WINDOW_MS = 1_000;

/**
 * Passes lines on to `log`, at most LINES_PER_WINDOW_MAX a second; past that it counts them and
 * writes one line saying how many it left out when the window ends.
 *
 * @example
 * ```ts
 * import { LogLimiter } from "./_log_limiter.ts";
 * const lines: string[] = [];
 * const limiter = new LogLimiter((line) => lines.push(line));
 * for (let i = 0; i < 100; i++) limiter.line(`refused ${i}`);
 * limiter.dispose(); // writes the summary of the 90 left out
 * lines.length; // 11
 * ```
 */
export class LogLimiter {
  readonly #log: (line: string) => void;
  readonly #what: string;
  #windowStartMs = -Infinity;
  #linesInWindow = 0;
  #leftOut = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `what` names the lines in the summary ("refused connections"). */
  constructor(log: (line: string) => void, what = "lines like these") {
    this.#log = log;
    this.#what = what;
  }

  line(text: string): void {
    const now = performance.now();
    if (now - this.#windowStartMs >= WINDOW_MS) {
      this.#windowStartMs = now;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow < LINES_PER_WINDOW_MAX) {
      this.#linesInWindow++;
      this.#log(text);
      return;
    }
    this.#leftOut++;
    this.#timer ??= setTimeout(() => this.#summarize(), this.#windowStartMs + WINDOW_MS - now);
  }

  /** Writes the pending summary, if any, and stops its timer. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#summarize();
  }

  #summarize(): void {
    this.#timer = undefined;
    if (this.#leftOut === 0) return;
    this.#log(
      `${this.#leftOut} more ${this.#what} not logged (at most ${LINES_PER_WINDOW_MAX} a second)`,
    );
    this.#leftOut = 0;
  }
}
