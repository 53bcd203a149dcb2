/**
 * Tests of core/world.ts, core/entities.ts, core/archetype.ts and core/memory.ts: entity
 * operations, archetype transitions, chunking, stale handles, generation retirement, bounds
 * and the structural lock while a stage runs.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BoundError,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  NULL_ENTITY,
  Runtime,
  SceneError,
  StaleEntityError,
  UsageError,
  World,
} from "../mod.ts";
import {
  archetypeFor,
  archetypeList,
  entityTable,
  indexOfComponent,
  root,
  stageDepth,
  withComponent,
  withoutComponent,
} from "../core/_world_internal.ts";

const Position = defineComponent("Position", { x: "f32", y: "f32" });
const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });
const Health = defineComponent("Health", { hp: "i32" });
const Marked = defineTag("Marked");
const Unused = defineComponent("Unused", { u: "u8" });
const COMPONENTS = [Position, Velocity, Health, Marked];

function archetypeOf(world: World, entity: number) {
  return world[archetypeList][world[entityTable].archetype[world[entityTable].indexOf(entity)]];
}

function names(world: World, entity: number): string[] {
  return archetypeOf(world, entity).components.map((c) => c.name);
}

describe("entity operations", () => {
  test("spawn, get, set, setField, getComponent, has", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn([Position, { x: 1, y: 2 }], Velocity, [Health, { hp: -7 }]);
    assert.equal(world.entityCount, 1);
    assert.equal(world.isAlive(e), true);
    assert.deepEqual(world.getComponent(e, Position), { x: 1, y: 2 });
    assert.deepEqual(world.getComponent(e, Velocity), { x: 0, y: 0 }, "no values: zeroed");
    assert.equal(world.get(e, Health.hp), -7);
    assert.equal(world.has(e, Position), true);
    assert.equal(world.has(e, Marked), false);
    world.set(e, Position, { y: 5 });
    assert.deepEqual(world.getComponent(e, Position), { x: 1, y: 5 }, "set touches given fields");
    world.setField(e, Velocity.x, 3.5);
    assert.equal(world.get(e, Velocity.x), 3.5);
    assert.deepEqual(names(world, e), ["Position", "Velocity", "Health"]);
  });

  test("spawn with no components lands in the root archetype", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn();
    assert.equal(archetypeOf(world, e), world[root]);
    assert.equal(world[root].count, 1);
    assert.deepEqual(world[root].components, []);
  });

  test("add with values, add of a component already there only sets values, remove", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn([Position, { x: 1, y: 2 }]);
    world.add(e, Health, { hp: 10 });
    assert.equal(world.get(e, Health.hp), 10);
    assert.deepEqual(world.getComponent(e, Position), { x: 1, y: 2 }, "values follow the move");
    const before = archetypeOf(world, e);
    world.add(e, Health, { hp: 11 });
    assert.equal(archetypeOf(world, e), before);
    assert.equal(world.get(e, Health.hp), 11);
    world.add(e, Health);
    assert.equal(world.get(e, Health.hp), 11, "adding a present component keeps its values");
    world.remove(e, Position);
    assert.equal(world.has(e, Position), false);
    assert.equal(world.get(e, Health.hp), 11);
    world.remove(e, Position);
    assert.deepEqual(names(world, e), ["Health"], "removing an absent component does nothing");
    world.add(e, Position);
    assert.deepEqual(world.getComponent(e, Position), { x: 0, y: 0 }, "re-added: zeroed");
  });

  test("despawn makes the handle stale and keeps the others", () => {
    const world = new World({ components: COMPONENTS });
    const a = world.spawn([Health, { hp: 1 }]);
    const b = world.spawn([Health, { hp: 2 }]);
    const c = world.spawn([Health, { hp: 3 }]);
    world.despawn(a);
    assert.equal(world.isAlive(a), false);
    assert.equal(world.entityCount, 2);
    assert.equal(world.get(b, Health.hp), 2);
    assert.equal(world.get(c, Health.hp), 3);
    assert.equal(archetypeOf(world, c).count, 2);
  });

  test("getting a component the entity lacks is a UsageError naming its components", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn([Position, { x: 1 }]);
    assert.throws(
      () => world.get(e, Health.hp),
      (error: unknown) =>
        error instanceof UsageError && /has no Health/.test(error.message) &&
        /\[Position\]/.test(error.message),
    );
    assert.throws(() => world.setField(e, Health.hp, 1), UsageError);
    assert.throws(() => world.set(e, Health, { hp: 1 }), UsageError);
    assert.throws(() => world.getComponent(e, Health), /getComponent: entity #\d+ has no Health/);
    assert.throws(() => world.getComponent(e, Marked), /has no Marked/, "a tag too");
  });

  test("a component not in the world is a SceneError naming it", () => {
    const world = new World({ components: COMPONENTS });
    assert.throws(() => world.spawn(Unused), /component Unused is not part of this world/);
    const e = world.spawn();
    assert.throws(() => world.add(e, Unused), SceneError);
    assert.equal(world.entityCount, 1, "the failed spawn created nothing");
  });

  test("two components of one name in a world are rejected", () => {
    const Twin = defineComponent("Position", { z: "f32" });
    assert.throws(
      () => new World({ components: [Position, Twin] }),
      /two components are named Position/,
    );
  });
});

describe("archetypes", () => {
  test("transitions reuse archetype objects and cache add and remove edges", () => {
    const world = new World({ components: COMPONENTS });
    const a = world.spawn(Position);
    const b = world.spawn(Position);
    const withPosition = archetypeOf(world, a);
    world.add(a, Velocity);
    const both = archetypeOf(world, a);
    const created = world[archetypeList].length;
    world.add(b, Velocity);
    assert.equal(archetypeOf(world, b), both, "same archetype object");
    assert.equal(world[archetypeList].length, created, "no archetype created the second time");
    const velocity = world[indexOfComponent](Velocity);
    assert.equal(withPosition.addEdges[velocity], both);
    assert.equal(both.removeEdges[velocity], withPosition);
    world.remove(a, Velocity);
    assert.equal(archetypeOf(world, a), withPosition);
    assert.equal(world[withComponent](withPosition, velocity), both);
    assert.equal(world[withoutComponent](both, velocity), withPosition);
    // Order of adds does not matter: one archetype per component set.
    const c = world.spawn(Velocity);
    world.add(c, Position);
    assert.equal(archetypeOf(world, c), both);
    assert.equal(world[archetypeList].length, created + 1, "only [Velocity] was new");
    assert.equal(
      world[archetypeFor]([world[indexOfComponent](Velocity), world[indexOfComponent](Position)]),
      both,
    );
  });

  test("archetype ids are their positions and components are in scene order", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn(Health, Position, Marked);
    assert.deepEqual(names(world, e), ["Position", "Health", "Marked"]);
    world[archetypeList].forEach((archetype, i) => assert.equal(archetype.id, i));
  });
});

describe("chunks", () => {
  test("more rows than chunkRows fill several chunks; swap-remove keeps every value", () => {
    const world = new World({ components: COMPONENTS, config: { chunkRows: 16 } });
    const expected = new Map<number, number>();
    for (let i = 0; i < 50; i++) {
      const e = world.spawn([Health, { hp: i * 3 }], [Position, { x: i / 4 }]);
      expected.set(e, i);
    }
    const archetype = archetypeOf(world, [...expected.keys()][0]);
    assert.equal(archetype.chunks.length, 4);
    assert.deepEqual(archetype.chunks.map((c) => c.count), [16, 16, 16, 2]);
    assert.equal(archetype.count, 50);
    assert.equal(world.query({ all: [Health] }).count(), 50);

    // Remove from the front, the middle and the end of chunks, by despawn and by moving out.
    const handles = [...expected.keys()];
    for (const i of [0, 17, 49, 5, 31, 32, 15, 16, 48, 47, 1]) {
      if (i % 2 === 0) world.despawn(handles[i]);
      else world.add(handles[i], Marked);
      expected.delete(handles[i]);
    }
    assert.equal(archetype.count, 39);
    assert.deepEqual(archetype.chunks.map((c) => c.count), [16, 16, 7, 0]);
    const seen = new Set<number>();
    for (const chunk of archetype.chunks) {
      for (let row = 0; row < chunk.count; row++) seen.add(chunk.entities[row]);
    }
    assert.deepEqual([...seen].sort(), [...expected.keys()].sort());
    for (const [e, i] of expected) {
      assert.equal(world.get(e, Health.hp), i * 3, `hp of entity ${i}`);
      assert.equal(world.get(e, Position.x), i / 4, `x of entity ${i}`);
      const row = world[entityTable].row[world[entityTable].indexOf(e)];
      assert.equal(archetype.chunkOf(row).entities[row % 16], e, "row index matches");
    }
    for (const i of [17, 5, 31, 15, 47, 1]) {
      assert.equal(world.get(handles[i], Health.hp), i * 3, "moved entity kept its values");
      assert.equal(world.has(handles[i], Marked), true);
    }
    // Refill: the empty chunk is reused, not reallocated.
    const chunks = [...archetype.chunks];
    for (let i = 0; i < 20; i++) world.spawn(Health, Position);
    assert.deepEqual(archetype.chunks, chunks);
    assert.deepEqual(archetype.chunks.map((c) => c.count), [16, 16, 16, 11]);
  });
});

describe("stale handles", () => {
  test("every direct operation on a stale handle throws StaleEntityError naming it", () => {
    const world = new World({ components: COMPONENTS });
    const e = world.spawn([Position, { x: 1 }], Marked);
    world.despawn(e);
    const reused = world.spawn([Position, { x: 9 }], Marked);
    assert.equal(world[entityTable].indexOf(reused), world[entityTable].indexOf(e), "index reused");
    assert.notEqual(reused, e);
    assert.equal(world.isAlive(e), false);
    assert.equal(world.isAlive(reused), true);
    const ops: [string, () => unknown][] = [
      ["despawn", () => world.despawn(e)],
      ["add", () => world.add(e, Health)],
      ["remove", () => world.remove(e, Position)],
      ["set", () => world.set(e, Position, { x: 2 })],
      ["set", () => world.setField(e, Position.x, 2)],
      ["get", () => world.get(e, Position.x)],
      ["has", () => world.has(e, Position)],
      ["getComponent", () => world.getComponent(e, Position)],
      ["getComponent", () => world.getComponent(e, Marked)],
      ["set", () => world.set(e, Position, {})],
    ];
    for (const [op, run] of ops) {
      assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof StaleEntityError, `${op}: ${error}`);
        assert.equal(error.entity, e);
        assert.ok(error.message.startsWith(op), `${op}: ${error.message}`);
        assert.match(error.message, /is not alive/);
        return true;
      });
    }
    assert.equal(world.get(reused, Position.x), 9, "the reused index was not touched");
    assert.equal(world.entityCount, 1);
  });

  test("handle 0 is never alive and never handed out", () => {
    const world = new World({ components: COMPONENTS, config: { maxEntities: 300 } });
    assert.equal(NULL_ENTITY, 0);
    assert.equal(world.isAlive(NULL_ENTITY), false);
    for (let i = 0; i < 300; i++) assert.notEqual(world.spawn(), 0);
    for (const bad of [0, -1, 1.5, 2 ** 32, NaN]) assert.equal(world.isAlive(bad), false);
    assert.throws(() => world.despawn(0), StaleEntityError);
    assert.throws(() => world.get(0, Position.x), StaleEntityError);
    assert.throws(() => world.add(0, Position), StaleEntityError);
  });

  test("a handle of another world of other size is not confused with a live one", () => {
    const small = new World({ components: COMPONENTS, config: { maxEntities: 10 } });
    const big = new World({ components: COMPONENTS, config: { maxEntities: 100_000 } });
    const e = big.spawn();
    for (let i = 0; i < 10; i++) small.spawn();
    // Index bits differ, so the same number decodes to another index and generation.
    assert.equal(small.isAlive(e + (1 << 17)), false);
  });
});

describe("generation retirement", () => {
  test("an index whose generation would wrap is retired, never reused (entity table)", () => {
    const world = new World({ config: { maxEntities: 1 } });
    const table = world[entityTable];
    assert.equal(table.indexBits, 8);
    assert.equal(table.generationLimit, 2 ** 24);
    const limit = table.generationLimit;
    const first = table.allocate();
    table.free(table.indexOf(first));
    let last = 0;
    for (let generation = 1; generation < limit; generation++) {
      last = table.allocate();
      table.free(table.indexOf(last));
    }
    assert.equal(table.indexOf(last), 1);
    assert.equal(last, (limit - 1) * 256 + 1, "the last handle has the highest generation");
    assert.ok(last <= 0xffffffff);
    assert.equal(table.retired, 1);
    assert.equal(table.alive, 0);
    assert.equal(table.freeCount, 0);
    assert.throws(() => table.allocate(), (error: unknown) => {
      assert.ok(error instanceof BoundError);
      assert.equal(error.bound, "maxEntities");
      assert.match(error.message, /0 alive and 1 retired of maxEntities 1/);
      return true;
    });
    assert.equal(world.isAlive(first), false);
    assert.equal(world.isAlive(last), false);
  });

  test("through the world: the last generation is used, then the index retires", () => {
    const world = new World({ components: COMPONENTS, config: { maxEntities: 2 } });
    const table = world[entityTable];
    const limit = table.generationLimit;
    table.generation[1] = limit - 2; // skip most of the 2^24 reuses of index 1
    const a = world.spawn([Health, { hp: 1 }]);
    world.despawn(a);
    const c = world.spawn([Health, { hp: 3 }]); // index 1 again, highest generation
    const b = world.spawn([Health, { hp: 2 }]); // index 2, fresh
    assert.equal(table.indexOf(c), 1);
    assert.equal(c, table.handle(1, limit - 1));
    world.despawn(c);
    assert.equal(table.retired, 1);
    assert.throws(() => world.spawn(), BoundError, "index 1 is retired; index 2 is alive");
    for (const stale of [a, c]) assert.equal(world.isAlive(stale), false);
    assert.equal(world.get(b, Health.hp), 2);
    world.despawn(b);
    const d = world.spawn();
    assert.equal(table.indexOf(d), 2, "the other index is still reused");
  });
});

describe("bounds", () => {
  test("maxEntities throws a BoundError and leaves the world consistent", () => {
    const world = new World({ components: COMPONENTS, config: { maxEntities: 5 } });
    const handles = [];
    for (let i = 0; i < 5; i++) handles.push(world.spawn([Health, { hp: i }]));
    assert.throws(() => world.spawn([Health, { hp: 99 }], Position), (error: unknown) => {
      assert.ok(error instanceof BoundError);
      assert.equal(error.bound, "maxEntities");
      assert.equal(error.limit, 5);
      assert.match(error.message, /raise config.maxEntities/);
      return true;
    });
    assert.equal(world.entityCount, 5);
    assert.equal(world.query({ all: [Health] }).count(), 5);
    handles.forEach((e, i) => assert.equal(world.get(e, Health.hp), i));
    world.despawn(handles[2]);
    const again = world.spawn([Health, { hp: 42 }]);
    assert.equal(world.get(again, Health.hp), 42);
    assert.equal(world.entityCount, 5);
  });

  test("maxArchetypes throws a BoundError naming the new component set", () => {
    // The root archetype counts: 3 allows root, [Position], [Position, Velocity].
    const world = new World({ components: COMPONENTS, config: { maxArchetypes: 3 } });
    const e = world.spawn(Position, Velocity);
    assert.equal(world[archetypeList].length, 3);
    assert.throws(() => world.spawn(Health), (error: unknown) => {
      assert.ok(error instanceof BoundError);
      assert.equal(error.bound, "maxArchetypes");
      assert.equal(error.limit, 3);
      assert.match(error.message, /\[Health\] would be new/);
      return true;
    });
    assert.throws(() => world.add(e, Marked), /maxArchetypes/);
    assert.equal(world.entityCount, 1);
    assert.deepEqual(names(world, e), ["Position", "Velocity"]);
    world.remove(e, Velocity);
    assert.deepEqual(names(world, e), ["Position"], "existing archetypes still work");
  });

  test("maxMemoryBytes throws a BoundError and leaves the world consistent", () => {
    // One chunk of [Health] is (4 + 4) * 4096 = 32 KiB: two fit in 64 KiB, a third does not.
    const world = new World({
      components: COMPONENTS,
      config: { chunkRows: 4096, maxMemoryBytes: 1 << 16, segmentBytes: 1 << 16 },
    });
    let spawned = 0;
    let caught: unknown;
    try {
      for (; spawned < 100_000; spawned++) world.spawn([Health, { hp: spawned }]);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof BoundError, String(caught));
    assert.equal(caught.bound, "maxMemoryBytes");
    assert.equal(caught.limit, 1 << 16);
    assert.match(caught.message, /raise config.maxMemoryBytes/);
    assert.ok(spawned >= 4096 && spawned < 100_000, `spawned ${spawned}`);
    assert.equal(world.entityCount, spawned, "the failed spawn left no entity behind");
    assert.equal(world.query({ all: [Health] }).count(), spawned);
    assert.equal(world[entityTable].alive, spawned);
    const first = world[archetypeList][1].chunks[0].entities[0];
    world.despawn(first);
    const e = world.spawn([Health, { hp: -1 }]);
    assert.equal(world.get(e, Health.hp), -1);
    assert.equal(world.entityCount, spawned);
  });

  test("1,000,000 entities fit with maxEntities 1,000,000", () => {
    const world = new World({ components: [Health], config: { maxEntities: 1_000_000 } });
    let last = 0;
    for (let i = 0; i < 1_000_000; i++) last = world.spawn([Health, { hp: i }]);
    assert.equal(world.entityCount, 1_000_000);
    assert.equal(world.get(last, Health.hp), 999_999);
    assert.equal(world.query({ all: [Health] }).count(), 1_000_000);
    assert.throws(() => world.spawn(Health), BoundError);
  });
});

describe("structural lock while a stage runs", () => {
  test("structural changes inside a system throw a UsageError pointing to ctx.commands", async () => {
    let target = 0;
    const attempts: [string, (world: World) => void][] = [
      ["spawn", (w) => w.spawn(Position)],
      ["despawn", (w) => w.despawn(target)],
      ["add", (w) => w.add(target, Velocity)],
      ["remove", (w) => w.remove(target, Position)],
    ];
    const systems = attempts.map(([op, attempt]) =>
      defineSystem({ name: `direct_${op}`, run: (ctx) => attempt(ctx.world) })
    );
    const setter = defineSystem({
      name: "setter",
      writes: [Position],
      run(ctx) {
        ctx.world.setField(target, Position.x, 5); // writes are allowed, not structure
      },
    });
    const scene = defineScene({
      components: COMPONENTS,
      systems: [...systems, setter],
      errorPolicy: "aggregate",
      setup(world) {
        target = world.spawn([Position, { x: 1 }]);
      },
    });
    const runtime = await Runtime.create(scene);
    const result = runtime.tick();
    assert.equal(result.ok, false);
    assert.deepEqual(result.errors.map((e) => e.system), systems.map((s) => s.name));
    for (const [i, failure] of result.errors.entries()) {
      assert.ok(failure.error instanceof UsageError);
      assert.match(failure.message, new RegExp(`world\\.${attempts[i][0]} called while a stage`));
      assert.match(failure.message, /ctx\.commands/);
    }
    assert.equal(runtime.world.entityCount, 1);
    assert.deepEqual(names(runtime.world, target), ["Position"]);
    assert.equal(runtime.world.get(target, Position.x), 5);
    assert.equal(runtime.world[stageDepth], 0, "the lock is released after the frame");
    runtime.world.add(target, Velocity);
    assert.equal(runtime.world.has(target, Velocity), true);
    await runtime.close();
  });
});
