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
 * @module
 */

import { BoundError, UsageError } from "./errors.ts";

/** Kinds of intent, as the batch stores them. */
export const IO_OP = { read: 1, write: 2, fsync: 3, open: 4, close: 5 } as const;

/** The name of an intent kind. */
export type IoOpName = keyof typeof IO_OP;

const OP_NAMES: readonly (IoOpName | "")[] = ["", "read", "write", "fsync", "open", "close"];

/** Linux open(2) flags for `ctx.io.open`. */
export const O_FLAGS = {
  rdonly: 0,
  wronly: 1,
  rdwr: 2,
  creat: 0o100,
  trunc: 0o1000,
  append: 0o2000,
} as const;

/** One phase's intents, in preallocated columns; the executor writes `result`. */
export class IoBatch {
  readonly capacity: number;
  count = 0;
  readonly op: Uint8Array;
  readonly fd: Int32Array;
  /** File offset, or -1 for the file's current position. */
  readonly offset: Float64Array;
  /** Open flags (open), or IORING_FSYNC flags (fsync). */
  readonly flags: Int32Array;
  readonly mode: Int32Array;
  /** Scene index of the system that recorded the intent. */
  readonly system: Int32Array;
  /** Bytes moved, the new fd, or 0; a negative errno on failure. */
  readonly result: Int32Array;
  readonly ticket: Float64Array;
  readonly buffers: (Uint8Array | undefined)[];
  readonly paths: (string | undefined)[];

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
    }
    this.count = 0;
  }
}

/** Runs a phase's intents: io_uring in one submission, or the portable path. */
export interface IoExecutor {
  /** "io_uring" or "portable". */
  readonly kind: string;
  /** Why this executor: io_uring usable, or why not. */
  readonly reason: string;
  /** Performs every intent of `batch` and writes each one's result into `batch.result`. */
  run(batch: IoBatch): void;
  /** Counters: operations, submissions, system calls, waits. */
  stats(): Record<string, number>;
  close(): void;
}

/** A completed intent, as `onIo` receives it; one object, reused for every completion. */
export class IoCompletion {
  /** What the intent's method returned. */
  ticket = 0;
  op: IoOpName = "write";
  fd = 0;
  /** Bytes moved (read, write), the new fd (open), 0 (fsync, close), or a negative errno. */
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

  /** Records an intent for `system`; returns its ticket. */
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
    batch.op[i] = op;
    batch.fd[i] = fd;
    batch.offset[i] = offset;
    batch.buffers[i] = buffer;
    batch.paths[i] = path;
    batch.flags[i] = flags;
    batch.mode[i] = mode;
    batch.system[i] = system;
    batch.result[i] = 0;
    batch.ticket[i] = this.nextTicket;
    batch.count = i + 1;
    return this.nextTicket++;
  }
}

/**
 * `ctx.io`: records intents for the system it belongs to. Each method
 * returns a ticket that the completion carries.
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
  write(fd: number, data: Uint8Array, offset = -1): number {
    return this.take().record(this.system, IO_OP.write, fd, offset, data, undefined, 0, 0);
  }

  /** Reads into `into` from `offset` (-1: the file position). */
  read(fd: number, into: Uint8Array, offset = -1): number {
    return this.take().record(this.system, IO_OP.read, fd, offset, into, undefined, 0, 0);
  }

  /** Flushes the file to storage, after every intent recorded before it in the phase. */
  fsync(fd: number): number {
    return this.take().record(this.system, IO_OP.fsync, fd, 0, undefined, undefined, 0, 0);
  }

  /** Opens `path` with O_FLAGS; the completion's result is the new fd. */
  open(path: string, flags: number, mode = 0o644): number {
    return this.take().record(this.system, IO_OP.open, -1, 0, undefined, path, flags, mode);
  }

  /** Closes `fd`, after every intent recorded before it in the phase. */
  close(fd: number): number {
    return this.take().record(this.system, IO_OP.close, fd, 0, undefined, undefined, 0, 0);
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
