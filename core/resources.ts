/**
 * Resources: typed singletons, each field one element of a shared typed
 * array, reached through an accessor object made once per world.
 *
 * @module
 */

import {
  type Column,
  type ColumnOf,
  defineResource,
  type Field,
  FIELD_TYPES,
  type FieldType,
  type Owner,
  type ReadonlyColumn,
  type Resource,
  type ResourceSchema,
} from "./schema.ts";
import { UsageError } from "./errors.ts";

/**
 * Property access to a resource's fields: `world.resource(Gravity).y = -9.8`;
 * an array field is its typed array.
 *
 * @example
 * ```ts
 * import { defineResource, type ResourceValues, World } from "staticecs";
 * const Score = defineResource("Score", { points: "u32" });
 * const world = new World({ resources: [Score] });
 * const score: ResourceValues<{ points: "u32" }> = world.resource(Score);
 * score.points += 10;
 * ```
 */
export type ResourceValues<S extends ResourceSchema> = {
  -readonly [K in keyof S]: S[K] extends readonly [infer T extends FieldType, number] ? ColumnOf<T>
    : number;
};

/**
 * A resource's values as a system that only reads it sees them.
 *
 * @example
 * ```ts
 * import type { ReadonlyResourceValues } from "staticecs";
 * function report(score: ReadonlyResourceValues<{ points: "u32" }>): string {
 *   return `${score.points} points`; // score.points = 0 is a type error
 * }
 * ```
 */
export type ReadonlyResourceValues<S extends ResourceSchema> = {
  readonly [K in keyof S]: S[K] extends readonly [infer T extends FieldType, number]
    ? ReadonlyColumn<ColumnOf<T>>
    : number;
};

/**
 * Read-only values of a resource for `system`, which declared it only in
 * reads: assigning a scalar field throws a UsageError naming the system and
 * the fix. An array field is the same typed array as in the writable values.
 */
export function readOnlyValues(store: ResourceStore, system: string): object {
  const name = store.owner.name;
  return Object.freeze(valuesOver(store, (field) => () => {
    throw new UsageError(
      `system ${system} writes resource ${name}.${field.name}, but lists ${name} only in ` +
        `reads; add ${name} to its writes`,
    );
  }));
}

/**
 * An object with a property per field of `store`: a scalar field reads its
 * element and assigns through the setter `setterOf` makes; an array field is
 * its typed array.
 */
function valuesOver(
  store: ResourceStore,
  setterOf: (field: Field, column: Column) => (value: number | boolean) => void,
): Record<string, number | Column> {
  const values: Record<string, number | Column> = {};
  for (const field of store.owner.fields) {
    const column = store.columns[field.index];
    if (field.array) {
      Object.defineProperty(values, field.name, { enumerable: true, value: column });
      continue;
    }
    Object.defineProperty(values, field.name, {
      enumerable: true,
      get: () => column[0],
      set: setterOf(field, column),
    });
  }
  return values;
}

/** The storage of one resource. */
export class ResourceStore {
  readonly owner: Owner;
  readonly buffer: SharedArrayBuffer;
  readonly columns: Column[];
  readonly values: Record<string, number>;

  /** A new store, or (with `buffer`) a view of one another thread made. */
  constructor(owner: Owner, buffer?: SharedArrayBuffer) {
    this.owner = owner;
    const offsets: number[] = [];
    let bytes = 0;
    for (const field of owner.fields) {
      offsets.push(bytes);
      bytes += field.length * 8;
    }
    this.buffer = buffer ?? new SharedArrayBuffer(Math.max(8, bytes));
    this.columns = owner.fields.map((field, i) =>
      new FIELD_TYPES[field.type](this.buffer, offsets[i], field.length)
    );
    const values = valuesOver(this, (_field, column) => (value) => {
      column[0] = value === true ? 1 : value === false ? 0 : value;
    });
    this.values = Object.seal(values) as Record<string, number>;
  }

  /** The bytes of the resource, for snapshots and checksums. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer);
  }
}

/**
 * The resource every world has: the fixed timestep `dt` in seconds, the
 * simulated time `elapsed` (exactly `tick * dt`) and the tick number.
 *
 * @example
 * ```ts
 * import { Time } from "staticecs";
 * const reads = [Time];
 * ```
 */
export const Time: Resource<{ dt: "f64"; elapsed: "f64"; tick: "u32" }> = defineResource("Time", {
  dt: "f64",
  elapsed: "f64",
  tick: "u32",
});
