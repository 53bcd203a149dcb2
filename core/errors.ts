/**
 * Errors a user can cause. Each names what was wrong and how to fix it.
 *
 * @module
 */

/**
 * Base class of every StaticECS error; `code` is stable for programs to match on.
 *
 * @example
 * ```ts
 * import { EcsError, World } from "staticecs";
 * try {
 *   new World().despawn(12345);
 * } catch (error) {
 *   if (error instanceof EcsError) console.error(error.code, error.message); // "STALE_ENTITY", ...
 * }
 * ```
 */
export class EcsError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "EcsError";
    this.code = code;
  }
}

/**
 * A component, resource or event declared wrongly.
 *
 * @example
 * ```ts
 * import { defineComponent, SchemaError } from "staticecs";
 * try {
 *   defineComponent("Bad", { x: "f16" as "f32" });
 * } catch (error) {
 *   error instanceof SchemaError; // true: f16 is not a field type
 * }
 * ```
 */
export class SchemaError extends EcsError {
  constructor(message: string) {
    super("SCHEMA", message);
    this.name = "SchemaError";
  }
}

/**
 * A configured bound was hit (entities, archetypes, commands, events, memory).
 *
 * @example
 * ```ts
 * import { BoundError, defineTag, World } from "staticecs";
 * const Tag = defineTag("Tag");
 * const world = new World({ components: [Tag], config: { maxEntities: 1 } });
 * world.spawn(Tag);
 * try {
 *   world.spawn(Tag);
 * } catch (error) {
 *   if (error instanceof BoundError) error.bound; // "maxEntities"
 * }
 * ```
 */
export class BoundError extends EcsError {
  /** The config key that sets the bound. */
  readonly bound: string;
  /** The value of the bound. */
  readonly limit: number;
  constructor(bound: string, limit: number, message: string) {
    super("BOUND", message);
    this.name = "BoundError";
    this.bound = bound;
    this.limit = limit;
  }
}

/**
 * An entity handle that is no longer (or never was) alive was used.
 *
 * @example
 * ```ts
 * import { defineTag, StaleEntityError, World } from "staticecs";
 * const Tag = defineTag("Tag");
 * const world = new World({ components: [Tag] });
 * const e = world.spawn(Tag);
 * world.despawn(e);
 * try {
 *   world.add(e, Tag);
 * } catch (error) {
 *   error instanceof StaleEntityError; // true
 * }
 * ```
 */
export class StaleEntityError extends EcsError {
  /** The handle that was used. */
  readonly entity: number;
  constructor(entity: number, what: string) {
    super(
      "STALE_ENTITY",
      `${what}: entity ${formatEntity(entity)} is not alive (despawned, or a handle from ` +
        `another world); check world.isAlive(entity) before using a stored handle`,
    );
    this.name = "StaleEntityError";
    this.entity = entity;
  }
}

/**
 * A scene, system or schedule declared wrongly.
 *
 * @example
 * ```ts
 * import { defineScene, SceneError } from "staticecs";
 * try {
 *   defineScene({ components: [], systems: [], phases: [] });
 * } catch (error) {
 *   error instanceof SceneError; // true: a scene needs at least one phase
 * }
 * ```
 */
export class SceneError extends EcsError {
  constructor(message: string) {
    super("SCENE", message);
    this.name = "SceneError";
  }
}

/**
 * An operation used where it is not allowed (a structural change inside a system).
 *
 * @example
 * ```ts
 * import { defineScene, defineSystem, defineTag, Runtime, UsageError } from "staticecs";
 * const Tag = defineTag("Tag");
 * const spawnDirectly = defineSystem({ name: "spawnDirectly", run: (ctx) => void ctx.world.spawn(Tag) });
 * const runtime = await Runtime.create(defineScene({ components: [Tag], systems: [spawnDirectly] }));
 * runtime.tick().errors[0].error instanceof UsageError; // true: a system spawns through ctx.commands
 * await runtime.close();
 * ```
 */
export class UsageError extends EcsError {
  constructor(message: string) {
    super("USAGE", message);
    this.name = "UsageError";
  }
}

/** Formats a handle as `index:generation` for messages. */
export function formatEntity(entity: number): string {
  return `#${entity >>> 0}`;
}
