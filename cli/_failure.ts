/**
 * The failures the CLI reports on one line, with the exit codes it uses.
 *
 * @module
 */

/** Exit code of a run that finished without errors (or was stopped by a signal). */
export const EXIT_OK = 0;
/** Exit code of a run in which a system failed. */
export const EXIT_SYSTEM_ERRORS = 1;
/** Exit code of bad input: arguments, flags or a scene file that cannot run. */
export const EXIT_BAD_INPUT = 2;

/**
 * Bad input: `main` prints `staticecs: <message>` on one line and exits 2. The
 * message names what was wrong and how to fix it; `cause`, if any, is the
 * underlying error, whose stack `--verbose` prints.
 *
 * @example
 * ```ts
 * import { BadInput } from "./_failure.ts";
 * throw new BadInput("--ticks must be a positive integer; got abc");
 * ```
 */
export class BadInput extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BadInput";
  }
}

/**
 * A run stopped by a signal before it could run a tick (during setup):
 * `main` prints `staticecs: <message>` on one line and exits with
 * `exitCode` (128 + the signal's number, as a shell reports a process the
 * signal ended).
 *
 * @example
 * ```ts
 * import { Stopped } from "./_failure.ts";
 * throw new Stopped("scene.ts: stopped during setup (SIGINT)", 130);
 * ```
 */
export class Stopped extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "Stopped";
    this.exitCode = exitCode;
  }
}

/**
 * The message of any thrown value, reduced to its first non-empty line so that
 * a failure prints as one line.
 *
 * @example
 * ```ts
 * import { firstLine } from "./_failure.ts";
 * firstLine(new Error("boom\n    at x.ts:1")); // "boom"
 * ```
 */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split("\n").find((part) => part.trim() !== "");
  return line === undefined ? "(no message)" : line.trim();
}
