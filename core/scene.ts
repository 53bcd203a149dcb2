/**
 * Scenes: the one shape a scene file has. A scene file's default export is
 * `defineScene({...})`, declaring components, resources, events, systems,
 * config and a setup function.
 *
 * @module
 */

import { ClusterId } from "./cluster_id.ts";
import type { WorldConfig } from "./config.ts";
import { SceneError } from "./errors.ts";
import type { Random } from "./random.ts";
import { Time } from "./resources.ts";
import { DEFAULT_PHASES } from "./schedule.ts";
import {
  type Component,
  type EventType,
  type Field,
  isOwned,
  ownerOf,
  type Resource,
} from "./schema.ts";
import type { System } from "./system.ts";
import type { World } from "./world.ts";

/**
 * What to do when a system throws.
 *
 * @example
 * ```ts
 * import { defineScene, type ErrorPolicy } from "staticecs";
 * const errorPolicy: ErrorPolicy = "aggregate"; // every system runs; all errors are collected
 * const scene = defineScene({ components: [], systems: [], errorPolicy });
 * ```
 */
export type ErrorPolicy = "stop-first" | "aggregate";

/**
 * What setup receives besides the world.
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene, type SetupContext, type World } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * function setup(world: World, { random }: SetupContext): void {
 *   for (let i = 0; i < 10; i++) world.spawn([Position, { x: random.range(0, 100) }]);
 * }
 * const scene = defineScene({ components: [Position], systems: [], setup });
 * ```
 */
export interface SetupContext {
  /** A random stream derived from the run's seed. */
  readonly random: Random;
  /** The run's seed. */
  readonly seed: number;
}

/**
 * How a clustered scene splits its entities into partitions.
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene } from "staticecs";
 * const Cell = defineComponent("Cell", { id: "u32" });
 * export default defineScene({ components: [Cell], systems: [], cluster: { key: Cell.id } });
 * ```
 */
export interface ClusterSpec {
  /**
   * An integer field (u8, u16, u32, i8, i16, i32) of one of the scene's
   * components whose value is the entity's partition key, such as a spatial
   * cell the scene's systems keep up to date. With P partitions, key k lives
   * in partition `((k % P) + P) % P`; an entity without the key's component
   * lives in partition 0.
   */
  readonly key: Field;
}

/**
 * How a scene is declared.
 *
 * @example
 * ```ts
 * import { defineScene, type SceneSpec } from "staticecs";
 * const spec: SceneSpec = { name: "empty", components: [], systems: [] };
 * const scene = defineScene(spec);
 * ```
 */
export interface SceneSpec {
  /** Shown in summaries; the file name if omitted. */
  readonly name?: string;
  readonly components: readonly Component[];
  readonly resources?: readonly Resource[];
  readonly events?: readonly EventType[];
  readonly systems: readonly System[];
  /** Phase names in run order; the default five if omitted. */
  readonly phases?: readonly string[];
  /** Bounds of the world. */
  readonly config?: Partial<WorldConfig>;
  /** "stop-first" (the default) stops a frame at the first system error; "aggregate" runs on. */
  readonly errorPolicy?: ErrorPolicy;
  /** Spawns the initial entities and sets resources; runs once before the first frame. */
  readonly setup?: (world: World, ctx: SetupContext) => void | Promise<void>;
  /**
   * Makes the scene runnable as a cluster: the partition key of every entity.
   * The scene's components then also get `ClusterId` (appended if absent), so
   * every thread that imports the scene builds the same world layout.
   */
  readonly cluster?: ClusterSpec;
}

const SCENE: unique symbol = Symbol.for("staticecs.scene");

/**
 * A checked scene declaration.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime, type Scene } from "staticecs";
 * const scene: Scene = defineScene({ components: [], systems: [] });
 * const runtime = await Runtime.create(scene);
 * await runtime.close();
 * ```
 */
export type Scene = SceneSpec & { readonly [SCENE]: true; readonly phases: readonly string[] };

/**
 * Declares a scene: the default export of a scene file.
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * export default defineScene({
 *   components: [Position],
 *   systems: [],
 *   setup(world) {
 *     world.spawn([Position, { x: 1 }]);
 *   },
 * });
 * ```
 */
export function defineScene(spec: SceneSpec): Scene {
  if (spec === null || typeof spec !== "object") {
    throw new SceneError(`defineScene takes an object such as { components, systems }`);
  }
  for (const key of ["components", "systems"] as const) {
    if (!Array.isArray(spec[key])) {
      throw new SceneError(`defineScene: ${key} must be an array; got ${typeof spec[key]}`);
    }
  }
  for (const [i, system] of spec.systems.entries()) {
    if (system?.__system !== true) {
      throw new SceneError(`defineScene: systems[${i}] was not made with defineSystem()`);
    }
  }
  const policy = spec.errorPolicy ?? "stop-first";
  if (policy !== "stop-first" && policy !== "aggregate") {
    throw new SceneError(`defineScene: errorPolicy must be "stop-first" or "aggregate"`);
  }
  if (spec.setup !== undefined && typeof spec.setup !== "function") {
    throw new SceneError(`defineScene: setup must be a function (world, ctx) => void`);
  }
  const phases = spec.phases ?? DEFAULT_PHASES;
  if (phases.length === 0 || new Set(phases).size !== phases.length) {
    throw new SceneError(`defineScene: phases must be distinct names, at least one`);
  }
  const components = checkCluster(spec);
  for (const system of spec.systems) checkSystemItems(system, spec, components);
  return Object.freeze({
    ...spec,
    components,
    phases,
    errorPolicy: policy,
    [SCENE]: true as const,
  });
}

/** Where a scene lists each kind of thing a system may use. */
const SCENE_LISTS = {
  component: "components",
  resource: "resources",
  event: "events",
} as const;

/**
 * Checks that every component, resource and event type a system's query,
 * reads and writes name is part of the scene, so that the mistake is named
 * with its system when the scene loads rather than at the first frame.
 */
function checkSystemItems(
  system: System,
  spec: SceneSpec,
  components: readonly Component[],
): void {
  const listed: Record<keyof typeof SCENE_LISTS, ReadonlySet<unknown>> = {
    component: new Set(components),
    resource: new Set([Time, ...(spec.resources ?? [])]),
    event: new Set(spec.events ?? []),
  };
  const lists: [string, readonly unknown[] | undefined][] = [
    ["query.all", system.query?.all],
    ["query.none", system.query?.none],
    ["query.optional", system.query?.optional],
    ["reads", system.reads],
    ["writes", system.writes],
  ];
  for (const [where, items] of lists) {
    for (const item of items ?? []) {
      const kind = (["component", "resource", "event"] as const).find((k) => isOwned(item, k));
      if (kind === undefined || listed[kind].has(item)) continue;
      const name = ownerOf(item as Component).name;
      const what = kind === "component" ? name : `${kind} ${name}`;
      throw new SceneError(
        `system ${system.name}: ${where} lists ${what}, which is not in the scene's ` +
          `${SCENE_LISTS[kind]}; add it to the scene's ${SCENE_LISTS[kind]} list`,
      );
    }
  }
}

/** Field types a cluster key may have: integers, so a key names one partition exactly. */
const KEY_TYPES: readonly string[] = ["u8", "u16", "u32", "i8", "i16", "i32"];

/** Checks `spec.cluster` and returns the scene's components, with ClusterId if clustered. */
function checkCluster(spec: SceneSpec): readonly Component[] {
  const cluster = spec.cluster;
  if (cluster === undefined) return spec.components;
  const key = cluster?.key as Field | undefined;
  if (key === null || typeof key !== "object" || typeof key.owner !== "object") {
    throw new SceneError(
      `defineScene: cluster.key must be a component field such as Cell.id; got ${String(key)}`,
    );
  }
  const where = `cluster.key ${key.owner.name}.${key.name}`;
  if (!spec.components.some((c) => isOwned(c, "component") && ownerOf(c) === key.owner)) {
    throw new SceneError(
      `defineScene: ${where} belongs to no component of this scene; add ${key.owner.name} ` +
        `to components or pick a field of one of them`,
    );
  }
  if (!KEY_TYPES.includes(key.type)) {
    throw new SceneError(
      `defineScene: ${where} has type ${key.type}; a cluster key must be an integer field ` +
        `(${KEY_TYPES.join(", ")})`,
    );
  }
  if (spec.components.includes(ClusterId)) return spec.components;
  return Object.freeze([...spec.components, ClusterId]);
}

/**
 * True if `value` was made by defineScene.
 *
 * @example
 * ```ts
 * import { defineScene, isScene } from "staticecs";
 * isScene(defineScene({ components: [], systems: [] })); // true
 * isScene({ components: [], systems: [] }); // false: not made by defineScene
 * ```
 */
export function isScene(value: unknown): value is Scene {
  return value !== null && typeof value === "object" && (value as Scene)[SCENE] === true;
}
