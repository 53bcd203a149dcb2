/**
 * A Chase-Lev work-stealing deque in SharedArrayBuffer memory, one per worker
 * of the work-stealing backend.
 *
 * The owner pushes and pops at the bottom (LIFO, so it keeps working on what
 * is hot in its cache); any other thread steals from the top (FIFO, so a
 * thief takes the oldest, usually largest, piece of work). The algorithm is
 * the fixed-size form of Chase and Lev, "Dynamic Circular Work-Stealing
 * Deque" (SPAA 2005), with the orderings of Lê, Pop, Cohen and Zappa Nardelli,
 * "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013).
 * Every index and slot word is read and written through `Atomics`, which is
 * sequentially consistent, so each of that paper's fences is already implied
 * by the access next to it: the store of `bottom` in `pop` is ordered before
 * the load of `top`, and the load of `top` in `steal` before the load of
 * `bottom`.
 *
 * A task is {@link TASK_WORDS} Int32 words; the backend stores (system index,
 * archetype id, first chunk, end chunk).
 *
 * **Capacity is fixed; nothing grows.** `push` refuses when full, and the
 * backend applies this overflow rule so that no task is ever lost:
 *
 * 1. push to the worker's own deque;
 * 2. if that is full, push to the global {@link Injector} (core/scheduler/injector.ts);
 * 3. if that is full too, run the task inline, right away, on the pushing thread.
 *
 * **Indices wrap.** `top` and `bottom` are Int32 counters that only move forward
 * (mod 2^32) apart from the owner's transient decrement of `bottom` in `pop`.
 * They are never compared directly, only by their difference `(bottom - top) | 0`,
 * which stays in [-1, capacity] and so is exact across the wrap at 2^31. A slot
 * is `index & (capacity - 1)`, which is continuous across the wrap because the
 * capacity is a power of two and divides 2^32. A thief's compare-and-swap on
 * `top` could only be fooled (ABA) if `top` advanced by exactly 2^32 between the
 * thief's load and its CAS, i.e. 4 billion tasks taken from one deque while one
 * thief is stalled inside three instructions; we accept that.
 *
 * **Multi-word slots.** A task is four words, and they cannot be read in one
 * atomic access. A thief therefore reads all four words *before* its CAS on
 * `top` and uses them only if the CAS succeeds. The CAS succeeding proves that
 * `top` still held the index the thief read, and while `top` holds index `t`
 * nobody writes slot `t`: the owner writes only at `bottom`, and `push` refuses
 * once `bottom - top == capacity`, which is exactly when `bottom` would reach
 * the slot of `top` again. (The owner can reuse index `t` itself only after
 * popping it, and popping the last task goes through the same CAS on `top`.)
 * So a task whose CAS succeeded was read whole, never torn.
 *
 * @module
 */

import { assert } from "../_assert.ts";

/** Int32 words per task: the backend's (system index, archetype id, first chunk, end chunk). */
export const TASK_WORDS = 4;

/** `steal` found no task. */
export const STEAL_EMPTY = 0;
/** `steal` took a task. */
export const STEAL_OK = 1;
/** `steal` lost a race for the task it saw (to the owner or another thief); try again or elsewhere. */
export const STEAL_RETRY = 2;

/** Words per cache line (64 bytes); `top` and `bottom` live on lines of their own. */
const LINE_WORDS = 16;
const TOP = 0;
const BOTTOM = LINE_WORDS;
const HEADER_WORDS = 2 * LINE_WORDS;
/** Largest capacity: keeps `bottom - top` far from the Int32 limits that make differences exact. */
const CAPACITY_MAX = 1 << 24;

/**
 * A fixed-capacity Chase-Lev deque over a region of a SharedArrayBuffer. Each
 * thread makes its own `WorkDeque` object over the same region; only the thread
 * that owns it calls `push` and `pop`.
 *
 * @example
 * ```ts
 * import { STEAL_OK, TASK_WORDS, WorkDeque } from "./deque.ts";
 * const capacity = 64;
 * const buffer = new SharedArrayBuffer(WorkDeque.bytesFor(capacity));
 * const deque = new WorkDeque(buffer, 0, capacity, true);
 * const task = new Int32Array(TASK_WORDS);
 * deque.push(1, 2, 0, 8);
 * deque.push(1, 2, 8, 16);
 * deque.steal(task) === STEAL_OK; // task = [1, 2, 0, 8], the oldest
 * deque.pop(task); // task = [1, 2, 8, 16], the newest
 * ```
 */
export class WorkDeque {
  /** Bytes a deque of `capacity` (a power of two, >= 2) needs. */
  static bytesFor(capacity: number): number {
    assertCapacity(capacity);
    return (HEADER_WORDS + capacity * TASK_WORDS) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** The tasks this deque holds at most. */
  readonly capacity: number;
  private readonly mask: number;
  /** The header words, then the slots. */
  private readonly words: Int32Array;

  /**
   * A deque over buffer[byteOffset, byteOffset + bytesFor(capacity)); `init`
   * true zeroes its indices (the creator does this once, before any other thread
   * attaches; other threads attach with init false). `initialIndex` (with `init`)
   * starts both indices there instead of at 0: tests use it to cross the Int32 wrap.
   */
  constructor(
    buffer: SharedArrayBuffer,
    byteOffset: number,
    capacity: number,
    init: boolean,
    initialIndex = 0,
  ) {
    this.words = queueWords(
      "WorkDeque",
      buffer,
      byteOffset,
      WorkDeque.bytesFor(capacity),
      capacity,
    );
    this.capacity = capacity;
    this.mask = capacity - 1;
    if (init) {
      Atomics.store(this.words, TOP, initialIndex | 0);
      Atomics.store(this.words, BOTTOM, initialIndex | 0);
    }
  }

  /** Owner only. Pushes a task at the bottom; false if full (nothing written). */
  push(w0: number, w1: number, w2: number, w3: number): boolean {
    const words = this.words;
    const bottom = Atomics.load(words, BOTTOM);
    const top = Atomics.load(words, TOP);
    const size = (bottom - top) | 0;
    this.assertSize(size, 0, "push");
    // Full: writing slot `bottom` now would overwrite slot `top`, which a thief may be reading.
    if (size >= this.capacity) return false;
    const slot = HEADER_WORDS + (bottom & this.mask) * TASK_WORDS;
    Atomics.store(words, slot, w0);
    Atomics.store(words, slot + 1, w1);
    Atomics.store(words, slot + 2, w2);
    Atomics.store(words, slot + 3, w3);
    // Publishes the slot: a thief that sees the new bottom sees all four words.
    Atomics.store(words, BOTTOM, (bottom + 1) | 0);
    return true;
  }

  /** Owner only. Pops the newest task into out[0..3]; false if empty. LIFO. */
  pop(out: Int32Array): boolean {
    const words = this.words;
    const bottom = (Atomics.load(words, BOTTOM) - 1) | 0;
    // Claims index `bottom` before looking at top: a thief that loads top after this sees it gone.
    Atomics.store(words, BOTTOM, bottom);
    const top = Atomics.load(words, TOP);
    const size = (bottom - top) | 0; // tasks left after taking this one
    this.assertSize(size, -1, "pop");
    if (size < 0) {
      Atomics.store(words, BOTTOM, top); // was empty: undo the claim
      return false;
    }
    this.read(bottom, out);
    if (size > 0) return true; // more than one task: no thief can reach index `bottom`
    // The last task: a thief may be taking it too. Whoever moves top past it wins.
    const won = Atomics.compareExchange(words, TOP, top, (top + 1) | 0) === top;
    Atomics.store(words, BOTTOM, (top + 1) | 0);
    return won;
  }

  /** Any thread. Takes the oldest task into out[0..3]. Returns STEAL_EMPTY, STEAL_OK or STEAL_RETRY. FIFO. */
  steal(out: Int32Array): number {
    const words = this.words;
    const top = Atomics.load(words, TOP);
    const bottom = Atomics.load(words, BOTTOM);
    // Our `top` may be stale, so the difference may exceed capacity; the CAS below then fails.
    if (((bottom - top) | 0) <= 0) return STEAL_EMPTY;
    // Read before the CAS, used only after it succeeds: see "Multi-word slots" above.
    this.read(top, out);
    if (Atomics.compareExchange(words, TOP, top, (top + 1) | 0) !== top) return STEAL_RETRY;
    return STEAL_OK;
  }

  /** Approximate number of tasks (bottom - top), for stats and heuristics; in [0, capacity]. */
  size(): number {
    const top = Atomics.load(this.words, TOP);
    const bottom = Atomics.load(this.words, BOTTOM);
    const size = (bottom - top) | 0;
    return size < 0 ? 0 : size > this.capacity ? this.capacity : size;
  }

  private read(index: number, out: Int32Array): void {
    const words = this.words;
    const slot = HEADER_WORDS + (index & this.mask) * TASK_WORDS;
    out[0] = Atomics.load(words, slot);
    out[1] = Atomics.load(words, slot + 1);
    out[2] = Atomics.load(words, slot + 2);
    out[3] = Atomics.load(words, slot + 3);
  }

  /** The owner's view of `bottom - top` is always in [low, capacity]; anything else is a bug. */
  private assertSize(size: number, low: number, where: string): void {
    if (size >= low && size <= this.capacity) return;
    assert(
      false,
      `WorkDeque.${where}: bottom - top = ${size}, expected within [${low}, ${this.capacity}] ` +
        `(push or pop called by a thread that does not own the deque?)`,
    );
  }
}

/**
 * Checks a queue capacity (deque or injector): a power of two from 2 to
 * CAPACITY_MAX, which keeps index differences exact in Int32. `what` names
 * the queue in the error.
 */
export function assertCapacity(capacity: number, what = "WorkDeque"): void {
  if (
    !Number.isInteger(capacity) || capacity < 2 || capacity > CAPACITY_MAX ||
    (capacity & (capacity - 1)) !== 0
  ) {
    throw new RangeError(
      `${what}: capacity must be a power of two in [2, ${CAPACITY_MAX}]; got ${capacity}`,
    );
  }
}

/**
 * The Int32 words of a queue (deque or injector) placed at
 * buffer[byteOffset, byteOffset + bytes): checks that the offset is
 * word-aligned and the range fits, naming the queue and its `bytesFor`.
 */
export function queueWords(
  what: string,
  buffer: SharedArrayBuffer,
  byteOffset: number,
  bytes: number,
  capacity: number,
): Int32Array {
  if (byteOffset % Int32Array.BYTES_PER_ELEMENT !== 0 || byteOffset < 0) {
    throw new RangeError(`${what}: byteOffset ${byteOffset} must be a multiple of 4, >= 0`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw new RangeError(
      `${what}: needs bytes [${byteOffset}, ${byteOffset + bytes}) but the buffer has ` +
        `${buffer.byteLength}; size it with ${what}.bytesFor(${capacity})`,
    );
  }
  return new Int32Array(buffer, byteOffset, bytes / Int32Array.BYTES_PER_ELEMENT);
}
