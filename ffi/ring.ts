/**
 * An io_uring ring over liburing 2.3, the same on Bun and on Deno: the piece the io_uring
 * batch backend is built on. Runtime-specific FFI lives in `bun.ts` and `deno.ts`; this file
 * only sees the {@linkcode Liburing} interface and plain typed arrays over ring memory.
 *
 * ## The model
 *
 * A ring is a submission queue (SQ) of SQEs the program fills and a completion queue (CQ) of
 * CQEs the kernel fills, both shared memory. One cycle:
 *
 * 1. **Prepare**: each `prep*` method takes a free SQE, writes every one of its 64 bytes (the
 *    memory liburing hands out is stale, so nothing is left to chance) and returns `true`; or
 *    it writes nothing and returns `false` when the ring has no room (see Bounds). Nothing is
 *    ever dropped: `false` means "make room, then call again".
 * 2. **Submit**: {@linkcode Ring.submit} hands every prepared SQE to the kernel with one
 *    `io_uring_enter`; {@linkcode Ring.submitAndWait} does the same and blocks until at least
 *    `n` completions are ready. Both return how many SQEs the kernel took; a negative errno
 *    from liburing is thrown as an {@linkcode IoUringError} naming it.
 * 3. **Reap**: {@linkcode Ring.peekCompletions} copies ready completions (user_data, res,
 *    flags) into a caller-owned `Float64Array` without allocating;
 *    {@linkcode Ring.advance} then hands those CQ slots back to the kernel (a release store of
 *    the CQ head) and drops the ring's references to their buffers.
 *    {@linkcode Ring.reapCompletions} does both. A failed operation is a completion whose `res`
 *    is a negative errno (`-ERRNO.EBADF`): a value, never a thrown error.
 *
 * ## Bounds
 *
 * - The SQ holds `sqEntries` prepared-but-unsubmitted SQEs (the `entries` given to
 *   {@linkcode openRing}, rounded up to a power of two by the kernel). When it is full a `prep*`
 *   returns `false`: submit, then retry.
 * - At most `inFlightMax` operations (the CQ size, twice `sqEntries`) are in flight, counting
 *   from prepare to reap. At that bound a `prep*` returns `false` with an empty SQ: wait for and
 *   reap completions (`submitAndWait(1)`, then `reapCompletions`), then retry. Because of this
 *   bound the CQ can never overflow.
 * - {@linkcode Ring.sqeAvailable} says how many `prep*` calls will succeed right now.
 *
 * ## Buffer lifetime (read this before passing memory to the kernel)
 *
 * The kernel reads and writes a buffer asynchronously, from submit until the operation's
 * completion. The ring keeps every buffer it was given referenced (so the garbage collector
 * cannot free it) until {@linkcode Ring.advance} reaps that completion. The caller must not
 * reuse, overwrite (for a WRITE or SEND), read (for a READ or RECV), detach, transfer or shrink
 * a buffer before its completion is reaped. user_data identifies an operation: it must be an
 * integer in [0, 2^53) and unique among the operations in flight (a duplicate is thrown before
 * anything is written). {@linkcode Ring.close} first cancels and waits for everything in flight,
 * so no buffer is touched after it returns.
 *
 * ## Blocking
 *
 * `submitAndWait` blocks the calling thread (both runtimes call liburing synchronously). Call
 * it from a worker, or only when completions are known to be close (a batch of file I/O).
 *
 * @example
 * ```ts
 * import { COMPLETION_FIELDS, openRing } from "./ring.ts";
 * const ring = await openRing({ entries: 8 });
 * try {
 *   ring.prepNop(1);
 *   ring.submitAndWait(1);
 *   const completions = new Float64Array(8 * COMPLETION_FIELDS);
 *   const count = ring.reapCompletions(completions); // 1: completions[0] is 1, completions[1] is 0
 *   console.log(count);
 * } finally {
 *   ring.close();
 * }
 * ```
 *
 * @module
 */

import { describeNegativeErrno, ERRNO } from "./_errno.ts";
import { InFlightTable } from "./_inflight.ts";
import {
  ASYNC_CANCEL_ANY,
  CQE_BYTES,
  CQE_OFFSET,
  OPCODE,
  PROBE_LAYOUT,
  RING_OFFSET,
  RING_STRUCT_BYTES,
  SQE_BYTES,
  SQE_FLAGS_ALLOWED,
  SQE_OFFSET,
  TIMESPEC_BYTES,
} from "./_layout.ts";
import { openLiburing } from "./_open.ts";
import { type Liburing, LIBURING_DEFAULT_PATH, type RingMemory } from "./_types.ts";
import {
  describeOpenError,
  type Environment,
  processEnvironment,
  processPlatform,
  reasonBeforeOpening,
} from "./_unusable.ts";
import { assert } from "../core/_assert.ts";

import { IoUringError, IoUringUnavailableError } from "./errors.ts";
import { checkFd, checkLength, checkOffset, checkRingOptions, checkUint32 } from "./_ring_args.ts";

export { ERRNO, errnoName } from "./_errno.ts";
export { IoUringError, IoUringUnavailableError } from "./errors.ts";
export { kernelTimespec, pathBytes } from "./_ring_args.ts";
export { AT_FDCWD, FSYNC_DATASYNC, OPCODE, OPEN_FLAG, SQE_FLAG, TIMEOUT_FLAG } from "./_layout.ts";
export type { Liburing } from "./_types.ts";

/** Numbers per completion in the array {@linkcode Ring.peekCompletions} fills. */
export const COMPLETION_FIELDS = 3;
/** Index, within one completion, of its user_data (exact: values are below 2^53). */
export const COMPLETION_USER_DATA = 0;
/** Index, within one completion, of `res`: the result, or a negative errno. */
export const COMPLETION_RESULT = 1;
/** Index, within one completion, of the CQE flags (`IORING_CQE_F_*`). */
export const COMPLETION_FLAGS = 2;

/** How {@linkcode openRing} sets up a ring. */
export interface RingOptions {
  /** SQ size: 1 to 32768, rounded up to a power of two by the kernel. The CQ is twice that. */
  readonly entries: number;
  /** `IORING_SETUP_*` flags; 0 by default. SQE128 and CQE32 are refused (fixed layout). */
  readonly flags?: number;
  /** Library name or path; `liburing.so.2` by default. */
  readonly libraryPath?: string;
  /** Environment read for `STATICECS_IO_URING=off`; the process environment by default. */
  readonly env?: Environment;
  /** Operating system as `process.platform` names it; this one by default (for tests). */
  readonly platform?: string;
}

/**
 * Opens liburing with this runtime's FFI and sets up a ring of `entries` SQEs.
 *
 * Throws {@linkcode IoUringUnavailableError} saying why when io_uring cannot be used here, and
 * `RangeError` for options out of bounds.
 *
 * @example
 * ```ts
 * import { openRing } from "./ring.ts";
 * const ring = await openRing({ entries: 64 });
 * console.log(ring.sqEntries, ring.inFlightMax); // 64 128
 * ring.close();
 * ```
 */
export async function openRing(options: RingOptions): Promise<Ring> {
  const reason = reasonBeforeOpening(
    options.env ?? processEnvironment(),
    options.platform ?? processPlatform(),
  );
  if (reason !== undefined) throw new IoUringUnavailableError(reason);
  checkRingOptions(options.entries, options.flags ?? 0);
  const libraryPath = options.libraryPath ?? LIBURING_DEFAULT_PATH;
  let lib: Liburing;
  try {
    lib = await openLiburing(libraryPath);
  } catch (error) {
    throw new IoUringUnavailableError(describeOpenError(libraryPath, error), { cause: error });
  }
  try {
    return new Ring(lib, options.entries, options.flags ?? 0);
  } catch (error) {
    lib.close();
    throw error;
  }
}

const WORD_BYTES = 4;
const SQE_WORDS = SQE_BYTES / WORD_BYTES;
const CQE_WORDS = CQE_BYTES / WORD_BYTES;
const TWO_TO_32 = 0x1_0000_0000;
/** user_data of the ring's own operations (the cancel in close): above every caller value. */
const INTERNAL_USER_DATA_HIGH = 0xffff_ffff;
/** How often an interrupted wait is retried before EINTR is thrown. */
const EINTR_RETRIES_MAX = 64;
/** Waits in a row that may end with no completion (signals) before close gives up. */
const DRAIN_FRUITLESS_WAITS_MAX = 64;

/** Word indexes of the SQE fields, from `SQE_OFFSET`. */
const SQE_WORD = {
  opcodeFlagsIoprio: SQE_OFFSET.opcode / WORD_BYTES,
  fd: SQE_OFFSET.fd / WORD_BYTES,
  off: SQE_OFFSET.off / WORD_BYTES,
  addr: SQE_OFFSET.addr / WORD_BYTES,
  len: SQE_OFFSET.len / WORD_BYTES,
  opFlags: SQE_OFFSET.opFlags / WORD_BYTES,
  userData: SQE_OFFSET.userData / WORD_BYTES,
  bufIndexPersonality: SQE_OFFSET.bufIndex / WORD_BYTES,
  spliceFdIn: SQE_OFFSET.spliceFdIn / WORD_BYTES,
  /** addr3 and padding, up to the end of the SQE. */
  tail: SQE_OFFSET.spliceFdIn / WORD_BYTES + 1,
} as const;

/** Word indexes of the CQE fields, from `CQE_OFFSET`. */
const CQE_WORD = {
  userData: CQE_OFFSET.userData / WORD_BYTES,
  res: CQE_OFFSET.res / WORD_BYTES,
  flags: CQE_OFFSET.flags / WORD_BYTES,
} as const;

/**
 * One io_uring ring. Create it with {@linkcode openRing} (or `new Ring(lib, entries)` over an
 * already opened {@linkcode Liburing}, which the ring then owns); see the module documentation
 * for the prepare, submit, reap cycle, the bounds and the buffer lifetime rules.
 *
 * @example
 * ```ts
 * import { COMPLETION_FIELDS, COMPLETION_RESULT, ERRNO, openRing } from "./ring.ts";
 * const ring = await openRing({ entries: 8 });
 * const buffer = new Uint8Array(16);
 * ring.prepRead(7, 999_999, buffer, 0); // a READ on a descriptor that is not open
 * ring.submitAndWait(1);
 * const completions = new Float64Array(COMPLETION_FIELDS);
 * ring.reapCompletions(completions);
 * console.log(completions[COMPLETION_RESULT] === -ERRNO.EBADF); // true
 * ring.close();
 * ```
 */
export class Ring {
  readonly #lib: Liburing;
  readonly #memory: RingMemory;
  /** struct io_uring as words: liburing's own sqe_head and sqe_tail live here. */
  readonly #struct: Uint32Array<ArrayBuffer>;
  #sqHead: Uint32Array;
  #cqHead: Uint32Array;
  #cqTail: Uint32Array;
  #sqeWords: Uint32Array;
  #sqeInts: Int32Array;
  #cqeWords: Uint32Array;
  #cqeInts: Int32Array;
  readonly #sqEntries: number;
  readonly #sqMask: number;
  readonly #cqEntries: number;
  readonly #cqMask: number;
  readonly #features: number;
  readonly #inFlight: InFlightTable;
  #inFlightCount = 0;
  #opcodes: ReadonlySet<number> | undefined;
  #closed = false;

  /**
   * Sets up a ring with `io_uring_queue_init(entries, ring, flags)` through `lib`. Once
   * constructed, the ring owns `lib` and closes it in {@linkcode Ring.close}; if construction
   * throws, `lib` stays the caller's. Throws {@linkcode IoUringUnavailableError} when the kernel
   * refuses (EPERM, ENOSYS, ENOMEM, ...).
   */
  constructor(lib: Liburing, entries: number, flags = 0) {
    checkRingOptions(entries, flags);
    this.#lib = lib;
    this.#memory = new Uint8Array(new ArrayBuffer(RING_STRUCT_BYTES));
    this.#struct = new Uint32Array(this.#memory.buffer);
    const initResult = lib.queueInit(entries, this.#memory, flags);
    if (initResult < 0) {
      throw new IoUringUnavailableError(
        `io_uring_queue_init failed: ${describeNegativeErrno(initResult)}`,
      );
    }
    // Views over the kernel's ring memory, through the pointers queue_init left in the struct.
    const fields = new DataView(this.#memory.buffer);
    const wordAt = (pointerOffset: number) =>
      new Uint32Array(lib.memoryAt(fields.getBigUint64(pointerOffset, true), WORD_BYTES));
    this.#sqEntries = wordAt(RING_OFFSET.sqKringEntries)[0];
    this.#sqMask = wordAt(RING_OFFSET.sqKringMask)[0];
    this.#cqEntries = wordAt(RING_OFFSET.cqKringEntries)[0];
    this.#cqMask = wordAt(RING_OFFSET.cqKringMask)[0];
    this.#features = fields.getUint32(RING_OFFSET.features, true);
    this.#sqHead = wordAt(RING_OFFSET.sqKhead);
    this.#cqHead = wordAt(RING_OFFSET.cqKhead);
    this.#cqTail = wordAt(RING_OFFSET.cqKtail);
    const sqes = lib.memoryAt(
      fields.getBigUint64(RING_OFFSET.sqSqes, true),
      this.#sqEntries * SQE_BYTES,
    );
    const cqes = lib.memoryAt(
      fields.getBigUint64(RING_OFFSET.cqCqes, true),
      this.#cqEntries * CQE_BYTES,
    );
    this.#sqeWords = new Uint32Array(sqes);
    this.#sqeInts = new Int32Array(sqes);
    this.#cqeWords = new Uint32Array(cqes);
    this.#cqeInts = new Int32Array(cqes);
    this.#inFlight = new InFlightTable(this.#cqEntries);
    if (this.#sqMask !== this.#sqEntries - 1 || this.#cqMask !== this.#cqEntries - 1) {
      lib.queueExit(this.#memory);
      assert(false, "ring: masks are entries - 1 (is this liburing 2.3's struct io_uring?)");
    }
  }

  /** SQEs the SQ holds (a power of two): the most that can be prepared between submits. */
  get sqEntries(): number {
    return this.#sqEntries;
  }

  /** CQEs the CQ holds. */
  get cqEntries(): number {
    return this.#cqEntries;
  }

  /** The bound on operations in flight, prepare to reap: the CQ size. */
  get inFlightMax(): number {
    return this.#cqEntries;
  }

  /** Operations prepared and not yet reaped. */
  get inFlightCount(): number {
    return this.#inFlightCount;
  }

  /** SQEs prepared and not yet handed to the kernel by a submit. */
  get pendingCount(): number {
    const tail = this.#struct[RING_OFFSET.sqSqeTail / WORD_BYTES];
    return (tail - this.#struct[RING_OFFSET.sqSqeHead / WORD_BYTES]) >>> 0;
  }

  /** `IORING_FEAT_*` bits the kernel reported at setup. */
  get features(): number {
    return this.#features;
  }

  /** Whether {@linkcode Ring.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many `prep*` calls succeed before a submit or reap is needed. */
  sqeAvailable(): number {
    this.#checkOpen();
    return Math.min(this.#sqFree(), this.#cqEntries - this.#inFlightCount);
  }

  /** Prepares a NOP: completes with res 0. False (nothing written) when there is no room. */
  prepNop(userData: number, sqeFlags = 0): boolean {
    this.#checkPrep(userData, sqeFlags);
    return this.#prep(OPCODE.nop, sqeFlags, -1, 0, 0, 0, 0, userData, null, null);
  }

  /**
   * Prepares a READ of `buffer.byteLength` bytes from `fd` at byte `offset` (-1: the file
   * position) into `buffer`. res: bytes read, or a negative errno. False when there is no room.
   */
  prepRead(
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    sqeFlags = 0,
  ): boolean {
    return this.#prepTransfer(OPCODE.read, userData, fd, buffer, offset, sqeFlags);
  }

  /**
   * Prepares a WRITE of all of `buffer` to `fd` at byte `offset` (-1: the file position).
   * res: bytes written, or a negative errno. False when there is no room.
   */
  prepWrite(
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    sqeFlags = 0,
  ): boolean {
    return this.#prepTransfer(OPCODE.write, userData, fd, buffer, offset, sqeFlags);
  }

  /** A SEND or RECV of all of `buffer` with `messageFlags`: the checks and the SQE they share. */
  #prepSocket(
    opcode: number,
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    messageFlags: number,
    sqeFlags: number,
  ): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(fd);
    checkUint32(messageFlags, "messageFlags");
    const address = this.#addressOf(buffer);
    const length = checkLength(buffer);
    return this.#prep(
      opcode,
      sqeFlags,
      fd,
      0,
      address,
      length,
      messageFlags,
      userData,
      buffer,
      null,
    );
  }

  /** A READ or WRITE of all of `buffer` at `offset`: the checks and the SQE they share. */
  #prepTransfer(
    opcode: number,
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    sqeFlags: number,
  ): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(fd);
    checkOffset(offset);
    const address = this.#addressOf(buffer);
    const length = checkLength(buffer);
    return this.#prep(opcode, sqeFlags, fd, offset, address, length, 0, userData, buffer, null);
  }

  /**
   * Prepares an FSYNC of `fd`; `fsyncFlags` `FSYNC_DATASYNC` makes it an fdatasync. Not ordered
   * after earlier writes unless linked to them (`SQE_FLAG.ioLink` on the write) or submitted
   * after their completions. False when there is no room.
   */
  prepFsync(userData: number, fd: number, fsyncFlags = 0, sqeFlags = 0): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(fd);
    checkUint32(fsyncFlags, "fsyncFlags");
    return this.#prep(OPCODE.fsync, sqeFlags, fd, 0, 0, 0, fsyncFlags, userData, null, null);
  }

  /**
   * Prepares an OPENAT of `path` (NUL-terminated bytes: {@linkcode pathBytes}) relative to
   * `dirFd` (`AT_FDCWD`: the working directory) with `open(2)` flags (`OPEN_FLAG`) and `mode`.
   * res: the new fd, or a negative errno. False when there is no room.
   */
  prepOpenat(
    userData: number,
    dirFd: number,
    path: Uint8Array,
    openFlags: number,
    mode: number,
    sqeFlags = 0,
  ): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(dirFd);
    if (path.length === 0 || path[path.length - 1] !== 0) {
      throw new TypeError("prepOpenat: path must end with a NUL byte: build it with pathBytes()");
    }
    checkUint32(openFlags, "openFlags");
    checkUint32(mode, "mode");
    const address = this.#addressOf(path);
    return this.#prep(
      OPCODE.openat,
      sqeFlags,
      dirFd,
      0,
      address,
      mode,
      openFlags,
      userData,
      path,
      null,
    );
  }

  /** Prepares a CLOSE of `fd`. res: 0, or a negative errno. False when there is no room. */
  prepClose(userData: number, fd: number, sqeFlags = 0): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(fd);
    return this.#prep(OPCODE.close, sqeFlags, fd, 0, 0, 0, 0, userData, null, null);
  }

  /**
   * Prepares a TIMEOUT: completes with res `-ERRNO.ETIME` when `timespec` (a 16-byte
   * `__kernel_timespec`: {@linkcode kernelTimespec}) elapses, or with 0 once
   * `completionCount` other completions arrived first (0: a pure timer). `timeoutFlags`:
   * `TIMEOUT_FLAG`. False when there is no room.
   */
  prepTimeout(
    userData: number,
    timespec: ArrayBufferView,
    completionCount = 0,
    timeoutFlags = 0,
    sqeFlags = 0,
  ): boolean {
    this.#checkPrep(userData, sqeFlags);
    if (timespec.byteLength !== TIMESPEC_BYTES) {
      throw new TypeError(
        `prepTimeout: timespec must be ${TIMESPEC_BYTES} bytes: kernelTimespec()`,
      );
    }
    checkUint32(completionCount, "completionCount");
    checkUint32(timeoutFlags, "timeoutFlags");
    const address = this.#addressOf(timespec);
    return this.#prep(
      OPCODE.timeout,
      sqeFlags,
      -1,
      completionCount,
      address,
      1,
      timeoutFlags,
      userData,
      timespec,
      null,
    );
  }

  /**
   * Prepares an ACCEPT on the listening socket `fd`. With `peerAddress` (a sockaddr buffer) and
   * `peerAddressLength` (one u32, set here to the buffer's size), the kernel fills in the peer.
   * res: the connection's fd, or a negative errno. Needs a kernel with ACCEPT
   * ({@linkcode Ring.probeOpcodes}). False when there is no room.
   */
  prepAccept(
    userData: number,
    fd: number,
    peerAddress: Uint8Array | null = null,
    peerAddressLength: Uint32Array | null = null,
    acceptFlags = 0,
    sqeFlags = 0,
  ): boolean {
    this.#checkPrep(userData, sqeFlags);
    checkFd(fd);
    checkUint32(acceptFlags, "acceptFlags");
    if (
      (peerAddress === null) !== (peerAddressLength === null) || peerAddressLength?.length === 0
    ) {
      throw new TypeError(
        "prepAccept: give both peerAddress and a 1-element peerAddressLength, or neither",
      );
    }
    const address = peerAddress === null ? 0 : this.#addressOf(peerAddress);
    const lengthAddress = peerAddressLength === null ? 0 : this.#addressOf(peerAddressLength);
    const prepared = this.#prep(
      OPCODE.accept,
      sqeFlags,
      fd,
      lengthAddress,
      address,
      0,
      acceptFlags,
      userData,
      peerAddress,
      peerAddressLength,
    );
    // The kernel reads the length when the connection arrives, after submit: set it now.
    if (prepared && peerAddress !== null && peerAddressLength !== null) {
      peerAddressLength[0] = peerAddress.byteLength;
    }
    return prepared;
  }

  /**
   * Prepares a SEND of all of `buffer` on the socket `fd` with `send(2)` flags. res: bytes sent,
   * or a negative errno. Needs a kernel with SEND. False when there is no room.
   */
  prepSend(
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    messageFlags = 0,
    sqeFlags = 0,
  ): boolean {
    return this.#prepSocket(OPCODE.send, userData, fd, buffer, messageFlags, sqeFlags);
  }

  /**
   * Prepares a RECV into `buffer` from the socket `fd` with `recv(2)` flags. res: bytes
   * received (0 at end of stream), or a negative errno. Needs a kernel with RECV. False when
   * there is no room.
   */
  prepRecv(
    userData: number,
    fd: number,
    buffer: ArrayBufferView,
    messageFlags = 0,
    sqeFlags = 0,
  ): boolean {
    return this.#prepSocket(OPCODE.recv, userData, fd, buffer, messageFlags, sqeFlags);
  }

  /**
   * Hands every prepared SQE to the kernel (one `io_uring_enter`, none if nothing is
   * prepared) and returns how many it took. Throws {@linkcode IoUringError} on a negative errno.
   */
  submit(): number {
    this.#checkOpen();
    const result = this.#lib.submit(this.#memory);
    if (result < 0) throw new IoUringError("io_uring_submit", result);
    return result;
  }

  /**
   * Like {@linkcode Ring.submit}, then blocks until at least `waitCount` completions are ready
   * (a signal may end the wait early: always act on what `peekCompletions` finds). `waitCount`
   * may not exceed {@linkcode Ring.inFlightCount}, or the wait could never end.
   */
  submitAndWait(waitCount: number): number {
    this.#checkOpen();
    if (!Number.isInteger(waitCount) || waitCount < 0 || waitCount > this.#inFlightCount) {
      throw new RangeError(
        `submitAndWait(${waitCount}): must be an integer from 0 to the ${this.#inFlightCount} ` +
          "operations in flight, or the wait could never end",
      );
    }
    for (let attempt = 0;; attempt++) {
      const result = this.#lib.submitAndWait(this.#memory, waitCount);
      // EINTR comes back only when nothing was submitted (the kernel reports a submission in
      // preference to an interrupted wait), so waiting again is safe.
      if (result === -ERRNO.EINTR && attempt < EINTR_RETRIES_MAX) continue;
      if (result < 0) throw new IoUringError("io_uring_submit_and_wait", result);
      return result;
    }
  }

  /** How many completions are ready to be peeked now. */
  completionsReady(): number {
    this.#checkOpen();
    return (Atomics.load(this.#cqTail, 0) - Atomics.load(this.#cqHead, 0)) >>> 0;
  }

  /**
   * Copies up to `out.length / COMPLETION_FIELDS` ready completions, oldest first, into `out`
   * (for each: user_data, res, flags at `COMPLETION_USER_DATA`, `COMPLETION_RESULT`,
   * `COMPLETION_FLAGS`) and returns how many. Allocates nothing and consumes nothing: call
   * {@linkcode Ring.advance} with (at most) the count once they are handled.
   */
  peekCompletions(out: Float64Array): number {
    this.#checkOpen();
    const head = Atomics.load(this.#cqHead, 0);
    // Atomics.load of the tail is the acquire that makes the CQEs before it visible.
    const ready = (Atomics.load(this.#cqTail, 0) - head) >>> 0;
    const count = Math.min(ready, Math.floor(out.length / COMPLETION_FIELDS));
    const words = this.#cqeWords;
    for (let index = 0; index < count; index++) {
      const word = ((head + index) & this.#cqMask) * CQE_WORDS;
      const field = index * COMPLETION_FIELDS;
      out[field + COMPLETION_USER_DATA] = words[word + CQE_WORD.userData] +
        words[word + CQE_WORD.userData + 1] * TWO_TO_32;
      out[field + COMPLETION_RESULT] = this.#cqeInts[word + CQE_WORD.res];
      out[field + COMPLETION_FLAGS] = words[word + CQE_WORD.flags];
    }
    return count;
  }

  /**
   * Reaps the `count` oldest ready completions: releases the buffers of their operations and
   * hands their CQ slots back to the kernel (io_uring_cqe_seen for each, as one release store
   * of the CQ head).
   */
  advance(count: number): void {
    this.#checkOpen();
    const head = Atomics.load(this.#cqHead, 0);
    const ready = (Atomics.load(this.#cqTail, 0) - head) >>> 0;
    if (!Number.isInteger(count) || count < 0 || count > ready) {
      throw new RangeError(`advance(${count}): must be an integer from 0 to the ${ready} ready`);
    }
    let unknown = 0;
    for (let index = 0; index < count; index++) {
      const word = ((head + index) & this.#cqMask) * CQE_WORDS + CQE_WORD.userData;
      const high = this.#cqeWords[word + 1];
      if (high === INTERNAL_USER_DATA_HIGH) continue;
      if (!this.#inFlight.remove(this.#cqeWords[word] + high * TWO_TO_32)) unknown++;
    }
    this.#inFlightCount -= count;
    Atomics.store(this.#cqHead, 0, (head + count) >>> 0);
    assert(
      unknown === 0,
      () => `ring: ${unknown} completions carried a user_data that was not in flight`,
    );
  }

  /** {@linkcode Ring.peekCompletions} then {@linkcode Ring.advance} over what it copied. */
  reapCompletions(out: Float64Array): number {
    const count = this.peekCompletions(out);
    this.advance(count);
    return count;
  }

  /**
   * The opcodes this kernel supports (`OPCODE` values), from `io_uring_get_probe_ring`.
   * Computed once per ring.
   */
  probeOpcodes(): ReadonlySet<number> {
    this.#checkOpen();
    if (this.#opcodes !== undefined) return this.#opcodes;
    const probe = this.#lib.getProbeRing(this.#memory);
    if (probe === 0n) {
      throw new Error(
        "io_uring_get_probe_ring failed: the kernel has no opcode probe (before 5.6)",
      );
    }
    const supported = new Set<number>();
    try {
      const header = new Uint8Array(this.#lib.memoryAt(probe, PROBE_LAYOUT.headerBytes));
      const lastOp = header[PROBE_LAYOUT.lastOp];
      const opsLength = header[PROBE_LAYOUT.opsLength];
      const bytes = new Uint8Array(
        this.#lib.memoryAt(probe, PROBE_LAYOUT.headerBytes + opsLength * PROBE_LAYOUT.opBytes),
      );
      // io_uring_opcode_supported (inline in liburing.h): op <= last_op and the op's flag set.
      for (let op = 0; op <= lastOp && op < opsLength; op++) {
        const flagsAt = PROBE_LAYOUT.headerBytes + op * PROBE_LAYOUT.opBytes + PROBE_LAYOUT.opFlags;
        if ((bytes[flagsAt] & PROBE_LAYOUT.opSupported) !== 0) supported.add(op);
      }
    } finally {
      this.#lib.freeProbe(probe);
    }
    this.#opcodes = supported;
    return supported;
  }

  /**
   * Cancels and waits for every operation in flight (so the kernel touches no buffer
   * afterwards), then `io_uring_queue_exit` and closes the library. Calling it again does
   * nothing; any other method throws once the ring is closed.
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.#drain();
    } finally {
      this.#closed = true;
      this.#lib.queueExit(this.#memory);
      this.#lib.close();
      // The views point at unmapped memory now: replace them so no access can reach it.
      this.#sqHead = this.#cqHead = this.#cqTail = new Uint32Array(1);
      this.#sqeWords = this.#cqeWords = new Uint32Array(0);
      this.#sqeInts = this.#cqeInts = new Int32Array(0);
    }
  }

  /** Closes the ring at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #drain(): void {
    if (this.#inFlightCount === 0) return;
    const completions = new Float64Array(this.#cqEntries * COMPLETION_FIELDS);
    this.submit();
    this.reapCompletions(completions);
    if (this.#inFlightCount > 0 && this.#sqFree() > 0) {
      // One ASYNC_CANCEL with CANCEL_ANY ends what can wait forever (timeouts, socket reads);
      // before Linux 5.19 it fails with EINVAL and the wait below still ends with the I/O.
      const slot = this.#acquireSqeSlot();
      this.#writeSqe(slot, OPCODE.asyncCancel, 0, -1, 0, 0, 0, ASYNC_CANCEL_ANY, 0);
      this.#sqeWords[slot * SQE_WORDS + SQE_WORD.userData + 1] = INTERNAL_USER_DATA_HIGH;
      this.#inFlightCount++;
    }
    let fruitlessWaits = 0;
    while (this.#inFlightCount > 0) {
      this.submitAndWait(1);
      if (this.reapCompletions(completions) > 0) fruitlessWaits = 0;
      else if (++fruitlessWaits > DRAIN_FRUITLESS_WAITS_MAX) {
        throw new Error(
          `close: ${this.#inFlightCount} operations still in flight after ` +
            `${DRAIN_FRUITLESS_WAITS_MAX} waits without a completion; their buffers stay referenced`,
        );
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("ring is closed: open a new one with openRing()");
  }

  #checkPrep(userData: number, sqeFlags: number): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(userData) || userData < 0) {
      throw new RangeError(`user_data must be an integer in [0, 2^53), got ${userData}`);
    }
    if (!Number.isInteger(sqeFlags) || (sqeFlags & ~SQE_FLAGS_ALLOWED) !== 0) {
      throw new RangeError(
        `sqeFlags ${sqeFlags}: only SQE_FLAG bits (${SQE_FLAGS_ALLOWED}) are allowed; ` +
          "CQE_SKIP_SUCCESS and BUFFER_SELECT would break one-completion-per-operation",
      );
    }
  }

  #addressOf(view: ArrayBufferView): number {
    return this.#lib.addressOf(view);
  }

  #sqFree(): number {
    const tail = this.#struct[RING_OFFSET.sqSqeTail / WORD_BYTES];
    return this.#sqEntries - ((tail - Atomics.load(this.#sqHead, 0)) >>> 0);
  }

  #hasRoom(): boolean {
    return this.#inFlightCount < this.#cqEntries && this.#sqFree() > 0;
  }

  /** Takes an SQE and writes it whole, or returns false with nothing changed. */
  #prep(
    opcode: number,
    sqeFlags: number,
    fd: number,
    offset: number,
    address: number,
    length: number,
    opFlags: number,
    userData: number,
    buffer: unknown,
    extra: unknown,
  ): boolean {
    if (!this.#hasRoom()) return false;
    this.#inFlight.add(userData, buffer, extra); // throws on a duplicate, before any write
    const slot = this.#acquireSqeSlot();
    this.#writeSqe(slot, opcode, sqeFlags, fd, offset, address, length, opFlags, userData);
    this.#inFlightCount++;
    return true;
  }

  /**
   * liburing 2.3's io_uring_get_sqe, done here: the same check and the same sqe_tail update
   * in the struct liburing reads at submit, without an FFI call or a BigInt per SQE.
   */
  #acquireSqeSlot(): number {
    const tailWord = RING_OFFSET.sqSqeTail / WORD_BYTES;
    const tail = this.#struct[tailWord];
    assert(this.#sqFree() > 0, "ring: an SQE is free when one is acquired");
    this.#struct[tailWord] = (tail + 1) >>> 0;
    return tail & this.#sqMask;
  }

  /** Writes all 64 bytes of SQE `slot`, as liburing's io_uring_prep_rw plus set_data64. */
  #writeSqe(
    slot: number,
    opcode: number,
    sqeFlags: number,
    fd: number,
    offset: number,
    address: number,
    length: number,
    opFlags: number,
    userData: number,
  ): void {
    const words = this.#sqeWords;
    const base = slot * SQE_WORDS;
    words[base + SQE_WORD.opcodeFlagsIoprio] = opcode | (sqeFlags << 8); // ioprio 0
    this.#sqeInts[base + SQE_WORD.fd] = fd;
    const offsetAll = offset === -1; // -1: all ones, "the current file position"
    words[base + SQE_WORD.off] = offsetAll ? 0xffff_ffff : offset >>> 0;
    words[base + SQE_WORD.off + 1] = offsetAll ? 0xffff_ffff : (offset / TWO_TO_32) >>> 0;
    words[base + SQE_WORD.addr] = address >>> 0;
    words[base + SQE_WORD.addr + 1] = (address / TWO_TO_32) >>> 0;
    words[base + SQE_WORD.len] = length;
    words[base + SQE_WORD.opFlags] = opFlags;
    words[base + SQE_WORD.userData] = userData >>> 0;
    words[base + SQE_WORD.userData + 1] = (userData / TWO_TO_32) >>> 0;
    words[base + SQE_WORD.bufIndexPersonality] = 0;
    this.#sqeInts[base + SQE_WORD.spliceFdIn] = 0;
    for (let word = SQE_WORD.tail; word < SQE_WORDS; word++) words[base + word] = 0;
  }
}
