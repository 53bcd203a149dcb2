/**
 * Scenes: the one shape a scene file has. A scene file's default export is
 * `defineScene({...})`, declaring components, resources, events, systems,
 * config and a setup function.
 *
 * @module
 */

import type { WorldConfig } from "./config.ts";
import { SceneError } from "./errors.ts";
import type { Random } from "./random.ts";
import { DEFAULT_PHASES } from "./schedule.ts";
import type { Component, EventType, Resource } from "./schema.ts";
import type { System } from "./system.ts";
import type { World } from "./world.ts";

/** What to do when a system throws. */
export type ErrorPolicy = "stop-first" | "aggregate";

/** What setup receives besides the world. */
export interface SetupContext {
  /** A random stream derived from the run's seed. */
  readonly random: Random;
  /** The run's seed. */
  readonly seed: number;
}

/** How a scene is declared. */
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
}

const SCENE: unique symbol = Symbol.for("staticecs.scene");

/** A checked scene declaration. */
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
  return Object.freeze({ ...spec, phases, errorPolicy: policy, [SCENE]: true as const });
}

/** True if `value` was made by defineScene. */
export function isScene(value: unknown): value is Scene {
  return value !== null && typeof value === "object" && (value as Scene)[SCENE] === true;
}
