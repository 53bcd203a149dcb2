/**
 * Names for the errno values io_uring setup and submission return, with the likely cause for
 * the ones a user can do something about.
 *
 * @module
 */

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  14: "EFAULT",
  16: "EBUSY",
  22: "EINVAL",
  24: "EMFILE",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
};

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
