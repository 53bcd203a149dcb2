/**
 * The portable I/O executor: the same intents as the io_uring path, run one
 * by one with node:fs (which Bun and Deno both provide), in record order.
 * Used where io_uring is refused, missing or switched off, and as the
 * direct path that batching is measured against. Results follow io_uring's
 * convention: bytes, fd or 0, or a negative errno.
 *
 * @module
 */

import { closeSync, fdatasyncSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { IO_OP, type IoBatch, type IoExecutor } from "../core/io.ts";
import { ErrnoTally } from "./_errno.ts";

/** IORING_FSYNC_DATASYNC, as the batch's fsync flags carry it. */
export const FSYNC_DATASYNC = 1;

/** Errno numbers by code, for errors node:fs reports by name. */
const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
};

/**
 * Runs intents with blocking node:fs calls.
 *
 * @example
 * ```ts
 * import { IO_OP, IoBatch, PortableExecutor } from "staticecs/backend";
 * const io = new PortableExecutor("direct I/O through node:fs");
 * const batch = new IoBatch(4);
 * batch.push(IO_OP.open, 0, 0, undefined, "/tmp/portable.txt", 0o101, 0o644); // O_WRONLY | O_CREAT
 * io.run(batch);
 * batch.result[0]; // the new fd, or a negative errno
 * io.close();
 * ```
 */
export class PortableExecutor implements IoExecutor {
  readonly kind = "portable";
  readonly reason: string;
  private operations = 0;
  private calls = 0;
  private readonly failures = new ErrnoTally();

  constructor(reason: string) {
    this.reason = reason;
  }

  run(batch: IoBatch): void {
    for (let i = 0; i < batch.count; i++) {
      batch.result[i] = this.runOne(batch, i);
      this.failures.note(batch.result[i]);
      this.operations++;
      this.calls++;
    }
  }

  stats(): Record<string, number> {
    return { ioOperations: this.operations, ioSystemCalls: this.calls };
  }

  errors(): Record<string, number> {
    return this.failures.byName();
  }

  close(): void {}

  private runOne(batch: IoBatch, i: number): number {
    try {
      const fd = batch.fd[i];
      const position = batch.offset[i] < 0 ? null : batch.offset[i];
      switch (batch.op[i]) {
        case IO_OP.write: {
          const data = batch.buffers[i]!;
          return writeSync(fd, data, 0, data.length, position);
        }
        case IO_OP.read: {
          const into = batch.buffers[i]!;
          return readSync(fd, into, 0, into.length, position);
        }
        case IO_OP.fsync:
          if (batch.flags[i] & FSYNC_DATASYNC) fdatasyncSync(fd);
          else fsyncSync(fd);
          return 0;
        case IO_OP.open:
          return openSync(batch.paths[i]!, batch.flags[i], batch.mode[i]);
        case IO_OP.close:
          closeSync(fd);
          return 0;
        default:
          return -ERRNO.EINVAL;
      }
    } catch (error) {
      return -errnoOf(error);
    }
  }
}

/** The errno of a node:fs error (by its code), or EIO if it has none. */
export function errnoOf(error: unknown): number {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && Object.hasOwn(ERRNO, code)) return ERRNO[code];
  const errno = (error as { errno?: unknown })?.errno;
  if (typeof errno === "number" && errno !== 0) return Math.abs(errno);
  return ERRNO.EIO;
}
