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

/** The shared memory of one event queue, to attach to from another thread. */
export interface EventMemory {
  /** Float64 words: which buffer is current (0 or 1), then base and count of buffers 0 and 1. */
  readonly header: SharedArrayBuffer;
  /** Column buffers of buffer 0 and of buffer 1, in field order. */
  readonly columns: readonly [readonly SharedArrayBuffer[], readonly SharedArrayBuffer[]];
}

/** One frame's events of one type; its count and base live in the queue's shared header. */
class EventBuffer {
  readonly columns: Column[];
  private readonly header: Float64Array;
  private readonly slot: number;

  constructor(
    owner: Owner,
    capacity: number,
    header: Float64Array,
    slot: number,
    memory: readonly SharedArrayBuffer[],
  ) {
    this.header = header;
    this.slot = slot;
    this.columns = owner.fields.map((field, i) =>
      new FIELD_TYPES[field.type](memory[i], 0, capacity)
    );
  }

  /** Events in the buffer. */
  get count(): number {
    return this.header[2 + this.slot * 2];
  }
  set count(value: number) {
    this.header[2 + this.slot * 2] = value;
  }

  /** Sequence number of the buffer's first event. */
  get baseSeq(): number {
    return this.header[1 + this.slot * 2];
  }
  set baseSeq(value: number) {
    this.header[1 + this.slot * 2] = value;
  }
}

/** The queue of one event type: last frame's events and this frame's. */
export class EventQueue {
  readonly owner: Owner;
  readonly capacity: number;
  readonly memory: EventMemory;
  private readonly header: Float64Array;
  private readonly buffers: readonly [EventBuffer, EventBuffer];

  /** A new queue, or (with `memory`) a view of one another thread made. */
  constructor(owner: Owner, capacity: number, memory?: EventMemory) {
    this.owner = owner;
    this.capacity = capacity;
    const columns = (): SharedArrayBuffer[] =>
      owner.fields.map((f) =>
        new SharedArrayBuffer(capacity * FIELD_TYPES[f.type].BYTES_PER_ELEMENT)
      );
    this.memory = memory ??
      { header: new SharedArrayBuffer(5 * 8), columns: [columns(), columns()] };
    this.header = new Float64Array(this.memory.header);
    this.buffers = [
      new EventBuffer(owner, capacity, this.header, 0, this.memory.columns[0]),
      new EventBuffer(owner, capacity, this.header, 1, this.memory.columns[1]),
    ];
  }

  /** This frame's events. */
  get current(): EventBuffer {
    return this.buffers[this.header[0]];
  }

  /** Last frame's events. */
  get previous(): EventBuffer {
    return this.buffers[1 - this.header[0]];
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
    const base = this.current.baseSeq + this.current.count;
    this.header[0] = 1 - this.header[0];
    dropped.baseSeq = base;
    dropped.count = 0;
  }

  /** Appends an event and returns its row in the current buffer; the caller checks capacity. */
  push(): number {
    return this.current.count++;
  }
}

/**
 * What one system sees of one event type this frame: `count` events, read by
 * `get(field, i)` for i from 0 to count - 1, oldest first.
 *
 * @example
 * ```ts
 * import { defineEvent, defineSystem } from "staticecs";
 * const Hit = defineEvent("Hit", { damage: "f32" });
 * defineSystem({
 *   name: "tally",
 *   reads: [Hit],
 *   run(ctx) {
 *     const hits = ctx.read(Hit);
 *     let total = 0;
 *     for (let i = 0; i < hits.count; i++) total += hits.get(Hit.damage, i);
 *   },
 * });
 * ```
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
