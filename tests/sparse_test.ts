/**
 * Sparse storage (core/sparse.ts): components kept beside the archetype
 * tables, added and removed without moving rows; queries filtering rows on
 * them with `chunk.matches(i)`; commands; snapshots and the checksum; and
 * one checksum on every backend for a scene whose sparse components churn
 * every frame.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AdaptiveBackend,
  type Backend,
  BlockingBackend,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  Runtime,
  SchemaError,
  WorkStealingBackend,
  World,
  worldChecksum,
} from "../mod.ts";
import sparseScene, { Hot, Stun, Tally } from "./fixtures/sparse_scene.ts";
import { entityTable } from "../core/_world_internal.ts";

const P = defineComponent("P", { x: "f32" });
const Mark = defineTag("Mark", { storage: "sparse" });
const Timer = defineComponent("Timer", { leftS: "f32", count: "u16" }, { storage: "sparse" });

function world(): World {
  return new World({ components: [P, Mark, Timer], config: { maxEntities: 1000 } });
}

/** Where an entity's row is: archetype id and row. */
function place(w: World, entity: number): [number, number] {
  const index = w[entityTable].indexOf(entity);
  return [w[entityTable].archetype[index], w[entityTable].row[index]];
}

describe("sparse components in the world", () => {
  test("adding and removing one moves no row; values are per entity", () => {
    const w = world();
    const a = w.spawn([P, { x: 1 }]);
    const b = w.spawn([P, { x: 2 }], [Timer, { leftS: 1.5, count: 3 }]);
    const before = place(w, a);
    w.add(a, Mark);
    w.add(a, Timer, { leftS: 4 });
    assert.deepEqual(place(w, a), before, "the row stays where it was");
    assert.equal(w.has(a, Mark), true);
    assert.equal(w.get(a, Timer.leftS), 4);
    assert.equal(w.get(a, Timer.count), 0, "a new sparse component's fields start at zero");
    assert.deepEqual(w.getComponent(b, Timer), { leftS: 1.5, count: 3 });
    w.remove(a, Mark);
    assert.equal(w.has(a, Mark), false);
    assert.deepEqual(place(w, a), before);
    w.remove(a, Timer);
    assert.throws(() => w.get(a, Timer.leftS), /has no Timer; add the component first/);
  });

  test("a despawned entity leaves every sparse store; its index, reused, starts clean", () => {
    const w = world();
    const a = w.spawn(P, Mark, [Timer, { leftS: 9 }]);
    w.despawn(a);
    const again = w.spawn(P);
    assert.equal(w[entityTable].indexOf(again), w[entityTable].indexOf(a), "the index is reused");
    assert.equal(w.has(again, Mark), false);
    assert.equal(w.has(again, Timer), false);
  });

  test("queries match archetypes on table components and count rows through the filter", () => {
    const w = world();
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 0) w.spawn(P, Mark);
      else w.spawn(P);
    }
    assert.throws(
      () => w.spawn([P, Mark] as never),
      /pass them as separate arguments: world\.spawn\(P, Mark\)/,
    );
    w.spawn(Mark); // no table component at all
    assert.equal(w.query({ all: [P, Mark] }).count(), 4);
    assert.equal(w.query({ all: [P], none: [Mark] }).count(), 6);
    assert.equal(w.query({ all: [Mark] }).count(), 5);
  });

  test("a sparse field is not a chunk column, and the error says how to read it", () => {
    const w = world();
    w.spawn(P, [Timer, { leftS: 1 }]);
    w.query({ all: [P, Timer] }).forEachChunk((chunk) => {
      assert.throws(() => chunk.read(Timer.leftS), /Timer is stored sparse.*ctx\.get\(entity/);
    });
  });

  test("storage must be table or sparse", () => {
    assert.throws(
      () => defineTag("Odd", { storage: "heap" as "sparse" }),
      (e: unknown) =>
        e instanceof SchemaError && /storage must be "table" or "sparse"/.test(e.message),
    );
  });
});

describe("sparse components through systems and commands", () => {
  test("add, remove and spawn with them in commands; systems see rows through matches", async () => {
    const seen: number[] = [];
    const mark = defineSystem({
      name: "mark",
      query: { all: [P], none: [Mark] },
      writes: [Mark],
      runChunk(chunk, ctx) {
        for (let i = 0; i < chunk.count; i++) {
          if (chunk.matches(i) && i % 2 === 0) ctx.commands.add(chunk.entities[i], Mark);
        }
        const spawned = ctx.commands.spawn();
        ctx.commands.add(spawned, P);
        ctx.commands.add(spawned, Timer, { count: 7 });
      },
    });
    const count = defineSystem({
      name: "count",
      phase: "post_update",
      query: { all: [P, Mark] },
      reads: [Mark],
      runChunk(chunk) {
        let n = 0;
        for (let i = 0; i < chunk.count; i++) if (chunk.matches(i)) n++;
        seen.push(n);
      },
    });
    const scene = defineScene({
      components: [P, Mark, Timer],
      systems: [mark, count],
      setup(w) {
        for (let i = 0; i < 6; i++) w.spawn(P);
      },
    });
    const runtime = await Runtime.create(scene);
    try {
      assert.deepEqual(runtime.tick().errors, []);
      assert.deepEqual(seen, [3]);
      const timers = runtime.world.query({ all: [P, Timer] });
      assert.equal(timers.count(), 1);
      timers.forEachChunk((chunk) => {
        for (let i = 0; i < chunk.count; i++) {
          if (runtime.world.has(chunk.entities[i], Timer)) {
            assert.equal(runtime.world.get(chunk.entities[i], Timer.count), 7);
          }
        }
      });
    } finally {
      await runtime.close();
    }
  });

  test("addEach and removeEach over filtered chunks equal the same commands one at a time", async () => {
    // Each chunk: one add, then addEach and removeEach over the chunk's rows without Mark (as
    // the query saw them). The bulk records apply by position in place where nothing before
    // them in the stage changed Mark, and from copied handles where something did.
    const systems = (bulk: boolean) => [
      defineSystem({
        name: "mark",
        query: { all: [P], none: [Mark] },
        writes: [Mark],
        runChunk(chunk, ctx) {
          const listed: number[] = [];
          for (let i = 0; i < chunk.count; i++) {
            if (chunk.matches(i)) listed.push(chunk.entities[i]);
          }
          if (listed.length === 0) return;
          ctx.commands.add(listed[listed.length >> 1], Mark);
          if (bulk) ctx.commands.addEach(chunk, Mark);
          else for (const e of listed) ctx.commands.add(e, Mark);
          if (ctx.tick % 2 === 1) return;
          if (bulk) ctx.commands.removeEach(chunk, Mark);
          else for (const e of listed) ctx.commands.remove(e, Mark);
        },
      }),
      defineSystem({
        name: "unmark",
        phase: "post_update",
        query: { all: [P, Mark] },
        writes: [Mark],
        runChunk(chunk, ctx) {
          if (ctx.tick % 3 !== 0) return;
          if (bulk) ctx.commands.removeEach(chunk, Mark);
          else {
            for (let i = 0; i < chunk.count; i++) {
              if (chunk.matches(i)) ctx.commands.remove(chunk.entities[i], Mark);
            }
          }
        },
      }),
    ];
    const checksums: string[] = [];
    for (const bulk of [true, false]) {
      const scene = defineScene({
        components: [P, Mark],
        systems: systems(bulk),
        config: { chunkRows: 16, maxEntities: 200 },
        setup(w) {
          for (let i = 0; i < 100; i++) i % 3 === 0 ? w.spawn(P, Mark) : w.spawn(P);
        },
      });
      const runtime = await Runtime.create(scene, { seed: 5 });
      try {
        for (let t = 0; t < 8; t++) assert.deepEqual(runtime.tick().errors, []);
        assert.ok(runtime.world.query({ all: [Mark] }).count() > 0);
        checksums.push(runtime.checksum());
      } finally {
        await runtime.close();
      }
    }
    assert.equal(checksums[0], checksums[1]);
  });

  test("a snapshot carries sparse membership and values", async () => {
    const runtime = await Runtime.create(sparseScene, { seed: 3 });
    try {
      runtime.run(20);
      const again = await Runtime.create(sparseScene, { seed: 3, snapshot: runtime.snapshot() });
      try {
        assert.equal(again.checksum(), runtime.checksum());
        again.run(10);
        runtime.run(10);
        assert.equal(again.checksum(), runtime.checksum(), "and runs on identically");
      } finally {
        await again.close();
      }
    } finally {
      await runtime.close();
    }
  });

  test("the checksum sees a sparse bit and a sparse value", () => {
    const a = world(), b = world();
    const entity = a.spawn(P);
    b.spawn(P);
    assert.equal(worldChecksum(a), worldChecksum(b));
    b.add(entity, Mark);
    assert.notEqual(worldChecksum(b), worldChecksum(a));
    a.add(entity, Mark);
    assert.equal(worldChecksum(a), worldChecksum(b));
    a.add(entity, Timer, { leftS: 1 });
    b.add(entity, Timer, { leftS: 2 });
    assert.notEqual(worldChecksum(b), worldChecksum(a));
  });
});

const SCENE_URL = new URL("./fixtures/sparse_scene.ts", import.meta.url).href;

describe("a scene whose sparse components churn every frame", () => {
  test("ends with one checksum on every backend", { timeout: 120_000 }, async () => {
    const backends: [string, () => Backend][] = [
      ["blocking", () => new BlockingBackend()],
      ["work-stealing, 1 worker", () => pool(1)],
      ["work-stealing, 3 workers", () => pool(3)],
      [
        "adaptive",
        () => new AdaptiveBackend({ sceneUrl: SCENE_URL, workers: 2, minParallelWork: 0 }),
      ],
    ];
    let reference: string | undefined;
    for (const [name, make] of backends) {
      const runtime = await Runtime.create(sparseScene, { backend: make(), seed: 11 });
      try {
        for (let t = 0; t < 60; t++) assert.deepEqual(runtime.tick().errors, [], `${name} ${t}`);
        const tally = runtime.world.resource(Tally);
        assert.ok(tally.stunned > 0, "stuns happen and are read back");
        assert.ok(runtime.world.query({ all: [Hot] }).count() > 0, "some entities are hot");
        assert.ok(runtime.world.query({ all: [Stun] }).count() >= 0);
        reference ??= runtime.checksum();
        assert.equal(runtime.checksum(), reference, name);
      } finally {
        await runtime.close();
      }
    }
  });
});

function pool(workers: number): Backend {
  return new WorkStealingBackend({ sceneUrl: SCENE_URL, workers, minParallelWork: 0 });
}
