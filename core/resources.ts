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
  FIELD_TYPES,
  type FieldType,
  type Owner,
  type Resource,
  type ResourceSchema,
} from "./schema.ts";

/**
 * Property access to a resource's fields: `world.resource(Gravity).y = -9.8`;
 * an array field is its typed array.
 */
export type ResourceValues<S extends ResourceSchema> = {
  -readonly [K in keyof S]: S[K] extends readonly [infer T extends FieldType, number] ? ColumnOf<T>
    : number;
};

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
    const values: Record<string, number | Column> = {};
    for (const field of owner.fields) {
      const column = this.columns[field.index];
      if (field.array) {
        Object.defineProperty(values, field.name, { enumerable: true, value: column });
        continue;
      }
      Object.defineProperty(values, field.name, {
        enumerable: true,
        get: () => column[0],
        set: (value: number | boolean) => {
          column[0] = value === true ? 1 : value === false ? 0 : value;
        },
      });
    }
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
