/**
 * The global injector of the work-stealing backend: a bounded
 * multi-producer multi-consumer FIFO queue of tasks in SharedArrayBuffer
 * memory. It takes the tasks that find their worker's deque full (see the
 * overflow rule in core/scheduler/deque.ts) and tasks submitted from outside
 * the pool.
 *
 * The algorithm is Dmitry Vyukov's bounded MPMC queue: every slot carries a
 * sequence number saying whose turn it is. A producer claims position `p` by
 * CAS on `tail` when slot `p`'s sequence is `p`, writes the task, then stores
 * sequence `p + 1` ("full, for the consumer of p"). A consumer claims position
 * `p` by CAS on `head` when the sequence is `p + 1`, reads the task, then stores
 * `p + capacity` ("empty, for the producer of the next lap"). The claim and the
 * hand-over are separate steps, so the four task words are written and read by
 * one thread at a time and are never torn.
 *
 * Positions and sequences are Int32 counters that wrap at 2^31; they are only
 * compared by difference (`(seq - pos) | 0`), which stays within +-capacity and
 * so is exact across the wrap. The capacity is a power of two, so slot
 * `pos & (capacity - 1)` is continuous across it too.
 *
 * Two properties the caller must know:
 * - `pop` can return false while `size() > 0`: a producer that has claimed a
 *   slot but not yet published it holds back the consumers of that slot. The
 *   backend therefore decides that a stage is finished from its own count of
 *   tasks outstanding, never from the injector looking empty.
 * - `push` can return false while `size() < capacity`: a consumer that has
 *   claimed the oldest slot but not yet released it. Either way the task goes
 *   down the overflow rule (run it inline), so nothing is lost.
 *
 * Every retry loop is bounded by {@link INJECTOR_RETRIES_MAX}: a retry means
 * another thread's operation succeeded, so hitting the bound needs that many
 * operations by others in a row; `push` then reports full and `pop` empty,
 * which the overflow rule and the backend's polling already handle.
 *
 * @module
 */

import { assertCapacity, queueWords, TASK_WORDS } from "./deque.ts";

/** Lost races a push or pop tolerates in a row before it reports full or empty. */
export const INJECTOR_RETRIES_MAX = 1 << 16;

const LINE_WORDS = 16; // 64 bytes: `tail` and `head` on cache lines of their own
const TAIL = 0;
const HEAD = LINE_WORDS;
const HEADER_WORDS = 2 * LINE_WORDS;
const SLOT_WORDS = 1 + TASK_WORDS; // the sequence number, then the task

/**
 * A bounded MPMC queue of tasks over a region of a SharedArrayBuffer. Each
 * thread makes its own `Injector` object over the same region.
 *
 * @example
 * ```ts
 * import { Injector } from "./injector.ts";
 * const buffer = new SharedArrayBuffer(Injector.bytesFor(256));
 * const injector = new Injector(buffer, 0, 256, true);
 * const task = new Int32Array(4);
 * injector.push(3, 1, 0, 4);
 * injector.pop(task); // true; task = [3, 1, 0, 4]
 * ```
 */
export class Injector {
  /** Bytes an injector of `capacity` (a power of two, >= 2) needs. */
  static bytesFor(capacity: number): number {
    assertCapacity(capacity, "Injector");
    return (HEADER_WORDS + capacity * SLOT_WORDS) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** The tasks this injector holds at most. */
  readonly capacity: number;
  private readonly mask: number;
  private readonly words: Int32Array;

  /**
   * An injector over buffer[byteOffset, byteOffset + bytesFor(capacity)); `init`
   * true resets it to empty (the creator does this once, before other threads
   * attach with init false). `initialPosition` (with `init`) starts the
   * positions there instead of at 0: tests use it to cross the Int32 wrap.
   */
  constructor(
    buffer: SharedArrayBuffer,
    byteOffset: number,
    capacity: number,
    init: boolean,
    initialPosition = 0,
  ) {
    this.words = queueWords("Injector", buffer, byteOffset, Injector.bytesFor(capacity), capacity);
    this.capacity = capacity;
    this.mask = capacity - 1;
    if (init) this.reset(initialPosition | 0);
  }

  /** Any thread. Appends a task; false if full (nothing written). */
  push(w0: number, w1: number, w2: number, w3: number): boolean {
    const words = this.words;
    let position = Atomics.load(words, TAIL);
    for (let retry = 0; retry < INJECTOR_RETRIES_MAX; retry += 1) {
      const slot = HEADER_WORDS + (position & this.mask) * SLOT_WORDS;
      const lag = (Atomics.load(words, slot) - position) | 0;
      if (lag === 0) {
        const seen = Atomics.compareExchange(words, TAIL, position, (position + 1) | 0);
        if (seen === position) {
          Atomics.store(words, slot + 1, w0);
          Atomics.store(words, slot + 2, w1);
          Atomics.store(words, slot + 3, w2);
          Atomics.store(words, slot + 4, w3);
          Atomics.store(words, slot, (position + 1) | 0); // hands the slot to its consumer
          return true;
        }
        position = seen;
      } else if (lag < 0) {
        return false; // the slot still holds the task of the previous lap: full
      } else {
        position = Atomics.load(words, TAIL); // another producer took this position
      }
    }
    return false;
  }

  /** Any thread. Takes the oldest task into out[0..3]; false if empty. */
  pop(out: Int32Array): boolean {
    const words = this.words;
    let position = Atomics.load(words, HEAD);
    for (let retry = 0; retry < INJECTOR_RETRIES_MAX; retry += 1) {
      const slot = HEADER_WORDS + (position & this.mask) * SLOT_WORDS;
      const lag = (Atomics.load(words, slot) - ((position + 1) | 0)) | 0;
      if (lag === 0) {
        const seen = Atomics.compareExchange(words, HEAD, position, (position + 1) | 0);
        if (seen === position) {
          out[0] = Atomics.load(words, slot + 1);
          out[1] = Atomics.load(words, slot + 2);
          out[2] = Atomics.load(words, slot + 3);
          out[3] = Atomics.load(words, slot + 4);
          // Hands the slot to the producer one lap ahead.
          Atomics.store(words, slot, (position + this.capacity) | 0);
          return true;
        }
        position = seen;
      } else if (lag < 0) {
        return false; // not yet published for this lap: empty (or a push in flight)
      } else {
        position = Atomics.load(words, HEAD); // another consumer took this position
      }
    }
    return false;
  }

  /** Approximate number of tasks (claimed positions, published or not); in [0, capacity]. */
  size(): number {
    const head = Atomics.load(this.words, HEAD);
    const tail = Atomics.load(this.words, TAIL);
    const size = (tail - head) | 0;
    return size < 0 ? 0 : size > this.capacity ? this.capacity : size;
  }

  private reset(position: number): void {
    const words = this.words;
    for (let index = 0; index < this.capacity; index += 1) {
      const at = (position + index) | 0;
      Atomics.store(words, HEADER_WORDS + (at & this.mask) * SLOT_WORDS, at);
    }
    Atomics.store(words, HEAD, position);
    Atomics.store(words, TAIL, position);
  }
}
