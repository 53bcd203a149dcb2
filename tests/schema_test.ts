/**
 * Tests of core/schema.ts: field types, name and shape checks, event capacity bounds, tags.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineComponent,
  defineEvent,
  defineResource,
  defineSystem,
  defineTag,
  type FieldType,
  SchemaError,
  UsageError,
  World,
} from "../mod.ts";

const ALL_TYPES: readonly FieldType[] = [
  "f32",
  "f64",
  "i8",
  "i16",
  "i32",
  "u8",
  "u16",
  "u32",
  "bool",
  "entity",
];

const Every = defineComponent("Every", {
  f32: "f32",
  f64: "f64",
  i8: "i8",
  i16: "i16",
  i32: "i32",
  u8: "u8",
  u16: "u16",
  u32: "u32",
  bool: "bool",
  entity: "entity",
});

describe("field types", () => {
  test("every field type gets a descriptor with its name, type, index and owner", () => {
    const fields = Object.values(Every);
    assert.deepEqual(fields.map((f) => f.type), ALL_TYPES);
    assert.deepEqual(fields.map((f) => f.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const field of fields) {
      assert.equal(field.name, field.type);
      assert.equal(field.length, 1);
      assert.equal(field.array, false);
      assert.equal(field.owner.name, "Every");
      assert.equal(field.owner.kind, "component");
    }
    assert.equal(new Set(fields.map((f) => f.id)).size, fields.length, "field ids are unique");
    // 4 + 8 + 1 + 2 + 4 + 1 + 2 + 4 + 1 + 4
    assert.equal(Every.f32.owner.rowBytes, 31);
  });

  test("each field type is stored in its typed array and converts values like it", () => {
    const world = new World({ components: [Every] });
    const other = world.spawn();
    const e = world.spawn([Every, {
      f32: 0.1,
      f64: 0.1,
      i8: 200,
      i16: 40000,
      i32: 2 ** 31,
      u8: 300,
      u16: 70000,
      u32: -1,
      bool: 1,
      entity: other,
    }]);
    assert.equal(world.get(e, Every.f32), Math.fround(0.1));
    assert.notEqual(world.get(e, Every.f32), 0.1);
    assert.equal(world.get(e, Every.f64), 0.1);
    assert.equal(world.get(e, Every.i8), -56);
    assert.equal(world.get(e, Every.i16), -25536);
    assert.equal(world.get(e, Every.i32), -(2 ** 31));
    assert.equal(world.get(e, Every.u8), 44);
    assert.equal(world.get(e, Every.u16), 4464);
    assert.equal(world.get(e, Every.u32), 4294967295);
    assert.equal(world.get(e, Every.bool), 1);
    assert.equal(world.get(e, Every.entity), other);
    world.setField(e, Every.bool, false);
    assert.equal(world.get(e, Every.bool), 0);
    world.set(e, Every, { bool: true });
    assert.equal(world.get(e, Every.bool), 1);
    world.setField(e, Every.i8, -3.9);
    assert.equal(world.get(e, Every.i8), -3, "integers truncate toward zero");

    const chunk = world.query({ all: [Every] }).archetypes[0].chunks[0];
    const expected = {
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
    for (const field of Object.values(Every)) {
      const column = chunk.column(field);
      assert.equal(column.constructor, expected[field.type], field.name);
      assert.ok(column.buffer instanceof SharedArrayBuffer, `${field.name} is in shared memory`);
    }
  });

  test("an unknown field type is rejected, naming the field, the type and the choices", () => {
    for (const bad of ["f16", "int", "", "F32", "string"]) {
      assert.throws(
        () => defineComponent("Bad", { x: bad as FieldType }),
        (error: unknown) => {
          assert.ok(error instanceof SchemaError);
          assert.match(error.message, /component Bad: field x has unknown type/);
          assert.ok(error.message.includes(JSON.stringify(bad)), error.message);
          assert.match(error.message, /f32, f64, i8, i16, i32, u8, u16, u32, bool, entity/);
          return true;
        },
      );
    }
    assert.throws(() => defineResource("R", { x: "f128" as FieldType }), SchemaError);
    assert.throws(() => defineResource("R", { x: ["f128" as FieldType, 4] }), SchemaError);
    assert.throws(() => defineEvent("E", { x: "u64" as FieldType }), SchemaError);
  });

  test("the fields argument must be an object", () => {
    for (const bad of [null, "f32", 3, ["f32"]]) {
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => defineComponent("C", bad as any),
        /component C: fields must be an object/,
      );
    }
  });
});

describe("names", () => {
  test("component, resource, event and field names must be identifiers", () => {
    for (const bad of ["", "1abc", "a-b", "a b", "é", "x.y"]) {
      assert.throws(() => defineComponent(bad, { x: "f32" }), SchemaError, `component ${bad}`);
      assert.throws(() => defineTag(bad), SchemaError, `tag ${bad}`);
      assert.throws(() => defineResource(bad, { x: "f32" }), SchemaError, `resource ${bad}`);
      assert.throws(() => defineEvent(bad, { x: "f32" }), SchemaError, `event ${bad}`);
      assert.throws(
        () => defineComponent("C", { [bad]: "f32" }),
        (error: unknown) =>
          error instanceof SchemaError && /component C: field name must be an identifier/
            .test(error.message),
        `field ${bad}`,
      );
    }
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => defineComponent(undefined as any, {}),
      /component name must be an identifier such as "Position"; got undefined/,
    );
  });

  test("identifiers with underscores, digits and capitals are accepted", () => {
    const C = defineComponent("_Pos2D", { x_1: "f32", Y: "f64" });
    assert.equal(C.x_1.name, "x_1");
    assert.equal(C.Y.type, "f64");
  });
});

describe("array fields", () => {
  test("only resources have array fields", () => {
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => defineComponent("Arr", { xs: ["f32", 4] } as any),
      (error: unknown) =>
        error instanceof SchemaError &&
        /component Arr: field xs is an array; only resources have array fields/.test(
          error.message,
        ),
    );
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => defineEvent("ArrEvent", { xs: ["u8", 2] } as any),
      /event ArrEvent: field xs is an array; only resources have array fields/,
    );
  });

  test("resource array lengths are integers from 1 to 2^24", () => {
    for (const bad of [0, -1, 1.5, 2 ** 24 + 1, NaN]) {
      assert.throws(
        () => defineResource("Grid", { cells: ["u32", bad] }),
        (error: unknown) =>
          error instanceof SchemaError &&
          /resource Grid: field cells length must be an integer from 1 to 16777216/.test(
            error.message,
          ),
        String(bad),
      );
    }
    const Grid = defineResource("Grid", { cells: ["u32", 16], one: ["f32", 1], total: "f64" });
    assert.equal(Grid.cells.length, 16);
    assert.equal(Grid.cells.array, true);
    assert.equal(Grid.one.length, 1);
    assert.equal(Grid.one.array, true);
    assert.equal(Grid.total.array, false);
    const world = new World({ resources: [Grid] });
    const values = world.resource(Grid);
    assert.ok(values.cells instanceof Uint32Array);
    assert.equal(values.cells.length, 16);
    assert.ok(values.one instanceof Float32Array, "an array of length 1 stays an array");
    values.cells[15] = 7;
    values.total = 2.5;
    assert.equal(world.resource(Grid).cells[15], 7);
    assert.equal(world.resource(Grid).total, 2.5);
  });
});

describe("events", () => {
  test("capacity is an integer from 1 to 2^24, 1024 by default", () => {
    for (const bad of [0, -5, 1.5, 2 ** 24 + 1, Infinity]) {
      assert.throws(
        () => defineEvent("Hit", { damage: "f32" }, { capacity: bad }),
        (error: unknown) =>
          error instanceof SchemaError &&
          /event Hit: capacity must be an integer from 1 to 16777216/.test(error.message),
        String(bad),
      );
    }
    const fields = { damage: "f32" } as const;
    assert.doesNotThrow(() => defineEvent("Hit", fields, { capacity: 1 }));
    assert.doesNotThrow(() => defineEvent("Hit", fields, { capacity: 2 ** 24 }));
    const Hit = defineEvent("Hit", { target: "entity", damage: "f32" });
    assert.equal(Hit.damage.owner.kind, "event");
    assert.equal((Hit.damage.owner as { capacity?: number }).capacity, 1024);
  });
});

describe("tags", () => {
  const Frozen = defineTag("Frozen");
  const Pos = defineComponent("Pos", { x: "f32" });

  test("a tag has no fields and no bytes", () => {
    assert.deepEqual(Object.keys(Frozen), []);
    const empty = defineComponent("Empty", {});
    assert.deepEqual(Object.keys(empty), []);
  });

  test("a tag is added, tested, removed and filtered on like any component", () => {
    const world = new World({ components: [Pos, Frozen] });
    const a = world.spawn([Pos, { x: 1 }], Frozen);
    const b = world.spawn([Pos, { x: 2 }]);
    assert.equal(world.has(a, Frozen), true);
    assert.equal(world.has(b, Frozen), false);
    assert.deepEqual(world.getComponent(a, Frozen), {});
    const frozen = world.query({ all: [Frozen] });
    const moving = world.query({ all: [Pos], none: [Frozen] });
    assert.equal(frozen.count(), 1);
    assert.equal(moving.count(), 1);
    world.add(b, Frozen);
    assert.equal(frozen.count(), 2);
    assert.equal(moving.count(), 0);
    world.remove(a, Frozen);
    assert.equal(world.has(a, Frozen), false);
    assert.equal(world.get(a, Pos.x), 1, "removing a tag keeps the other values");
    assert.equal(world.get(b, Pos.x), 2);
    assert.equal(moving.count(), 1);
  });

  test("setting a field on a tag names the mistake", () => {
    const world = new World({ components: [Frozen] });
    const e = world.spawn(Frozen);
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => world.set(e, Frozen, { x: 1 } as any),
      (error: unknown) =>
        error instanceof UsageError && /Frozen has no field "x"/.test(error.message) &&
        /it is a tag/.test(error.message),
    );
  });

  test("systems may list tags in queries and access", () => {
    assert.doesNotThrow(() =>
      defineSystem({
        name: "frozenCount",
        query: { all: [Pos], none: [Frozen] },
        reads: [Frozen],
        runChunk() {},
      })
    );
  });
});
