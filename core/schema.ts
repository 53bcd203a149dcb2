/**
 * Schema: the typed fields that components, resources and events are made of.
 *
 * A component is declared once, at module scope, with a fixed set of typed
 * fields (or none, for a tag). Every field becomes one typed-array column in
 * the world's SharedArrayBuffer memory, so a system body is a plain indexed
 * loop over `Float32Array`s and friends.
 *
 * @module
 */

import { SchemaError, UsageError } from "./errors.ts";

/**
 * The field types a component, resource or event may declare.
 *
 * @example
 * ```ts
 * import { defineComponent, type FieldType } from "staticecs";
 * const type: FieldType = "f32";
 * const Heat = defineComponent("Heat", { value: type });
 * ```
 */
export type FieldType =
  | "f32"
  | "f64"
  | "i8"
  | "i16"
  | "i32"
  | "u8"
  | "u16"
  | "u32"
  | "bool"
  | "entity";

/**
 * The typed array that stores a column of each field type.
 *
 * @example
 * ```ts
 * import type { ColumnOf } from "staticecs";
 * const xs: ColumnOf<"f32"> = new Float32Array(4); // a Float32Array; "u8" gives a Uint8Array
 * ```
 */
export type ColumnOf<T extends FieldType> = T extends "f32" ? Float32Array
  : T extends "f64" ? Float64Array
  : T extends "i8" ? Int8Array
  : T extends "i16" ? Int16Array
  : T extends "i32" ? Int32Array
  : T extends "u8" | "bool" ? Uint8Array
  : T extends "u16" ? Uint16Array
  : Uint32Array;

/**
 * Any column.
 *
 * @example
 * ```ts
 * import type { Column } from "staticecs";
 * function sum(column: Column, count: number): number {
 *   let total = 0;
 *   for (let i = 0; i < count; i++) total += column[i];
 *   return total;
 * }
 * ```
 */
export type Column =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** The typed-array methods that write. */
type ColumnWriter = "copyWithin" | "fill" | "reverse" | "set" | "sort";

/**
 * A column a system may only read: indexing gives numbers; assigning to an
 * element, or calling a method that writes, is a type error.
 *
 * @example
 * ```ts
 * import type { ReadonlyColumn } from "staticecs";
 * function mean(values: ReadonlyColumn<Float32Array>, count: number): number {
 *   let total = 0;
 *   for (let i = 0; i < count; i++) total += values[i];
 *   return count === 0 ? 0 : total / count;
 * }
 * ```
 */
export type ReadonlyColumn<C extends Column = Column> = Readonly<Omit<C, ColumnWriter>>;

/** A typed-array constructor for a column. */
export type ColumnConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): Column;
  readonly BYTES_PER_ELEMENT: number;
};

/** Byte size and array type of each field type. */
export const FIELD_TYPES: Readonly<Record<FieldType, ColumnConstructor>> = {
  f32: Float32Array,
  f64: Float64Array,
  i8: Int8Array,
  i16: Int16Array,
  i32: Int32Array,
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  bool: Uint8Array,
  entity: Uint32Array,
};

/**
 * A schema: field name to field type.
 *
 * @example
 * ```ts
 * import { defineComponent, type Schema } from "staticecs";
 * const motion = { x: "f32", vx: "f32" } as const satisfies Schema;
 * const Motion = defineComponent("Motion", motion);
 * ```
 */
export type Schema = Readonly<Record<string, FieldType>>;

/**
 * A resource schema: scalar fields, or fixed-length array fields as `["f32", 4096]`.
 *
 * @example
 * ```ts
 * import { defineResource, type ResourceSchema } from "staticecs";
 * const grid = { cells: ["u32", 64], width: "u16" } as const satisfies ResourceSchema;
 * const Grid = defineResource("Grid", grid);
 * ```
 */
export type ResourceSchema = Readonly<Record<string, FieldType | readonly [FieldType, number]>>;

/** The most elements an array field of a resource may have. */
export const RESOURCE_ARRAY_MAX = 1 << 24;

/**
 * Field values of a schema, as plain numbers (bool fields take booleans or 0/1).
 *
 * @example
 * ```ts
 * import { defineComponent, type Values } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32", y: "f32" });
 * const start: Values<{ x: "f32"; y: "f32" }> = { x: 1 }; // fields left out stay zero
 * ```
 */
export type Values<S extends Schema> = {
  [K in keyof S]?: S[K] extends "bool" ? boolean | number : number;
};

/** What a field belongs to. */
export type FieldOwnerKind = "component" | "resource" | "event";

/**
 * One typed field of a component, resource or event. `id` is unique in this
 * process and is the key a chunk looks its column up by.
 *
 * @example
 * ```ts
 * import { defineComponent, type Field, World } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const field: Field<"f32"> = Position.x;
 * const world = new World({ components: [Position] });
 * world.get(world.spawn([Position, { x: 2 }]), field); // 2
 * ```
 */
export interface Field<T extends FieldType = FieldType, N extends string = string> {
  readonly id: number;
  readonly name: string;
  readonly type: T;
  /** Position of this field in its owner's schema. */
  readonly index: number;
  /** Elements: 1 for a scalar, more for an array field of a resource. */
  readonly length: number;
  /** True for an array field of a resource, even of length 1. */
  readonly array: boolean;
  /** The component, resource or event the field belongs to; `N` is its name. */
  readonly owner: Owner<N>;
}

/**
 * Metadata shared by components, resources and events. `N` is the name as a
 * string literal type, so that types can tell `Position.x` from `Velocity.x`
 * and check a system's column access against its declaration.
 */
export interface Owner<N extends string = string> {
  readonly kind: FieldOwnerKind;
  /** Unique per process for its kind; scenes map owners to their own indices. */
  readonly id: number;
  readonly name: N;
  readonly fields: readonly Field[];
  /** Sum of the byte sizes of the fields. */
  readonly rowBytes: number;
  /** Where a component's values live (components only). */
  readonly storage?: Storage;
}

const META: unique symbol = Symbol.for("staticecs.meta");

/**
 * A component: field descriptors by name, plus its metadata under a symbol.
 *
 * @example
 * ```ts
 * import { type Component, defineComponent } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const components: Component[] = [Position];
 * ```
 */
export type Component<S extends Schema = Schema, N extends string = string> =
  & { readonly [K in keyof S]: Field<S[K], N> }
  & { readonly [META]: Owner<N> };

/** Carries a resource's schema in its type only (no value has it), for inference. */
declare const SCHEMA: unique symbol;

/**
 * A resource: a typed singleton.
 *
 * @example
 * ```ts
 * import { defineResource, type Resource } from "staticecs";
 * const Score: Resource = defineResource("Score", { points: "u32" });
 * ```
 */
export type Resource<S extends ResourceSchema = ResourceSchema, N extends string = string> =
  & {
    readonly [K in keyof S]: Field<
      S[K] extends readonly [infer T extends FieldType, number] ? T : S[K] & FieldType,
      N
    >;
  }
  & { readonly [META]: Owner<N>; readonly [SCHEMA]?: S };

/** The schema a resource or event type was declared with. */
export type SchemaOf<R, Base extends ResourceSchema = ResourceSchema> = R extends
  { readonly [SCHEMA]?: infer S extends Base } ? S : Base;

/**
 * An event type: a bounded queue of typed records.
 *
 * @example
 * ```ts
 * import { defineEvent, type EventType } from "staticecs";
 * const Hit: EventType = defineEvent("Hit", { damage: "f32" });
 * ```
 */
export type EventType<S extends Schema = Schema, N extends string = string> =
  & { readonly [K in keyof S]: Field<S[K], N> }
  & { readonly [META]: Owner<N> & { readonly capacity: number }; readonly [SCHEMA]?: S };

/**
 * Nothing if `N` is one of `Names`; otherwise a type with one property whose
 * name is the message, so that using an undeclared component in a system
 * fails to type-check with "Property 'Health is not in this system's
 * writes' is missing".
 */
export type Declared<N extends string, Names, Hint extends string> = N extends Names ? unknown
  : { readonly [K in `${N}${Hint}`]: true };

/**
 * The name of a component, resource or event type as a string literal type
 * (`string` where the name was not a literal); `never` for anything else.
 */
export type NameOf<A> = A extends { readonly [META]: { readonly name: infer N extends string } } ? N
  : never;

/**
 * Id counters, kept on globalThis under a registered symbol: when two copies
 * of this module load in one thread (a compiled binary's API and a scene's
 * own checkout, say), their field ids must not collide, since chunks look
 * columns up by field id.
 */
const COUNTERS = ((globalThis as Record<symbol, unknown>)[Symbol.for("staticecs.ids")] ??= {
  field: 0,
  component: 0,
  resource: 0,
  event: 0,
}) as Record<FieldOwnerKind | "field", number>;
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new SchemaError(
      `${kind} name must be an identifier such as "Position"; got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Names that generic code probes on any object (a thenable check, JSON,
 * test and UI libraries): reading them on a component gives undefined
 * rather than the unknown-field error.
 */
const PROBED_NAMES: ReadonlySet<string> = new Set([
  "then",
  "toJSON",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "tagName",
  "inspect",
]);

/**
 * The prototype of every component, resource and event type. Fields are own
 * properties, found without reaching it, so a field read costs what a plain
 * property read costs; a name that is not a field falls through to this
 * proxy, which turns a misspelled `Position.z` into an error naming the
 * component and its real fields instead of an `undefined` that fails later.
 */
const UNKNOWN_FIELD_GUARD: object = new Proxy(Object.prototype, {
  get(target, key, receiver) {
    if (typeof key === "symbol" || key in target || PROBED_NAMES.has(key)) {
      return Reflect.get(target, key, receiver);
    }
    const owner = (receiver as { [META]?: Owner })[META];
    if (owner === undefined) return undefined; // still being built
    throw new SchemaError(
      `${owner.kind} ${owner.name} has no field "${key}"; its fields are ` +
        (owner.fields.map((f) => f.name).join(", ") || "none (it is a tag)"),
    );
  },
});

function buildOwner(
  kind: FieldOwnerKind,
  name: string,
  schema: ResourceSchema,
  extra: object,
): object {
  checkName(kind, name);
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new SchemaError(`${kind} ${name}: fields must be an object such as { x: "f32" }`);
  }
  const fields: Field[] = [];
  const owner = { kind, id: COUNTERS[kind]++, name, fields, rowBytes: 0, ...extra };
  const out: Record<string | symbol, unknown> = Object.create(UNKNOWN_FIELD_GUARD);
  for (const [fieldName, declared] of Object.entries(schema)) {
    checkName(`${kind} ${name}: field`, fieldName);
    const [type, length] = fieldShape(kind, name, fieldName, declared);
    if (!Object.hasOwn(FIELD_TYPES, type)) {
      throw new SchemaError(
        `${kind} ${name}: field ${fieldName} has unknown type ${JSON.stringify(type)}; ` +
          `use one of ${Object.keys(FIELD_TYPES).join(", ")}`,
      );
    }
    const field: Field = Object.freeze({
      id: COUNTERS.field++,
      name: fieldName,
      type,
      index: fields.length,
      length,
      array: Array.isArray(declared),
      owner,
    });
    fields.push(field);
    owner.rowBytes += FIELD_TYPES[type].BYTES_PER_ELEMENT;
    out[fieldName] = field;
  }
  Object.freeze(fields);
  out[META] = Object.freeze(owner);
  return Object.freeze(out);
}

function fieldShape(
  kind: FieldOwnerKind,
  name: string,
  fieldName: string,
  declared: FieldType | readonly [FieldType, number],
): [FieldType, number] {
  if (!Array.isArray(declared)) return [declared as FieldType, 1];
  const [type, length] = declared;
  if (kind !== "resource") {
    throw new SchemaError(
      `${kind} ${name}: field ${fieldName} is an array; only resources have array fields ` +
        `(a component stores one value per entity per field)`,
    );
  }
  if (!Number.isInteger(length) || length < 1 || length > RESOURCE_ARRAY_MAX) {
    throw new SchemaError(
      `resource ${name}: field ${fieldName} length must be an integer from 1 to ` +
        `${RESOURCE_ARRAY_MAX}; got ${String(length)}`,
    );
  }
  return [type, length];
}

/**
 * Where a component's values live. `"table"` (the default): in its
 * entities' archetype tables, as chunk columns; adding or removing it moves
 * the entity to another table. `"sparse"`: beside the tables, one bit (and
 * one slot per field) per entity, so adding or removing it moves nothing;
 * queries test it per row (`chunk.matches(i)`) and its fields are read per
 * entity (`ctx.get`). For components that come and go often.
 *
 * @example
 * ```ts
 * import { defineTag, type Storage } from "staticecs";
 * const storage: Storage = "sparse"; // added and removed without moving the entity's row
 * const Hovered = defineTag("Hovered", { storage });
 * ```
 */
export type Storage = "table" | "sparse";

/**
 * How a component is declared besides its fields.
 *
 * @example
 * ```ts
 * import { type ComponentOptions, defineComponent } from "staticecs";
 * const options: ComponentOptions = { storage: "sparse" };
 * const Stunned = defineComponent("Stunned", { untilTick: "u32" }, options);
 * ```
 */
export interface ComponentOptions {
  /** Where its values live; `"table"` if omitted. */
  readonly storage?: Storage;
}

function storageOf(name: string, options: ComponentOptions | undefined): { storage: Storage } {
  const storage = options?.storage ?? "table";
  if (storage !== "table" && storage !== "sparse") {
    throw new SchemaError(
      `component ${name}: storage must be "table" or "sparse"; got ${JSON.stringify(storage)}`,
    );
  }
  return { storage };
}

/**
 * Declares a component with typed fields.
 *
 * @example
 * ```ts
 * import { defineComponent } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32", y: "f32" });
 * const Stunned = defineComponent("Stunned", { untilS: "f32" }, { storage: "sparse" });
 * ```
 */
export function defineComponent<const N extends string, const S extends Schema>(
  name: N,
  fields: S,
  options?: ComponentOptions,
): Component<S, N> {
  return buildOwner("component", name, fields, storageOf(name, options)) as Component<S, N>;
}

/**
 * Declares a tag: a component with no fields, used only to filter queries.
 *
 * @example
 * ```ts
 * import { defineTag } from "staticecs";
 * const Frozen = defineTag("Frozen");
 * const Hovered = defineTag("Hovered", { storage: "sparse" });
 * ```
 */
export function defineTag<const N extends string>(
  name: N,
  options?: ComponentOptions,
): Component<Record<never, never>, N> {
  return buildOwner("component", name, {}, storageOf(name, options)) as Component<
    Record<never, never>,
    N
  >;
}

/** True if `owner` is a component stored sparse. */
export function isSparse(owner: Owner): boolean {
  return owner.storage === "sparse";
}

/**
 * Declares a resource: a typed singleton that systems read or write.
 *
 * @example
 * ```ts
 * import { defineResource } from "staticecs";
 * const Gravity = defineResource("Gravity", { y: "f32" });
 * const Grid = defineResource("Grid", { count: ["u32", 64 * 64] });
 * ```
 */
export function defineResource<const N extends string, const S extends ResourceSchema>(
  name: N,
  fields: S,
): Resource<S, N> {
  return buildOwner("resource", name, fields, {}) as Resource<S, N>;
}

/**
 * Declares an event type: a bounded queue of typed records. `capacity` bounds
 * how many events of this type one frame may emit.
 *
 * @example
 * ```ts
 * import { defineEvent } from "staticecs";
 * const Hit = defineEvent("Hit", { target: "entity", damage: "f32" }, { capacity: 256 });
 * ```
 */
export function defineEvent<const N extends string, const S extends Schema>(
  name: N,
  fields: S,
  options: { capacity?: number } = {},
): EventType<S, N> {
  const capacity = options.capacity ?? 1024;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
    throw new SchemaError(
      `event ${name}: capacity must be an integer from 1 to ${1 << 24}; got ${capacity}`,
    );
  }
  return buildOwner("event", name, fields, { capacity }) as EventType<S, N>;
}

/** The metadata of a component, resource or event. */
export function ownerOf(thing: Component | Resource | EventType): Owner {
  return thing[META];
}

/** The metadata of an event type, with its capacity. */
export function eventOwnerOf(thing: EventType): Owner & { readonly capacity: number } {
  return thing[META];
}

/** True if `value` was made by defineComponent, defineTag, defineResource or defineEvent. */
export function isOwned(value: unknown, kind: FieldOwnerKind): boolean {
  if (value === null || typeof value !== "object") return false;
  const meta = (value as { [META]?: Owner })[META];
  return meta !== undefined && meta.kind === kind;
}

/** Converts a value to what a field of `type` stores (bools to 0/1). */
export function toFieldNumber(value: number | boolean): number {
  return value === true ? 1 : value === false ? 0 : value;
}

/** The field of `owner` named `name`, or a UsageError listing the fields it has. */
export function fieldNamed(owner: Owner, name: string): Field {
  const fields = owner.fields;
  for (let f = 0; f < fields.length; f++) if (fields[f].name === name) return fields[f];
  throw new UsageError(
    `${owner.name} has no field "${name}"; its fields are ` +
      (fields.map((f) => f.name).join(", ") || "none (it is a tag)"),
  );
}
