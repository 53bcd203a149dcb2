/**
 * The ring's table of operations in flight: user_data → the buffers the kernel may still read
 * or write. Holding them here is what keeps a buffer alive (not collected) until its completion
 * is reaped. Fixed capacity, open addressing with linear probing in typed arrays, so that
 * adding and removing allocate nothing.
 *
 * @module
 */

/** Marks a free slot; user_data values are integers in [0, 2^53), never negative. */
const EMPTY_KEY = -1;

/**
 * A set of unique user_data values, each holding up to two buffer references.
 *
 * @example
 * ```ts
 * import { InFlightTable } from "./_inflight.ts";
 * const table = new InFlightTable(4);
 * table.add(7, new Uint8Array(8), null);
 * table.remove(7); // true
 * ```
 */
export class InFlightTable {
  readonly #keys: Float64Array;
  readonly #buffers: unknown[];
  readonly #extras: unknown[];
  readonly #mask: number;
  readonly #capacity: number;
  #count = 0;

  /** A table that holds up to `capacity` entries (a bound, asserted on every add). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`InFlightTable: capacity must be a positive integer, got ${capacity}`);
    }
    // A load factor of at most 1/2 keeps probe runs short.
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.#keys = new Float64Array(slots).fill(EMPTY_KEY);
    this.#buffers = new Array(slots).fill(null);
    this.#extras = new Array(slots).fill(null);
    this.#mask = slots - 1;
    this.#capacity = capacity;
  }

  /** Entries held now. */
  get count(): number {
    return this.#count;
  }

  /** Whether `userData` is held. */
  has(userData: number): boolean {
    return this.#keys[this.#find(userData)] === userData;
  }

  /** Holds `userData` with its buffers; throws if it is already held or the table is full. */
  add(userData: number, buffer: unknown, extra: unknown): void {
    const slot = this.#find(userData);
    if (this.#keys[slot] === userData) {
      throw new Error(
        `user_data ${userData} is already in flight: each operation in flight needs its own`,
      );
    }
    if (this.#count === this.#capacity) {
      throw new Error(`in-flight table full (${this.#capacity} entries): reap completions first`);
    }
    this.#keys[slot] = userData;
    this.#buffers[slot] = buffer;
    this.#extras[slot] = extra;
    this.#count++;
  }

  /** Drops `userData` and its buffer references; false if it was not held. */
  remove(userData: number): boolean {
    let hole = this.#find(userData);
    if (this.#keys[hole] !== userData) return false;
    this.#count--;
    // Backward-shift deletion: pull later members of the probe run into the hole, so that no
    // tombstones accumulate and lookups stay exact.
    let next = (hole + 1) & this.#mask;
    while (this.#keys[next] !== EMPTY_KEY) {
      const home = this.#home(this.#keys[next]);
      if (((next - home) & this.#mask) >= ((next - hole) & this.#mask)) {
        this.#move(next, hole);
        hole = next;
      }
      next = (next + 1) & this.#mask;
    }
    this.#keys[hole] = EMPTY_KEY;
    this.#buffers[hole] = null;
    this.#extras[hole] = null;
    return true;
  }

  #move(from: number, to: number): void {
    this.#keys[to] = this.#keys[from];
    this.#buffers[to] = this.#buffers[from];
    this.#extras[to] = this.#extras[from];
  }

  /** The slot holding `userData`, or the free slot where it would go. */
  #find(userData: number): number {
    let slot = this.#home(userData);
    while (this.#keys[slot] !== userData && this.#keys[slot] !== EMPTY_KEY) {
      slot = (slot + 1) & this.#mask;
    }
    return slot;
  }

  #home(userData: number): number {
    const low = userData >>> 0;
    const high = (userData / 0x1_0000_0000) >>> 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x27d4_eb2d), 0x9e37_79b1);
    hash ^= hash >>> 15;
    return hash & this.#mask;
  }
}
