/**
 * SIGINT and SIGTERM ask a run to stop after the current tick. A second
 * signal exits at once with 128 + its number (130 for SIGINT), for a run
 * stuck in a loop that never yields. `node:process` signal handlers work
 * under both Bun and Deno.
 *
 * @module
 */

import process from "node:process";

/** The signals that ask for a stop, with their numbers on Linux and macOS. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15 };

const STOP_SIGNALS = Object.keys(SIGNAL_NUMBERS);

/** Whether a stop was asked for, and by which signal. */
export interface StopRequest {
  /** The signal that asked, once one did. */
  readonly signal: string | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * The exit code of a process ended by `signal`, as a shell reports it: 128 +
 * the signal's number (130 for SIGINT, 143 for SIGTERM).
 *
 * @example
 * ```ts
 * import { exitCodeAfter } from "./_stop_signals.ts";
 * exitCodeAfter("SIGINT"); // 130
 * ```
 */
export function exitCodeAfter(signal: string): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? SIGNAL_NUMBERS.SIGINT);
}

/**
 * Installs the handlers until `dispose`; `onStop` hears the first signal.
 *
 * @example
 * ```ts
 * import { listenForStop } from "./_stop_signals.ts";
 * const stop = listenForStop();
 * // ... loop while stop.signal === undefined ...
 * stop.dispose();
 * ```
 */
export function listenForStop(onStop?: (signal: string) => void): StopRequest {
  const request = { signal: undefined as string | undefined, dispose };
  const handler = (signal: string) => {
    if (request.signal !== undefined) process.exit(exitCodeAfter(signal));
    request.signal = signal;
    onStop?.(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  function dispose(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  }
  return request;
}
