/**
 * Parking and waking idle threads of the work-stealing backend, with no lost
 * wake-up, over two words of SharedArrayBuffer memory: an epoch and a count of
 * sleepers.
 *
 * An idle thread spins briefly (looking for work), then parks:
 *
 * ```ts ignore
 * const seen = parker.epoch(); // 1. read the epoch
 * if (!findWork()) parker.park(seen, timeoutMs); // 2. check for work, 3. park
 * ```
 *
 * and a thread that publishes work calls `parker.wake()` after publishing it.
 *
 * Why no wake-up is lost: `wake` bumps the epoch, then notifies if it sees a
 * sleeper; `park` counts itself a sleeper, then waits only while the epoch
 * still equals `seen` (Atomics.wait checks the value and joins the wait list
 * in one step that `Atomics.notify` cannot interleave with). All these
 * accesses are sequentially consistent. If the work was published before the
 * sleeper's check in step 2, the sleeper finds it. Otherwise the bump comes
 * after step 1, and either the waker's read of the sleeper count comes after
 * the sleeper counted itself, so it notifies, and the sleeper is either
 * already on the wait list (woken) or checks later (sees the new epoch and
 * does not wait); or the read came before, so the bump came before the
 * sleeper's check, which sees the new epoch and does not wait.
 *
 * The epoch wraps at 2^32; a wake-up could be missed only if exactly 2^32
 * wakes happened between a sleeper's `epoch()` and its `park`, and then only
 * until `timeoutMs`, which the backend keeps finite.
 *
 * `Atomics.wait` is allowed on the main thread in both Bun and Deno, so the
 * calling thread, which works too, parks the same way.
 *
 * @module
 */

import { assert } from "../_assert.ts";

const EPOCH = 0;
const SLEEPERS = 1;
const WORDS = 2;
/** Longest single park: a bound on how long a thread can sleep through anything. */
const PARK_TIMEOUT_MS_MAX = 60_000;

/**
 * An epoch word and a sleeper count over a region of a SharedArrayBuffer,
 * shared by every thread.
 *
 * @example
 * ```ts
 * import { Parker } from "./parker.ts";
 * const buffer = new SharedArrayBuffer(Parker.bytesFor());
 * const parker = new Parker(buffer, 0, true);
 * const seen = parker.epoch();
 * parker.wake(); // publishes "there is work": the epoch moves on
 * parker.park(seen, 1000); // returns at once: the epoch is no longer `seen`
 * ```
 */
export class Parker {
  /** Bytes a parker needs. */
  static bytesFor(): number {
    return WORDS * Int32Array.BYTES_PER_ELEMENT;
  }

  private readonly words: Int32Array;

  /** A parker over buffer[byteOffset, byteOffset + bytesFor()); `init` true zeroes it (once, by its creator). */
  constructor(buffer: SharedArrayBuffer, byteOffset: number, init: boolean) {
    if (byteOffset % Int32Array.BYTES_PER_ELEMENT !== 0 || byteOffset < 0) {
      throw new RangeError(`Parker: byteOffset ${byteOffset} must be a multiple of 4, >= 0`);
    }
    if (byteOffset + Parker.bytesFor() > buffer.byteLength) {
      throw new RangeError(
        `Parker: needs bytes [${byteOffset}, ${byteOffset + Parker.bytesFor()}) but the ` +
          `buffer has ${buffer.byteLength}`,
      );
    }
    this.words = new Int32Array(buffer, byteOffset, WORDS);
    if (init) {
      Atomics.store(this.words, EPOCH, 0);
      Atomics.store(this.words, SLEEPERS, 0);
    }
  }

  /** The current epoch. Read before the final check for work, and pass it to `park`. */
  epoch(): number {
    return Atomics.load(this.words, EPOCH);
  }

  /**
   * Parks until the epoch differs from `seen` or `timeoutMs` passes (0 to
   * 60,000 ms); returns the milliseconds spent parked. Returns at once if the
   * epoch has already moved on. May also return early, spuriously: callers loop.
   */
  park(seen: number, timeoutMs: number): number {
    if (!(timeoutMs >= 0 && timeoutMs <= PARK_TIMEOUT_MS_MAX)) {
      throw new RangeError(
        `Parker.park: timeoutMs must be in [0, ${PARK_TIMEOUT_MS_MAX}]; got ${timeoutMs}`,
      );
    }
    const words = this.words;
    Atomics.add(words, SLEEPERS, 1);
    const startedMs = performance.now();
    Atomics.wait(words, EPOCH, seen | 0, timeoutMs);
    const parkedMs = performance.now() - startedMs;
    const sleepers = Atomics.sub(words, SLEEPERS, 1) - 1;
    assert(sleepers >= 0, () => `Parker.park: ${sleepers} sleepers`);
    return parkedMs;
  }

  /** After publishing work: bumps the epoch and wakes up to `count` sleepers (all if omitted). */
  wake(count?: number): void {
    const words = this.words;
    Atomics.add(words, EPOCH, 1);
    // The count is read after the bump: see the module doc for why no sleeper is missed.
    if (Atomics.load(words, SLEEPERS) > 0) Atomics.notify(words, EPOCH, count);
  }

  /** Sleepers now (approximate: threads between counting themselves and waiting count too). */
  sleepers(): number {
    return Atomics.load(this.words, SLEEPERS);
  }
}
