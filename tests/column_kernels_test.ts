/**
 * Tests of core/_column_kernels.ts: for every field type, the bulk loops and the one-value put
 * and get give what plain indexing gives, and each typed-array class has loops of its own.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { kernelsFor, kernelsOf } from "../core/_column_kernels.ts";
import { FIELD_TYPES, type FieldType } from "../core/schema.ts";
import { PER_RECORD, WORDS } from "../core/_command_records.ts";

const TYPES = Object.keys(FIELD_TYPES) as FieldType[];

/** A column of `type` over shared memory, as chunks hold them, with values 1, 2, 3... */
function column(type: FieldType, length: number) {
  const Ctor = FIELD_TYPES[type];
  const out = new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT), 0, length);
  for (let i = 0; i < length; i++) out[i] = i + 1;
  return out;
}

describe("column kernels", () => {
  test("copy and zero match a plain loop, for every field type", () => {
    for (const type of TYPES) {
      const kernels = kernelsOf(type);
      const out = column(type, 40), into = column(type, 40), expected = column(type, 40);
      into.fill(0);
      expected.fill(0);
      kernels.copy(into, 3, out, 10, 20);
      for (let k = 0; k < 20; k++) expected[3 + k] = out[10 + k];
      assert.deepEqual([...into], [...expected], type);
      kernels.zero(into, 5, 4);
      expected.fill(0, 5, 9);
      assert.deepEqual([...into], [...expected], type);
    }
  });

  test("put and get store and load one value as indexing does, for every field type", () => {
    for (const type of TYPES) {
      const kernels = kernelsOf(type), into = column(type, 8), expected = column(type, 8);
      for (const value of [0, 1, -1, 200, 70_000, 2.5, -3.75]) {
        kernels.put(into, 5, value);
        expected[5] = value; // the class's own conversion (wrap, clamp or round)
        assert.deepEqual([...into], [...expected], `${type} ${value}`);
        assert.equal(kernels.get(into, 5), expected[5], `${type} ${value}`);
      }
    }
  });

  test("fromRecords reads values past each record's kind word, from any starting value", () => {
    const count = 11, records = Math.ceil(count / PER_RECORD);
    const words = new Float64Array((1 + records) * WORDS).fill(-99); // -99 marks kind words
    for (let i = 0; i < count; i++) {
      const list = Math.floor(i / PER_RECORD);
      words[WORDS + list * WORDS + 1 + i - list * PER_RECORD] = i * 2;
    }
    for (const type of TYPES) {
      for (const from of [0, 1, 2, 3, 7]) {
        const into = column(type, count);
        into.fill(0);
        kernelsOf(type).fromRecords(into, 0, words, WORDS + 1, from, count - from);
        const expected = column(type, count);
        expected.fill(0);
        for (let k = 0; k < count - from; k++) expected[k] = (from + k) * 2;
        assert.deepEqual([...into], [...expected], `${type} from ${from}`);
      }
    }
  });

  test("toRecords writes what fromRecords reads back, from any class or a plain array", () => {
    const count = 11, words = new Float64Array((1 + Math.ceil(count / PER_RECORD)) * WORDS);
    for (const type of TYPES) {
      for (const to of [0, 1, 2, 5]) {
        words.fill(-99); // kind words stay -99
        const out = column(type, count + 3);
        kernelsFor(out).toRecords(words, WORDS + 1, to, out, 3, count - to);
        const back = column(type, count);
        back.fill(0);
        kernelsOf(type).fromRecords(back, 0, words, WORDS + 1, to, count - to);
        const expected = column(type, count);
        expected.fill(0);
        for (let k = 0; k < count - to; k++) expected[k] = out[3 + k];
        assert.deepEqual([...back], [...expected], `${type} to ${to}`);
        for (let r = 0; r < words.length; r += WORDS) assert.equal(words[r], -99, "a kind word");
      }
    }
    words.fill(-99);
    kernelsFor([true, false, 2.5]).toRecords(words, WORDS + 1, 0, [true, false, 2.5], 0, 3);
    assert.deepEqual([...words.subarray(WORDS + 1, 2 * WORDS)], [1, 0, 2.5]);
  });

  test("each typed-array class has its own loops; types of one class share them", () => {
    const copies = new Set(TYPES.map((type) => kernelsOf(type).copy));
    assert.equal(copies.size, new Set(Object.values(FIELD_TYPES)).size);
    assert.equal(kernelsOf("bool"), kernelsOf("u8"));
    assert.equal(kernelsOf("entity"), kernelsOf("u32"));
    assert.notEqual(kernelsOf("f32").copy, kernelsOf("i32").copy);
    assert.equal(kernelsFor(new Float32Array(1)), kernelsOf("f32"));
    assert.equal(kernelsFor([1, 2]), kernelsFor([true]), "other array-likes share one set");
    assert.ok(!copies.has(kernelsFor([1]).copy));
  });
});
