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
  type FieldType,
  type Owner,
  ownerOf,
  type Schema,
  toFieldNumber,
  type Values,
} from "./schema.ts";
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

/** An error met while applying a command, attributed to the system that recorded it. */
export interface CommandError {
  readonly system: string;
  readonly error: unknown;
}

/** Records commands for one world; one buffer per recording thread. */
export class CommandBuffer {
  /** Records of four float64 words: kind, a, b, c. */
  readonly words: Float64Array;
  /** Records in the buffer. */
  count = 0;
  /** Records made this frame, across stages: the bound is per frame. */
  frameRecords = 0;
  readonly maxRecords: number;
  private readonly world: World;
  private pendingSpawns = 0;
  /** The system whose SEGMENT record is still to be written (on its first command), or -1. */
  private segment = -1;
  /** Event queues by the index that EMIT records carry. */
  readonly queues: EventQueue[];
  /** Real handles of the current segment's pending spawns, filled while applying. */
  readonly resolved: Uint32Array;
  private readonly eventIndex: Map<Owner, number> = new Map();
  private readonly emittedThisFrame: Int32Array;

  constructor(world: World) {
    this.world = world;
    this.maxRecords = world.config.maxCommandsPerFrame;
    this.words = new Float64Array(new SharedArrayBuffer(this.maxRecords * WORDS * 8));
    for (const owner of world.eventQueues.keys()) this.eventIndex.set(owner, this.eventIndex.size);
    this.queues = [...world.eventQueues.values()];
    this.resolved = new Uint32Array(this.maxRecords);
    this.emittedThisFrame = new Int32Array(this.eventIndex.size);
  }

  /** Marks the start of a system's commands; pending handles restart. */
  beginSegment(systemIndex: number): void {
    this.pendingSpawns = 0;
    this.segment = systemIndex;
  }

  /** Starts a frame: the per-frame bounds reset. */
  beginFrame(): void {
    this.frameRecords = 0;
    this.emittedThisFrame.fill(0);
  }

  /** Records a spawn of an entity with no components; returns its pending handle. */
  spawn(): number {
    this.push(SPAWN, this.pendingSpawns, 0, 0);
    return -++this.pendingSpawns;
  }

  /** Records a despawn. */
  despawn(entity: number): void {
    this.push(DESPAWN, this.checkEntity(entity, "despawn"), 0, 0);
  }

  /** Records adding a component, with optional values. */
  add<S extends Schema>(entity: number, component: Component<S>, values?: Values<S>): void {
    const index = this.world.indexOf(component);
    this.push(ADD, this.checkEntity(entity, `add ${ownerOf(component).name}`), index, 0);
    if (values !== undefined) this.set(entity, component, values);
  }

  /** Records removing a component. */
  remove(entity: number, component: Component): void {
    const index = this.world.indexOf(component);
    this.push(REMOVE, this.checkEntity(entity, `remove ${ownerOf(component).name}`), index, 0);
  }

  /** Records setting the given fields of a component. */
  set<S extends Schema>(entity: number, component: Component<S>, values: Values<S>): void {
    const owner = ownerOf(component);
    for (const [name, value] of Object.entries(values)) {
      const field = owner.fields.find((f) => f.name === name);
      if (field === undefined) {
        throw new UsageError(
          `${owner.name} has no field "${name}"; its fields are ` +
            (owner.fields.map((f) => f.name).join(", ") || "none (it is a tag)"),
        );
      }
      if (value !== undefined) this.setField(entity, field, value as number | boolean);
    }
  }

  /** Records setting one field. */
  setField<T extends FieldType>(entity: number, field: Field<T>, value: number | boolean): void {
    const what = `set ${field.owner.name}.${field.name}`;
    const checked = this.checkEntity(entity, what);
    const number = toFieldNumber(value);
    // A negative entity value is read as a pending handle when applied: it must be one.
    if (field.type === "entity" && number < 0) this.checkEntity(number, what);
    this.push(SET, checked, field.id, number);
  }

  /** Records an event; readers see it after this stage's commands apply. */
  emit<S extends Schema>(event: EventType<S>, values: Values<S>): void {
    const owner = eventOwnerOf(event);
    const index = this.eventIndex.get(owner);
    if (index === undefined) {
      throw new UsageError(`event ${owner.name} is not part of this world; add it to events`);
    }
    if (this.emittedThisFrame[index] >= owner.capacity) {
      throw eventOverflow(this.world.eventQueue(owner));
    }
    for (const field of owner.fields) {
      const value = values[field.name as keyof S];
      if (field.type === "entity" && typeof value === "number" && value < 0) {
        this.checkEntity(value, `emit ${owner.name}.${field.name}`);
      }
    }
    this.reserve(1 + owner.fields.length);
    this.emittedThisFrame[index]++;
    this.push(EMIT, index, 0, 0);
    for (const field of owner.fields) {
      this.push(EVENT_FIELD, field.index, toFieldNumber(values[field.name as keyof S] ?? 0), 0);
    }
  }

  /** Empties the buffer after its records were applied. */
  clear(): void {
    this.count = 0;
  }

  private checkEntity(entity: number, what: string): number {
    if (entity < 0) {
      if (Number.isInteger(entity) && -entity <= this.pendingSpawns) return entity;
      throw new UsageError(
        `${what}: pending handle ${entity} does not come from this system's ctx.commands.spawn()`,
      );
    }
    if (!this.world.isAlive(entity)) throw new StaleEntityError(entity, what);
    return entity;
  }

  private reserve(records: number): void {
    if (this.frameRecords + records + (this.segment >= 0 ? 1 : 0) > this.maxRecords) {
      throw new BoundError(
        "maxCommandsPerFrame",
        this.maxRecords,
        `command buffer full: ${this.frameRecords} command records this frame of ` +
          `maxCommandsPerFrame ${this.maxRecords}; raise config.maxCommandsPerFrame or spread ` +
          `the changes over several frames`,
      );
    }
  }

  private push(kind: number, a: number, b: number, c: number): void {
    if (this.segment >= 0) {
      const system = this.segment;
      this.segment = -1;
      this.push(SEGMENT, system, 0, 0);
    }
    this.reserve(1);
    const at = this.count * WORDS;
    this.words[at] = kind;
    this.words[at + 1] = a;
    this.words[at + 2] = b;
    this.words[at + 3] = c;
    this.count++;
    this.frameRecords++;
  }
}

/**
 * Applies a buffer's records in order. An error in one record (an entity
 * despawned earlier in the stage, say) is reported with its system's name and
 * does not stop the rest.
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
  for (let r = 0; r < buffer.count; r++) {
    const at = r * WORDS;
    const kind = words[at];
    const a = words[at + 1];
    const b = words[at + 2];
    const c = words[at + 3];
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
      errors.push({ system, error });
    }
  }
  buffer.clear();
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
  // If the spawn fails, later records on its pending handle must fail too, not reach the
  // entity an earlier segment's spawn of the same ordinal resolved to.
  buffer.resolved[ordinal] = 0;
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
    const field = world.fieldsById.get(b)!;
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
