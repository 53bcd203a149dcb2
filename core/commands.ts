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
import { describeOp, NULL_ENTITY } from "./entities.ts";
import type { EventQueue } from "./events.ts";
import type { World } from "./world.ts";

/** Record kinds. */
const SEGMENT = 1;
const SPAWN = 2;
const DESPAWN = 3;
const ADD = 4;
const REMOVE = 5;
const SET = 6;
const EMIT = 7;
const EVENT_FIELD = 8;
const WORDS = 4;
/** Records a buffer takes from the frame's shared count at a time. */
const BUDGET_BLOCK = 256;

/** An error met while applying a command, attributed to the system that recorded it. */
export interface CommandError {
  readonly system: string;
  readonly error: unknown;
  /**
   * For a failed spawn: the commands skipped because they named its pending handle (as their
   * entity, or as the value of an entity field), folded into this one error instead of each
   * failing on the null entity. 0 for other errors.
   */
  skippedCommands: number;
}

/**
 * What a failed spawn's error message ends with: the commands skipped on its pending handle,
 * or nothing.
 *
 * @example
 * ```ts
 * import { skippedOnSpawn } from "./commands.ts";
 * skippedOnSpawn(2); // "; 2 commands on this spawn skipped"
 * skippedOnSpawn(0); // ""
 * ```
 */
export function skippedOnSpawn(skippedCommands: number): string {
  if (skippedCommands === 0) return "";
  return `; ${skippedCommands} command${skippedCommands === 1 ? "" : "s"} on this spawn skipped`;
}

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
  private readonly eventIndex: Map<Owner, number> = new Map();
  private segmentArchetype = 0;
  /** Records reserved from the frame's shared count and not used yet. */
  private budget = 0;
  private segmentChunk = 0;

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
      counters: memory?.counters ?? new SharedArrayBuffer(4 * (1 + world.eventQueues.size)),
    };
    this.words = new Float64Array(this.memory.words);
    this.header = new Int32Array(this.memory.header);
    this.counters = new Int32Array(this.memory.counters);
    for (const owner of world.eventQueues.keys()) this.eventIndex.set(owner, this.eventIndex.size);
    this.queues = [...world.eventQueues.values()];
    this.resolved = new Uint32Array(this.maxRecords);
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
    this.counters.fill(0);
    this.budget = 0;
  }

  /** Records this frame, across every thread's buffer. */
  get frameRecords(): number {
    return Atomics.load(this.counters, 0);
  }

  /** Makes `count` visible to other threads and returns unused budget to the frame. */
  publish(): void {
    Atomics.store(this.header, 0, this.count);
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

  /** Records a despawn. */
  despawn(entity: number): void {
    const checked = this.checkEntity(entity, "despawn", "");
    this.reserve(1);
    this.push(DESPAWN, checked, 0, 0);
  }

  /** Records adding a component, with optional values. */
  add<S extends Schema>(entity: number, component: Component<S>, values?: Values<S>): void {
    const index = this.world.indexOf(component);
    const checked = this.checkEntity(entity, "add ", ownerOf(component).name);
    this.reserve(1);
    this.push(ADD, checked, index, 0);
    if (values !== undefined) this.set(entity, component, values);
  }

  /** Records removing a component. */
  remove(entity: number, component: Component): void {
    const index = this.world.indexOf(component);
    const checked = this.checkEntity(entity, "remove ", ownerOf(component).name);
    this.reserve(1);
    this.push(REMOVE, checked, index, 0);
  }

  /** Records setting the given fields of a component. */
  set<S extends Schema>(entity: number, component: Component<S>, values: Values<S>): void {
    const owner = ownerOf(component);
    for (const [name, value] of Object.entries(values)) {
      const field = fieldNamed(owner, name);
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
    const ordinal = field.id < this.world.fieldOrdinals.length
      ? this.world.fieldOrdinals[field.id]
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
      throw eventOverflow(this.world.eventQueue(owner));
    }
    for (const field of owner.fields) {
      const value = values[field.name as keyof S];
      if (field.type === "entity" && typeof value === "number" && value < 0) {
        this.checkEntity(value, "emit ", field);
      }
    }
    this.reserve(1 + owner.fields.length);
    Atomics.add(this.counters, 1 + index, 1);
    this.push(EMIT, index, 0, 0);
    for (const field of owner.fields) {
      this.push(EVENT_FIELD, field.index, toFieldNumber(values[field.name as keyof S] ?? 0), 0);
    }
  }

  /** Empties the buffer after its records were applied. */
  clear(): void {
    this.count = 0;
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

/**
 * Applies a buffer's records in order. An error in one record (an entity
 * despawned earlier in the stage, say) is reported with its system's name and
 * does not stop the rest. The records that name a failed spawn's pending
 * handle are skipped and counted in that spawn's error: they would only fail
 * again on the null entity and hide the cause.
 */
export function applyCommands(
  world: World,
  buffer: CommandBuffer,
  systemNames: readonly string[],
  errors: CommandError[],
): void {
  const words = buffer.words;
  const queues = buffer.queues;
  const pending = buffer.resolved;
  let system = "";
  let emitQueue = queues[0];
  let emitRow = -1;
  /** The error of each failed spawn, by pending ordinal; made at the first failure only. */
  let failedSpawns: Map<number, CommandError> | undefined;
  for (let r = 0; r < buffer.count; r++) {
    const at = r * WORDS;
    const kind = words[at];
    const a = words[at + 1];
    const b = words[at + 2];
    const c = words[at + 3];
    const failed = failedSpawnOf(world, kind, a, b, c, pending, emitQueue);
    if (failed >= 0) {
      if (kind === EVENT_FIELD) {
        if (emitRow < 0) continue; // the event is already dropped (or overflowed)
        // An event naming a failed spawn is not sent: its row, the last one pushed, goes.
        emitQueue.current.count--;
        emitRow = -1;
      }
      failedSpawns!.get(failed)!.skippedCommands++;
      continue;
    }
    try {
      if (kind === SEGMENT) {
        system = systemNames[a];
      } else if (kind === SPAWN) {
        r = applySpawn(world, buffer, r);
      } else if (kind === EMIT) {
        emitQueue = queues[a];
        emitRow = emitQueue.current.count < emitQueue.capacity ? emitQueue.push() : -1;
        if (emitRow < 0) throw eventOverflow(emitQueue);
      } else if (kind === EVENT_FIELD) {
        const pendingValue = b < 0 && emitQueue.owner.fields[a].type === "entity";
        if (emitRow >= 0) {
          emitQueue.current.columns[a][emitRow] = pendingValue ? pending[-b - 1] : b;
        }
      } else {
        applyEntityRecord(world, kind, a < 0 ? pending[-a - 1] : a, b, c, pending);
      }
    } catch (error) {
      const failure = { system, error, skippedCommands: 0 };
      errors.push(failure);
      if (kind === SPAWN) (failedSpawns ??= new Map()).set(a, failure);
    }
  }
  buffer.clear();
}

/**
 * The pending ordinal of the failed spawn a record names (as its entity, or as the value of an
 * entity field), or -1. A failed spawn leaves its ordinal resolved to the null entity.
 */
function failedSpawnOf(
  world: World,
  kind: number,
  a: number,
  b: number,
  c: number,
  pending: Uint32Array,
  emitQueue: EventQueue,
): number {
  // Only entity records carry a negative `a` (a pending handle); SET and EVENT_FIELD may carry
  // one as a value, which for any other field type is just a negative number.
  if (a < 0) return pending[-a - 1] === NULL_ENTITY ? -a - 1 : -1;
  if (kind === SET) {
    if (c >= 0 || world.fieldsByOrdinal[b].type !== "entity") return -1;
    return pending[-c - 1] === NULL_ENTITY ? -c - 1 : -1;
  }
  if (kind === EVENT_FIELD) {
    if (b >= 0 || emitQueue.owner.fields[a].type !== "entity") return -1;
    return pending[-b - 1] === NULL_ENTITY ? -b - 1 : -1;
  }
  return -1;
}

/**
 * Spawns straight into the archetype that the ADD records right after the
 * SPAWN lead to, so a spawn with components moves no rows. Returns the last
 * record consumed.
 */
function applySpawn(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words;
  const ordinal = words[record * WORDS + 1];
  const handle = -(ordinal + 1);
  // If the spawn fails, later records on its pending handle are skipped (see failedSpawnOf),
  // not sent to the entity an earlier segment's spawn of the same ordinal resolved to.
  buffer.resolved[ordinal] = NULL_ENTITY;
  let archetype = world.root;
  let next = record + 1;
  while (
    next < buffer.count && words[next * WORDS] === ADD && words[next * WORDS + 1] === handle
  ) {
    archetype = world.withComponent(archetype, words[next * WORDS + 2]);
    next++;
  }
  buffer.resolved[ordinal] = world.spawnIn(archetype);
  return next - 1;
}

function applyEntityRecord(
  world: World,
  kind: number,
  entity: number,
  b: number,
  c: number,
  pending: Uint32Array,
): void {
  if (kind === DESPAWN) world.despawnNow(entity);
  else if (kind === ADD) world.addNow(entity, b);
  else if (kind === REMOVE) world.removeNow(entity, b);
  else if (kind === SET) {
    const field = world.fieldsByOrdinal[b];
    world.setField(entity, field, field.type === "entity" && c < 0 ? pending[-c - 1] : c);
  }
}

function eventOverflow(queue: EventQueue): Error {
  return new BoundError(
    `${queue.owner.name}.capacity`,
    queue.capacity,
    `event queue ${queue.owner.name} full: ${queue.capacity} events this frame; raise its ` +
      `capacity in defineEvent(..., { capacity }) or emit fewer`,
  );
}

/**
 * Moves the records of every thread's buffer into `into`, segment by
 * segment, in (system, archetype ordinal, first chunk) order: the order the
 * blocking backend records them in, whichever thread ran which chunks.
 * `scratch` holds at least maxCommandsPerFrame records.
 */
export function mergeSegments(
  into: CommandBuffer,
  others: readonly CommandBuffer[],
  scratch: Float64Array,
): void {
  const buffers = [into, ...others];
  const segments: number[][] = [];
  for (let b = 0; b < buffers.length; b++) {
    const { words, count } = buffers[b];
    let start = -1;
    for (let r = 0; r <= count; r++) {
      if (r < count && words[r * WORDS] !== SEGMENT) continue;
      if (start >= 0) {
        const at = start * WORDS;
        segments.push([words[at + 1], words[at + 2], words[at + 3], b, start, r]);
      }
      start = r;
    }
  }
  segments.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  let out = 0;
  for (const [, , , b, start, end] of segments) {
    scratch.set(buffers[b].words.subarray(start * WORDS, end * WORDS), out * WORDS);
    out += end - start;
  }
  into.words.set(scratch.subarray(0, out * WORDS));
  into.count = out;
  for (const other of others) {
    other.count = 0;
    other.publish();
  }
}
