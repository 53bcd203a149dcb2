/**
 * One NOP round trip through a fresh ring: the proof that io_uring works end to end here
 * (setup, SQE write, submit, CQE read, head advance, teardown).
 *
 * @module
 */

import { describeNegativeErrno } from "./_errno.ts";
import {
  CQE_BYTES,
  CQE_OFFSET,
  OPCODE,
  RING_OFFSET,
  RING_STRUCT_BYTES,
  SQE_BYTES,
  SQE_OFFSET,
} from "./_layout.ts";
import type { Liburing, RingMemory } from "./_types.ts";

/** The outcome of a round trip: `reason` says what failed, or what worked. */
export interface RoundTripResult {
  readonly ok: boolean;
  readonly reason: string;
}

/** Marks the probe's NOP so that its completion is recognised, not just any completion. */
const NOP_USER_DATA = 0x5354_4543_5321n;

/**
 * Sets up a ring of `ringEntries` entries, completes one NOP through it and tears it down.
 *
 * @example
 * ```ts ignore
 * import { nopRoundTrip } from "./_nop.ts";
 * import { openLiburing } from "./_open.ts";
 * const lib = await openLiburing("liburing.so.2");
 * nopRoundTrip(lib, 8); // { ok: true, reason: "NOP completed" }
 * lib.close();
 * ```
 */
export function nopRoundTrip(lib: Liburing, ringEntries: number): RoundTripResult {
  const ring: RingMemory = new Uint8Array(RING_STRUCT_BYTES);
  const initResult = lib.queueInit(ringEntries, ring, 0);
  if (initResult < 0) {
    return failed(`io_uring_queue_init failed: ${describeNegativeErrno(initResult)}`);
  }
  try {
    return submitNop(lib, ring);
  } finally {
    lib.queueExit(ring);
  }
}

function submitNop(lib: Liburing, ring: RingMemory): RoundTripResult {
  const sqeAddress = lib.getSqe(ring);
  if (sqeAddress === 0n) return failed("io_uring_get_sqe returned NULL on an empty ring");
  const sqe = new DataView(lib.memoryAt(sqeAddress, SQE_BYTES));
  // get_sqe hands back stale memory: clear every field before setting the two a NOP needs.
  new Uint8Array(sqe.buffer, sqe.byteOffset, SQE_BYTES).fill(0);
  sqe.setUint8(SQE_OFFSET.opcode, OPCODE.nop);
  sqe.setBigUint64(SQE_OFFSET.userData, NOP_USER_DATA, true);
  const submitted = lib.submitAndWait(ring, 1);
  if (submitted < 0) {
    return failed(`io_uring_submit_and_wait failed: ${describeNegativeErrno(submitted)}`);
  }
  if (submitted !== 1) return failed(`io_uring_submit_and_wait submitted ${submitted}, not 1`);
  return reapNop(lib, ring);
}

function reapNop(lib: Liburing, ring: RingMemory): RoundTripResult {
  const fields = new DataView(ring.buffer, ring.byteOffset, ring.byteLength);
  const head = new Uint32Array(lib.memoryAt(fields.getBigUint64(RING_OFFSET.cqKhead, true), 4));
  const tail = new Uint32Array(lib.memoryAt(fields.getBigUint64(RING_OFFSET.cqKtail, true), 4));
  const headIndex = Atomics.load(head, 0);
  if (Atomics.load(tail, 0) === headIndex) {
    return failed("no completion after io_uring_submit_and_wait returned");
  }
  const slot = headIndex & fields.getUint32(RING_OFFSET.cqRingMask, true);
  const cqesAddress = fields.getBigUint64(RING_OFFSET.cqCqes, true);
  const cqe = new DataView(lib.memoryAt(cqesAddress + BigInt(slot * CQE_BYTES), CQE_BYTES));
  const userData = cqe.getBigUint64(CQE_OFFSET.userData, true);
  const result = cqe.getInt32(CQE_OFFSET.res, true);
  // io_uring_cqe_seen: hand the slot back to the kernel (a release store of head + 1).
  Atomics.store(head, 0, (headIndex + 1) >>> 0);
  if (userData !== NOP_USER_DATA) {
    return failed(`completion carried user_data ${userData}, expected ${NOP_USER_DATA}`);
  }
  if (result < 0) return failed(`NOP completed with ${describeNegativeErrno(result)}`);
  return { ok: true, reason: "NOP completed" };
}

function failed(reason: string): RoundTripResult {
  return { ok: false, reason };
}
