/**
 * Tests of core/query.ts and chunk column access: all/none/optional filters, matches kept up to
 * date as archetypes appear, missing and optional columns, iteration order.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Chunk,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  Runtime,
  SceneError,
  UsageError,
  World,
} from "../mod.ts";
import { arena, clearEntities } from "../core/_world_internal.ts";

const A = defineComponent("A", { a: "i32" });
const B = defineComponent("B", { b: "f64" });
const C = defineComponent("C", { c: "u8" });
const T = defineTag("T");
const Outside = defineComponent("Outside", { o: "f32" });
const COMPONENTS = [A, B, C, T];

function entitiesOf(world: World, spec: Parameters<World["query"]>[0]): Set<number> {
  const out = new Set<number>();
  world.query(spec).forEachChunk((chunk) => {
    for (let i = 0; i < chunk.count; i++) out.add(chunk.entities[i]);
  });
  return out;
}

function populate(world: World) {
  return {
    a: world.spawn([A, { a: 1 }]),
    ab: world.spawn([A, { a: 2 }], [B, { b: 2.5 }]),
    abc: world.spawn([A, { a: 3 }], [B, { b: 3.5 }], [C, { c: 3 }]),
    ac: world.spawn([A, { a: 4 }], [C, { c: 4 }]),
    bt: world.spawn([B, { b: 5.5 }], T),
    none: world.spawn(),
  };
}

describe("filters", () => {
  test("all, none and optional select the right entities", () => {
    const world = new World({ components: COMPONENTS });
    const e = populate(world);
    assert.deepEqual(entitiesOf(world, { all: [A] }), new Set([e.a, e.ab, e.abc, e.ac]));
    assert.deepEqual(entitiesOf(world, { all: [A, B] }), new Set([e.ab, e.abc]));
    assert.deepEqual(entitiesOf(world, { all: [A], none: [C] }), new Set([e.a, e.ab]));
    assert.deepEqual(entitiesOf(world, { all: [A], none: [B, C] }), new Set([e.a]));
    assert.deepEqual(entitiesOf(world, { all: [B], none: [T] }), new Set([e.ab, e.abc]));
    assert.deepEqual(entitiesOf(world, { all: [T] }), new Set([e.bt]));
    assert.deepEqual(
      entitiesOf(world, { all: [A], optional: [B] }),
      entitiesOf(world, { all: [A] }),
      "optional does not filter",
    );
    assert.deepEqual(
      entitiesOf(world, { none: [A] }),
      new Set([e.bt, e.none]),
      "none alone matches the root archetype too",
    );
    assert.equal(world.query({}).count(), 6, "an empty query matches every entity");
    assert.equal(world.query({ all: [A], none: [A] }).count(), 0);
  });

  test("count() sums the matching archetypes", () => {
    const world = new World({ components: COMPONENTS, config: { chunkRows: 16 } });
    for (let i = 0; i < 40; i++) world.spawn(A);
    for (let i = 0; i < 7; i++) world.spawn(A, B);
    assert.equal(world.query({ all: [A] }).count(), 47);
    assert.equal(world.query({ all: [A], none: [B] }).count(), 40);
  });

  test("the same spec object gives the same query", () => {
    const world = new World({ components: COMPONENTS });
    const spec = { all: [A] };
    assert.equal(world.query(spec), world.query(spec));
  });

  test("a component outside the world is a SceneError, in every list", () => {
    const world = new World({ components: COMPONENTS });
    for (const spec of [{ all: [Outside] }, { none: [Outside] }, { optional: [Outside] }]) {
      assert.throws(() => world.query(spec), /component Outside is not part of this world/);
    }
    assert.throws(() => world.query({ all: [A, Outside] }), SceneError);
  });
});

describe("cached matches", () => {
  test("an archetype that appears after the query was made is matched", () => {
    const world = new World({ components: COMPONENTS });
    const withA = world.query({ all: [A] });
    const withoutC = world.query({ all: [A], none: [C] });
    assert.equal(withA.archetypes.length, 0);
    const first = world.spawn(A);
    assert.equal(withA.archetypes.length, 1);
    const second = world.spawn(A, C);
    assert.equal(withA.archetypes.length, 2);
    assert.equal(withoutC.archetypes.length, 1, "[A, C] was not added to the none-C query");
    world.add(first, B);
    assert.deepEqual(
      withA.archetypes.map((a) => a.toString()),
      ["[A]", "[A, C]", "[A, B]"],
      "in creation order",
    );
    assert.deepEqual(entitiesOf(world, { all: [A] }), new Set([first, second]));
    assert.equal(withoutC.count(), 1);
    // Archetypes are matched once, not once per entity.
    for (let i = 0; i < 10; i++) world.spawn(A, B);
    assert.equal(withA.archetypes.length, 3);
    assert.equal(withA.count(), 12);
  });

  test("a system's query sees archetypes created by commands in earlier frames", async () => {
    const counts: number[] = [];
    const spawner = defineSystem({
      name: "spawner",
      writes: [A, B, C],
      run(ctx) {
        const e = ctx.commands.spawn();
        ctx.commands.add(e, A, { a: ctx.tick });
        if (ctx.tick % 2 === 1) ctx.commands.add(e, B);
        if (ctx.tick === 2) ctx.commands.add(e, C);
      },
    });
    const counter = defineSystem({
      name: "counter",
      phase: "post_update",
      query: { all: [A] },
      reads: [A],
      runChunk(chunk) {
        counts.push(chunk.count);
      },
    });
    const runtime = await Runtime.create(
      defineScene({ components: COMPONENTS, systems: [spawner, counter] }),
    );
    runtime.run(4);
    // Counted after each tick's spawn: [A]; [A], [A,B]; [A], [A,B], [A,C]; [A], [A,B] twice, [A,C].
    assert.deepEqual(counts, [1, 1, 1, 1, 1, 1, 1, 2, 1]);
    await runtime.close();
  });
});

describe("columns", () => {
  test("chunk.read throws for a component the archetype lacks; readOptional is undefined", () => {
    const world = new World({ components: COMPONENTS });
    populate(world);
    const seen: string[] = [];
    world.query({ all: [A], optional: [B] }).forEachChunk((chunk: Chunk) => {
      const a = chunk.read(A.a);
      assert.ok(a instanceof Int32Array);
      const b = chunk.readOptional(B.b);
      assert.equal(b !== undefined, chunk.has(B));
      if (b === undefined) {
        assert.throws(
          () => chunk.read(B.b),
          (error: unknown) =>
            error instanceof UsageError && /has no column B\.b/.test(error.message) &&
            /readOptional/.test(error.message),
        );
      } else {
        assert.ok(b instanceof Float64Array);
        assert.equal(b[0], a[0] + 0.5, "the columns of a row belong together");
      }
      assert.throws(() => chunk.write(Outside.o), UsageError);
      assert.equal(chunk.writeOptional(Outside.o), undefined);
      seen.push(`${chunk.archetype}:${[...a.subarray(0, chunk.count)]}`);
    });
    assert.deepEqual(seen, ["[A]:1", "[A, B]:2", "[A, B, C]:3", "[A, C]:4"]);
  });

  test("a column is a view of the live storage: writes through it are seen by get", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn([A, { a: 5 }]);
    world.query({ all: [A] }).forEachChunk((chunk) => {
      chunk.write(A.a)[0] *= 3;
    });
    assert.equal(world.get(e, A.a), 15);
  });
});

describe("iteration order", () => {
  test("archetype creation order, then chunk order, then row order; empty chunks skipped", () => {
    const world = new World({ components: COMPONENTS, config: { chunkRows: 16 } });
    const ab: number[] = [];
    const a: number[] = [];
    // Spawning with B first creates [B] then [A, B]; [A] comes after.
    for (let i = 0; i < 20; i++) ab.push(world.spawn(B, A));
    for (let i = 0; i < 35; i++) a.push(world.spawn(A));
    const order: number[] = [];
    const chunks: string[] = [];
    world.query({ all: [A] }).forEachChunk((chunk) => {
      chunks.push(`${chunk.archetype}#${chunk.index}:${chunk.count}`);
      for (let i = 0; i < chunk.count; i++) order.push(chunk.entities[i]);
    });
    assert.deepEqual(chunks, ["[A, B]#0:16", "[A, B]#1:4", "[A]#0:16", "[A]#1:16", "[A]#2:3"]);
    assert.deepEqual(order, [...ab, ...a]);

    // Empty the last chunk of [A]: it stays allocated but is not visited.
    for (const e of a.slice(32)) world.despawn(e);
    const after: string[] = [];
    world.query({ all: [A] }).forEachChunk((chunk) =>
      after.push(`${chunk.archetype}#${chunk.index}`)
    );
    assert.deepEqual(after, ["[A, B]#0", "[A, B]#1", "[A]#0", "[A]#1"]);
  });

  test("a system body is called in the same order with the same chunks", async () => {
    const visited: string[] = [];
    const walker = defineSystem({
      name: "walker",
      query: { all: [A] },
      reads: [A],
      runChunk(chunk) {
        visited.push(`${chunk.archetype}#${chunk.index}:${chunk.count}`);
      },
    });
    const runtime = await Runtime.create(
      defineScene({
        components: COMPONENTS,
        config: { chunkRows: 16 },
        systems: [walker],
        setup(world) {
          for (let i = 0; i < 17; i++) world.spawn(C, A);
          for (let i = 0; i < 3; i++) world.spawn(A);
        },
      }),
    );
    runtime.tick();
    assert.deepEqual(visited, ["[A, C]#0:16", "[A, C]#1:1", "[A]#0:3"]);
    await runtime.close();
  });
});

describe("the flat chunk list", () => {
  test("follows new chunks, new archetypes and a reset; the same array while nothing changes", () => {
    const world = new World({ components: COMPONENTS, config: { chunkRows: 16 } });
    const query = world.query({ all: [A] });
    const version = () => world[arena].chunkLayoutVersion;
    const names = () => query.chunks(version()).map((c) => `${c.archetype}#${c.index}`);
    for (let i = 0; i < 10; i++) world.spawn(A);
    assert.deepEqual(names(), ["[A]#0"]);
    const first = query.chunks(version());
    for (let i = 0; i < 5; i++) world.spawn(A);
    assert.equal(query.chunks(version()), first, "no chunk attached: the same list, nothing built");
    for (let i = 0; i < 5; i++) world.spawn(A); // 20 rows: a second chunk
    world.spawn(A, B);
    world.spawn(B); // not matched
    assert.deepEqual(names(), ["[A]#0", "[A]#1", "[A, B]#0"]);
    // In the order forEachChunk visits, whose non-empty chunks it is.
    const visited: Chunk[] = [];
    query.forEachChunk((chunk) => visited.push(chunk));
    assert.deepEqual(query.chunks(version()).filter((c) => c.count > 0), visited);
    world[clearEntities]();
    assert.deepEqual(names(), []);
    world.spawn(A);
    assert.deepEqual(names(), ["[A]#0"]);
  });
});
