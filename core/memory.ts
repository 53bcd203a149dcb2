/**
 * Component memory: fixed-size SharedArrayBuffer segments, carved into
 * aligned blocks by a bump allocator. Blocks are never freed one by one: an
 * archetype keeps the chunks it grew to and reuses them, so steady-state
 * frames allocate nothing.
 *
 * Why segments and not one growable SharedArrayBuffer: measured on Bun 1.4,
 * a loop over typed arrays on a growable SharedArrayBuffer runs about 7x
 * slower than on a fixed one (11.5 ms against 1.7 ms for 1M `x += v`
 * updates; `npx bun scripts/bench/sab_views.ts` measures it). Deno runs
 * both at the same speed. And why not one fixed buffer of the maximum size:
 * Bun zeroes a SharedArrayBuffer's whole length when it is made (about
 * 0.4 s per GiB once memory is reused), so memory comes in segments as it is
 * needed. Workers receive each new segment once.
 *
 * @module
 */

import { BoundError } from "./errors.ts";

/** A block of shared memory: a segment and an offset in it. */
export interface Block {
  readonly buffer: SharedArrayBuffer;
  /** Position of the segment in `Arena.segments`. */
  readonly segment: number;
  readonly byteOffset: number;
}

/** A bump allocator over fixed-size SharedArrayBuffer segments. */
export class Arena {
  /** Every segment so far, in allocation order. */
  readonly segments: SharedArrayBuffer[] = [];
  /** Bytes of all segments. */
  reservedBytes = 0;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  /**
   * Goes up whenever a chunk is attached over a block of this arena, or the
   * arena is reset: a query's flat list of chunks is rebuilt when it moved.
   */
  chunkLayoutVersion = 0;
  private used = 0;

  constructor(segmentBytes: number, maxBytes: number) {
    this.maxBytes = maxBytes;
    this.segmentBytes = Math.min(segmentBytes, maxBytes);
  }

  /** Returns a new zeroed block of `bytes`, aligned to 16. */
  allocate(bytes: number, what: string): Block {
    let segment = this.segments[this.segments.length - 1];
    let offset = (this.used + 15) & ~15;
    if (segment === undefined || offset + bytes > segment.byteLength) {
      segment = this.addSegment(Math.max(bytes, this.segmentBytes), what);
      offset = 0;
    }
    this.used = offset + bytes;
    return { buffer: segment, segment: this.segments.length - 1, byteOffset: offset };
  }

  /** Forgets every block (before a restore rebuilds the world). */
  reset(): void {
    this.chunkLayoutVersion++;
    this.segments.length = 0;
    this.reservedBytes = 0;
    this.used = 0;
  }

  private addSegment(bytes: number, what: string): SharedArrayBuffer {
    if (this.reservedBytes + bytes > this.maxBytes) {
      throw new BoundError(
        "maxMemoryBytes",
        this.maxBytes,
        `component memory full: ${what} needs a segment of ${bytes} bytes beyond the ` +
          `${this.reservedBytes} in use of maxMemoryBytes ${this.maxBytes}; raise ` +
          `config.maxMemoryBytes`,
      );
    }
    const segment = new SharedArrayBuffer(bytes);
    this.segments.push(segment);
    this.reservedBytes += bytes;
    return segment;
  }
}
