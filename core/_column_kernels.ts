/**
 * The loops that copy column values in bulk (row moves, spawned values),
 * one copy of each per typed-array class.
 *
 * Why copies: V8 and JavaScriptCore keep type feedback per function, so one
 * loop that stores into Float32Array, Int32Array and Uint8Array columns in
 * turn goes megamorphic, and every element then takes the generic keyed
 * store. Measured on this project's machines, a loop copying 1,000 values
 * ran at 0.6 ns a value while it saw one column class, and at 30 to 40 ns a
 * value once it had seen five, on Bun 1.4 and Deno 2.9 alike; moving 1,000
 * entities of nine fields of mixed types between archetypes cost 1.2 us an
 * entity on Deno. Each class here gets its own function object compiled from
 * its own source text (the class name is in it, so no engine cache shares
 * them), so each loop only ever sees one class, and the call that picks it,
 * once per column and run, is the only polymorphic step.
 *
 * @module
 */

import { type Column, type ColumnConstructor, FIELD_TYPES, type FieldType } from "./schema.ts";
import { PER_RECORD, WORDS } from "./_command_records.ts";

/** The bulk loops over columns of one typed-array class, and its one-value load and store. */
export interface ColumnKernels {
  /** `column[at] = value`: a store that sees this class only (on Deno, 15 against 80 ns mixed). */
  readonly put: (column: Column, at: number, value: number) => void;
  /** `column[at]`, the load that sees this class only. */
  readonly get: (column: Column, at: number) => number;
  /** `into[intoAt + k] = out[outAt + k]` for `k` from 0 to `n - 1`; both of this class. */
  readonly copy: (into: Column, intoAt: number, out: Column, outAt: number, n: number) => void;
  /** `column[at + k] = 0` for `k` from 0 to `n - 1`. */
  readonly zero: (column: Column, at: number, n: number) => void;
  /**
   * `column[local + k]` = value `from + k` of a run of VALUES records whose
   * first value is word `first` of `words` (three values per four-word
   * record, after its kind), for `k` from 0 to `n - 1`.
   */
  readonly fromRecords: (
    column: Column,
    local: number,
    words: Float64Array,
    first: number,
    from: number,
    n: number,
  ) => void;
  /**
   * The mirror of `fromRecords`: value `to + k` of the VALUES run whose first
   * value is word `first` = `+column[from + k]` (a boolean as 0 or 1), for
   * `k` from 0 to `n - 1`.
   */
  readonly toRecords: (
    words: Float64Array,
    first: number,
    to: number,
    column: ArrayLike<number | boolean>,
    from: number,
    n: number,
  ) => void;
}

const COPY_BODY = "for (let k = 0; k < n; k++) into[intoAt + k] = out[outAt + k];";

const ZERO_BODY = "for (let k = 0; k < n; k++) column[at + k] = 0;";

/** The loop over `n` values of a VALUES run from value `index`, `at` their word: `step` each. */
function recordsLoop(index: string, step: string): string {
  return `
  const list = (${index} / ${PER_RECORD}) | 0;
  let at = first + list * ${WORDS} + ${index} - list * ${PER_RECORD};
  for (let k = 0; k < n; k++, at++) {
    if ((at & ${WORDS - 1}) === 0) at++; // past the next record's kind
    ${step};
  }`;
}

const FROM_RECORDS_BODY = recordsLoop("from", "column[local + k] = words[at]");

const TO_RECORDS_BODY = recordsLoop("to", "words[at] = +column[from + k]");

function compile<F>(className: string, params: readonly string[], body: string): F {
  // The sources are this module's constants; the comment makes each class's text its own.
  return new Function(...params, `"use strict"; // ${className}\n${body}`) as F;
}

function kernelsNamed(className: string): ColumnKernels {
  return {
    put: compile(className, ["column", "at", "value"], "column[at] = value;"),
    get: compile(className, ["column", "at"], "return column[at];"),
    copy: compile(className, ["into", "intoAt", "out", "outAt", "n"], COPY_BODY),
    zero: compile(className, ["column", "at", "n"], ZERO_BODY),
    fromRecords: compile(
      className,
      ["column", "local", "words", "first", "from", "n"],
      FROM_RECORDS_BODY,
    ),
    toRecords: compile(className, ["words", "first", "to", "column", "from", "n"], TO_RECORDS_BODY),
  };
}

const KERNELS: ReadonlyMap<ColumnConstructor, ColumnKernels> = new Map(
  [...new Set(Object.values(FIELD_TYPES))].map((ctor) => [ctor, kernelsNamed(ctor.name)]),
);

/** The same kernels by field type: one property load on the per-value paths. */
const KERNELS_BY_TYPE = Object.fromEntries(
  (Object.keys(FIELD_TYPES) as FieldType[]).map((type) => [type, KERNELS.get(FIELD_TYPES[type])!]),
) as Readonly<Record<FieldType, ColumnKernels>>;

/** The loops for any other array-like (a plain array of numbers or booleans, say). */
const OTHER_KERNELS = kernelsNamed("other array-likes");

/**
 * The kernels for columns of `type`.
 *
 * @example
 * ```ts ignore
 * const kernels = kernelsOf("f32");
 * kernels.copy(into, 0, out, 16, 100); // into[0..99] = out[16..115]
 * ```
 */
export function kernelsOf(type: FieldType): ColumnKernels {
  return KERNELS_BY_TYPE[type];
}

/**
 * The kernels for `values`: those of its typed-array class, or the shared
 * ones of other array-likes.
 *
 * @example
 * ```ts ignore
 * kernelsFor(new Float32Array(4)) === kernelsOf("f32"); // true
 * ```
 */
export function kernelsFor(values: ArrayLike<unknown>): ColumnKernels {
  return KERNELS.get(values.constructor as ColumnConstructor) ?? OTHER_KERNELS;
}
