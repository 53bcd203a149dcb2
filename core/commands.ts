/**
 * Commands: structural changes and deferred writes recorded by systems
 * during a stage, all applied at the stage's end in a fixed order (system
 * order, then chunk order), whichever thread recorded them. The records are
 * fixed-size words in shared memory, so recording allocates nothing.
 *
 * `spawn()` returns a pending handle (a negative number) that later commands
 * of the same system may use, including as the value of an entity field; it
 * becomes a real handle when the commands apply.
 *
 * @module
 */

import { kernelsFor, kernelsOf } from "./_column_kernels.ts";
import { BoundError, StaleEntityError, UsageError } from "./errors.ts";
import {
  type Component,
  eventOwnerOf,
  type EventType,
  type Field,
  fieldNamed,
  type FieldType,
  type Owner,
  ownerOf,
  type Schema,
  toFieldNumber,
  type Values,
} from "./schema.ts";
import { describeOp } from "./entities.ts";
import type { EventQueue } from "./events.ts";
import type { World } from "./world.ts";
import type { Chunk, SystemChunk } from "./archetype.ts";
import {
  ADD,
  ADD_EACH,
  COMPONENTS,
  DESPAWN,
  DESPAWN_EACH,
  EACH_ROWS,
  EMIT,
  ENTITIES,
  EVENT_FIELD,
  PER_RECORD,
  REMOVE,
  REMOVE_EACH,
  ROWS,
  SEGMENT,
  SET,
  SPAWN,
  SPAWN_EACH,
  VALUES,
  WORDS,
} from "./_command_records.ts";
import {
  eventQueue,
  eventQueues,
  fieldOrdinals,
  indexOfComponent,
  sceneComponents,
  sparseByIndex,
} from "./_world_internal.ts";

/**
 * What `addEach`, `removeEach` and `despawnEach` read of a chunk: any
 * system's chunk, whatever its declared reads and writes.
 */
export type ChunkRows = Pick<SystemChunk, "count" | "entities" | "matches">;

/** Records a buffer takes from the frame's shared count at a time. */
const BUDGET_BLOCK = 256;

/**
 * The shared memory of a command buffer. `counters` is one per world, shared
 * by the buffers of every thread, so the per-frame bounds hold across threads:
 * Int32 words, records this frame, then events emitted this frame per type.
 */
export interface CommandMemory {
  /** Records of four float64 words: kind, a, b, c. */
  readonly words: SharedArrayBuffer;
  /** Int32 word 0: the record count, published by the recording thread. */
  readonly header: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
}

/** Records commands for one world; one buffer per recording thread. */
export class CommandBuffer {
  /** Records of four float64 words: kind, a, b, c. */
  readonly words: Float64Array;
  /** Records in the buffer (on the recording thread; `publish` shares it). */
  count = 0;
  readonly maxRecords: number;
  readonly memory: CommandMemory;
  private readonly header: Int32Array;
  /** Records this frame (word 0), then events emitted this frame per type. */
  private readonly counters: Int32Array;
  private readonly world: World;
  private pendingSpawns = 0;
  /** The system whose SEGMENT record is still to be written (on its first command), or -1. */
  private segment = -1;
  /** Event queues by the index that EMIT records carry. */
  readonly queues: EventQueue[];
  /** Real handles of the current segment's pending spawns, filled while applying. */
  readonly resolved: Uint32Array;
  /**
   * Handles of EACH_ROWS records copied before applying (when an earlier record may move their
   * rows): a count, then the handles, per record. Grows when a stage needs more, then is reused.
   */
  copiedRows: Uint32Array = new Uint32Array(0);
  /**
   * EACH_ROWS records among this buffer's records (counted as they are recorded, or by
   * mergeSegments): with none, nothing needs copying before the records apply.
   */
  eachRows = 0;
  private readonly eventIndex: Map<Owner, number> = new Map();
  private segmentArchetype = 0;
  /** Records reserved from the frame's shared count and not used yet. */
  private budget = 0;
  private segmentChunk = 0;
  /** The view `spawnEach` returns, one per buffer. */
  private readonly batch: SpawnBatch;

  /**
   * A buffer for `world`. With `memory` it attaches to shared memory: give
   * `{ counters }` of the world's first buffer for another thread's buffer,
   * or a whole CommandMemory to attach on the thread that records into it.
   */
  constructor(world: World, memory?: Partial<CommandMemory>) {
    this.world = world;
    this.maxRecords = world.config.maxCommandsPerFrame;
    this.memory = {
      words: memory?.words ?? new SharedArrayBuffer(this.maxRecords * WORDS * 8),
      header: memory?.header ?? new SharedArrayBuffer(4),
      counters: memory?.counters ?? new SharedArrayBuffer(4 * (1 + world[eventQueues].size)),
    };
    this.words = new Float64Array(this.memory.words);
    this.header = new Int32Array(this.memory.header);
    this.counters = new Int32Array(this.memory.counters);
    for (const owner of world[eventQueues].keys()) this.eventIndex.set(owner, this.eventIndex.size);
    this.queues = [...world[eventQueues].values()];
    this.resolved = new Uint32Array(this.maxRecords);
    this.batch = new SpawnBatch(world);
  }

  /**
   * Marks the start of a system's commands for one run over chunks from
   * `chunkStart` of the query's `archetypeOrdinal`-th archetype; pending
   * handles restart. Segments apply in (system, archetype, chunk) order.
   */
  beginSegment(systemIndex: number, archetypeOrdinal = 0, chunkStart = 0): void {
    this.pendingSpawns = 0;
    this.segment = systemIndex;
    this.segmentArchetype = archetypeOrdinal;
    this.segmentChunk = chunkStart;
  }

  /** Starts a frame: the per-frame bounds (shared by every thread's buffer) reset. */
  beginFrame(): void {
    // A loop, not fill(): V8 calls out of JIT code to fill a shared array, each frame.
    const counters = this.counters;
    for (let i = 0; i < counters.length; i++) counters[i] = 0;
    this.budget = 0;
  }

  /** Records this frame, across every thread's buffer. */
  get frameRecords(): number {
    return Atomics.load(this.counters, 0);
  }

  /** Makes `count` visible to other threads and returns unused budget to the frame. */
  publish(): void {
    // Only this buffer's thread stores a count other than 0 (mergeSegments stores 0 for it), so
    // a plain read of 0 with nothing recorded means the shared count is already right: the
    // store, a full fence, is left out of most stages.
    if (this.count !== 0 || this.header[0] !== 0) Atomics.store(this.header, 0, this.count);
    if (this.budget > 0) {
      Atomics.sub(this.counters, 0, this.budget);
      this.budget = 0;
    }
  }

  /** Reads the count another thread published. */
  readPublished(): number {
    this.count = Atomics.load(this.header, 0);
    return this.count;
  }

  /** Records a spawn of an entity with no components; returns its pending handle. */
  spawn(): number {
    this.reserve(1);
    this.push(SPAWN, this.pendingSpawns, 0, 0);
    return -++this.pendingSpawns;
  }

  /**
   * Records spawning `count` entities with `components` as one block: their
   * rows and handles are taken at once when the commands apply. Returns this
   * buffer's batch view (the same object for every call, valid until the
   * next `spawnEach`): `batch.set(i, field, value)` gives entity `i` a value
   * (fields start at zero), `batch.entity(i)` is its pending handle.
   *
   * @example
   * ```ts ignore
   * runChunk(chunk, ctx) {
   *   const a = chunk.read(A.value);
   *   const batch = ctx.commands.spawnEach(chunk.count, B); // or [B, C]: keep the array constant
   *
   *   for (let i = 0; i < chunk.count; i++) batch.set(i, B.value, a[i]);
   * }
   * ```
   */
  spawnEach(count: number, components: Component | readonly Component[]): SpawnBatch {
    const batch = this.batch;
    if (!Number.isInteger(count) || count < 1) {
      throw new UsageError(`spawnEach: count must be a positive integer; got ${count}`);
    }
    if (this.pendingSpawns + count > this.maxRecords) {
      throw new BoundError(
        "maxCommandsPerFrame",
        this.maxRecords,
        `spawnEach: ${this.pendingSpawns + count} spawns pending in one system's chunk, more ` +
          `than maxCommandsPerFrame ${this.maxRecords}; raise it or spawn fewer at once`,
      );
    }
    batch.open(components, count);
    const componentRecords = Math.ceil(batch.indices.length / PER_RECORD);
    const valueRecords = Math.ceil(count / PER_RECORD);
    this.reserve(1 + componentRecords + batch.fieldCount * valueRecords);
    this.push(SPAWN_EACH, count, this.pendingSpawns, batch.indices.length);
    const words = this.words;
    let at = this.count * WORDS;
    for (let r = 0; r < componentRecords; r++, at += WORDS) {
      words[at] = COMPONENTS;
      for (let k = 1; k < WORDS; k++) words[at + k] = batch.indices[r * PER_RECORD + k - 1] ?? 0;
    }
    const valuesAt = at;
    for (let r = 0; r < batch.fieldCount * valueRecords; r++, at += WORDS) {
      words[at] = VALUES;
      words[at + 1] = words[at + 2] = words[at + 3] = 0;
    }
    this.count = at / WORDS;
    batch.place(words, valuesAt, valueRecords, this.pendingSpawns);
    this.pendingSpawns += count;
    return batch;
  }

  /** Records a despawn. */
  despawn(entity: number): void {
    const checked = this.checkEntity(entity, "despawn", "");
    this.reserve(1);
    this.push(DESPAWN, checked, 0, 0);
  }

  /**
   * Records adding `component` to every row of `chunk` that passes its
   * query's sparse terms (`chunk.matches`): one record and the rows'
   * handles, however many rows. Applied like an `add` per row, in row order.
   *
   * @example
   * ```ts ignore
   * runChunk(chunk, ctx) { ctx.commands.addEach(chunk, Burning); }
   * ```
   */
  addEach(chunk: ChunkRows, component: Component): void {
    this.recordEach(ADD_EACH, chunk, this.world[indexOfComponent](component));
  }

  /** Records removing `component` from every row of `chunk` that passes its query's sparse terms. */
  removeEach(chunk: ChunkRows, component: Component): void {
    this.recordEach(REMOVE_EACH, chunk, this.world[indexOfComponent](component));
  }

  /** Records despawning every row of `chunk` that passes its query's sparse terms. */
  despawnEach(chunk: ChunkRows): void {
    this.recordEach(DESPAWN_EACH, chunk, 0);
  }

  /** Records adding a component, with optional values. */
  add<S extends Schema>(entity: number, component: Component<S>, values?: Values<S>): void {
    const index = this.world[indexOfComponent](component);
    const checked = this.checkEntity(entity, "add ", ownerOf(component).name);
    this.reserve(1);
    this.push(ADD, checked, index, 0);
    if (values !== undefined) this.set(entity, component, values);
  }

  /** Records removing a component. */
  remove(entity: number, component: Component): void {
    const index = this.world[indexOfComponent](component);
    const checked = this.checkEntity(entity, "remove ", ownerOf(component).name);
    this.reserve(1);
    this.push(REMOVE, checked, index, 0);
  }

  /** Records setting the given fields of a component. */
  set<S extends Schema>(entity: number, component: Component<S>, values: Values<S>): void {
    const owner = ownerOf(component);
    // for-in, not Object.entries: it walks the engines' cached keys and allocates nothing.
    for (const name in values) {
      if (!Object.hasOwn(values, name)) continue;
      const field = fieldNamed(owner, name), value = values[name];
      if (value !== undefined) this.setField(entity, field, value as number | boolean);
    }
  }

  /** Records setting one field. */
  setField<T extends FieldType>(entity: number, field: Field<T>, value: number | boolean): void {
    const checked = this.checkEntity(entity, "set ", field);
    const number = toFieldNumber(value);
    // A negative entity value is read as a pending handle when applied: it must be one.
    if (field.type === "entity" && number < 0) this.checkEntity(number, "set ", field);
    this.reserve(1);
    const ordinal = field.id < this.world[fieldOrdinals].length
      ? this.world[fieldOrdinals][field.id]
      : -1;
    if (ordinal < 0) {
      throw new UsageError(
        `set ${field.owner.name}.${field.name}: ${field.owner.name} is not a component of this ` +
          `world; add it to the scene's components list`,
      );
    }
    this.push(SET, checked, ordinal, number);
  }

  /** Records an event; readers see it after this stage's commands apply. */
  emit<S extends Schema>(event: EventType<S>, values: Values<S>): void {
    const owner = eventOwnerOf(event);
    const index = this.eventIndex.get(owner);
    if (index === undefined) {
      throw new UsageError(`event ${owner.name} is not part of this world; add it to events`);
    }
    if (Atomics.load(this.counters, 1 + index) >= owner.capacity) {
      throw eventOverflow(this.world[eventQueue](owner));
    }
    // Indexed loops: emit runs once per event, and for-of allocates an iterator where V8 has not
    // optimized the caller.
    const fields = owner.fields;
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f], value = values[field.name as keyof S];
      if (field.type === "entity" && typeof value === "number" && value < 0) {
        this.checkEntity(value, "emit ", field);
      }
    }
    this.reserve(1 + fields.length);
    Atomics.add(this.counters, 1 + index, 1);
    this.push(EMIT, index, 0, 0);
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f];
      this.push(EVENT_FIELD, field.index, toFieldNumber(values[field.name as keyof S] ?? 0), 0);
    }
  }

  /** Empties the buffer after its records were applied. */
  clear(): void {
    this.count = 0;
    this.eachRows = 0;
  }

  /** Checks a handle; the message (`op` and a component or field name) is built only on error. */
  private checkEntity(entity: number, op: string, subject: string | Field): number {
    if (entity < 0) {
      if (Number.isInteger(entity) && -entity <= this.pendingSpawns) return entity;
      throw new UsageError(
        `${describeOp(op, subject)}: pending handle ${entity} does not come from this system's ` +
          `ctx.commands.spawn()`,
      );
    }
    if (!this.world.isAlive(entity)) throw new StaleEntityError(entity, describeOp(op, subject));
    return entity;
  }

  /**
   * Takes `records` (and the pending segment record) from this buffer's
   * budget, refilling it from the frame's shared count in blocks, so most
   * records cost no atomic operation. Unused budget goes back on `publish`.
   */
  private reserve(records: number): void {
    const needed = records + (this.segment >= 0 ? 1 : 0);
    if (this.budget >= needed) {
      this.budget -= needed;
      return;
    }
    const block = Math.max(needed, BUDGET_BLOCK);
    const before = Atomics.add(this.counters, 0, block);
    if (before + block <= this.maxRecords) {
      this.budget += block - needed;
      return;
    }
    Atomics.sub(this.counters, 0, block);
    const exact = Atomics.add(this.counters, 0, needed);
    if (exact + needed > this.maxRecords) {
      Atomics.sub(this.counters, 0, needed);
      throw new BoundError(
        "maxCommandsPerFrame",
        this.maxRecords,
        `command buffer full: ${exact - this.budget} command records this frame of ` +
          `maxCommandsPerFrame ${this.maxRecords}; raise config.maxCommandsPerFrame or spread ` +
          `the changes over several frames`,
      );
    }
  }

  /**
   * An `_EACH` over `chunk`: by position (EACH_ROWS, ROWS: no work per row)
   * unless the chunk is filtered on sparse terms and the change moves rows;
   * then the record and the handles of the matching rows, three to a record:
   * room for every row is reserved, the rows are written in one pass, and
   * the room left over goes back to the budget.
   */
  private recordEach(kind: number, chunk: ChunkRows, componentIndex: number): void {
    if (chunk.count === 0) return;
    const whole = chunk as Partial<Chunk>;
    if (
      whole.archetype !== undefined &&
      (!whole.filtered ||
        (kind !== DESPAWN_EACH && this.world[sparseByIndex][componentIndex] !== undefined))
    ) {
      // By position: a chunk's rows, filtered (on sparse terms only) when applied.
      this.reserve(2);
      this.eachRows++;
      this.push(EACH_ROWS, kind, componentIndex, whole.archetype.id);
      this.push(ROWS, whole.index! << whole.archetype.chunkShift, chunk.count, 0);
      return;
    }
    const room = Math.ceil(chunk.count / PER_RECORD);
    this.reserve(1 + room);
    this.push(kind, componentIndex, 0, 0);
    const header = (this.count - 1) * WORDS;
    const words = this.words, entities = chunk.entities, base = this.count * WORDS;
    let rows = 0, at = base; // `at`: the word of the next handle
    for (let i = 0; i < chunk.count; i++) {
      if (!chunk.matches(i)) continue;
      if ((at & (WORDS - 1)) === 0) {
        // A new list record: its kind, then three empty slots.
        words[at] = ENTITIES;
        words[at + 1] = words[at + 2] = words[at + 3] = 0;
        at++;
      }
      words[at++] = entities[i];
      rows++;
    }
    const lists = Math.ceil(rows / PER_RECORD);
    this.budget += room - lists;
    if (rows === 0) {
      this.count--; // nothing matched: no record (the segment record, if new, stays)
      this.budget++;
      return;
    }
    words[header + 2] = rows;
    this.count += lists;
  }

  /** Writes a record; its place in the frame's budget was reserved. */
  private push(kind: number, a: number, b: number, c: number): void {
    if (this.segment >= 0) {
      const system = this.segment;
      this.segment = -1;
      this.push(SEGMENT, system, this.segmentArchetype, this.segmentChunk);
    }
    const at = this.count * WORDS;
    this.words[at] = kind;
    this.words[at + 1] = a;
    this.words[at + 2] = b;
    this.words[at + 3] = c;
    this.count++;
  }
}

const copyWords = kernelsOf("f64").copy;

/** A segment's fields in `segmentTable`: its key (system, archetype, chunk), buffer and records. */
const SEGMENT_FIELDS = 6;
/** Segments found by mergeSegments: grown when a stage has more, then reused (main thread). */
let segmentTable = new Float64Array(64 * SEGMENT_FIELDS);
/** Segment numbers in merge order, and the merge sort's second half-buffer. */
let segmentOrder = new Int32Array(64);
let segmentSpare = new Int32Array(64);

/**
 * Moves the records of every thread's buffer into `into`, segment by
 * segment, in (system, archetype ordinal, first chunk) order: the order the
 * blocking backend records them in, whichever thread ran which chunks.
 * `scratch` holds at least maxCommandsPerFrame records. Allocates nothing
 * once its tables have grown to a stage's segment count.
 */
export function mergeSegments(
  into: CommandBuffer,
  others: readonly CommandBuffer[],
  scratch: Float64Array,
): void {
  let segments = 0, eachRows = 0;
  for (let b = 0; b <= others.length; b++) {
    const { words, count } = b === 0 ? into : others[b - 1];
    let start = -1;
    for (let r = 0; r <= count; r++) {
      if (r < count && words[r * WORDS] !== SEGMENT) {
        if (words[r * WORDS] === EACH_ROWS) eachRows++;
        continue;
      }
      if (start >= 0) addSegment(segments++, words, start, b, r);
      start = r;
    }
  }
  sortSegments(segments);
  let out = 0;
  for (let k = 0; k < segments; k++) {
    const at = segmentOrder[k] * SEGMENT_FIELDS;
    const b = segmentTable[at + 3], start = segmentTable[at + 4], end = segmentTable[at + 5];
    const words = b === 0 ? into.words : others[b - 1].words;
    // The f64 loop, not set(subarray()): no view object per segment.
    copyWords(scratch, out * WORDS, words, start * WORDS, (end - start) * WORDS);
    out += end - start;
  }
  copyWords(into.words, 0, scratch, 0, out * WORDS);
  into.count = out;
  into.eachRows = eachRows;
  for (let b = 0; b < others.length; b++) {
    others[b].count = 0;
    others[b].publish();
  }
}

/** Notes segment `n`: records `[start, end)` of buffer `b`, keyed by its SEGMENT record. */
function addSegment(n: number, words: Float64Array, start: number, b: number, end: number): void {
  if ((n + 1) * SEGMENT_FIELDS > segmentTable.length) {
    const grown = new Float64Array(segmentTable.length * 2);
    grown.set(segmentTable);
    segmentTable = grown;
    segmentOrder = new Int32Array(grown.length / SEGMENT_FIELDS);
    segmentSpare = new Int32Array(grown.length / SEGMENT_FIELDS);
  }
  const at = n * SEGMENT_FIELDS, header = start * WORDS;
  segmentTable[at] = words[header + 1];
  segmentTable[at + 1] = words[header + 2];
  segmentTable[at + 2] = words[header + 3];
  segmentTable[at + 3] = b;
  segmentTable[at + 4] = start;
  segmentTable[at + 5] = end;
}

/** True if segment `x` applies before segment `y`: by system, then archetype, then chunk. */
function segmentBefore(x: number, y: number): boolean {
  const a = x * SEGMENT_FIELDS, b = y * SEGMENT_FIELDS, table = segmentTable;
  if (table[a] !== table[b]) return table[a] < table[b];
  if (table[a + 1] !== table[b + 1]) return table[a + 1] < table[b + 1];
  return table[a + 2] < table[b + 2];
}

/**
 * Puts segments `[0, n)` in apply order in `segmentOrder`: a bottom-up merge
 * sort through `segmentSpare` (no two segments share a key, so stability is moot).
 */
function sortSegments(n: number): void {
  let from = segmentOrder, to = segmentSpare;
  for (let k = 0; k < n; k++) from[k] = k;
  for (let width = 1; width < n; width *= 2) {
    for (let left = 0; left < n; left += 2 * width) {
      const middle = Math.min(left + width, n), right = Math.min(left + 2 * width, n);
      let i = left, j = middle, k = left;
      while (i < middle && j < right) {
        to[k++] = segmentBefore(from[j], from[i]) ? from[j++] : from[i++];
      }
      while (i < middle) to[k++] = from[i++];
      while (j < right) to[k++] = from[j++];
    }
    const swap = from;
    from = to;
    to = swap;
  }
  if (from !== segmentOrder) { for (let k = 0; k < n; k++) segmentOrder[k] = from[k]; }
}

/** The BoundError of an event type whose queue is full this frame. */
export function eventOverflow(queue: EventQueue): Error {
  return new BoundError(
    `${queue.owner.name}.capacity`,
    queue.capacity,
    `event queue ${queue.owner.name} full: ${queue.capacity} events this frame; raise its ` +
      `capacity in defineEvent(..., { capacity }) or emit fewer`,
  );
}

/**
 * The entities of one `spawnEach`, to give values to: where each field's
 * values go in the command records, and their pending handles. One per
 * command buffer, reused by every `spawnEach`.
 */
export class SpawnBatch {
  /** Entities in the batch. */
  count = 0;
  /** The components' scene indices, in the order given. */
  indices: readonly number[] = [];
  /** Fields of the components, in order. */
  fieldCount = 0;
  private fields: readonly Field[] = [];
  private words: Float64Array | undefined;
  /** Word where each field's values start, by field slot. */
  private readonly starts: number[] = [];
  /** Field slot by process-wide field id, -1 for fields not in the batch. */
  private readonly slots: Int32Array;
  private firstOrdinal = 0;
  private readonly world: World;
  /** Indices and fields by the component (or array of them) given, worked out once each. */
  private readonly known: Map<object, { indices: number[]; fields: Field[] }> = new Map();

  constructor(world: World) {
    this.world = world;
    this.slots = new Int32Array(world[fieldOrdinals].length).fill(-1);
  }

  /** Sets `field` of entity `i` (from 0) of the batch; the field must be one of its components'. */
  set<T extends FieldType>(i: number, field: Field<T>, value: number | boolean): void {
    const slot = this.slots[field.id];
    if (!(slot >= 0) || !(i >= 0 && i < this.count)) throw this.misuse(i, field);
    const list = (i / PER_RECORD) | 0;
    this.words![this.starts[slot] + list * WORDS + 1 + i - list * PER_RECORD] = toFieldNumber(
      value,
    );
  }

  /**
   * Sets `field` of every entity of the batch at once: entity `i` takes
   * `values[from + i]`. One call per field instead of one `set` per entity;
   * `values` is typically a column the chunk read.
   *
   * @example
   * ```ts ignore
   * runChunk(chunk, ctx) {
   *   const a = chunk.read(A.value);
   *   ctx.commands.spawnEach(chunk.count, B).setColumn(B.value, a); // B.value of entity i = a[i]
   * }
   * ```
   */
  setColumn<T extends FieldType>(
    field: Field<T>,
    values: ArrayLike<number> | ArrayLike<boolean>,
    from = 0,
  ): void {
    const slot = this.slots[field.id];
    const count = this.count;
    if (!(slot >= 0)) throw this.misuse(0, field);
    if (!(Number.isInteger(from) && from >= 0 && from + count <= values.length)) {
      throw new UsageError(
        `spawnEach batch: setColumn(${field.owner.name}.${field.name}) needs values ${from} to ` +
          `${from + count - 1}, but values holds ${values.length}`,
      );
    }
    // Through the loop of `values`'s class: one loop reading every class would go megamorphic.
    kernelsFor(values).toRecords(this.words!, this.starts[slot] + 1, 0, values, from, count);
  }

  /** The pending handle of entity `i` of the batch, for later commands of this system. */
  entity(i: number): number {
    if (!(i >= 0 && i < this.count)) {
      throw new UsageError(`spawnEach batch: entity ${i} is outside 0 to ${this.count - 1}`);
    }
    return -(this.firstOrdinal + i + 1);
  }

  /** Starts a batch of `count` entities with `components`. */
  open(components: Component | readonly Component[], count: number): void {
    let known = this.known.get(components);
    if (known === undefined) {
      const list = Array.isArray(components) ? components : [components as Component];
      const indices = list.map((c) => this.world[indexOfComponent](c));
      const fields = indices.flatMap((index) =>
        this.world[sceneComponents][index].fields as Field[]
      );
      known = { indices, fields };
      this.known.set(components, known);
    }
    for (let f = 0; f < this.fields.length; f++) this.slots[this.fields[f].id] = -1;
    this.indices = known.indices;
    this.fields = known.fields;
    this.count = count;
    this.fieldCount = known.fields.length;
    for (let f = 0; f < this.fields.length; f++) this.slots[this.fields[f].id] = f;
  }

  /** Points the batch at its value records, from word `at`, `perField` records per field. */
  place(words: Float64Array, at: number, perField: number, firstOrdinal: number): void {
    this.words = words;
    this.firstOrdinal = firstOrdinal;
    this.starts.length = this.fieldCount;
    for (let slot = 0; slot < this.fieldCount; slot++) {
      this.starts[slot] = at + slot * perField * WORDS;
    }
  }

  private misuse(i: number, field: Field): UsageError {
    if (!(i >= 0 && i < this.count)) {
      return new UsageError(`spawnEach batch: entity ${i} is outside 0 to ${this.count - 1}`);
    }
    return new UsageError(
      `spawnEach batch: ${field.owner.name}.${field.name} is not a field of the batch's ` +
        `components; list ${field.owner.name} in spawnEach(count, components)`,
    );
  }
}
