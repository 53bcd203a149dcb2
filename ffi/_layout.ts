/**
 * Byte layout of liburing 2.3's `struct io_uring` and of the kernel's SQE and CQE on 64-bit
 * Linux, measured with Debian bookworm's headers (see DESIGN.md). Every read and write of ring
 * memory in TypeScript goes through these offsets; nothing else hard-codes them.
 *
 * @module
 */

/** Size of `struct io_uring` in bytes. */
export const RING_STRUCT_BYTES = 216;
/** Size of one submission queue entry in bytes (rings set up without SQE128). */
export const SQE_BYTES = 64;
/** Size of one completion queue entry in bytes (rings set up without CQE32). */
export const CQE_BYTES = 16;

/** Offsets of the fields of `struct io_uring`; `k*` fields hold pointers into kernel rings. */
export const RING_OFFSET = {
  sqKhead: 0,
  sqKtail: 8,
  sqKringMask: 16,
  sqKringEntries: 24,
  sqKflags: 32,
  sqArray: 48,
  sqSqes: 56,
  sqSqeHead: 64,
  sqSqeTail: 68,
  sqRingMask: 88,
  sqRingEntries: 92,
  cqKhead: 104,
  cqKtail: 112,
  cqKringMask: 120,
  cqKringEntries: 128,
  cqKoverflow: 144,
  cqCqes: 152,
  cqRingMask: 176,
  cqRingEntries: 180,
  flags: 192,
  ringFd: 196,
  features: 200,
} as const;

/** Offsets of the fields of an SQE. */
export const SQE_OFFSET = {
  opcode: 0,
  flags: 1,
  ioprio: 2,
  fd: 4,
  off: 8,
  addr: 16,
  len: 24,
  opFlags: 28,
  userData: 32,
  bufIndex: 40,
  personality: 42,
  spliceFdIn: 44,
} as const;

/** Offsets of the fields of a CQE. */
export const CQE_OFFSET = { userData: 0, res: 8, flags: 12 } as const;

/** io_uring opcodes StaticECS submits. */
export const OPCODE = {
  nop: 0,
  readv: 1,
  writev: 2,
  fsync: 3,
  timeout: 11,
  accept: 13,
  asyncCancel: 14,
  openat: 18,
  close: 19,
  read: 22,
  write: 23,
  send: 26,
  recv: 27,
} as const;

/**
 * Bits of an SQE's `flags` byte (`IOSQE_*`). The ring accepts the ones that keep "one
 * completion per operation" true; `IOSQE_CQE_SKIP_SUCCESS` and `IOSQE_BUFFER_SELECT` are left
 * out on purpose (a skipped completion would never release its buffer).
 */
export const SQE_FLAG = {
  fixedFile: 1 << 0,
  ioDrain: 1 << 1,
  ioLink: 1 << 2,
  ioHardlink: 1 << 3,
  async: 1 << 4,
} as const;

/** Every bit of {@linkcode SQE_FLAG} together. */
export const SQE_FLAGS_ALLOWED = 0x1f;

/** `io_uring_setup` flags the ring refuses, because the layout above assumes their absence. */
export const SETUP_FLAG_REFUSED = {
  /** `IORING_SETUP_SQE128`: 128-byte SQEs. */
  sqe128: 1 << 10,
  /** `IORING_SETUP_CQE32`: 32-byte CQEs. */
  cqe32: 1 << 11,
} as const;

/** `IORING_FSYNC_DATASYNC`: fdatasync instead of fsync. */
export const FSYNC_DATASYNC = 1;

/** `IORING_TIMEOUT_*` flags of a TIMEOUT operation. */
export const TIMEOUT_FLAG = { absolute: 1 << 0, boottime: 1 << 2, realtime: 1 << 3 } as const;

/** `IORING_ASYNC_CANCEL_ANY`: cancel every request, whatever its user_data (Linux 5.19+). */
export const ASYNC_CANCEL_ANY = 1 << 2;

/** `AT_FDCWD`: the directory fd of OPENAT that means "relative to the working directory". */
export const AT_FDCWD = -100;

/** `open(2)` flags on x86-64 Linux, for OPENAT. */
export const OPEN_FLAG = {
  readOnly: 0,
  writeOnly: 0o1,
  readWrite: 0o2,
  create: 0o100,
  exclusive: 0o200,
  truncate: 0o1000,
  append: 0o2000,
  dsync: 0o10000,
  direct: 0o40000,
  closeOnExec: 0o2000000,
} as const;

/**
 * Layout of `struct io_uring_probe` (16-byte header, then 8-byte `io_uring_probe_op` entries)
 * as `io_uring_get_probe_ring` fills it; `IO_URING_OP_SUPPORTED` is bit 0 of an op's flags.
 */
export const PROBE_LAYOUT = {
  lastOp: 0,
  opsLength: 1,
  headerBytes: 16,
  opBytes: 8,
  opFlags: 2,
  opSupported: 1,
} as const;

/** `__kernel_timespec`: i64 seconds, then i64 nanoseconds. */
export const TIMESPEC_BYTES = 16;

/** The most entries `io_uring_setup` accepts for the SQ (`IORING_MAX_ENTRIES`). */
export const SQ_ENTRIES_MAX = 32768;
