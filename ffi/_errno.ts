/**
 * Names for the errno values io_uring setup and submission return, with the likely cause for
 * the ones a user can do something about.
 *
 * @module
 */

/**
 * Linux errno values (x86-64) that io_uring setup, submission and completions commonly carry.
 * A completion's `res` is the negative of one of these when its operation failed.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EPIPE: 32,
  ENOSYS: 38,
  ETIME: 62,
  ENOTSOCK: 88,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  EALREADY: 114,
  ECANCELED: 125,
} as const;

const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, value]) => [value, name]),
);

const IO_URING_CAUSES: Readonly<Record<string, string>> = {
  EPERM: "io_uring disabled by seccomp or kernel.io_uring_disabled",
  ENOSYS: "kernel without io_uring support",
  ENOMEM: "locked-memory limit too low for the ring: raise `ulimit -l`",
  EINVAL: "ring parameters rejected by the kernel",
  EMFILE: "too many open files",
};

/**
 * The symbolic name of an errno value, or `errno N` for one not in the table.
 *
 * @example
 * ```ts
 * import { errnoName } from "./_errno.ts";
 * errnoName(1); // "EPERM"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/**
 * Describes a negative liburing result: its errno name and, when known, the likely cause.
 *
 * @example
 * ```ts
 * import { describeNegativeErrno } from "./_errno.ts";
 * describeNegativeErrno(-1); // "EPERM (io_uring disabled by seccomp or kernel.io_uring_disabled)"
 * ```
 */
export function describeNegativeErrno(result: number): string {
  if (!Number.isInteger(result) || result >= 0) {
    throw new RangeError(`describeNegativeErrno: expected a negative errno, got ${result}`);
  }
  const name = errnoName(-result);
  const cause = IO_URING_CAUSES[name];
  return cause === undefined ? name : `${name} (${cause})`;
}

/** The largest errno an ErrnoTally counts by number (Linux's end below 150). */
const TALLIED_ERRNO_MAX = 255;

/**
 * Failed operations by errno, for an executor's `errors()`: one typed-array
 * increment per failure, nothing per success.
 *
 * @example
 * ```ts
 * import { ErrnoTally } from "./_errno.ts";
 * const tally = new ErrnoTally();
 * tally.note(-9);
 * tally.note(4096);
 * tally.byName(); // { EBADF: 1 }
 * ```
 */
export class ErrnoTally {
  private readonly counts = new Float64Array(TALLIED_ERRNO_MAX + 2);

  /** Counts `result` if it is a negative errno. */
  note(result: number): void {
    if (result < 0) this.counts[Math.min(-result, TALLIED_ERRNO_MAX + 1)]++;
  }

  /** Counts by errno name (`errno N` for one without a name; `other` past the table). */
  byName(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let errno = 1; errno < this.counts.length; errno++) {
      if (this.counts[errno] === 0) continue;
      out[errno > TALLIED_ERRNO_MAX ? "other" : errnoName(errno)] = this.counts[errno];
    }
    return out;
  }
}
