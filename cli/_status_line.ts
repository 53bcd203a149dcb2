/**
 * The live status line of `staticecs run` on a terminal: rewritten in place
 * on stderr about four times a second, and cleared before anything else is
 * printed.
 *
 * @module
 */

/** Milliseconds between refreshes. */
export const STATUS_REFRESH_MS = 250;

/** Where the line goes: a stream with `write`, and `isTTY` on a terminal. */
export interface StatusStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A status line that does nothing unless enabled.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { StatusLine } from "./_status_line.ts";
 * const status = new StatusLine(process.stderr, process.stderr.isTTY === true);
 * status.refresh(() => "tick 10");
 * status.clear();
 * ```
 */
export class StatusLine {
  private readonly stream: StatusStream;
  private readonly enabled: boolean;
  private shown = false;
  private nextRefreshMs = 0;

  constructor(stream: StatusStream, enabled: boolean) {
    this.stream = stream;
    this.enabled = enabled;
  }

  /** Rewrites the line with `text()` if a refresh is due; `text` is only called then. */
  refresh(text: () => string): void {
    if (!this.enabled) return;
    const nowMs = performance.now();
    if (nowMs < this.nextRefreshMs) return;
    this.nextRefreshMs = nowMs + STATUS_REFRESH_MS;
    this.stream.write(`\r${text()}\x1b[K`);
    this.shown = true;
  }

  /** Erases the line, so the next output starts on a clean line. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write("\r\x1b[K");
    this.shown = false;
    this.nextRefreshMs = 0;
  }
}
