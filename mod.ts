/**
 * StaticECS: an entity-component-system runtime for Bun and Deno.
 *
 * Components are typed-array columns in SharedArrayBuffer memory, systems
 * declare what they read and write, and a schedule derives stages from those
 * declarations. A scene file's default export is `defineScene({...})`; run it
 * with `staticecs run scene.ts`.
 *
 * This entry point is what a scene author and an embedding program use.
 * Backend and tooling authors import `staticecs/backend` (backend.ts); a
 * program that runs a cluster imports `staticecs/cluster` (cluster.ts).
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene, defineSystem } from "staticecs";
 *
 * const Position = defineComponent("Position", { x: "f32", y: "f32" });
 * const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });
 *
 * const move = defineSystem({
 *   name: "move",
 *   query: { all: [Position, Velocity] },
 *   reads: [Velocity],
 *   writes: [Position],
 *   runChunk(chunk, ctx) {
 *     const x = chunk.column(Position.x), vx = chunk.column(Velocity.x);
 *     for (let i = 0; i < chunk.count; i++) x[i] += vx[i] * ctx.dt;
 *   },
 * });
 *
 * export default defineScene({
 *   components: [Position, Velocity],
 *   systems: [move],
 *   setup(world, { random }) {
 *     for (let i = 0; i < 100; i++) {
 *       world.spawn([Position, { x: random.next() }], [Velocity, { x: 1 }]);
 *     }
 *   },
 * });
 * ```
 *
 * @module
 */

export {
  type Column,
  type ColumnOf,
  type Component,
  type ComponentOptions,
  defineComponent,
  defineEvent,
  defineResource,
  defineTag,
  type EventType,
  type Field,
  type FieldType,
  type ReadonlyColumn,
  type Resource,
  type ResourceSchema,
  type Schema,
  type Storage,
  type Values,
} from "./core/schema.ts";
export { type ReadonlyResourceValues, type ResourceValues, Time } from "./core/resources.ts";
export { DEFAULT_CONFIG, type WorldConfig } from "./core/config.ts";
export {
  BoundError,
  EcsError,
  SceneError,
  SchemaError,
  StaleEntityError,
  UsageError,
} from "./core/errors.ts";
export { NULL_ENTITY } from "./core/entities.ts";
export { Chunk, type SystemChunk } from "./core/archetype.ts";
export { Query, type QuerySpec } from "./core/query.ts";
export { type ComponentInit, World, type WorldSpec } from "./core/world.ts";
export { CommandBuffer, SpawnBatch } from "./core/commands.ts";
export { EventView } from "./core/events.ts";
export { SystemContext } from "./core/context.ts";
export { type Access, defineSystem, type System, type SystemSpec } from "./core/system.ts";
export { DEFAULT_PHASES } from "./core/schedule.ts";
export {
  type ClusterSpec,
  defineScene,
  type ErrorPolicy,
  isScene,
  type Scene,
  type SceneSpec,
  type SetupContext,
} from "./core/scene.ts";
export { Random } from "./core/random.ts";
export { worldChecksum } from "./core/checksum.ts";
export { restoreWorld, snapshotWorld } from "./core/snapshot.ts";
export {
  DEFAULT_SEED,
  type FrameResult,
  HZ_MAX,
  Runtime,
  type RuntimeOptions,
  SEED_MAX,
  type SystemFailure,
  type SystemStats,
  type TraceHooks,
} from "./core/runtime.ts";
export type { Backend, BackendStats } from "./core/scheduler/backend.ts";
export { BlockingBackend } from "./core/scheduler/blocking.ts";
export {
  WORKERS_MAX,
  WorkStealingBackend,
  type WorkStealingOptions,
} from "./core/scheduler/work_stealing.ts";
export { AdaptiveBackend, type AdaptiveOptions } from "./core/scheduler/adaptive.ts";
export { IoUringBackend, type IoUringBackendOptions } from "./core/scheduler/io_uring.ts";
export { IO_ERRNO, IoCompletion, O_FLAGS, SystemIo } from "./core/io.ts";
export { ClusterId } from "./core/cluster_id.ts";
