/**
 * SIGINT and SIGTERM ask a run to stop after the current tick. A second
 * signal exits at once with 130, for a run stuck in a loop that never yields.
 * `node:process` signal handlers work under both Bun and Deno.
 *
 * @module
 */

import process from "node:process";

const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Exit code after a second signal: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

/** Whether a stop was asked for, and by which signal. */
export interface StopRequest {
  /** The signal that asked, once one did. */
  readonly signal: string | undefined;
  /** Removes the handlers. */
  dispose(): void;
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
    if (request.signal !== undefined) process.exit(EXIT_INTERRUPTED);
    request.signal = signal;
    onStop?.(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  function dispose(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  }
  return request;
}
