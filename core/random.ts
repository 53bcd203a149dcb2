/**
 * A seeded random number generator (sfc32) whose streams are derived from a
 * seed and a key: inside systems the key is (tick, system, archetype, chunk),
 * so a chunk draws the same numbers whichever thread runs it.
 *
 * @module
 */

/** Mixes 32-bit words into one (a murmur3-style finalizer over a running hash). */
export function mix32(hash: number, word: number): number {
  let h = Math.imul(hash ^ (word >>> 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A small fast generator with 128 bits of state. `reseed` makes a new stream
 * without allocating.
 *
 * @example
 * ```ts
 * import { Random } from "staticecs";
 * const random = new Random(42);
 * const x = random.next(); // in [0, 1)
 * ```
 */
export class Random {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private out = 0;
  // The key of the stream to start at the next draw, as int32 fields (small integers stay
  // unboxed; mix32 reads each word as uint32); keying is lazy, so unused streams cost nothing.
  private seed = 0;
  private k0 = 0;
  private k1 = 0;
  private k2 = 0;
  private k3 = 0;
  private keyed = false;

  constructor(seed: number, ...key: number[]) {
    this.reseed(seed, key[0] ?? 0, key[1] ?? 0, key[2] ?? 0, key[3] ?? 0);
  }

  /** Restarts as the stream for `seed` and a key of up to four words. */
  reseed(seed: number, k0 = 0, k1 = 0, k2 = 0, k3 = 0): void {
    this.seed = seed | 0;
    this.k0 = k0 | 0;
    this.k1 = k1 | 0;
    this.rekeyTail(k2, k3);
  }

  /**
   * Restarts as the stream of the same seed and first two key words, with
   * the last two replaced: what a chunk loop calls per chunk, after one
   * `reseed` per run.
   */
  rekeyTail(k2: number, k3: number): void {
    this.k2 = k2 | 0;
    this.k3 = k3 | 0;
    this.keyed = false;
  }

  private start(): void {
    let h = mix32(0x9e3779b9, this.seed);
    h = mix32(h, this.k0);
    h = mix32(h, this.k1);
    h = mix32(h, this.k2);
    h = mix32(h, this.k3);
    this.a = h;
    this.b = mix32(h, 1);
    this.c = mix32(h, 2);
    this.d = 1;
    this.keyed = true;
    // Steps that return nothing: a discarded uint32 returned from a call V8 does not inline is
    // still boxed (most exceed the small-integer range), about 100 bytes per keying.
    for (let i = 0; i < 12; i++) this.step();
  }

  /** Advances the state one draw; the draw, as an int32, is left in `out`. */
  private step(): void {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    this.out = t;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    if (!this.keyed) this.start();
    this.step();
    return this.out >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform number in [low, high). */
  range(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** A uniform integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}
