/**
 * The errors of the io_uring binding: io_uring unusable here (with the reason and the fix), or
 * a liburing call that returned a negative errno. Re-exported by ring.ts.
 *
 * @module
 */

import { describeNegativeErrno } from "./_errno.ts";

/**
 * Thrown by {@linkcode openRing} when io_uring cannot be used here. `reason` is the same line
 * `probeIoUring` reports (disabled by `STATICECS_IO_URING=off`, not Linux, liburing missing,
 * EPERM/ENOSYS from the kernel, ...); the caller falls back to portable I/O and tells the user.
 *
 * @example
 * ```ts
 * import { IoUringUnavailableError, openRing } from "./ring.ts";
 * try {
 *   (await openRing({ entries: 8, env: { STATICECS_IO_URING: "off" } })).close();
 * } catch (error) {
 *   if (error instanceof IoUringUnavailableError) console.log(error.reason); // "disabled by STATICECS_IO_URING=off"
 * }
 * ```
 */
export class IoUringUnavailableError extends Error {
  /** Why io_uring is unusable, and how to fix it when something can be done. */
  readonly reason: string;

  /** An error for `reason`; `cause` is the underlying error, if any. */
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`io_uring is unusable: ${reason}`, options);
    this.name = "IoUringUnavailableError";
    this.reason = reason;
  }
}

/**
 * A liburing call that returned a negative errno, for example `io_uring_submit failed: EBUSY`.
 *
 * @example
 * ```ts
 * import { IoUringError } from "./ring.ts";
 * const error = new IoUringError("io_uring_submit", -16);
 * console.log(error.message, error.errno); // "io_uring_submit failed: EBUSY" 16
 * ```
 */
export class IoUringError extends Error {
  /** The liburing function that failed. */
  readonly call: string;
  /** The positive errno value (`ERRNO.EBUSY` is 16). */
  readonly errno: number;

  /** An error for `call` having returned `negativeErrno`. */
  constructor(call: string, negativeErrno: number) {
    super(`${call} failed: ${describeNegativeErrno(negativeErrno)}`);
    this.name = "IoUringError";
    this.call = call;
    this.errno = -negativeErrno;
  }
}
