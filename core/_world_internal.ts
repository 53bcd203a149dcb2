/**
 * The members of World that only StaticECS itself calls: structural changes
 * without the stage lock (command application, snapshots, the cluster's
 * partition map), archetype lookup and transitions, the stores behind
 * resources and events, event reader cursors, the shared memory a worker
 * attaches to, and the stage lock itself. They are keyed by these symbols,
 * which no entry point exports, so World's public members are exactly what a
 * scene author may call. A symbol key costs a call nothing: V8 caches it
 * like a name.
 *
 * @example
 * ```ts
 * import { World } from "./world.ts";
 * import { archetypeFor, spawnIn } from "./_world_internal.ts";
 * const world = new World();
 * const entity = world[spawnIn](world[archetypeFor]([]));
 * world.isAlive(entity); // true
 * ```
 *
 * @module
 */

/** `(archetype) => entity`: spawns with zeroed fields; no lock check. */
export const spawnIn: unique symbol = Symbol("World.spawnIn");
/** `(entity) => void`: despawns without the lock check. */
export const despawnNow: unique symbol = Symbol("World.despawnNow");
/** `(index) => void`: frees a removed entity's index, out of every sparse store first. */
export const freeIndex: unique symbol = Symbol("World.freeIndex");
/** `(entity, componentIndex) => void`: adds a component by scene index; no lock check. */
export const addNow: unique symbol = Symbol("World.addNow");
/** `(entity, componentIndex) => void`: removes a component by scene index; no lock check. */
export const removeNow: unique symbol = Symbol("World.removeNow");
/** `(owner) => ResourceStore`. */
export const resourceStore: unique symbol = Symbol("World.resourceStore");
/** `(owner) => EventQueue`. */
export const eventQueue: unique symbol = Symbol("World.eventQueue");
/** `(system, event) => seq`: the next sequence number a reader has not seen. */
export const readerCursor: unique symbol = Symbol("World.readerCursor");
/** `(system, event, seq) => void`. */
export const setReaderCursor: unique symbol = Symbol("World.setReaderCursor");
/** `(from, componentIndex) => Archetype`: the cached add transition. */
export const withComponent: unique symbol = Symbol("World.withComponent");
/** `(from, componentIndex) => Archetype`: the cached remove transition. */
export const withoutComponent: unique symbol = Symbol("World.withoutComponent");
/** `(indices) => Archetype`: the archetype of a set of scene indices, created on demand. */
export const archetypeFor: unique symbol = Symbol("World.archetypeFor");
/** `(what) => void`: throws if a stage runs (structural changes must go through commands). */
export const checkUnlocked: unique symbol = Symbol("World.checkUnlocked");
/** `() => void`: removes every entity (a snapshot restores into a cleared world). */
export const clearEntities: unique symbol = Symbol("World.clearEntities");
/** `() => WorldMemory`: the shared memory a worker's World attaches to. */
export const memory: unique symbol = Symbol("World.memory");
/** The stage lock: nonzero while a stage runs. */
export const stageDepth: unique symbol = Symbol("World.stageDepth");
/** The segmented shared memory chunks are carved from. */
export const arena: unique symbol = Symbol("World.arena");
/** The archetype with no components, where spawns start. */
export const root: unique symbol = Symbol("World.root");
/** The store of each resource, by owner. */
export const resourceStores: unique symbol = Symbol("World.resourceStores");
/** The queue of each event type, by owner. */
export const eventQueues: unique symbol = Symbol("World.eventQueues");
/** Every component field by process-wide id. */
export const fieldsById: unique symbol = Symbol("World.fieldsById");
/** Every component field by ordinal (scene order). */
export const fieldsByOrdinal: unique symbol = Symbol("World.fieldsByOrdinal");
/** Scene index of the component of each field, by field ordinal. */
export const componentOfOrdinal: unique symbol = Symbol("World.componentOfOrdinal");
/** Ordinal of each component field by process-wide id, -1 for others. */
export const fieldOrdinals: unique symbol = Symbol("World.fieldOrdinals");
/** Event reader cursors by "system/event". */
export const readerCursors: unique symbol = Symbol("World.readerCursors");
/** What the system running on this thread may touch (access.ts). */
export const accessGate: unique symbol = Symbol("World.accessGate");
/** The store of each sparse component by scene index; undefined for table components. */
export const sparseByIndex: unique symbol = Symbol("World.sparseByIndex");
/** Every sparse component's store. */
export const sparseStores: unique symbol = Symbol("World.sparseStores");
/** The entity table: handles, generations, each entity's archetype and row. */
export const entityTable: unique symbol = Symbol("World.entityTable");
/** Every archetype, by id. */
export const archetypeList: unique symbol = Symbol("World.archetypeList");
/** The scene's components, by scene index. */
export const sceneComponents: unique symbol = Symbol("World.sceneComponents");
/** `(component) => index`: a component's scene index; throws for one not in the scene. */
export const indexOfComponent: unique symbol = Symbol("World.indexOfComponent");
