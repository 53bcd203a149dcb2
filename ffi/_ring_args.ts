/**
 * What the ring's operations take, made and checked before any SQE is touched: a NUL-ended
 * path, a kernel timespec, and the bounds of ring options, descriptors, offsets and lengths
 * (each a RangeError naming the value). `pathBytes` and `kernelTimespec` are re-exported by
 * ring.ts.
 *
 * @module
 */

import { SETUP_FLAG_REFUSED, SQ_ENTRIES_MAX, TIMESPEC_BYTES } from "./_layout.ts";

/**
 * The bytes of `path` in UTF-8 followed by the NUL that OPENAT needs.
 *
 * @example
 * ```ts
 * import { pathBytes } from "./ring.ts";
 * pathBytes("a.txt"); // Uint8Array [97, 46, 116, 120, 116, 0]
 * ```
 */
export function pathBytes(path: string): Uint8Array<ArrayBuffer> {
  if (path.length === 0 || path.includes("\0")) {
    throw new TypeError(`pathBytes: path must be non-empty and contain no NUL; got ${path}`);
  }
  return new TextEncoder().encode(`${path}\0`);
}

/**
 * A `__kernel_timespec` holding `durationMs` (relative, for TIMEOUT): seconds, nanoseconds.
 *
 * @example
 * ```ts
 * import { kernelTimespec } from "./ring.ts";
 * kernelTimespec(1500); // BigInt64Array [1n, 500000000n]
 * ```
 */
export function kernelTimespec(durationMs: number): BigInt64Array<ArrayBuffer> {
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`kernelTimespec: durationMs must be finite and >= 0, got ${durationMs}`);
  }
  const seconds = Math.floor(durationMs / 1000);
  const nanoseconds = Math.round((durationMs - seconds * 1000) * 1e6);
  const timespec = new BigInt64Array(new ArrayBuffer(TIMESPEC_BYTES));
  timespec[0] = BigInt(seconds);
  timespec[1] = BigInt(Math.min(nanoseconds, 999_999_999));
  return timespec;
}

export function checkRingOptions(entries: number, flags: number): void {
  if (!Number.isInteger(entries) || entries < 1 || entries > SQ_ENTRIES_MAX) {
    throw new RangeError(
      `ring entries must be an integer from 1 to ${SQ_ENTRIES_MAX}, got ${entries}`,
    );
  }
  checkUint32(flags, "ring flags");
  if ((flags & (SETUP_FLAG_REFUSED.sqe128 | SETUP_FLAG_REFUSED.cqe32)) !== 0) {
    throw new RangeError(
      "ring flags: IORING_SETUP_SQE128 and IORING_SETUP_CQE32 are not supported",
    );
  }
}

export function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < -0x8000_0000 || fd > 0x7fff_ffff) {
    throw new RangeError(`fd must be a 32-bit integer, got ${fd}`);
  }
}

export function checkOffset(offset: number): void {
  if (offset !== -1 && (!Number.isSafeInteger(offset) || offset < 0)) {
    throw new RangeError(`offset must be an integer in [0, 2^53) or -1, got ${offset}`);
  }
}

export function checkUint32(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${name} must be an unsigned 32-bit integer, got ${value}`);
  }
}

export function checkLength(buffer: ArrayBufferView): number {
  if (buffer.byteLength > 0xffff_ffff) {
    throw new RangeError(`buffer of ${buffer.byteLength} bytes: one operation moves < 4 GiB`);
  }
  return buffer.byteLength;
}
