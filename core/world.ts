/**
 * The world: entities, archetype tables in shared memory, queries,
 * resources and event queues, built from a fixed set of component, resource
 * and event declarations.
 *
 * Outside a stage (in setup, in tools, between frames) the world is changed
 * directly. Inside a stage, systems change structure only through commands,
 * which the runtime applies at the stage's end.
 *
 * @module
 */

import {
  accessGate,
  addNow,
  archetypeFor,
  archetypeList,
  arena,
  checkUnlocked,
  clearEntities,
  componentOfOrdinal,
  despawnNow,
  entityTable,
  eventQueue,
  eventQueues,
  fieldOrdinals,
  fieldsById,
  fieldsByOrdinal,
  freeIndex,
  indexOfComponent,
  memory,
  readerCursor,
  readerCursors,
  removeNow,
  resourceStore,
  resourceStores,
  root,
  sceneComponents,
  setReaderCursor,
  sparseByIndex,
  sparseStores,
  spawnIn,
  stageDepth,
  withComponent,
  withoutComponent,
} from "./_world_internal.ts";
import { kernelsOf } from "./_column_kernels.ts";
import { Archetype } from "./archetype.ts";
import { initComponent, registerOwners, sparseStoresOf } from "./_world_build.ts";
import { resolveConfig, type WorldConfig } from "./config.ts";
import { type EntityMemory, EntityTable } from "./entities.ts";
import { BoundError, formatEntity, SceneError, UsageError } from "./errors.ts";
import { type EventMemory, EventQueue } from "./events.ts";
import { AccessGate } from "./access.ts";
import { SparseFilter, SparseStore } from "./sparse.ts";
import { Arena } from "./memory.ts";
import { Query, type QuerySpec } from "./query.ts";
import { ResourceStore, type ResourceValues, Time } from "./resources.ts";
import {
  type Component,
  eventOwnerOf,
  type EventType,
  type Field,
  fieldNamed,
  type FieldType,
  isOwned,
  isSparse,
  type Owner,
  ownerOf,
  type Resource,
  type ResourceSchema,
  type Schema,
  toFieldNumber,
  type Values,
} from "./schema.ts";

/**
 * What a world is built from.
 *
 * @example
 * ```ts
 * import { defineComponent, World, type WorldSpec } from "staticecs";
 * const Hp = defineComponent("Hp", { value: "u16" });
 * const spec: WorldSpec = { components: [Hp], config: { maxEntities: 10_000 } };
 * const world = new World(spec);
 * ```
 */
export interface WorldSpec {
  readonly components?: readonly Component[];
  readonly resources?: readonly Resource[];
  readonly events?: readonly EventType[];
  readonly config?: Partial<WorldConfig>;
  /**
   * Shared memory of a world made on another thread: this world becomes a
   * view of it (entities, resources and events; chunks are attached one by
   * one). Used by worker threads.
   */
  readonly memory?: WorldMemory;
}

/** The shared memory of a world besides its chunks. */
export interface WorldMemory {
  readonly entities: EntityMemory;
  /** In the world's resource order (Time first). */
  readonly resources: readonly SharedArrayBuffer[];
  /** In the world's event order. */
  readonly events: readonly EventMemory[];
  /** Each sparse component's buffers, in scene order of the sparse components. */
  readonly sparse: readonly (readonly SharedArrayBuffer[])[];
}

/**
 * A component to spawn with: the component alone or as `[component]` (its
 * fields zeroed; the way to spawn a tag), or `[component, values]`.
 *
 * @example
 * ```ts
 * import { type ComponentInit, defineComponent, defineTag, World } from "staticecs";
 * const Hp = defineComponent("Hp", { value: "u16" });
 * const Player = defineTag("Player");
 * const inits: ComponentInit[] = [Player, [Hp, { value: 100 }]];
 * new World({ components: [Hp, Player] }).spawn(...inits);
 * ```
 */
export type ComponentInit =
  | Component
  | readonly [Component]
  | readonly [Component, Values<Schema>];

/**
 * Entities, their components, resources and events.
 *
 * @example
 * ```ts
 * import { defineComponent, World } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32", y: "f32" });
 * const world = new World({ components: [Position] });
 * const e = world.spawn([Position, { x: 1, y: 2 }]);
 * world.set(e, Position, { x: 3 });
 * world.get(e, Position.x); // 3
 * world.despawn(e);
 * world.isAlive(e); // false
 * ```
 */
export class World {
  readonly config: WorldConfig;
  readonly [arena]: Arena;
  readonly [entityTable]: EntityTable;
  /** Components in scene order; a component's position is its scene index. */
  readonly [sceneComponents]: readonly Owner[];
  readonly [archetypeList]: Archetype[] = [];
  /** The archetype of entities with no components. */
  readonly [root]: Archetype;
  readonly [resourceStores]: Map<Owner, ResourceStore> = new Map();
  readonly [eventQueues]: Map<Owner, EventQueue> = new Map();
  /** Fields by process-wide id, for the fields of this world. */
  readonly [fieldsById]: Map<number, Field> = new Map();
  /**
   * Fields of the world's components in scene order: a field's position here
   * is its ordinal, the same on every thread (process-wide ids are not: each
   * thread numbers fields as it imports modules). Commands name fields by it.
   */
  readonly [fieldsByOrdinal]: readonly Field[];
  /** Scene index of the component of each field, by field ordinal. */
  readonly [componentOfOrdinal]: Int32Array;
  /** Ordinal of each component field by process-wide id, -1 for others. */
  readonly [fieldOrdinals]: Int32Array;
  /** Event reader cursors by "system/event": the next sequence number each reader has not seen. */
  readonly [readerCursors]: Map<string, number> = new Map();
  /** Nonzero while a stage runs: structural changes must go through commands. */
  [stageDepth] = 0;
  /** What the system running on this thread may touch; see access.ts. */
  readonly [accessGate]: AccessGate = new AccessGate();
  /** The store of each sparse component by scene index; undefined for table components. */
  readonly [sparseByIndex]: readonly (SparseStore | undefined)[];
  /** The sparse components' stores, in scene order. */
  readonly [sparseStores]: readonly SparseStore[];
  private readonly componentIndex: Map<Owner, number> = new Map();
  /** Scene index of each component by its owner id, -1 for others. */
  private readonly componentIndexById: Int32Array;
  private readonly archetypeByKey: Map<string, Archetype> = new Map();
  /** Queries by the components they match: at most one per distinct filter. */
  private readonly queries: Map<string, Query> = new Map();
  /** The same queries by spec object, weakly, so repeated lookups of a spec skip the key. */
  private readonly queriesBySpec: WeakMap<QuerySpec, Query> = new WeakMap();
  private readonly maskWords: number;
  private readonly fieldIdLimit: number;

  constructor(spec: WorldSpec = {}) {
    this.config = resolveConfig(spec.config);
    this[sceneComponents] = registerOwners("component", spec.components ?? [], this.componentIndex);
    this.componentIndexById = new Int32Array(
      1 + Math.max(0, ...this[sceneComponents].map((c) => c.id)),
    )
      .fill(-1);
    this[sceneComponents].forEach((owner, index) => this.componentIndexById[owner.id] = index);
    for (const owner of this[sceneComponents]) {
      for (const f of owner.fields) this[fieldsById].set(f.id, f);
    }
    this.maskWords = Math.max(1, Math.ceil(this[sceneComponents].length / 32));
    this.fieldIdLimit = 1 + Math.max(0, ...this[fieldsById].keys());
    this[arena] = new Arena(this.config.segmentBytes, this.config.maxMemoryBytes);
    const memory = spec.memory;
    this[sparseStores] = sparseStoresOf(this[sceneComponents], this.config, memory?.sparse);
    this[sparseByIndex] = this[sceneComponents].map((_, i) =>
      this[sparseStores].find((store) => store.index === i)
    );
    this[entityTable] = new EntityTable(this.config.maxEntities, memory?.entities);
    this[root] = this.createArchetype([]);
    const resources = [Time, ...(spec.resources ?? []).filter((r) => r !== Time)];
    for (const [i, owner] of registerOwners("resource", resources, new Map()).entries()) {
      this[resourceStores].set(owner, new ResourceStore(owner, memory?.resources[i]));
      for (const f of owner.fields) this[fieldsById].set(f.id, f);
    }
    for (const [i, event] of (spec.events ?? []).entries()) {
      const owner = eventOwnerOf(event);
      if (!isOwned(event, "event")) {
        throw new SceneError(`events: ${String(event)} is not an event`);
      }
      this[eventQueues].set(owner, new EventQueue(owner, owner.capacity, memory?.events[i]));
      for (const f of owner.fields) this[fieldsById].set(f.id, f);
    }
    this[fieldsByOrdinal] = this[sceneComponents].flatMap((owner) => owner.fields);
    this[componentOfOrdinal] = Int32Array.from(
      this[fieldsByOrdinal],
      (field) => this[sceneComponents].indexOf(field.owner),
    );
    this[fieldOrdinals] = new Int32Array(1 + Math.max(0, ...this[fieldsById].keys())).fill(-1);
    this[fieldsByOrdinal].forEach((field, ordinal) => this[fieldOrdinals][field.id] = ordinal);
  }

  /** The shared memory behind entities, resources and events, for views on other threads. */
  [memory](): WorldMemory {
    return {
      entities: this[entityTable].memory,
      resources: [...this[resourceStores].values()].map((store) => store.buffer),
      events: [...this[eventQueues].values()].map((queue) => queue.memory),
      sparse: this[sparseStores].map((store) => store.buffers),
    };
  }

  /** Live entities. */
  get entityCount(): number {
    return this[entityTable].alive;
  }

  /** The scene index of a component, or a SceneError naming the fix. */
  [indexOfComponent](component: Component | Owner): number {
    // A component's metadata sits under a symbol; an Owner has none (and probing a component
    // for a missing name would reach its unknown-field guard).
    const owner = ownerOf(component as Component) ?? component as Owner;
    // By the owner's id first (a typed-array read: commands look components up per entity).
    const byId = this.componentIndexById[owner?.id];
    if (byId >= 0 && this[sceneComponents][byId] === owner) return byId;
    const index = this.componentIndex.get(owner);
    if (index === undefined) {
      throw new SceneError(
        `component ${owner?.name ?? String(component)} is not part of this world; ` +
          `add it to the scene's components list`,
      );
    }
    return index;
  }

  /** True if `entity` is a live handle of this world. */
  isAlive(entity: number): boolean {
    return this[entityTable].isAlive(entity);
  }

  /**
   * Spawns an entity with the given components and returns its handle.
   *
   * @example
   * ```ts
   * import { defineComponent, World } from "staticecs";
   * const P = defineComponent("P", { x: "f32" });
   * const world = new World({ components: [P] });
   * const e = world.spawn([P, { x: 1 }]);
   * ```
   */
  spawn(...components: ComponentInit[]): number {
    this[checkUnlocked]("spawn");
    let archetype = this[root];
    for (let i = 0; i < components.length; i++) {
      const index = this[indexOfComponent](initComponent(components[i], i));
      if (this[sparseByIndex][index] === undefined) {
        archetype = this[withComponent](archetype, index);
      }
    }
    const entity = this[spawnIn](archetype);
    const slot = this[entityTable].indexOf(entity);
    for (const init of components) {
      this[sparseByIndex][this[indexOfComponent](Array.isArray(init) ? init[0] : init)]?.add(slot);
    }
    for (const init of components) {
      if (Array.isArray(init) && init[1] !== undefined) this.writeValues(entity, init[0], init[1]);
    }
    return entity;
  }

  /** Spawns an entity in `archetype` with zeroed fields; no lock check. */
  [spawnIn](archetype: Archetype): number {
    // The row first: if its chunk does not fit in maxMemoryBytes, no handle has been taken.
    const row = archetype.pushRow(0);
    let entity: number;
    try {
      entity = this[entityTable].allocate();
    } catch (error) {
      archetype.swapRemove(row);
      throw error;
    }
    const index = this[entityTable].indexOf(entity);
    archetype.chunkOf(row).entities[row & (archetype.chunkRows - 1)] = entity;
    this[entityTable].archetype[index] = archetype.id;
    this[entityTable].row[index] = row;
    return entity;
  }

  /** Despawns a live entity; its handle becomes stale. */
  despawn(entity: number): void {
    this[checkUnlocked]("despawn");
    this[despawnNow](entity);
  }

  /** Despawns without the lock check (command application). */
  [despawnNow](entity: number): void {
    const index = this[entityTable].require(entity, "despawn");
    const archetype = this[archetypeList][this[entityTable].archetype[index]];
    this.removeRow(archetype, this[entityTable].row[index]);
    this[freeIndex](index);
  }

  /** Frees a removed entity's index, out of every sparse store first. */
  [freeIndex](index: number): void {
    const stores = this[sparseStores];
    for (let s = 0; s < stores.length; s++) stores[s].remove(index);
    this[entityTable].free(index);
  }

  /** Adds a component (zeroed, then `values`); on an entity that has it, only sets `values`. */
  add<S extends Schema>(entity: number, component: Component<S>, values?: Values<S>): void {
    this[checkUnlocked]("add");
    this[addNow](entity, this[indexOfComponent](component));
    if (values !== undefined) this.writeValues(entity, component, values);
  }

  /** Adds a component by scene index without the lock check. */
  [addNow](entity: number, componentIndex: number): void {
    const index = this[entityTable].require(
      entity,
      "add ",
      this[sceneComponents][componentIndex].name,
    );
    const sparse = this[sparseByIndex][componentIndex];
    if (sparse !== undefined) return sparse.add(index);
    const from = this[archetypeList][this[entityTable].archetype[index]];
    if (from.hasIndex(componentIndex)) return;
    this.move(index, from, this[withComponent](from, componentIndex));
  }

  /** Removes a component; no effect if the entity lacks it. */
  remove(entity: number, component: Component): void {
    this[checkUnlocked]("remove");
    this[removeNow](entity, this[indexOfComponent](component));
  }

  /** Removes a component by scene index without the lock check. */
  [removeNow](entity: number, componentIndex: number): void {
    const index = this[entityTable].require(
      entity,
      "remove ",
      this[sceneComponents][componentIndex].name,
    );
    const sparse = this[sparseByIndex][componentIndex];
    if (sparse !== undefined) return sparse.remove(index);
    const from = this[archetypeList][this[entityTable].archetype[index]];
    if (!from.hasIndex(componentIndex)) return;
    this.move(index, from, this[withoutComponent](from, componentIndex));
  }

  /** True if the live entity has the component. */
  has(entity: number, component: Component): boolean {
    const index = this[entityTable].require(entity, "has ", ownerOf(component).name);
    const componentIndex = this[indexOfComponent](component);
    const sparse = this[sparseByIndex][componentIndex];
    if (sparse !== undefined) return sparse.has(index);
    return this[archetypeList][this[entityTable].archetype[index]].hasIndex(componentIndex);
  }

  /** Sets the given fields of a component the entity has. Allowed inside systems. */
  set<S extends Schema>(entity: number, component: Component<S>, values: Values<S>): void {
    this[entityTable].require(entity, "set ", ownerOf(component).name);
    this.writeValues(entity, component, values);
  }

  /** Reads one field of one entity. */
  get<T extends FieldType>(entity: number, field: Field<T>): number {
    this[accessGate].checkRead(field, "world.get");
    const index = this[entityTable].require(entity, "get ", field);
    const kernels = kernelsOf(field.type);
    if (isSparse(field.owner)) return kernels.get(this.sparseColumn(index, field), index);
    const row = this[entityTable].row[index] & (this.config.chunkRows - 1);
    return kernels.get(this.columnAt(index, field), row);
  }

  /** Writes one field of one entity. Allowed inside systems (declare the write). */
  setField<T extends FieldType>(entity: number, field: Field<T>, value: number | boolean): void {
    this[accessGate].checkWrite(field, "world.setField");
    const index = this[entityTable].require(entity, "set ", field);
    const kernels = kernelsOf(field.type);
    if (isSparse(field.owner)) {
      kernels.put(this.sparseColumn(index, field), index, toFieldNumber(value));
      return;
    }
    const row = this[entityTable].row[index] & (this.config.chunkRows - 1);
    kernels.put(this.columnAt(index, field), row, toFieldNumber(value));
  }

  /** All fields of one component of one entity, as a new object (for tools, not hot loops). */
  getComponent<S extends Schema>(
    entity: number,
    component: Component<S>,
  ): { [K in keyof S]: number } {
    const owner = ownerOf(component);
    const index = this[entityTable].require(entity, "getComponent ", owner.name);
    const archetype = this[archetypeList][this[entityTable].archetype[index]];
    if (!this.has(entity, component)) {
      throw new UsageError(
        `getComponent: entity ${formatEntity(entity)} has no ${owner.name} (its components ` +
          `are ${archetype}); check world.has(entity, ${owner.name}) first`,
      );
    }
    const out: Record<string, number> = {};
    for (const field of owner.fields) out[field.name] = this.get(entity, field);
    return out as { [K in keyof S]: number };
  }

  /** The values of a resource, as properties to read and assign. */
  resource<S extends ResourceSchema>(resource: Resource<S>): ResourceValues<S> {
    return this[resourceStore](ownerOf(resource)).values as ResourceValues<S>;
  }

  /** The store of a resource, or a SceneError naming the fix. */
  [resourceStore](owner: Owner): ResourceStore {
    const store = this[resourceStores].get(owner);
    if (store === undefined) {
      throw new SceneError(
        `resource ${owner?.name} is not part of this world; add it to the scene's resources list`,
      );
    }
    return store;
  }

  /** The queue of an event type, or a SceneError naming the fix. */
  [eventQueue](owner: Owner): EventQueue {
    const queue = this[eventQueues].get(owner);
    if (queue === undefined) {
      throw new SceneError(
        `event ${owner?.name} is not part of this world; add it to the scene's events list`,
      );
    }
    return queue;
  }

  /** The next event sequence number `system` has not read of `event`. */
  [readerCursor](system: string, event: Owner): number {
    return this[readerCursors].get(`${system}/${event.name}`) ?? 0;
  }

  /** Records that `system` has read `event` up to `seq`. */
  [setReaderCursor](system: string, event: Owner, seq: number): void {
    this[readerCursors].set(`${system}/${event.name}`, seq);
  }

  /** The query for `spec`, matched against every archetype and kept up to date. */
  query(spec: QuerySpec): Query {
    let query = this.queriesBySpec.get(spec);
    if (query !== undefined) return query;
    const all = (spec.all ?? []).map((c) => this[indexOfComponent](c)).sort((a, b) => a - b);
    const none = (spec.none ?? []).map((c) => this[indexOfComponent](c)).sort((a, b) => a - b);
    for (const c of spec.optional ?? []) this[indexOfComponent](c);
    // Keyed by what it matches, so specs written inline each call share one query.
    const key = `${all}|${none}`;
    query = this.queries.get(key);
    if (query === undefined) {
      // Archetypes are matched on table components; sparse ones filter rows.
      const table = (list: number[]) => list.filter((i) => this[sparseByIndex][i] === undefined);
      const stores = (list: number[]) => list.flatMap((i) => this[sparseByIndex][i] ?? []);
      const filter = stores(all).length + stores(none).length === 0
        ? undefined
        : new SparseFilter(stores(all), stores(none), this[entityTable].indexMask);
      query = new Query(spec, table(all), table(none), this.maskWords, filter);
      for (const archetype of this[archetypeList]) {
        if (query.matches(archetype)) query.archetypes.push(archetype);
      }
      this.queries.set(key, query);
    }
    this.queriesBySpec.set(spec, query);
    return query;
  }

  /** The archetype with the components of `from` plus one. */
  [withComponent](from: Archetype, componentIndex: number): Archetype {
    const cached = from.addEdges[componentIndex];
    if (cached !== undefined) return cached;
    if (from.hasIndex(componentIndex)) return from;
    const to = this[archetypeFor]([...from.componentIndices, componentIndex]);
    from.addEdges[componentIndex] = to;
    to.removeEdges[componentIndex] = from;
    return to;
  }

  /** The archetype with the components of `from` less one. */
  [withoutComponent](from: Archetype, componentIndex: number): Archetype {
    const cached = from.removeEdges[componentIndex];
    if (cached !== undefined) return cached;
    if (!from.hasIndex(componentIndex)) return from;
    const to = this[archetypeFor](from.componentIndices.filter((i) => i !== componentIndex));
    from.removeEdges[componentIndex] = to;
    to.addEdges[componentIndex] = from;
    return to;
  }

  /** The archetype of exactly these scene component indices, created if new. */
  [archetypeFor](indices: readonly number[]): Archetype {
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    return this.archetypeByKey.get(sorted.join(",")) ?? this.createArchetype(sorted);
  }

  /** Throws a UsageError if a stage is running. */
  [checkUnlocked](what: string): void {
    if (this[stageDepth] > 0) {
      throw new UsageError(
        `world.${what} called while a stage runs; inside a system, change structure through ` +
          `ctx.commands (applied at the end of the stage)`,
      );
    }
  }

  /** Forgets every entity and archetype (before a restore). Queries and resources stay. */
  [clearEntities](): void {
    this[entityTable].clear();
    for (const store of this[sparseStores]) store.clear();
    this[arena].reset();
    this[archetypeList].length = 0;
    this.archetypeByKey.clear();
    for (const query of this.queries.values()) query.archetypes.length = 0;
    (this as { [root]: Archetype })[root] = this.createArchetype([]);
  }

  private createArchetype(sorted: readonly number[]): Archetype {
    if (this[archetypeList].length >= this.config.maxArchetypes) {
      const names = sorted.map((i) => this[sceneComponents][i].name).join(", ");
      throw new BoundError(
        "maxArchetypes",
        this.config.maxArchetypes,
        `archetype limit reached: ${this[archetypeList].length} of maxArchetypes ` +
          `${this.config.maxArchetypes} exist, and [${names}] would be new; raise ` +
          `config.maxArchetypes or use fewer distinct component combinations`,
      );
    }
    const archetype = new Archetype(
      this[archetypeList].length,
      sorted.map((i) => this[sceneComponents][i]),
      sorted,
      this.maskWords,
      this.config.chunkRows,
      this[arena],
      this.fieldIdLimit,
      this[accessGate],
    );
    this[archetypeList].push(archetype);
    this.archetypeByKey.set(sorted.join(","), archetype);
    for (const query of this.queries.values()) {
      if (query.matches(archetype)) query.archetypes.push(archetype);
    }
    return archetype;
  }

  private move(index: number, from: Archetype, to: Archetype): void {
    const entities = this[entityTable];
    const fromRow = entities.row[index];
    const src = from.chunkOf(fromRow);
    const srcLocal = fromRow & (from.chunkRows - 1);
    const toRow = to.pushRow(src.entities[srcLocal], false);
    const dst = to.chunkOf(toRow);
    const dstLocal = toRow & (to.chunkRows - 1);
    const ids = to.fieldIds, kernels = to.kernels;
    for (let f = 0; f < ids.length; f++) {
      const source = src.byField[ids[f]];
      if (source === undefined) kernels[f].zero(dst.byField[ids[f]]!, dstLocal, 1);
      else kernels[f].copy(dst.byField[ids[f]]!, dstLocal, source, srcLocal, 1);
    }
    this.removeRow(from, fromRow);
    entities.archetype[index] = to.id;
    entities.row[index] = toRow;
  }

  private removeRow(archetype: Archetype, row: number): void {
    const moved = archetype.swapRemove(row);
    if (moved !== 0) this[entityTable].row[this[entityTable].indexOf(moved)] = row;
  }

  /** The per-entity column of a sparse field, or a UsageError if the entity lacks it. */
  private sparseColumn(index: number, field: Field) {
    const store = this[sparseByIndex][this[indexOfComponent](field.owner)]!;
    if (!store.has(index)) {
      throw new UsageError(
        `entity #${this[entityTable].handle(index, this[entityTable].generation[index])} has no ` +
          `${field.owner.name}; add the component first`,
      );
    }
    return store.columns[field.index];
  }

  private columnAt(index: number, field: Field) {
    const archetype = this[archetypeList][this[entityTable].archetype[index]];
    const column = archetype.chunkOf(this[entityTable].row[index]).byField[field.id];
    if (column === undefined) {
      throw new UsageError(
        `entity #${this[entityTable].handle(index, this[entityTable].generation[index])} has no ` +
          `${field.owner.name} (its components are ${archetype}); add the component first`,
      );
    }
    return column;
  }

  private writeValues(entity: number, component: Component, values: Values<Schema>): void {
    const owner = ownerOf(component);
    for (const name in values) { // allocates nothing (see CommandBuffer.set)
      if (!Object.hasOwn(values, name)) continue;
      const field = fieldNamed(owner, name), value = values[name];
      if (value !== undefined) this.setField(entity, field, value);
    }
  }
}
