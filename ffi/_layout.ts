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
  sqArray: 48,
  sqSqes: 56,
  sqSqeHead: 64,
  sqSqeTail: 68,
  cqKhead: 104,
  cqKtail: 112,
  cqKringMask: 120,
  cqKringEntries: 128,
  cqKoverflow: 144,
  cqCqes: 152,
  cqRingMask: 176,
  cqRingEntries: 180,
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
  openat: 18,
  close: 19,
  read: 22,
  write: 23,
  send: 26,
  recv: 27,
} as const;
