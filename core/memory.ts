/**
 * Component memory: one growable SharedArrayBuffer, handed out in aligned
 * blocks by a bump allocator. Blocks are never freed one by one: an
 * archetype keeps the chunks it grew to and reuses them, so steady-state
 * frames allocate nothing. Workers receive the buffer once and see it grow.
 *
 * @module
 */

import { BoundError } from "./errors.ts";

/** A bump allocator over one growable SharedArrayBuffer. */
export class Arena {
  /** The shared memory; its byteLength grows, its identity never changes. */
  readonly buffer: SharedArrayBuffer;
  /** Bytes handed out so far. */
  usedBytes = 0;
  readonly maxBytes: number;

  constructor(initialBytes: number, maxBytes: number) {
    this.maxBytes = maxBytes;
    this.buffer = new SharedArrayBuffer(initialBytes, { maxByteLength: maxBytes });
  }

  /** Returns the byte offset of a new zeroed block of `bytes`, aligned to 16. */
  allocate(bytes: number, what: string): number {
    const offset = (this.usedBytes + 15) & ~15;
    const end = offset + bytes;
    if (end > this.maxBytes) {
      throw new BoundError(
        "maxMemoryBytes",
        this.maxBytes,
        `component memory full: ${what} needs ${bytes} more bytes beyond ${this.usedBytes} of ` +
          `maxMemoryBytes ${this.maxBytes}; raise config.maxMemoryBytes`,
      );
    }
    if (end > this.buffer.byteLength) {
      const doubled = Math.min(this.maxBytes, Math.max(end, this.buffer.byteLength * 2));
      this.buffer.grow(doubled);
    }
    this.usedBytes = end;
    return offset;
  }

  /** Forgets every block (after a restore rebuilds the world); memory stays mapped. */
  reset(): void {
    new Uint8Array(this.buffer, 0, this.usedBytes).fill(0);
    this.usedBytes = 0;
  }
}
