/**
 * Errors a user can cause. Each names what was wrong and how to fix it.
 *
 * @module
 */

/** Base class of every StaticECS error; `code` is stable for programs to match on. */
export class EcsError extends Error {
  /** A stable machine-readable code. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "EcsError";
    this.code = code;
  }
}

/** A component, resource or event declared wrongly. */
export class SchemaError extends EcsError {
  constructor(message: string) {
    super("SCHEMA", message);
    this.name = "SchemaError";
  }
}

/** A configured bound was hit (entities, archetypes, commands, events, memory). */
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

/** An entity handle that is no longer (or never was) alive was used. */
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

/** A scene, system or schedule declared wrongly. */
export class SceneError extends EcsError {
  constructor(message: string) {
    super("SCENE", message);
    this.name = "SceneError";
  }
}

/** An operation used where it is not allowed (a structural change inside a system). */
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
