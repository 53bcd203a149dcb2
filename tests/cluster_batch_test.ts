/**
 * Tests of cluster/batch.ts and the cluster pieces of core/scene.ts and core/runtime.ts: the
 * cluster key's validation, ClusterId, partitions, id assignment, collect (copy and move) and
 * insert, batches through msgpackr and back with every value kept per ClusterId, filtering and
 * merging, and malformed or foreign batches refused before anything is spawned.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { pack, unpack } from "msgpackr";
import {
  BoundError,
  ClusterId,
  defineComponent,
  defineScene,
  defineTag,
  Runtime,
  type Scene,
  SceneError,
  World,
} from "../mod.ts";
import {
  batchCount,
  BatchError,
  batchIds,
  checkBatch,
  emptyBatch,
  type EntityBatch,
  filterBatch,
  mergeBatches,
} from "../cluster/batch.ts";
import { PartitionMap, partitionOf } from "../cluster/partition_map.ts";
import { archetypeList, entityTable } from "../core/_world_internal.ts";

const Pos = defineComponent("Pos", { x: "f32", y: "f32", z: "f32" });
const Vel = defineComponent("Vel", { x: "f32", y: "f32", z: "f32" });
const Cell = defineComponent("Cell", { key: "i32" });
const Hp = defineComponent("Hp", { hp: "i16", alive: "bool" });
const Link = defineComponent("Link", { target: "entity", weight: "f64" });
const Frozen = defineTag("Frozen");
const PARTITIONS = 5;

/** Small chunks, so that copies cross chunk boundaries. */
const scene = defineScene({
  name: "cluster_batch_test",
  components: [Pos, Vel, Cell, Hp, Link, Frozen],
  systems: [],
  cluster: { key: Cell.key },
  config: { chunkRows: 16 },
  setup(world) {
    for (let i = 0; i < 10; i++) world.spawn([Cell, { key: i }]);
  },
});

/** A deterministic stream of numbers in [0, 1). */
function stream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Spawns `count` entities over several archetypes, keys negative and positive. */
function populate(world: World, count: number, seed = 1): void {
  const next = stream(seed);
  let previous = 0;
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    const key = Math.floor(next() * 40) - 20;
    const pos = [Pos, { x: next() * 100, y: -next(), z: i }] as const;
    let e: number;
    if (kind === 0) e = world.spawn(pos, [Cell, { key }]);
    else if (kind === 1) e = world.spawn(pos, [Vel, { x: 1, y: 2, z: next() }], [Cell, { key }]);
    else if (kind === 2) e = world.spawn([Cell, { key }], [Hp, { hp: -i, alive: 1 }], Frozen);
    else if (kind === 3) {
      e = world.spawn([Link, { target: previous, weight: next() }], [Cell, { key }]);
    } else e = world.spawn(pos); // no key component: partition 0
    previous = e;
  }
}

/** Every entity's components and values by ClusterId, as text to compare. */
function valuesById(world: World, nullEntities = false): Map<number, string> {
  const out = new Map<number, string>();
  for (const archetype of world[archetypeList]) {
    for (const chunk of archetype.chunks) {
      for (let row = 0; row < chunk.count; row++) {
        const e = chunk.entities[row];
        const parts = archetype.components.filter((o) => o.name !== "ClusterId").map((owner) => {
          const fields = owner.fields.map((f) => {
            const value = nullEntities && f.type === "entity" ? 0 : world.get(e, f);
            return `${f.name}=${value}`;
          });
          return `${owner.name}(${fields.join(",")})`;
        });
        out.set(world.get(e, ClusterId.id), parts.join(" "));
      }
    }
  }
  return out;
}

/** Every handle in every row is live and its table entry points back at that row. */
function assertConsistent(world: World): void {
  let rows = 0;
  for (const archetype of world[archetypeList]) {
    for (let row = 0; row < archetype.count; row++) {
      const e = archetype.chunkOf(row).entities[row & (archetype.chunkRows - 1)];
      assert.ok(world.isAlive(e), `row ${row} of ${archetype} holds a dead handle`);
      const index = world[entityTable].indexOf(e);
      assert.equal(world[entityTable].archetype[index], archetype.id);
      assert.equal(world[entityTable].row[index], row);
    }
    rows += archetype.count;
  }
  assert.equal(rows, world.entityCount);
}

function sum(values: Float64Array): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A populated world with ids 1..count, and its partition map. */
function clusteredWorld(count: number, seed = 1): { world: World; map: PartitionMap } {
  const world = new World(scene);
  populate(world, count, seed);
  const map = new PartitionMap(world, scene, PARTITIONS);
  let next = 1;
  map.assignIds(() => next++);
  return { world, map };
}

function wireRoundTrip(batch: EntityBatch): EntityBatch {
  return checkBatch(unpack(pack(batch)));
}

describe("defineScene cluster key", () => {
  test("refuses a key that is not an integer field, naming it and the allowed types", () => {
    assert.throws(
      () => defineScene({ components: [Pos], systems: [], cluster: { key: Pos.x } }),
      (error: Error) =>
        error instanceof SceneError && /Pos\.x/.test(error.message) &&
        /u8, u16, u32, i8, i16, i32/.test(error.message),
    );
    assert.throws(
      () => defineScene({ components: [Hp], systems: [], cluster: { key: Hp.alive } }),
      /Hp\.alive has type bool/,
    );
  });

  test("refuses a key of a component the scene does not have", () => {
    assert.throws(
      () => defineScene({ components: [Pos], systems: [], cluster: { key: Cell.key } }),
      (error: Error) =>
        error instanceof SceneError && /Cell\.key belongs to no/.test(error.message),
    );
  });

  test("refuses a key that is not a field", () => {
    const bad = { key: "Cell.key" } as unknown as { key: typeof Cell.key };
    assert.throws(
      () => defineScene({ components: [Cell], systems: [], cluster: bad }),
      /cluster\.key must be a component field/,
    );
  });

  test("appends ClusterId once, and only to a clustered scene", () => {
    assert.equal(scene.components.filter((c) => c === ClusterId).length, 1);
    assert.equal(scene.components.at(-1), ClusterId);
    const listed = defineScene({
      components: [ClusterId, Cell],
      systems: [],
      cluster: { key: Cell.key },
    });
    assert.deepEqual(listed.components, [ClusterId, Cell]);
    const plain = defineScene({ components: [Cell], systems: [] });
    assert.deepEqual(plain.components, [Cell]);
    const registry = globalThis as unknown as Record<symbol, unknown>;
    assert.equal(registry[Symbol.for("staticecs.ClusterId")], ClusterId);
  });
});

describe("partitions", () => {
  test("partitionOf wraps negative keys like positive ones", () => {
    assert.equal(partitionOf(5, 4), 1);
    assert.equal(partitionOf(-1, 4), 3);
    assert.equal(partitionOf(-4, 4), 0);
    assert.equal(partitionOf(-5, 4), 3);
    assert.equal(partitionOf(7, 1), 0);
    assert.equal(partitionOf(0xffffffff, 7), 0xffffffff % 7);
  });

  test("a scene without a cluster key has no partition map", () => {
    const plain = defineScene({ name: "plain", components: [Cell], systems: [] });
    assert.throws(
      () => new PartitionMap(new World(plain), plain as Scene, 4),
      /scene plain has no cluster key: add cluster: \{ key: Cell\.id \} to defineScene/,
    );
    assert.throws(() => new PartitionMap(new World(scene), scene, 0), /partitions must be/);
  });

  test("countByPartition counts keyless entities in partition 0", () => {
    const world = new World(scene);
    world.spawn([Cell, { key: -1 }]);
    world.spawn([Cell, { key: 6 }]);
    world.spawn([Pos, { x: 1 }]);
    const map = new PartitionMap(world, scene, 5);
    assert.deepEqual([...map.countByPartition()], [1, 1, 0, 0, 1]);
    const out = new Float64Array(5);
    assert.equal(map.countByPartition(out), out);
  });
});

describe("assignIds", () => {
  test("gives a fresh id to every entity without one, once", () => {
    const world = new World(scene);
    const kept = world.spawn([Cell, { key: 1 }], [ClusterId, { id: 500 }]);
    const zero = world.spawn([Cell, { key: 2 }], ClusterId);
    const none = world.spawn([Pos, { x: 3 }]);
    const bare = world.spawn();
    const map = new PartitionMap(world, scene, 4);
    let next = 1;
    assert.equal(map.assignIds(() => next++), 3);
    assert.equal(world.get(kept, ClusterId.id), 500);
    const ids = [zero, none, bare].map((e) => world.get(e, ClusterId.id));
    assert.deepEqual(ids.sort(), [1, 2, 3]);
    assert.equal(world.get(none, Pos.x), 3);
    assert.equal(map.assignIds(() => next++), 0);
    assertConsistent(world);
  });
});

describe("collect and insert", () => {
  test("collect without remove copies; with remove it moves, and counts are conserved", () => {
    const { world, map } = clusteredWorld(700);
    const before = map.countByPartition();
    const values = valuesById(world);
    const even = (p: number) => p % 2 === 0;
    const copies = map.collect(even, false);
    assert.deepEqual([...copies.keys()], [0, 2, 4]);
    assert.equal(world.entityCount, 700);
    for (const [p, batch] of copies) assert.equal(batchCount(batch), before[p]);

    const moved = map.collect(even, true);
    assertConsistent(world);
    const after = map.countByPartition();
    assert.deepEqual([...after], [...before].map((n, p) => even(p) ? 0 : n));
    for (const [id, text] of valuesById(world)) assert.equal(text, values.get(id));

    const other = new World(scene);
    const otherMap = new PartitionMap(other, scene, PARTITIONS);
    for (const batch of moved.values()) otherMap.insert(batch);
    assertConsistent(other);
    const received = otherMap.countByPartition();
    assert.deepEqual([...received], [...before].map((n, p) => even(p) ? n : 0));
    assert.equal(sum(after) + sum(received), sum(before));
  });

  test("a batch through msgpackr and checkBatch inserts identical values per id", () => {
    const { world, map } = clusteredWorld(400, 7);
    const expected = valuesById(world, true);
    const batches = map.collect(() => true, true);
    assert.equal(world.entityCount, 0);
    const other = new World(scene);
    const otherMap = new PartitionMap(other, scene, PARTITIONS);
    let inserted = 0;
    for (const batch of batches.values()) inserted += otherMap.insert(wireRoundTrip(batch));
    assert.equal(inserted, 400);
    assertConsistent(other);
    const got = valuesById(other);
    assert.equal(got.size, 400);
    for (const [id, text] of expected) assert.equal(got.get(id), text, `entity ${id}`);
    assert.ok([...got.values()].some((text) => text.includes("Frozen()")));
    assert.ok([...got.values()].some((text) => text.includes("Link(target=0")));
  });

  test("rows of interleaved partitions land in their own partition's group", () => {
    const world = new World(scene);
    // Spawned with their ids, so rows stay in spawn order: keys 0, 1, 0, 1, ...
    for (let i = 0; i < 40; i++) {
      world.spawn([Cell, { key: i % 2 }], [Hp, { hp: i }], [ClusterId, { id: i + 1 }]);
    }
    const map = new PartitionMap(world, scene, 2);
    const batches = map.collect(() => true, true);
    for (const [p, batch] of batches) {
      const other = new World(scene);
      new PartitionMap(other, scene, 2).insert(batch);
      const hps = other[archetypeList].flatMap((a) =>
        a.chunks.flatMap((c) => [...c.column(Hp.hp).subarray(0, c.count)])
      );
      assert.equal(hps.length, 20);
      assert.ok(hps.every((hp) => hp % 2 === p), `partition ${p} got hp ${hps}`);
    }
  });

  test("groups name their components in world order with ClusterId", () => {
    const world = new World(scene);
    world.spawn([Vel, { x: 1 }], [Pos, { x: 2 }]);
    const map = new PartitionMap(world, scene, 2);
    const batch = map.collect((p) => p === 0, false).get(0)!;
    assert.deepEqual(batch.groups[0].components, ["Pos", "Vel", "ClusterId"]);
    assert.equal(batch.groups[0].columns.length, 6);
    assert.deepEqual([...batchIds(batch)], [0]);
  });

  test("filterBatch keeps the entities whose id passes, and mergeBatches joins groups", () => {
    const { world, map } = clusteredWorld(300, 3);
    const expected = valuesById(world);
    const batches = [...map.collect(() => true, false).values()];
    const merged = mergeBatches(batches);
    assert.equal(batchCount(merged), 300);
    const lists = merged.groups.map((g) => g.components.join(","));
    assert.equal(new Set(lists).size, lists.length);
    const odd = filterBatch(merged, (id) => id % 2 === 1);
    assert.deepEqual(
      [...batchIds(odd)].sort((a, b) => a - b),
      [...Array(150)].map((_, i) => 2 * i + 1),
    );
    assert.equal(batchCount(merged), 300, "filterBatch leaves its input alone");
    assert.equal(batchCount(filterBatch(merged, () => false)), 0);
    assert.equal(filterBatch(merged, () => true).groups[0], merged.groups[0]);
    const other = new World(scene);
    new PartitionMap(other, scene, PARTITIONS).insert(wireRoundTrip(odd));
    const got = valuesById(other, true);
    assert.equal(got.size, 150);
    const nulled = valuesById(world, true);
    for (const [id, text] of got) {
      assert.equal(id % 2, 1);
      assert.equal(text, nulled.get(id));
      assert.ok(expected.has(id));
    }
    assert.equal(batchCount(mergeBatches([emptyBatch(), odd])), 150);
  });

  test("filterBatch reads ids at any byte offset, as msgpackr's Buffers give them", () => {
    const { map } = clusteredWorld(64, 1);
    const merged = mergeBatches([...map.collect(() => true, false).values()]);
    // Every group's bytes moved to an odd offset of one shared buffer, as in a decoded frame.
    const shifted: EntityBatch = {
      groups: merged.groups.map((group) => {
        const at = (bytes: Uint8Array) => {
          const backing = new Uint8Array(bytes.byteLength + 3);
          backing.set(bytes, 3);
          return Buffer.from(backing.buffer, 3, bytes.byteLength);
        };
        return { ...group, ids: at(group.ids), columns: group.columns.map(at) };
      }),
    };
    const even = filterBatch(shifted, (id) => id % 2 === 0);
    assert.equal(batchCount(even), 32);
    assert.ok([...batchIds(even)].every((id) => id % 2 === 0));
  });

  test("a larger transfer over default chunk sizes conserves every entity", () => {
    const big = defineScene({
      components: [Pos, Vel, Cell],
      systems: [],
      cluster: { key: Cell.key },
    });
    const world = new World(big);
    for (let i = 0; i < 20_000; i++) world.spawn([Pos, { x: i }], Vel, [Cell, { key: i * 7 }]);
    const map = new PartitionMap(world, big, 8);
    let next = 1;
    map.assignIds(() => next++);
    const expected = valuesById(world);
    const moved = map.collect((p) => p < 3, true);
    const other = new World(big);
    const otherMap = new PartitionMap(other, big, 8);
    for (const batch of moved.values()) otherMap.insert(wireRoundTrip(batch));
    assertConsistent(world);
    assertConsistent(other);
    assert.equal(world.entityCount + other.entityCount, 20_000);
    assert.deepEqual([...otherMap.countByPartition()].slice(3), [0, 0, 0, 0, 0]);
    const got = new Map([...valuesById(world), ...valuesById(other)]);
    assert.deepEqual(got, expected);
  });
});

describe("checkBatch and refused inserts", () => {
  const good = () => {
    const { map } = clusteredWorld(50);
    return mergeBatches([...map.collect(() => true, false).values()]);
  };

  test("refuses malformed batches, naming what is wrong", () => {
    const group = good().groups[0];
    const cases: [unknown, RegExp][] = [
      [null, /expected an object \{ groups/],
      [{ groups: 1 }, /expected an object \{ groups/],
      [{ groups: [7] }, /groups\[0\] must be an object/],
      [{ groups: [{ ...group, components: "Pos" }] }, /components must be distinct/],
      [{ groups: [{ ...group, components: ["Pos", "Pos"] }] }, /components must be distinct/],
      [{ groups: [{ ...group, count: -1 }] }, /count must be an integer/],
      [{ groups: [{ ...group, ids: new Float64Array(group.count) }] }, /ids must be a Uint8Array/],
      [{ groups: [{ ...group, ids: group.ids.subarray(8) }] }, /ids must be a Uint8Array of/],
      [{ groups: [{ ...group, columns: undefined }] }, /columns must be an array/],
      [{ groups: [{ ...group, columns: [[1, 2]] }] }, /columns\[0\] must be a Uint8Array/],
      [
        { groups: [{ ...group, columns: [group.columns[0].subarray(1)] }] },
        /columns\[0\] has \d+ bytes for count/,
      ],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => checkBatch(value),
        (e: Error) => e instanceof BatchError && message.test(e.message),
      );
    }
  });

  test("a group that does not fit the world is refused before anything is spawned", () => {
    const batch = good();
    const last = batch.groups.at(-1)!;
    const wrongSize = new Uint8Array(last.columns[0].byteLength * 2);
    const bad: EntityBatch = {
      groups: [...batch.groups.slice(0, -1), {
        ...last,
        columns: [wrongSize, ...last.columns.slice(1)],
      }],
    };
    const world = new World(scene);
    const archetypes = world[archetypeList].length;
    assert.throws(
      () => new PartitionMap(world, scene, PARTITIONS).insert(wireRoundTrip(bad)),
      (e: Error) =>
        e instanceof BatchError && /column 0 \(\w+\.\w+, \w+\) has \d+ bytes/.test(e.message),
    );
    assert.equal(world.entityCount, 0);
    assert.equal(world[archetypeList].length, archetypes);
  });

  test("a component this world does not have is refused by name", () => {
    const batch = good();
    const foreign: EntityBatch = {
      groups: [...batch.groups, {
        components: ["Nope", "ClusterId"],
        count: 0,
        ids: new Uint8Array(0),
        columns: [],
      }],
    };
    const world = new World(scene);
    assert.throws(
      () => new PartitionMap(world, scene, PARTITIONS).insert(foreign),
      (e: Error) => e instanceof BatchError && /names component Nope/.test(e.message),
    );
    assert.equal(world.entityCount, 0);
  });

  test("more entities than maxEntities leaves room for are refused whole", () => {
    const small = defineScene({
      components: [Cell],
      systems: [],
      cluster: { key: Cell.key },
      config: { maxEntities: 40 },
    });
    const source = new World(small);
    for (let i = 0; i < 30; i++) source.spawn([Cell, { key: i }]);
    const batch = mergeBatches([
      ...new PartitionMap(source, small, 2).collect(() => true, false).values(),
    ]);
    const world = new World(small);
    const map = new PartitionMap(world, small, 2);
    assert.equal(map.insert(batch), 30);
    assert.throws(() => map.insert(batch), BoundError);
    assert.equal(world.entityCount, 30);
    assertConsistent(world);
  });
});

describe("Runtime skipSetup", () => {
  test("skipSetup starts with an empty world; without it setup runs", async () => {
    const skipped = await Runtime.create(scene, { skipSetup: true });
    assert.equal(skipped.world.entityCount, 0);
    skipped.tick();
    await skipped.close();
    const normal = await Runtime.create(scene);
    assert.equal(normal.world.entityCount, 10);
    await normal.close();
  });
});

describe("sparse components in batches", () => {
  const Hot = defineTag("Hot", { storage: "sparse" });
  const Stun = defineComponent("Stun", { untilTick: "u32", by: "entity" }, { storage: "sparse" });
  const sparseScene = defineScene({
    name: "cluster_batch_sparse",
    components: [Pos, Cell, Hot, Stun],
    systems: [],
    cluster: { key: Cell.key },
    config: { chunkRows: 16 },
  });

  /** ClusterId -> [hot, stun until or -1] for every entity of `world`. */
  function sparseById(world: World): Map<number, [boolean, number]> {
    const out = new Map<number, [boolean, number]>();
    world.query({ all: [ClusterId] }).forEachChunk((chunk) => {
      for (let i = 0; i < chunk.count; i++) {
        const e = chunk.entities[i];
        const stun = world.has(e, Stun) ? world.get(e, Stun.untilTick) : -1;
        out.set(world.get(e, ClusterId.id), [world.has(e, Hot), stun]);
      }
    });
    return out;
  }

  test("travel with their entities, through msgpackr, and leave the sender", () => {
    const from = new World(sparseScene);
    for (let i = 0; i < 60; i++) {
      const e = from.spawn([Cell, { key: i % 3 }], [Pos, { x: i }]);
      if (i % 2 === 0) from.add(e, Hot);
      if (i % 5 === 0) from.add(e, Stun, { untilTick: 100 + i, by: e });
    }
    const map = new PartitionMap(from, sparseScene, 3);
    let next = 1;
    map.assignIds(() => next++);
    const before = sparseById(from);
    const batch = map.collect((p) => p === 1, true).get(1)!;
    assert.equal(from.query({ all: [Hot] }).count(), 20, "the moved ones left Hot");
    const to = new World(sparseScene);
    const inserted = new PartitionMap(to, sparseScene, 3).insert(unpack(pack(batch)));
    assert.equal(inserted, 20);
    for (const [id, value] of sparseById(to)) assert.deepEqual(value, before.get(id), `id ${id}`);
    to.query({ all: [Stun] }).forEachChunk((chunk) => {
      for (let i = 0; i < chunk.count; i++) {
        if (to.has(chunk.entities[i], Stun)) assert.equal(to.get(chunk.entities[i], Stun.by), 0);
      }
    });
  });

  test("a presence column of the wrong size is refused before anything is spawned", () => {
    const from = new World(sparseScene);
    from.spawn([Cell, { key: 1 }], Hot);
    const map = new PartitionMap(from, sparseScene, 3);
    map.assignIds(() => 7);
    const batch = map.collect(() => true, false).get(1)!;
    const group = batch.groups[0];
    const hot = group.components.indexOf("Hot");
    assert.ok(hot >= 0, "Hot is listed");
    const columns = [...group.columns];
    const presence = columns.findIndex((c) => c.byteLength === 1);
    columns[presence] = new Uint8Array(2); // a size a column may have, not a presence
    const to = new World(sparseScene);
    assert.throws(
      () => new PartitionMap(to, sparseScene, 3).insert({ groups: [{ ...group, columns }] }),
      (e: unknown) => e instanceof BatchError && /presence, u8\) has 2 bytes/.test(e.message),
    );
    assert.equal(to.entityCount, 0);
  });
});
