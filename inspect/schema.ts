/**
 * A small schema language for the inspector's stream and API: each message
 * is declared once as a schema value, its TypeScript type is inferred from
 * that value (`Infer<typeof SAMPLE>`), so the code that builds a message
 * and the check that tests run on what the page receives cannot drift
 * apart. `validate` returns every mismatch with its path.
 *
 * @module
 */

/** A schema: a primitive name, or one of the shapes below. */
export type Schema =
  | "number"
  | "string"
  | "boolean"
  | "null"
  | "unknown"
  | { readonly literal: string }
  | { readonly nullable: Schema }
  | { readonly array: Schema }
  | { readonly tuple: readonly Schema[] }
  | { readonly record: Schema }
  | { readonly object: { readonly [key: string]: Schema }; readonly optional?: readonly string[] }
  | { readonly oneOf: readonly Schema[] };

/** The TypeScript type a schema describes. */
export type Infer<S> = S extends "number" ? number
  : S extends "string" ? string
  : S extends "boolean" ? boolean
  : S extends "null" ? null
  : S extends "unknown" ? unknown
  : S extends { readonly literal: infer L } ? L
  : S extends { readonly nullable: infer T } ? Infer<T> | null
  : S extends { readonly array: infer T } ? readonly Infer<T>[]
  : S extends { readonly tuple: infer T } ? { [K in keyof T]: Infer<T[K]> }
  : S extends { readonly record: infer T } ? Record<string, Infer<T>>
  : S extends { readonly object: infer O; readonly optional: readonly (infer K)[] }
    ? Simplify<{ [P in Exclude<keyof O, K>]: Infer<O[P]> } & { [P in K & keyof O]?: Infer<O[P]> }>
  : S extends { readonly object: infer O } ? { [P in keyof O]: Infer<O[P]> }
  : S extends { readonly oneOf: readonly (infer T)[] } ? Infer<T>
  : never;

type Simplify<T> = { [K in keyof T]: T[K] };

/**
 * Every place `value` does not match `schema`, as "path: what was expected,
 * what was there"; empty when it matches. Objects may not carry keys the
 * schema does not name (a renamed field shows up at once).
 *
 * @example
 * ```ts
 * import { validate } from "./schema.ts";
 * validate({ object: { tick: "number" } }, { tick: "7" }); // ["$.tick: expected number, got string"]
 * ```
 */
export function validate(schema: Schema, value: unknown, path = "$"): string[] {
  if (typeof schema === "string") return validatePrimitive(schema, value, path);
  if ("literal" in schema) {
    return value === schema.literal
      ? []
      : [`${path}: expected "${schema.literal}", got ${show(value)}`];
  }
  if ("nullable" in schema) return value === null ? [] : validate(schema.nullable, value, path);
  if ("oneOf" in schema) {
    const tries = schema.oneOf.map((option) => validate(option, value, path));
    return tries.some((errors) => errors.length === 0)
      ? []
      : [`${path}: matches none of ${schema.oneOf.length} shapes (${
        tries.map((e) => e[0]).join(" | ")
      })`];
  }
  if ("array" in schema || "tuple" in schema) return validateList(schema, value, path);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [`${path}: expected an object, got ${show(value)}`];
  }
  const entries = value as Record<string, unknown>;
  if ("record" in schema) {
    return Object.entries(entries).flatMap(([k, v]) => validate(schema.record, v, `${path}.${k}`));
  }
  const errors: string[] = [];
  for (const [key, field] of Object.entries(schema.object)) {
    if (!(key in entries)) {
      if (!schema.optional?.includes(key)) errors.push(`${path}.${key}: missing`);
      continue;
    }
    errors.push(...validate(field, entries[key], `${path}.${key}`));
  }
  for (const key of Object.keys(entries)) {
    if (!(key in schema.object)) errors.push(`${path}.${key}: not in the schema`);
  }
  return errors;
}

function validatePrimitive(schema: string, value: unknown, path: string): string[] {
  if (schema === "unknown") return [];
  if (schema === "null") {
    return value === null ? [] : [`${path}: expected null, got ${show(value)}`];
  }
  // JSON has no NaN or Infinity: a number that is not finite arrives as null.
  if (schema === "number" && typeof value === "number" && !Number.isFinite(value)) {
    return [`${path}: expected a finite number, got ${value}`];
  }
  const type: string = typeof value;
  return type === schema ? [] : [`${path}: expected ${schema}, got ${show(value)}`];
}

function validateList(
  schema: { readonly array: Schema } | { readonly tuple: readonly Schema[] },
  value: unknown,
  path: string,
): string[] {
  if (!Array.isArray(value)) return [`${path}: expected an array, got ${show(value)}`];
  if ("array" in schema) {
    return value.flatMap((item, i) => validate(schema.array, item, `${path}[${i}]`));
  }
  if (value.length !== schema.tuple.length) {
    return [`${path}: expected ${schema.tuple.length} items, got ${value.length}`];
  }
  return value.flatMap((item, i) => validate(schema.tuple[i], item, `${path}[${i}]`));
}

function show(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
