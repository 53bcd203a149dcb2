/**
 * The runtime's table of files opened through `ctx.io`. Systems name files
 * by handle, never by OS descriptor: descriptors differ between the io_uring
 * ring and node:fs (and with whatever else the process has open), so a
 * descriptor kept in a resource would make the checksum depend on the
 * backend. The table belongs to the runtime, not to an executor: the
 * adaptive backend may open a file on one path and write it on the other.
 *
 * A handle packs a slot (low 16 bits, from 1) and the slot's generation
 * (the 15 bits above). An open takes the lowest free slot, in record order,
 * so the first files get handles 1, 2, 3, ... whichever executor runs them;
 * 0 is never a handle, so a zeroed resource field means "no file". A close
 * frees the slot once it completes and bumps its generation, so a handle
 * kept after its close no longer matches and completes with -EBADF instead
 * of reaching the file that reuses the slot (until the slot has been reused
 * HANDLE_GENERATIONS times, when the generation wraps).
 *
 * Before an executor runs a phase's batch, the table copies the intents it
 * accepts into a batch of its own with OS descriptors; an intent on a
 * handle that is not open (never was, closed, closed earlier in the same
 * phase, or from before a snapshot was restored: open files do not survive
 * a restore) completes with -EBADF without reaching the executor, and an
 * open past `maxOpenFiles` completes with -EMFILE and a BoundError.
 *
 * @module
 */

import { BoundError } from "./errors.ts";
import { IO_ERRNO, IO_OP, IoBatch, type IoExecutor } from "./io.ts";

const SLOT_BITS = 16;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** Generations a slot goes through before its handles repeat; keeps handles positive int32. */
export const HANDLE_GENERATIONS = 1 << 15;
/** The most slots a table can have (the upper limit of `maxOpenFiles`). */
export const OPEN_FILES_LIMIT = SLOT_MASK;

const FREE = 0;
/** Reserved by an open in the batch being run. */
const OPENING = 1;
const OPEN = 2;
/** A close of it is in the batch being run: later intents on it are refused. */
const CLOSING = 3;

/**
 * Handles of the files a runtime opened through `ctx.io`, and the OS
 * descriptor behind each.
 *
 * @example
 * ```ts
 * import { IoHandleTable } from "./_io_handles.ts";
 * import { IO_OP, IoBatch } from "./io.ts";
 * const table = new IoHandleTable(4, 8);
 * const batch = new IoBatch(1);
 * batch.push(IO_OP.open, 0, 0, undefined, "/tmp/a", 0, 0);
 * // An executor that "opens" every file as descriptor 7.
 * const executor = {
 *   kind: "demo",
 *   reason: "",
 *   run(os: IoBatch) {
 *     os.result[0] = 7;
 *   },
 *   stats: () => ({}),
 *   close() {},
 * };
 * table.run(batch, executor);
 * console.log(batch.result[0], table.fdOf(1)); // 1 7
 * ```
 */
export class IoHandleTable {
  /** Most files open at once (`maxOpenFiles`). */
  readonly capacity: number;
  readonly #fds: Int32Array;
  readonly #generations: Uint16Array;
  readonly #states: Uint8Array;
  /** The intents an executor runs, with OS descriptors; refused intents are left out. */
  readonly #os: IoBatch;
  /** Per intent of #os: its index in the recorded batch, and its slot (open, close). */
  readonly #source: Int32Array;
  readonly #slots: Int32Array;
  /** Slots not free. */
  #used = 0;
  /** No slot below this one is free. */
  #freeFrom = 1;

  /** A table of `capacity` slots, for batches of up to `batchCapacity` intents. */
  constructor(capacity: number, batchCapacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > OPEN_FILES_LIMIT) {
      throw new RangeError(`IoHandleTable: capacity must be 1 to ${OPEN_FILES_LIMIT}`);
    }
    this.capacity = capacity;
    this.#fds = new Int32Array(capacity + 1).fill(-1);
    this.#generations = new Uint16Array(capacity + 1);
    this.#states = new Uint8Array(capacity + 1);
    this.#os = new IoBatch(batchCapacity);
    this.#source = new Int32Array(batchCapacity);
    this.#slots = new Int32Array(batchCapacity);
  }

  /** Files open now. */
  get openCount(): number {
    return this.#used;
  }

  /** The OS descriptor behind `handle`, or -1 if the handle is not open. */
  fdOf(handle: number): number {
    const slot = this.#slotOf(handle);
    return slot < 0 ? -1 : this.#fds[slot];
  }

  /**
   * Runs a batch recorded with handles through `executor`: opens get
   * handles, closes free them, and every result lands in `batch.result`.
   */
  run(batch: IoBatch, executor: IoExecutor): void {
    const os = this.#os;
    if (batch.count > os.capacity) {
      throw new RangeError(`IoHandleTable: ${batch.count} intents, more than its ${os.capacity}`);
    }
    for (let i = 0; i < batch.count; i++) {
      if (batch.op[i] === IO_OP.open) this.#acceptOpen(batch, i);
      else this.#acceptOnFile(batch, i);
    }
    let settled = 0;
    try {
      if (os.count > 0) executor.run(os);
      for (; settled < os.count; settled++) this.#settle(batch, settled);
    } finally {
      // An executor that threw leaves no slot reserved or half closed.
      for (let k = settled; k < os.count; k++) this.#abandon(k);
      os.clear();
    }
  }

  /** Closes every file still open through `executor`; returns how many closes failed. */
  closeAll(executor: IoExecutor): number {
    const os = this.#os;
    let failed = 0;
    let slot = 1;
    while (slot <= this.capacity) {
      for (; slot <= this.capacity && os.count < os.capacity; slot++) {
        if (this.#states[slot] !== OPEN) continue;
        this.#slots[os.push(IO_OP.close, this.#fds[slot], 0, undefined, undefined, 0, 0)] = slot;
      }
      try {
        if (os.count > 0) executor.run(os);
        for (let k = 0; k < os.count; k++) if (os.result[k] < 0) failed++;
      } finally {
        for (let k = 0; k < os.count; k++) this.#release(this.#slots[k]);
        os.clear();
      }
    }
    return failed;
  }

  #acceptOpen(batch: IoBatch, i: number): void {
    const slot = this.#reserve();
    if (slot < 0) {
      batch.result[i] = -IO_ERRNO.EMFILE;
      batch.errors[i] = new BoundError(
        "maxOpenFiles",
        this.capacity,
        `open file limit reached: ${this.capacity} files open through ctx.io (maxOpenFiles); ` +
          `raise config.maxOpenFiles or close files first`,
      );
      return;
    }
    const os = this.#os;
    const k = os.push(IO_OP.open, 0, 0, undefined, batch.paths[i], batch.flags[i], batch.mode[i]);
    this.#source[k] = i;
    this.#slots[k] = slot;
  }

  #acceptOnFile(batch: IoBatch, i: number): void {
    const slot = this.#slotOf(batch.fd[i]);
    if (slot < 0) {
      batch.result[i] = -IO_ERRNO.EBADF;
      return;
    }
    const op = batch.op[i];
    if (op === IO_OP.close) this.#states[slot] = CLOSING;
    const k = this.#os.push(
      op,
      this.#fds[slot],
      batch.offset[i],
      batch.buffers[i],
      undefined,
      batch.flags[i],
      batch.mode[i],
    );
    this.#source[k] = i;
    this.#slots[k] = slot;
  }

  /** Moves the result of executed intent `k` to the recorded batch, updating the table. */
  #settle(batch: IoBatch, k: number): void {
    const os = this.#os;
    const slot = this.#slots[k];
    let result = os.result[k];
    if (os.op[k] === IO_OP.open) {
      if (result >= 0) {
        this.#fds[slot] = result;
        this.#states[slot] = OPEN;
        result = this.#handleOf(slot);
      } else {
        this.#unreserve(slot);
      }
    } else if (os.op[k] === IO_OP.close) {
      // Linux frees the descriptor even when close reports an error.
      this.#release(slot);
    }
    batch.result[this.#source[k]] = result;
  }

  /** Undoes executed intent `k` whose result never came: an open unreserves, a close frees. */
  #abandon(k: number): void {
    if (this.#os.op[k] === IO_OP.open) this.#unreserve(this.#slots[k]);
    else if (this.#os.op[k] === IO_OP.close) this.#release(this.#slots[k]);
  }

  /** The slot of `handle` if it names a file open now (not closing), else -1. */
  #slotOf(handle: number): number {
    if (!Number.isInteger(handle) || handle <= 0 || handle > 0x7fff_ffff) return -1;
    const slot = handle & SLOT_MASK;
    if (slot === 0 || slot > this.capacity || this.#states[slot] !== OPEN) return -1;
    return this.#generations[slot] === handle >>> SLOT_BITS ? slot : -1;
  }

  #handleOf(slot: number): number {
    return this.#generations[slot] * (SLOT_MASK + 1) + slot;
  }

  /** The lowest free slot, now reserved; -1 if none. */
  #reserve(): number {
    for (let slot = this.#freeFrom; slot <= this.capacity; slot++) {
      if (this.#states[slot] !== FREE) continue;
      this.#states[slot] = OPENING;
      this.#used++;
      this.#freeFrom = slot + 1;
      return slot;
    }
    this.#freeFrom = this.capacity + 1;
    return -1;
  }

  /** Frees a slot whose open failed: its handle was never given out, so it keeps its generation. */
  #unreserve(slot: number): void {
    this.#states[slot] = FREE;
    this.#used--;
    if (slot < this.#freeFrom) this.#freeFrom = slot;
  }

  /** Frees a closed file's slot; the next generation makes its old handle stale. */
  #release(slot: number): void {
    this.#fds[slot] = -1;
    this.#generations[slot] = (this.#generations[slot] + 1) % HANDLE_GENERATIONS;
    this.#unreserve(slot);
  }
}
