/**
 * Commands applied by the block (core/_apply_commands.ts, core/_row_moves.ts)
 * against the same commands applied one at a time through the world's own
 * operations: over random worlds and command lists rich in runs (adds,
 * removes and despawns over consecutive rows; spawns into one archetype with
 * values), both worlds must be equal byte for byte: rows, their order,
 * handles, generations and the free list (their snapshots).
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Chunk,
  type Component,
  defineComponent,
  defineTag,
  Random,
  snapshotWorld,
  World,
} from "../mod.ts";
import { CommandBuffer } from "../core/commands.ts";
import { applyCommands, type CommandError } from "../core/_apply_commands.ts";
import {
  addNow,
  archetypeList,
  despawnNow,
  entityTable,
  indexOfComponent,
  removeNow,
  root,
  spawnIn,
  withComponent,
} from "../core/_world_internal.ts";

const A = defineComponent("A", { a: "f32", n: "u8" });
const B = defineComponent("B", { b: "i32" });
const C = defineComponent("C", { c: "entity" });
const T = defineTag("T");
const Mark = defineTag("Mark", { storage: "sparse" });
const COMPONENTS: readonly Component[] = [A, B, C, T, Mark];
const CONFIG = { chunkRows: 16, maxEntities: 4_000, maxCommandsPerFrame: 1 << 16 };

/** One command, as a test writes it; `entity` is a live handle or a pending one (negative). */
type Op =
  | { kind: "add"; entity: number; component: Component }
  | { kind: "remove"; entity: number; component: Component }
  | { kind: "despawn"; entity: number }
  | { kind: "spawn"; components: Component[]; b: number; link: number }
  | { kind: "addEach"; chunk: Chunk; component: Component; entities: number[] }
  | { kind: "removeEach"; chunk: Chunk; component: Component; entities: number[] }
  | { kind: "despawnEach"; chunk: Chunk; entities: number[] }
  | { kind: "spawnEach"; components: Component[]; values: number[]; mark: number };

/** The chunk an entity's row is in. */
function chunkOf(world: World, entity: number): Chunk {
  const index = world[entityTable].indexOf(entity);
  const archetype = world[archetypeList][world[entityTable].archetype[index]];
  return archetype.chunkOf(world[entityTable].row[index]);
}

function nameOf(component: Component): string {
  return [["A", A], ["B", B], ["C", C], ["T", T], ["Mark", Mark]].find(([, c]) =>
    c === component
  )![0] as string;
}

/** A world with `count` entities over a few archetypes, the same for the same seed. */
function populated(seed: number, count: number): World {
  const world = new World({ components: COMPONENTS, config: CONFIG });
  const random = new Random(seed);
  for (let i = 0; i < count; i++) {
    const shape = random.int(4);
    if (shape === 0) world.spawn([A, { a: i, n: i & 7 }]);
    else if (shape === 1) world.spawn([A, { a: -i }], [B, { b: i * 3 }]);
    else if (shape === 2) world.spawn([A, { a: i / 2 }], T, Mark);
    else world.spawn([B, { b: i }], [C, { c: 0 }]);
  }
  return world;
}

/** Live handles in archetype then row order: consecutive rows come out as runs. */
function handlesByRow(world: World): number[] {
  const handles: number[] = [];
  for (const archetype of world[archetypeList]) {
    for (const chunk of archetype.chunks) {
      for (let i = 0; i < chunk.count; i++) handles.push(chunk.entities[i]);
    }
  }
  return handles;
}

/** A random command list: runs of one op over consecutive rows, stray ops, spawn runs. */
function randomOps(world: World, random: Random): Op[] {
  const handles = handlesByRow(world);
  const ops: Op[] = [];
  for (let runs = 0; runs < 12; runs++) {
    const start = random.int(handles.length);
    const length = 1 + random.int(40);
    const pick = random.int(6);
    if (pick === 5) {
      const chunk = chunkOf(world, handles[start]);
      const entities = [...chunk.entities.subarray(0, chunk.count)];
      const component = [A, B, C, T, Mark][random.int(5)];
      const each = random.int(3);
      if (each === 2) ops.push({ kind: "despawnEach", chunk, entities });
      else if (each === 0) ops.push({ kind: "addEach", chunk, component, entities });
      else ops.push({ kind: "removeEach", chunk, component, entities });
      continue;
    }
    if (pick === 4 && random.int(2) === 0) {
      const components = [[A, B], [B, C], [A, Mark], [B, C, Mark]][random.int(4)];
      const values = Array.from({ length }, () => random.int(1000) - 500);
      ops.push({ kind: "spawnEach", components, values, mark: random.int(length) });
      continue;
    }
    if (pick === 4) {
      const components = random.int(2) === 0 ? [A, B] : [B, C];
      for (let i = 0; i < length; i++) {
        ops.push({ kind: "spawn", components, b: random.int(1000), link: random.int(3) });
      }
      continue;
    }
    const component = [A, B, C, T, Mark][random.int(5)];
    for (let i = start; i < Math.min(handles.length, start + length); i++) {
      if (pick === 3) ops.push({ kind: "despawn", entity: handles[i] });
      else if (pick === 0) ops.push({ kind: "remove", entity: handles[i], component });
      else ops.push({ kind: "add", entity: handles[i], component });
    }
  }
  return ops;
}

/** Applies `ops` as one system's command records, the way the runtime does after a stage. */
function applyAsCommands(world: World, ops: readonly Op[]): string[] {
  const buffer = new CommandBuffer(world);
  buffer.beginFrame();
  buffer.beginSegment(0);
  let pending = 0;
  for (const op of ops) {
    if (op.kind === "spawnEach") {
      const batch = buffer.spawnEach(op.values.length, op.components);
      // B through the column-wide call, from an offset into a longer array; the rest one by one.
      if (op.components.includes(B)) batch.setColumn(B.b, [7, ...op.values], 1);
      op.values.forEach((v, i) => {
        // Entity field values: the batch's own handles, pending.
        if (op.components.includes(C)) batch.set(i, C.c, batch.entity(op.values.length - 1 - i));
        if (op.components.includes(A)) batch.set(i, A.a, v / 4);
      });
      buffer.add(batch.entity(op.mark), T);
      pending += op.values.length;
      continue;
    }
    if (op.kind === "despawn") buffer.despawn(op.entity);
    else if (op.kind === "despawnEach") buffer.despawnEach(op.chunk);
    else if (op.kind === "addEach") buffer.addEach(op.chunk, op.component);
    else if (op.kind === "removeEach") buffer.removeEach(op.chunk, op.component);
    else if (op.kind !== "spawn") {
      if (op.kind === "add") buffer.add(op.entity, op.component);
      else buffer.remove(op.entity, op.component);
    } else {
      const entity = buffer.spawn();
      pending++;
      for (const component of op.components) buffer.add(entity, component);
      if (op.components.includes(B)) buffer.setField(entity, B.b, op.b);
      // An entity field naming this spawn or an earlier one of this list.
      if (op.components.includes(C)) buffer.setField(entity, C.c, -Math.max(1, pending - op.link));
    }
  }
  buffer.publish();
  const errors: CommandError[] = [];
  applyCommands(world, buffer, ["ops"], errors);
  return errors.map((e) => String((e.error as Error).message));
}

/** The same ops one at a time, through the world's operations, in record order. */
function applyOneByOne(world: World, ops: readonly Op[]): string[] {
  const errors: string[] = [];
  const spawned: number[] = [];
  for (const op of ops) {
    if (op.kind === "spawnEach") {
      const batch: number[] = [];
      let archetype = world[root];
      for (const c of op.components) {
        if (c !== Mark) archetype = world[withComponent](archetype, world[indexOfComponent](c));
      }
      for (const _ of op.values) batch.push(world[spawnIn](archetype));
      for (const entity of batch) {
        if (op.components.includes(Mark)) world[addNow](entity, world[indexOfComponent](Mark));
      }
      spawned.push(...batch);
      op.values.forEach((v, i) => {
        if (op.components.includes(B)) world.setField(batch[i], B.b, v);
        if (op.components.includes(C)) {
          world.setField(batch[i], C.c, batch[op.values.length - 1 - i]);
        }
        if (op.components.includes(A)) world.setField(batch[i], A.a, v / 4);
      });
      world[addNow](batch[op.mark], world[indexOfComponent](T));
      continue;
    }
    if (op.kind === "addEach" || op.kind === "removeEach" || op.kind === "despawnEach") {
      // One error for the list, as the bulk record gives, after doing what it can.
      let stale = 0;
      for (const entity of op.entities) {
        if (!world.isAlive(entity)) stale++;
        else if (op.kind === "despawnEach") world[despawnNow](entity);
        else if (op.kind === "addEach") {
          world[addNow](entity, world[indexOfComponent](op.component));
        } else world[removeNow](entity, world[indexOfComponent](op.component));
      }
      if (stale > 0) {
        const name = op.kind === "despawnEach"
          ? "despawnEach"
          : `${op.kind} ${nameOf(op.component)}`;
        errors.push(
          `${name}: ${stale} of ${op.entities.length} entities were no longer alive (despawned ` +
            `earlier in this stage) and were skipped`,
        );
      }
      continue;
    }
    try {
      if (op.kind === "despawn") world[despawnNow](op.entity);
      else if (op.kind !== "spawn") {
        const index = world[indexOfComponent](op.component);
        if (op.kind === "add") world[addNow](op.entity, index);
        else world[removeNow](op.entity, index);
      } else {
        let archetype = world[root];
        for (const c of op.components) {
          archetype = world[withComponent](archetype, world[indexOfComponent](c));
        }
        const entity = world[spawnIn](archetype);
        spawned.push(entity);
        if (op.components.includes(B)) world.setField(entity, B.b, op.b);
        if (op.components.includes(C)) {
          world.setField(entity, C.c, spawned[Math.max(0, spawned.length - 1 - op.link)]);
        }
      }
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return errors;
}

describe("commands applied by the block", () => {
  test("equal the same commands applied one at a time, byte for byte", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const blocks = populated(seed, 300 + seed * 7);
      const single = populated(seed, 300 + seed * 7);
      const random = new Random(seed * 7919);
      for (let round = 0; round < 4; round++) {
        const ops = randomOps(blocks, random);
        const blockErrors = applyAsCommands(blocks, ops);
        const singleErrors = applyOneByOne(single, ops);
        assert.deepEqual(blockErrors, singleErrors, `seed ${seed} round ${round}: errors`);
        assert.deepEqual(
          snapshotWorld(blocks, 0),
          snapshotWorld(single, 0),
          `seed ${seed} round ${round}: worlds differ`,
        );
      }
    }
  });
});

describe("spawnEach", () => {
  test("past maxEntities: spawns what fits, one bound error, commands on the rest skipped", () => {
    const w = new World({ components: COMPONENTS, config: { ...CONFIG, maxEntities: 10 } });
    for (let i = 0; i < 7; i++) w.spawn(A);
    const buffer = new CommandBuffer(w);
    buffer.beginFrame();
    buffer.beginSegment(0);
    const batch = buffer.spawnEach(5, [A, B]);
    for (let i = 0; i < 5; i++) batch.set(i, B.b, 100 + i);
    for (let i = 0; i < 5; i++) buffer.add(batch.entity(i), T);
    buffer.publish();
    const errors: CommandError[] = [];
    applyCommands(w, buffer, ["grow"], errors);
    assert.equal(w.entityCount, 10);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0].error as Error).message), /spawnEach: 2 of 5 spawns failed/);
    assert.equal(errors[0].skippedCommands, 2, "the adds on the two that failed");
    assert.equal(w.query({ all: [A, B, T] }).count(), 3);
  });

  test("a field outside the batch's components, or an entity outside it, is a UsageError", () => {
    const w = new World({ components: COMPONENTS, config: CONFIG });
    const buffer = new CommandBuffer(w);
    buffer.beginFrame();
    buffer.beginSegment(0);
    const batch = buffer.spawnEach(3, B);
    assert.throws(() => batch.set(0, A.a, 1), /A\.a is not a field of the batch's components/);
    assert.throws(() => batch.set(3, B.b, 1), /entity 3 is outside 0 to 2/);
    assert.throws(() => batch.entity(-1), /entity -1 is outside 0 to 2/);
    assert.throws(() => buffer.spawnEach(0, B), /count must be a positive integer; got 0/);
  });
});
