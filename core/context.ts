/**
 * The context a system body receives: time, commands, the seeded random
 * stream of the current chunk, resources and events. One context is made
 * per system per thread when the runtime starts; running a system allocates
 * nothing.
 *
 * @module
 */

import type { CommandBuffer } from "./commands.ts";
import { UsageError } from "./errors.ts";
import { EventView } from "./events.ts";
import { type IoRecorder, SystemIo } from "./io.ts";
import { Random } from "./random.ts";
import type { ResourceValues } from "./resources.ts";
import { Time } from "./resources.ts";
import {
  eventOwnerOf,
  type EventType,
  type Field,
  type FieldType,
  type Owner,
  ownerOf,
  type Resource,
  type ResourceSchema,
  type Schema,
  type Values,
} from "./schema.ts";
import type { AccessSet } from "./system.ts";
import type { World } from "./world.ts";

/** What a system body sees. */
export class SystemContext {
  /** The system's name. */
  readonly system: string;
  /** The system's position in the scene, part of its random stream key. */
  readonly systemIndex: number;
  /** Records structural changes, applied at the end of the stage. */
  readonly commands: CommandBuffer;
  /** The random stream of the current chunk (or of the tick, in `run`). */
  readonly random: Random;
  readonly world: World;
  /** Records I/O intents (systems that declare `io: true`). */
  readonly io: SystemIo;
  private readonly access: AccessSet;
  private readonly time: ResourceValues<{ dt: "f64"; elapsed: "f64"; tick: "u32" }>;
  private readonly views: Map<Owner, EventView> = new Map();
  private readonly viewEnds: Map<Owner, number> = new Map();
  private readonly seed: number;

  constructor(
    world: World,
    system: string,
    systemIndex: number,
    access: AccessSet,
    commands: CommandBuffer,
    seed: number,
    io?: IoRecorder,
  ) {
    this.world = world;
    this.system = system;
    this.systemIndex = systemIndex;
    this.access = access;
    this.commands = commands;
    this.seed = seed;
    this.random = new Random(seed);
    this.time = world.resource(Time);
    this.io = new SystemIo(io, systemIndex, system);
  }

  /** The fixed timestep in seconds. */
  get dt(): number {
    return this.time.dt;
  }

  /** The current tick, from 0. */
  get tick(): number {
    return this.time.tick;
  }

  /** Simulated seconds at the start of this tick: exactly tick * dt. */
  get elapsed(): number {
    return this.time.elapsed;
  }

  /** Points `random` at the stream of (tick, system, archetype, chunk). */
  beginChunk(archetypeId: number, chunkIndex: number): void {
    this.random.reseed(this.seed, this.time.tick, this.systemIndex, archetypeId, chunkIndex);
  }

  /** Points `random` at the stream of (tick, system) for a `run` body. */
  beginRun(): void {
    this.random.reseed(this.seed, this.time.tick, this.systemIndex, 0xffffffff, 0);
  }

  /** A resource's values; the system must declare it in reads or writes. */
  resource<S extends ResourceSchema>(resource: Resource<S>): ResourceValues<S> {
    this.checkDeclared(ownerOf(resource), "resource");
    return this.world.resource(resource);
  }

  /** Reads one field of one entity. */
  get<T extends FieldType>(entity: number, field: Field<T>): number {
    return this.world.get(entity, field);
  }

  /**
   * Events of a type this system has not seen yet: from last frame and from
   * earlier stages of this frame. The system must declare it in reads.
   */
  read<S extends Schema>(event: EventType<S>): EventView {
    const owner = eventOwnerOf(event);
    this.checkDeclared(owner, "event");
    let view = this.views.get(owner);
    if (view === undefined) {
      view = new EventView(this.world.eventQueue(owner));
      this.views.set(owner, view);
    }
    if (!this.viewEnds.has(owner)) {
      const queue = this.world.eventQueue(owner);
      view.reset(this.world.readerCursor(this.system, owner));
      this.viewEnds.set(owner, queue.endSeq);
    }
    return view;
  }

  /** Emits an event (a command: readers see it after this stage). Declare it in writes. */
  emit<S extends Schema>(event: EventType<S>, values: Values<S>): void {
    this.checkDeclared(eventOwnerOf(event), "event", true);
    this.commands.emit(event, values);
  }

  /** Ends the system's tick: events it read count as seen. */
  finish(): void {
    if (this.viewEnds.size === 0) return;
    for (const [owner, end] of this.viewEnds) this.world.setReaderCursor(this.system, owner, end);
    this.viewEnds.clear();
  }

  private checkDeclared(owner: Owner, kind: string, write = false): void {
    if (this.access.undeclared || this.access.writes.has(owner)) return;
    if (!write && this.access.reads.has(owner)) return;
    throw new UsageError(
      `system ${this.system} uses ${kind} ${owner.name} without declaring it; add it to the ` +
        `system's ${write ? "writes" : "reads (or writes)"}`,
    );
  }
}
