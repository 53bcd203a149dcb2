/**
 * I/O intents: systems that declare `io: true` record reads, writes,
 * fsyncs, opens and closes through `ctx.io` during a phase; at the end of
 * the phase the runtime hands the whole batch to an I/O executor (one
 * io_uring submission, or the portable path), and each completion reaches
 * the system that asked, through its `onIo` handler, before the next phase
 * starts. An error completion is a value (a negative errno), never a crashed
 * frame.
 *
 * Intents of one phase run concurrently (as io_uring runs them), except that
 * an fsync or a close waits for every intent recorded before it in the
 * phase. Phases run in order, so a read in a later phase sees an earlier
 * phase's writes. A buffer given to `write` or `read` must not be touched
 * until its completion arrives: the batch keeps it referenced until then.
 *
 * Files are named by handles, never by OS descriptors: an open completes
 * with a small integer from the runtime's handle table (`_io_handles.ts`),
 * the same whichever executor opened the file, so world state that keeps a
 * handle is the same on every backend. The executors see only the batch
 * the table translates to descriptors.
 *
 * @module
 */

import { BoundError, UsageError } from "./errors.ts";

/**
 * Kinds of intent, as the batch stores them.
 *
 * @example
 * ```ts
 * import { IO_OP, IoBatch } from "staticecs/backend";
 * const batch = new IoBatch(16);
 * batch.push(IO_OP.fsync, 3, 0, undefined, undefined, 0, 0);
 * ```
 */
export const IO_OP = { read: 1, write: 2, fsync: 3, open: 4, close: 5 } as const;

/**
 * The name of an intent kind.
 *
 * @example
 * ```ts
 * import type { IoOpName } from "staticecs/backend";
 * const ops: IoOpName[] = ["open", "write", "fsync", "close"];
 * ```
 */
export type IoOpName = keyof typeof IO_OP;

/**
 * Linux errno values (x86-64) that the runtime completes intents with itself, without asking
 * the OS: a handle that is not open (EBADF), the handle table full (EMFILE), no executor
 * (ENOSYS). A completion's `result` is the negative of one.
 *
 * @example
 * ```ts
 * import { IO_ERRNO, type IoCompletion } from "staticecs";
 * const stale = (completion: IoCompletion) => completion.result === -IO_ERRNO.EBADF;
 * ```
 */
export const IO_ERRNO = { EBADF: 9, EMFILE: 24, ENOSYS: 38 } as const;

const OP_NAMES: readonly (IoOpName | "")[] = ["", "read", "write", "fsync", "open", "close"];

/**
 * Linux open(2) flags for `ctx.io.open`.
 *
 * @example
 * ```ts
 * import { O_FLAGS } from "staticecs";
 * const createOrTruncate = O_FLAGS.wronly | O_FLAGS.creat | O_FLAGS.trunc;
 * ```
 */
export const O_FLAGS = {
  rdonly: 0,
  wronly: 1,
  rdwr: 2,
  creat: 0o100,
  trunc: 0o1000,
  append: 0o2000,
} as const;

/**
 * One phase's intents, in preallocated columns; the executor writes `result`.
 *
 * @example
 * ```ts
 * import { IO_OP, IoBatch } from "staticecs/backend";
 * const batch = new IoBatch(64);
 * const i = batch.push(IO_OP.write, 3, 0, new Uint8Array(4096), undefined, 0, 0);
 * batch.opName(i); // "write"
 * ```
 */
export class IoBatch {
  readonly capacity: number;
  count = 0;
  readonly op: Uint8Array;
  /**
   * The file: a handle in the batch `ctx.io` records into, the OS descriptor in the batch an
   * executor runs (0 for an open).
   */
  readonly fd: Int32Array;
  /** File offset, or -1 for the file's current position. */
  readonly offset: Float64Array;
  /** Open flags (open), or IORING_FSYNC flags (fsync). */
  readonly flags: Int32Array;
  readonly mode: Int32Array;
  /** Scene index of the system that recorded the intent. */
  readonly system: Int32Array;
  /** Bytes moved, the new handle (fd in an executor's batch), or 0; a negative errno on failure. */
  readonly result: Int32Array;
  readonly ticket: Float64Array;
  readonly buffers: (Uint8Array | undefined)[];
  readonly paths: (string | undefined)[];
  /** An error the runtime reports as the recording system's, besides the result (a bound hit). */
  readonly errors: (Error | undefined)[];

  constructor(capacity: number) {
    this.capacity = capacity;
    this.op = new Uint8Array(capacity);
    this.fd = new Int32Array(capacity);
    this.offset = new Float64Array(capacity);
    this.flags = new Int32Array(capacity);
    this.mode = new Int32Array(capacity);
    this.system = new Int32Array(capacity);
    this.result = new Int32Array(capacity);
    this.ticket = new Float64Array(capacity);
    this.buffers = new Array(capacity).fill(undefined);
    this.paths = new Array(capacity).fill(undefined);
    this.errors = new Array(capacity).fill(undefined);
  }

  /** Appends an intent; returns its index. Callers bound the count (a full batch is a bug). */
  push(
    op: number,
    fd: number,
    offset: number,
    buffer: Uint8Array | undefined,
    path: string | undefined,
    flags: number,
    mode: number,
  ): number {
    const i = this.count;
    if (i >= this.capacity) throw new RangeError(`IoBatch: full at ${this.capacity} intents`);
    this.op[i] = op;
    this.fd[i] = fd;
    this.offset[i] = offset;
    this.buffers[i] = buffer;
    this.paths[i] = path;
    this.flags[i] = flags;
    this.mode[i] = mode;
    this.result[i] = 0;
    this.count = i + 1;
    return i;
  }

  /** The name of intent `i`'s kind. */
  opName(i: number): IoOpName {
    return OP_NAMES[this.op[i]] as IoOpName;
  }

  /** Forgets every intent and drops the buffer references (after completions were delivered). */
  clear(): void {
    for (let i = 0; i < this.count; i++) {
      this.buffers[i] = undefined;
      this.paths[i] = undefined;
      this.errors[i] = undefined;
    }
    this.count = 0;
  }
}

/**
 * Runs a phase's intents: io_uring in one submission, or the portable path.
 *
 * @example
 * ```ts
 * import { IoBatch, type IoExecutor } from "staticecs/backend";
 * // An executor that fails every intent with ENOSYS (38): the smallest one there is.
 * const refuse: IoExecutor = {
 *   kind: "refuse",
 *   reason: "no I/O here",
 *   run(batch: IoBatch) {
 *     for (let i = 0; i < batch.count; i++) batch.result[i] = -38;
 *   },
 *   stats: () => ({}),
 *   close() {},
 * };
 * ```
 */
export interface IoExecutor {
  /** "io_uring" or "portable". */
  readonly kind: string;
  /** Why this executor: io_uring usable, or why not. */
  readonly reason: string;
  /** Performs every intent of `batch` and writes each one's result into `batch.result`. */
  run(batch: IoBatch): void;
  /** Counters: operations, submissions, system calls, waits. */
  stats(): Record<string, number>;
  /** Operations that failed, by errno name (`EBADF: 2`); optional. */
  errors?(): Record<string, number>;
  close(): void;
}

/**
 * A completed intent, as `onIo` receives it; one object, reused for every completion.
 *
 * @example
 * ```ts
 * import { defineSystem } from "staticecs";
 * defineSystem({
 *   name: "reader",
 *   io: true,
 *   run() {},
 *   onIo(completion) {
 *     if (completion.failed) console.error(`${completion.op} failed: errno ${-completion.result}`);
 *   },
 * });
 * ```
 */
export class IoCompletion {
  /** What the intent's method returned. */
  ticket = 0;
  op: IoOpName = "write";
  /** The handle the intent named (0 for an open). */
  handle = 0;
  /** Bytes moved (read, write), the new handle (open), 0 (fsync, close), or a negative errno. */
  result = 0;
  /** The buffer of a read or write. */
  buffer: Uint8Array | undefined = undefined;
  /** The path of an open. */
  path: string | undefined = undefined;

  /** True if the intent failed; `result` is then -errno. */
  get failed(): boolean {
    return this.result < 0;
  }
}

/** What `ctx.io` records into; one per runtime, shared by the contexts of I/O systems. */
export class IoRecorder {
  readonly batch: IoBatch;
  private nextTicket = 1;

  constructor(capacity: number) {
    this.batch = new IoBatch(capacity);
  }

  /**
   * Records an intent for `system` on file `fd` (a handle; an OS fd when the batch goes straight
   * to an executor); returns its ticket.
   */
  record(
    system: number,
    op: number,
    fd: number,
    offset: number,
    buffer: Uint8Array | undefined,
    path: string | undefined,
    flags: number,
    mode: number,
  ): number {
    const batch = this.batch;
    const i = batch.count;
    if (i >= batch.capacity) {
      throw new BoundError(
        "maxIoPerPhase",
        batch.capacity,
        `I/O queue full: ${batch.capacity} intents this phase (maxIoPerPhase); raise ` +
          `config.maxIoPerPhase or spread the I/O over phases or frames`,
      );
    }
    batch.push(op, fd, offset, buffer, path, flags, mode);
    batch.system[i] = system;
    batch.ticket[i] = this.nextTicket;
    return this.nextTicket++;
  }
}

/**
 * `ctx.io`: records intents for the system it belongs to. Each method
 * returns a ticket that the completion carries. Files are named by the
 * handle their open completed with; a handle that is not open (never was,
 * closed, or from before a snapshot was restored) completes with -EBADF
 * and touches no file.
 *
 * @example
 * ```ts
 * import { defineSystem, O_FLAGS } from "staticecs";
 * const bytes = new TextEncoder().encode("hello\n");
 * defineSystem({
 *   name: "log",
 *   io: true,
 *   run(ctx) {
 *     if (ctx.tick === 0) ctx.io.open("/tmp/log.txt", O_FLAGS.wronly | O_FLAGS.creat, 0o644);
 *   },
 *   onIo(completion, ctx) {
 *     if (completion.op === "open" && !completion.failed) ctx.io.write(completion.result, bytes);
 *   },
 * });
 * ```
 */
export class SystemIo {
  private readonly recorder: IoRecorder | undefined;
  private readonly system: number;
  private readonly name: string;

  constructor(recorder: IoRecorder | undefined, system: number, name: string) {
    this.recorder = recorder;
    this.system = system;
    this.name = name;
  }

  /** Writes `data` at `offset` (-1: the file position, as with O_APPEND). */
  write(handle: number, data: Uint8Array, offset = -1): number {
    return this.take().record(this.system, IO_OP.write, handle, offset, data, undefined, 0, 0);
  }

  /** Reads into `into` from `offset` (-1: the file position). */
  read(handle: number, into: Uint8Array, offset = -1): number {
    return this.take().record(this.system, IO_OP.read, handle, offset, into, undefined, 0, 0);
  }

  /** Flushes the file to storage, after every intent recorded before it in the phase. */
  fsync(handle: number): number {
    return this.take().record(this.system, IO_OP.fsync, handle, 0, undefined, undefined, 0, 0);
  }

  /** Opens `path` with O_FLAGS; the completion's result is the new handle (1, 2, ...). */
  open(path: string, flags: number, mode = 0o644): number {
    return this.take().record(this.system, IO_OP.open, 0, 0, undefined, path, flags, mode);
  }

  /**
   * Closes the file, after every intent recorded before it in the phase; the handle stops
   * working at once (later intents of the phase on it complete with -EBADF).
   */
  close(handle: number): number {
    return this.take().record(this.system, IO_OP.close, handle, 0, undefined, undefined, 0, 0);
  }

  private take(): IoRecorder {
    if (this.recorder === undefined) {
      throw new UsageError(
        `system ${this.name} records I/O but does not declare it; add io: true to its ` +
          `defineSystem declaration`,
      );
    }
    return this.recorder;
  }
}
