/**
 * Events: a bounded queue per event type, with a clear lifetime. An event
 * emitted during a stage becomes visible when that stage's commands apply,
 * and stays readable until the end of the next frame. Each system that reads
 * an event type has a cursor, so a system that runs every frame sees each
 * event exactly once.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import { type Column, type Field, FIELD_TYPES, type FieldType, type Owner } from "./schema.ts";

/** One frame's events of one type. */
class EventBuffer {
  readonly columns: Column[];
  count = 0;
  /** Sequence number of the buffer's first event. */
  baseSeq = 0;

  constructor(owner: Owner, capacity: number) {
    this.columns = owner.fields.map((field) => {
      const Ctor = FIELD_TYPES[field.type];
      return new Ctor(new SharedArrayBuffer(capacity * Ctor.BYTES_PER_ELEMENT), 0, capacity);
    });
  }
}

/** The queue of one event type: last frame's events and this frame's. */
export class EventQueue {
  readonly owner: Owner;
  readonly capacity: number;
  previous: EventBuffer;
  current: EventBuffer;

  constructor(owner: Owner, capacity: number) {
    this.owner = owner;
    this.capacity = capacity;
    this.previous = new EventBuffer(owner, capacity);
    this.current = new EventBuffer(owner, capacity);
  }

  /** Sequence number the next event will get. */
  get endSeq(): number {
    return this.current.baseSeq + this.current.count;
  }

  /** Oldest sequence number still readable. */
  get startSeq(): number {
    return this.previous.baseSeq;
  }

  /** Starts a frame: last frame's events are dropped, this frame's become last frame's. */
  swap(): void {
    const dropped = this.previous;
    this.previous = this.current;
    dropped.baseSeq = this.previous.baseSeq + this.previous.count;
    dropped.count = 0;
    this.current = dropped;
  }

  /** Appends an event and returns its row in the current buffer; the caller checks capacity. */
  push(): number {
    return this.current.count++;
  }
}

/**
 * What one system sees of one event type this frame: `count` events, read by
 * `get(field, i)` for i from 0 to count - 1, oldest first.
 */
export class EventView {
  count = 0;
  private readonly queue: EventQueue;
  private previousStart = 0;
  private previousCount = 0;
  private currentStart = 0;

  constructor(queue: EventQueue) {
    this.queue = queue;
  }

  /** Points the view at the events from `cursorSeq` to the end of the queue. */
  reset(cursorSeq: number): void {
    const { previous, current } = this.queue;
    const from = Math.max(cursorSeq, previous.baseSeq);
    this.previousStart = Math.min(from - previous.baseSeq, previous.count);
    this.previousCount = previous.count - this.previousStart;
    this.currentStart = Math.max(0, from - current.baseSeq);
    this.count = this.previousCount + current.count - this.currentStart;
  }

  /** The value of `field` in the i-th event of the view. */
  get<T extends FieldType>(field: Field<T>, i: number): number {
    if (field.owner !== this.queue.owner) {
      throw new UsageError(
        `event view of ${this.queue.owner.name} asked for field ${field.owner.name}.${field.name}`,
      );
    }
    if (i < this.previousCount) {
      return this.queue.previous.columns[field.index][this.previousStart + i];
    }
    return this.queue.current.columns[field.index][this.currentStart + i - this.previousCount];
  }
}
