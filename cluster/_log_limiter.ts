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
 * Passes lines on to `log`, at most LINES_PER_WINDOW_MAX a second of each kind (lines that
 * differ only in numbers, such as addresses, are of one kind); past that it counts them and
 * writes one line per kind saying how many it left out when the window ends. So a flood of one
 * kind of refusal does not hide the others.
 *
 * @example
 * ```ts
 * import { LogLimiter } from "./_log_limiter.ts";
 * const lines: string[] = [];
 * const limiter = new LogLimiter((line) => lines.push(line));
 * for (let i = 0; i < 100; i++) limiter.line(`refused 10.0.0.${i}`);
 * limiter.line("another kind");
 * limiter.dispose(); // writes the summary of the 90 left out
 * lines.length; // 12
 * ```
 */
export class LogLimiter {
  readonly #log: (line: string) => void;
  readonly #kinds = new Map<string, Kind>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  line(text: string): void {
    const now = performance.now();
    const key = text.replace(/\d+/g, "#").slice(0, KIND_CHARS);
    let kind = this.#kinds.get(key);
    if (kind === undefined || now - kind.windowStartMs >= WINDOW_MS) {
      if (kind !== undefined) this.#summarize(key, kind);
      if (this.#kinds.size >= KINDS_MAX) this.#summarizeAll();
      kind = { windowStartMs: now, lines: 0, leftOut: 0, example: text };
      this.#kinds.set(key, kind);
    }
    if (kind.lines < LINES_PER_WINDOW_MAX) {
      kind.lines++;
      this.#log(text);
      return;
    }
    kind.leftOut++;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#summarizeAll();
    }, WINDOW_MS);
  }

  /** Writes the pending summaries, if any, and stops the timer. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#summarizeAll();
  }

  #summarizeAll(): void {
    for (const [key, kind] of this.#kinds) this.#summarize(key, kind);
    this.#kinds.clear();
  }

  #summarize(key: string, kind: Kind): void {
    this.#kinds.delete(key);
    if (kind.leftOut === 0) return;
    this.#log(
      `${kind.leftOut} more lines like this one were not logged (at most ` +
        `${LINES_PER_WINDOW_MAX} a second): ${kind.example}`,
    );
  }
}

interface Kind {
  windowStartMs: number;
  lines: number;
  leftOut: number;
  /** The first line of the window, repeated in the summary. */
  example: string;
}

/** Characters of a line (numbers made alike) that decide its kind. */
const KIND_CHARS = 120;
/** Kinds tracked at once; past it every summary is written and counting starts over. */
const KINDS_MAX = 64;
