/**
 * Tests of core/snapshot.ts: a world with several archetypes, every field type, entity
 * references, tags, array resources, pending events and a shuffled free list restores exactly
 * and runs on identically; damaged or foreign snapshots are rejected with the reason.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineComponent,
  defineEvent,
  defineResource,
  defineScene,
  defineSystem,
  defineTag,
  type Field,
  restoreWorld,
  Runtime,
  type Scene,
  SceneError,
  snapshotWorld,
  Time,
  World,
} from "../mod.ts";
import {
  archetypeList,
  entityTable,
  eventQueue,
  eventQueues,
  readerCursors,
} from "../core/_world_internal.ts";

const Pos = defineComponent("Pos", { x: "f32", y: "f32" });
const Hp = defineComponent("Hp", { hp: "i32" });
const Ref = defineComponent("Ref", { target: "entity" });
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
const Tag = defineTag("Tag");
const Grid = defineResource("Grid", { cells: ["u16", 32], total: "f64", flag: "bool" });
const Ping = defineEvent("Ping", { n: "u32", who: "entity" }, { capacity: 64 });
const COMPONENTS = [Pos, Hp, Ref, Every, Tag];

const mover = defineSystem({
  name: "mover",
  query: { all: [Pos] },
  writes: [Pos],
  runChunk(chunk, ctx) {
    const x = chunk.write(Pos.x);
    const y = chunk.write(Pos.y);
    for (let i = 0; i < chunk.count; i++) {
      x[i] += ctx.random.range(-1, 1);
      y[i] = x[i] * 0.5;
    }
  },
});

const churn = defineSystem({
  name: "churn",
  query: { all: [Hp] },
  writes: [Hp, Ref, Tag],
  runChunk(chunk, ctx) {
    const hp = chunk.write(Hp.hp);
    for (let i = 0; i < chunk.count; i++) {
      const e = chunk.entities[i];
      const roll = ctx.random.int(12);
      if (roll === 0) ctx.commands.despawn(e);
      else if (roll === 1) {
        const child = ctx.commands.spawn();
        ctx.commands.add(child, Hp, { hp: hp[i] });
        ctx.commands.add(child, Ref, { target: e });
      } else if (roll === 2) ctx.commands.add(e, Tag);
      else if (roll === 3) ctx.commands.remove(e, Tag);
      else hp[i] -= roll;
    }
  },
});

const emitter = defineSystem({
  name: "emitter",
  query: { all: [Hp, Tag] },
  reads: [Hp, Tag],
  writes: [Ping],
  runChunk(chunk, ctx) {
    for (let i = 0; i < chunk.count && i < 5; i++) {
      ctx.emit(Ping, { n: ctx.tick * 100 + i, who: chunk.entities[i] });
    }
  },
});

const listener = defineSystem({
  name: "listener",
  phase: "pre_update",
  reads: [Ping],
  writes: [Grid],
  run(ctx) {
    const grid = ctx.resource(Grid);
    const view = ctx.read(Ping);
    for (let i = 0; i < view.count; i++) {
      const n = view.get(Ping.n, i);
      grid.total += n + view.get(Ping.who, i) / 1e6;
      grid.cells[n % 32] += 1;
      grid.flag = grid.flag ? 0 : 1;
    }
  },
});

function makeScene(config: Record<string, number> = {}): Scene {
  return defineScene({
    components: COMPONENTS,
    resources: [Grid],
    events: [Ping],
    systems: [mover, churn, emitter, listener],
    config: { chunkRows: 16, maxEntities: 2000, ...config },
    setup(world, { random }) {
      const spawned: number[] = [];
      for (let i = 0; i < 40; i++) spawned.push(world.spawn([Pos, { x: i, y: -i }]));
      for (let i = 0; i < 30; i++) {
        spawned.push(world.spawn([Pos, { x: i }], [Hp, { hp: 100 + i }]));
      }
      for (let i = 0; i < 20; i++) spawned.push(world.spawn([Hp, { hp: i }], Tag));
      for (let i = 0; i < 6; i++) {
        spawned.push(world.spawn([Every, {
          f32: 0.1 * i,
          f64: Math.PI * i,
          i8: -100 - i,
          i16: -30000 + i,
          i32: -(2 ** 31) + i,
          u8: 250 + i,
          u16: 65530 + i,
          u32: 2 ** 32 - 1 - i,
          bool: i % 2,
          entity: spawned[i],
        }], Tag));
      }
      for (let i = 0; i < 5; i++) spawned.push(world.spawn([Ref, { target: spawned[40 + i] }]));
      // A shuffled free list: despawn in random order.
      for (let i = 0; i < 15; i++) {
        const at = random.int(spawned.length);
        if (world.isAlive(spawned[at])) world.despawn(spawned[at]);
      }
      const grid = world.resource(Grid);
      for (let i = 0; i < 32; i++) grid.cells[i] = i * 1000;
      grid.total = 0.5;
      grid.flag = 1;
    },
  });
}

/** Every live handle of a world, in storage order. */
function liveHandles(world: World): number[] {
  const out: number[] = [];
  for (const archetype of world[archetypeList]) {
    for (const chunk of archetype.chunks) {
      for (let i = 0; i < chunk.count; i++) out.push(chunk.entities[i]);
    }
  }
  return out;
}

const NAMES = ["Pos", "Hp", "Ref", "Every", "Tag"];
const FIELDS = COMPONENTS.map((c) => Object.values(c) as Field[]);

function componentNames(world: World, entity: number): string[] {
  return NAMES.filter((_, i) => world.has(entity, COMPONENTS[i]));
}

function assertSameWorld(a: World, b: World, everSeen: Iterable<number>): void {
  assert.equal(b.entityCount, a.entityCount, "entity count");
  assert.deepEqual(
    b[archetypeList].map((x) => `${x.id}${x}:${x.count}`),
    a[archetypeList].map((x) => `${x.id}${x}:${x.count}`),
    "archetypes, their order and sizes",
  );
  const handles = liveHandles(a);
  assert.deepEqual(liveHandles(b), handles, "the same handles in the same rows");
  for (const e of handles) {
    assert.ok(b.isAlive(e), `entity ${e} alive`);
    assert.deepEqual(componentNames(b, e), componentNames(a, e), `components of ${e}`);
    for (const [i, component] of COMPONENTS.entries()) {
      if (!a.has(e, component)) continue;
      for (const field of FIELDS[i]) {
        assert.equal(b.get(e, field), a.get(e, field), `${field.owner.name}.${field.name} of ${e}`);
      }
    }
  }
  for (const e of everSeen) assert.equal(b.isAlive(e), a.isAlive(e), `liveness of ${e}`);
  const [ta, tb] = [a[entityTable], b[entityTable]];
  assert.equal(tb.nextFresh, ta.nextFresh);
  assert.equal(tb.alive, ta.alive);
  assert.equal(tb.retired, ta.retired);
  assert.equal(tb.freeCount, ta.freeCount);
  for (let i = 0; i < ta.freeCount; i++) {
    const ring = (t: typeof ta) => t.freeRing[(t.freeHead + i) % t.freeRing.length];
    assert.equal(ring(tb), ring(ta), `free list entry ${i}`);
  }
  for (let index = 1; index < ta.nextFresh; index++) {
    assert.equal(tb.generation[index], ta.generation[index], `generation of index ${index}`);
  }
  const [ga, gb] = [a.resource(Grid), b.resource(Grid)];
  assert.deepEqual([...gb.cells], [...ga.cells]);
  assert.equal(gb.total, ga.total);
  assert.equal(gb.flag, ga.flag);
  assert.deepEqual({ ...b.resource(Time) }, { ...a.resource(Time) });
  const queues = (w: World) =>
    [...w[eventQueues].values()].map((q) =>
      [q.previous, q.current].map((buffer) => ({
        baseSeq: buffer.baseSeq,
        count: buffer.count,
        columns: buffer.columns.map((c) => [...c.subarray(0, buffer.count)]),
      }))
    );
  assert.deepEqual(queues(b), queues(a), "event queues");
  assert.deepEqual([...b[readerCursors]], [...a[readerCursors]], "reader cursors");
}

describe("round trip", () => {
  test("every handle, value, resource, event and cursor survives; both run on identically", async () => {
    const scene = makeScene();
    const a = await Runtime.create(scene, { seed: 99 });
    const everSeen = new Set(liveHandles(a.world));
    for (let i = 0; i < 7; i++) {
      assert.deepEqual(a.tick().errors, []);
      for (const e of liveHandles(a.world)) everSeen.add(e);
    }
    // The snapshot must hold what makes it interesting.
    assert.ok(a.world[archetypeList].length >= 6, `${a.world[archetypeList].length} archetypes`);
    assert.ok(a.world[entityTable].freeCount >= 5, "a free list");
    const pings = a.world[eventQueue](Ping.n.owner);
    assert.ok(pings.current.count > 0, "events pending for the listener");
    assert.ok(a.world[readerCursors].size > 0);
    const refs = a.world.query({ all: [Ref] }).count();
    assert.ok(refs > 5, `${refs} entity references`);

    const bytes = a.snapshot();
    assert.ok(bytes instanceof Uint8Array);
    const b = await Runtime.create(scene, { seed: 99, snapshot: bytes });
    assert.equal(b.ticks, a.ticks);
    assertSameWorld(a.world, b.world, everSeen);
    assert.equal(b.checksum(), a.checksum());
    assert.deepEqual(b.snapshot(), bytes, "a snapshot of the restored world is the same bytes");

    for (let i = 0; i < 25; i++) {
      const [ra, rb] = [a.tick(), b.tick()];
      assert.deepEqual(ra.errors, []);
      assert.deepEqual(rb.errors, []);
      assert.equal(b.checksum(), a.checksum(), `checksum after ${i + 1} more frames`);
    }
    for (const e of liveHandles(a.world)) everSeen.add(e);
    assertSameWorld(a.world, b.world, everSeen);
    await a.close();
    await b.close();
  });

  test("setup does not run when restoring, and restoreWorld works on a bare world", async () => {
    const scene = makeScene();
    const source = await Runtime.create(scene);
    source.run(3);
    let setupRan = false;
    const restored = await Runtime.create(
      defineScene({ ...scene, setup: () => void (setupRan = true) }),
      { snapshot: source.snapshot() },
    );
    assert.equal(setupRan, false);
    assert.equal(restored.checksum(), source.checksum());

    const bare = new World(scene);
    const ticks = restoreWorld(bare, snapshotWorld(source.world, 42));
    assert.equal(ticks, 42);
    assertSameWorld(source.world, bare, liveHandles(source.world));
    await source.close();
    await restored.close();
  });

  test("an empty world round-trips", () => {
    const world = new World({ components: COMPONENTS, resources: [Grid], events: [Ping] });
    const copy = new World({ components: COMPONENTS, resources: [Grid], events: [Ping] });
    assert.equal(restoreWorld(copy, snapshotWorld(world, 0)), 0);
    assert.equal(copy.entityCount, 0);
    const e = copy.spawn(Hp);
    assert.equal(e, world.spawn(Hp), "the next handle is the same");
  });

  test("a world that had more entities restores as a new one would (nothing left past them)", () => {
    const small = new World({ components: COMPONENTS });
    const kept = [small.spawn(Hp), small.spawn(Pos), small.spawn(Hp)];
    small.despawn(kept[1]);
    const bytes = snapshotWorld(small, 0);
    const used = new World({ components: COMPONENTS });
    const gone: number[] = [];
    for (let i = 0; i < 500; i++) gone.push(used.spawn(i % 2 === 0 ? Hp : Pos));
    for (let i = 0; i < 500; i += 3) used.despawn(gone[i]);
    const fresh = new World({ components: COMPONENTS });
    restoreWorld(used, bytes);
    restoreWorld(fresh, bytes);
    for (const entity of gone) {
      if (!kept.includes(entity)) assert.equal(used.isAlive(entity), false, `${entity}`);
    }
    for (let i = 0; i < 600; i++) {
      assert.equal(used.spawn(Pos), fresh.spawn(Pos), `spawn ${i} after the restore`);
    }
  });

  test("new spawns after a restore reuse the free list in the same order", async () => {
    const scene = makeScene();
    const a = await Runtime.create(scene);
    a.run(2);
    const b = await Runtime.create(scene, { snapshot: a.snapshot() });
    for (let i = 0; i < 30; i++) assert.equal(b.world.spawn(Pos), a.world.spawn(Pos), `spawn ${i}`);
    await a.close();
    await b.close();
  });
});

describe("rejected snapshots", () => {
  async function snapshotBytes(): Promise<{ scene: Scene; bytes: Uint8Array }> {
    const scene = makeScene();
    const runtime = await Runtime.create(scene);
    runtime.run(2);
    const bytes = runtime.snapshot();
    await runtime.close();
    return { scene, bytes };
  }

  function rejects(scene: Scene, bytes: Uint8Array, reason: RegExp, label = ""): Promise<void> {
    return assert.rejects(Runtime.create(scene, { snapshot: bytes }), (error: unknown) => {
      assert.ok(error instanceof SceneError, `${label} ${error}`);
      assert.match(error.message, /^snapshot cannot be restored: /);
      assert.match(error.message, reason);
      return true;
    });
  }

  test("a truncated snapshot says where it ends", async () => {
    const { scene, bytes } = await snapshotBytes();
    for (const length of [0, 3, 12, 40, bytes.length >> 1, bytes.length - 1]) {
      await rejects(scene, bytes.slice(0, length), /it is truncated at byte \d+ of \d+/);
    }
  });

  test("wrong magic, wrong version, trailing bytes and impossible counts are named", async () => {
    const { scene, bytes } = await snapshotBytes();
    const magic = bytes.slice();
    magic[0] ^= 0xff;
    await rejects(scene, magic, /it does not start with the StaticECS magic/);
    const version = bytes.slice();
    new DataView(version.buffer).setUint32(4, 99, true);
    await rejects(scene, version, /version 99; this build reads 3/);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    await rejects(scene, longer, /it has bytes after its end/);
    // nextFresh, just after the bounds (magic, version, fingerprint, ticks f64, 2 bounds).
    const fresh = bytes.slice();
    new DataView(fresh.buffer).setUint32(28, 1 << 30, true);
    await rejects(scene, fresh, /next index 1073741824 is over 2001/);
    // The live count follows nextFresh and the retired count.
    const alive = bytes.slice();
    const aliveView = new DataView(alive.buffer);
    aliveView.setUint32(36, aliveView.getUint32(36, true) + 1, true);
    await rejects(scene, alive, /it counts \d+ live entities but stores \d+/);
  });

  test("a row whose entity handle disagrees with the entity table is rejected", async () => {
    const scene = defineScene({
      components: [Hp],
      systems: [],
      config: { maxEntities: 300 },
      setup(world) {
        world.despawn(world.spawn());
        world.spawn([Hp, { hp: 0x5eadbeef }]); // index 1, generation 1
        world.spawn(); // index 2, in the root archetype
      },
    });
    const runtime = await Runtime.create(scene);
    const e = liveHandles(runtime.world)[1]; // the root archetype comes first
    assert.equal(e, 512 + 1);
    const bytes = runtime.snapshot();
    // The chunk stores the handles, then the hp column: find hp, step back one word.
    const view = new DataView(bytes.buffer);
    let at = -1;
    for (let i = 0; i + 4 <= bytes.length; i += 4) {
      if (view.getUint32(i, true) === 0x5eadbeef) at = i - 4;
    }
    assert.equal(view.getUint32(at, true), e);
    const corrupt = (handle: number) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(at, handle, true);
      return copy;
    };
    const handle = (index: number, generation: number) => generation * 512 + index;
    assert.equal(
      (await Runtime.create(scene, { snapshot: corrupt(e) })).checksum(),
      runtime.checksum(),
    );
    await rejects(scene, corrupt(handle(1, 2)), /entity #\d+ in archetype \[Hp\]/, "future");
    await rejects(scene, corrupt(handle(1, 0)), /entity #\d+ in archetype \[Hp\]/, "stale");
    await rejects(scene, corrupt(handle(2, 0)), /entity #\d+ in archetype \[Hp\]/, "twice");
    await rejects(scene, corrupt(handle(7, 0)), /entity #\d+ in archetype \[Hp\]/, "unused");
    await rejects(scene, corrupt(handle(400, 0)), /entity #\d+ in archetype \[Hp\]/, "too big");
    await rejects(scene, corrupt(0), /entity #0 in archetype \[Hp\]/);
    await runtime.close();
  });

  test("a snapshot of another scene or other bounds is rejected", async () => {
    const { scene, bytes } = await snapshotBytes();
    const OtherHp = defineComponent("Hp", { hp: "f32" });
    const other = defineScene({
      ...scene,
      components: [Pos, OtherHp, Ref, Every, Tag],
      systems: [],
    });
    await rejects(other, bytes, /made from a scene with other components, resources or events/);
    const fewer = defineScene({ ...scene, components: [Pos, Hp, Ref, Every], systems: [] });
    await rejects(fewer, bytes, /other components/);
    const noEvents = defineScene({ ...scene, events: [], systems: [mover, churn] });
    await rejects(noEvents, bytes, /other components, resources or events/);
    await rejects(
      makeScene({ maxEntities: 3000 }),
      bytes,
      /maxEntities 2000 .* this world has 3000/,
    );
    await rejects(makeScene({ chunkRows: 32 }), bytes, /chunkRows 16/);
  });
});
