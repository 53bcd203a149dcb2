/**
 * The context a system body receives: time, commands, the seeded random
 * stream of the current chunk, resources and events. One context is made
 * per system per thread when the runtime starts; running a system allocates
 * nothing.
 *
 * @module
 */

import { ACCESS_READ, accessError, type AccessGate, accessTable } from "./access.ts";
import { AccessGuard } from "./_access_guard.ts";
import type { Chunk } from "./archetype.ts";
import type { CommandBuffer } from "./commands.ts";
import { UsageError } from "./errors.ts";
import { EventView } from "./events.ts";
import { type IoRecorder, SystemIo } from "./io.ts";
import { Random } from "./random.ts";
import {
  type ReadonlyResourceValues,
  readOnlyValues,
  type ResourceValues,
  Time,
} from "./resources.ts";
import {
  type Column,
  type Declared,
  eventOwnerOf,
  type EventType,
  type Field,
  type FieldType,
  type NameOf,
  type Owner,
  ownerOf,
  type Resource,
  type Schema,
  type SchemaOf,
  type Values,
} from "./schema.ts";
import type { ScheduledSystem } from "./schedule.ts";
import type { SparseFilter } from "./sparse.ts";
import type { AccessSet } from "./system.ts";
import type { World } from "./world.ts";
import {
  accessGate,
  eventQueue,
  fieldOrdinals,
  readerCursor,
  resourceStore,
  setReaderCursor,
} from "./_world_internal.ts";

/** How a context is made besides its system. */
export interface ContextOptions {
  /** Where the system records I/O (systems that declare `io: true`). */
  readonly io?: IoRecorder;
  /** Hash what the system may not write around each chunk and `run` (see access.ts). */
  readonly checkAccess?: boolean;
  /** The sparse terms of the system's query, for `chunk.matches`. */
  readonly filter?: SparseFilter;
}

/**
 * What a system body sees. `R` names the components, resources and event
 * types the system may read and `W` those it may write, from its declaration
 * (`string` where it declares nothing): a resource it only reads comes back
 * read-only, and an undeclared one is a type error.
 *
 * @example
 * ```ts
 * import { defineResource, defineSystem } from "staticecs";
 * const Score = defineResource("Score", { points: "u32" });
 * export const score = defineSystem({
 *   name: "score",
 *   writes: [Score],
 *   run(ctx) {
 *     ctx.resource(Score).points += ctx.random.int(10);
 *   },
 * });
 * ```
 */
export class SystemContext<R extends string = string, W extends string = string> {
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
  /** The system's chunk body, wrapped in the access guard under `checkAccess`. */
  readonly chunkBody: ((chunk: Chunk, ctx: SystemContext) => void) | undefined;
  /** The system's `run` body, wrapped in the access guard under `checkAccess`. */
  readonly runBody: ((ctx: SystemContext) => void) | undefined;
  private readonly access: AccessSet;
  /** What the system may touch, by field id; null if it declares nothing. */
  private readonly table: Uint8Array | null;
  private readonly gate: AccessGate;
  private readonly filter: SparseFilter | null;
  private readonly readOnlyResources: Map<Owner, object> = new Map();
  private readonly time: ResourceValues<{ dt: "f64"; elapsed: "f64"; tick: "u32" }>;
  /** Time.tick's column: read once per run, without the accessor `time.tick` goes through. */
  private readonly tickColumn: Column;
  /** True once `random` holds this run's (tick, system) words. */
  private runKeyed = false;
  private readonly views: Map<Owner, EventView> = new Map();
  private readonly viewEnds: Map<Owner, number> = new Map();
  private readonly seed: number;

  constructor(
    world: World,
    entry: ScheduledSystem,
    commands: CommandBuffer,
    seed: number,
    options: ContextOptions = {},
  ) {
    this.world = world;
    this.system = entry.system.name;
    this.systemIndex = entry.index;
    this.access = entry.access;
    this.table = accessTable(entry.access, world[fieldOrdinals].length);
    this.gate = world[accessGate];
    this.filter = options.filter ?? null;
    this.commands = commands;
    this.seed = seed;
    this.random = new Random(seed);
    this.time = world.resource(Time);
    this.tickColumn = world[resourceStore](ownerOf(Time)).columns[Time.tick.index];
    this.io = new SystemIo(options.io, entry.index, this.system);
    const guard = options.checkAccess === true && this.table !== null
      ? new AccessGuard(world, this.system, this.table, entry.access)
      : undefined;
    const { runChunk, run } = entry.system;
    this.chunkBody = runChunk === undefined ? undefined : guard?.wrapChunk(runChunk) ?? runChunk;
    this.runBody = run === undefined ? undefined : guard?.wrapRun(run) ?? run;
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

  /** Points the thread's access gate at this system, before it runs over chunks. */
  beginChunks(): void {
    this.gate.table = this.table;
    this.gate.system = this.system;
    this.gate.filter = this.filter;
    this.runKeyed = false;
  }

  /** Points `random` at the stream of (tick, system, archetype, chunk); after beginChunks. */
  beginChunk(archetypeId: number, chunkIndex: number): void {
    // The (tick, system) words are written at a run's first chunk only, so that a system whose
    // query matches nothing pays nothing for its random stream.
    if (this.runKeyed) {
      this.random.rekeyTail(archetypeId, chunkIndex);
    } else {
      this.random.reseed(this.seed, this.tickColumn[0], this.systemIndex, archetypeId, chunkIndex);
      this.runKeyed = true;
    }
  }

  /** Points `random` at the stream of (tick, system) for a `run` body, and the gate here. */
  beginRun(): void {
    this.gate.table = this.table;
    this.gate.system = this.system;
    this.gate.filter = null;
    this.random.reseed(this.seed, this.tickColumn[0], this.systemIndex, 0xffffffff, 0);
  }

  /**
   * A resource's values; the system must declare it in reads or writes.
   * Declared only in reads, the values are read-only: assigning a field
   * throws (an array field is a typed array: writing it is a type error, and
   * `checkAccess` catches it at run time).
   */
  resource<Res extends Resource>(
    resource: Res & Declared<NameOf<Res>, R, " is not in this system's reads or writes">,
  ): [NameOf<Res>] extends [W] ? ResourceValues<SchemaOf<Res>>
    : ReadonlyResourceValues<SchemaOf<Res>> {
    const owner = ownerOf(resource);
    this.checkDeclared(owner, "resource");
    if (this.access.undeclared || this.access.writes.has(owner)) {
      return this.world.resource(resource) as ResourceValues<SchemaOf<Res>>;
    }
    let values = this.readOnlyResources.get(owner);
    if (values === undefined) {
      values = readOnlyValues(this.world[resourceStore](owner), this.system);
      this.readOnlyResources.set(owner, values);
    }
    return values as ResourceValues<SchemaOf<Res>>;
  }

  /** Reads one field of one entity; the system must declare the field's component. */
  get<T extends FieldType, N extends string>(
    entity: number,
    field: Field<T, N> & Declared<N, R, " is not in this system's query, reads or writes">,
  ): number {
    const table = this.table;
    if (table !== null && !(table[field?.id] >= ACCESS_READ)) {
      throw accessError(this.system, field, "ctx.get", false, false);
    }
    return this.world.get(entity, field);
  }

  /**
   * Events of a type this system has not seen yet: from last frame and from
   * earlier stages of this frame. The system must declare it in reads.
   */
  read<E extends EventType>(
    event: E & Declared<NameOf<E>, R, " is not in this system's reads">,
  ): EventView {
    const owner = eventOwnerOf(event);
    this.checkDeclared(owner, "event");
    let view = this.views.get(owner);
    if (view === undefined) {
      view = new EventView(this.world[eventQueue](owner));
      this.views.set(owner, view);
    }
    if (!this.viewEnds.has(owner)) {
      const queue = this.world[eventQueue](owner);
      view.reset(this.world[readerCursor](this.system, owner));
      this.viewEnds.set(owner, queue.endSeq);
    }
    return view;
  }

  /** Emits an event (a command: readers see it after this stage). Declare it in writes. */
  emit<E extends EventType>(
    event: E & Declared<NameOf<E>, W, " is not in this system's writes">,
    values: Values<SchemaOf<E, Schema>>,
  ): void {
    this.checkDeclared(eventOwnerOf(event), "event", true);
    this.commands.emit(event, values);
  }

  /** Ends the system's tick: events it read count as seen; the gate closes. */
  finish(): void {
    this.gate.table = null;
    if (this.viewEnds.size === 0) return;
    for (const [owner, end] of this.viewEnds) this.world[setReaderCursor](this.system, owner, end);
    this.viewEnds.clear();
  }

  private checkDeclared(owner: Owner, kind: string, write = false): void {
    if (this.access.undeclared || this.access.writes.has(owner)) return;
    if (!write && this.access.reads.has(owner)) return;
    if (write && this.access.reads.has(owner)) {
      throw new UsageError(
        `system ${this.system} emits ${kind} ${owner.name}, but lists ${owner.name} only in ` +
          `reads; add ${owner.name} to its writes`,
      );
    }
    throw new UsageError(
      `system ${this.system} uses ${kind} ${owner.name} without declaring it; add it to the ` +
        `system's ${write ? "writes" : "reads (or writes)"}`,
    );
  }
}
