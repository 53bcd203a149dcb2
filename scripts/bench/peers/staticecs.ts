/**
 * StaticECS in the ECS benchmark, driven as a user writes it: components
 * from `defineComponent`, systems from `defineSystem` with a query and a
 * `runChunk` over `chunk.column` arrays, structural changes through
 * `ctx.commands`, a scene from `defineScene`, and one op =
 * `runtime.tick()` on the default (blocking) backend.
 *
 * Loops follow the project's style: nothing is allocated per entity, so a
 * value goes through `commands.setField` rather than a `{ value }` object.
 *
 * @module
 */

import {
  type Component,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  type QuerySpec,
  Runtime,
  type Scene,
  type System,
} from "staticecs";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

type Value = Component<{ value: "i32" }>;

function valueComponent(name: string): Value {
  return defineComponent(name, { value: "i32" });
}

/** A system doubling `component.value` of every entity that has it. */
function doubler(component: Value, name: string): System {
  return defineSystem({
    name,
    query: { all: [component] },
    writes: [component],
    runChunk(chunk) {
      const value = chunk.write(component.value);
      for (let i = 0; i < chunk.count; i++) value[i] *= 2;
    },
  });
}

/** A system swapping `a.value` and `b.value` of every entity with both. */
function swapper(a: Value, b: Value, name: string): System {
  return defineSystem({
    name,
    query: { all: [a, b] },
    writes: [a, b],
    runChunk(chunk) {
      const x = chunk.write(a.value);
      const y = chunk.write(b.value);
      for (let i = 0; i < chunk.count; i++) {
        const t = x[i];
        x[i] = y[i];
        y[i] = t;
      }
    },
  });
}

/**
 * The runtime as a program after throughput runs it: no clock reads per
 * frame or system (the peers time nothing either; the CLI keeps both on).
 */
const THROUGHPUT = { frameTiming: false, systemTimingEvery: 0 } as const;

async function start(scene: Scene, probe: (runtime: Runtime) => number): Promise<CaseInstance> {
  const runtime = await Runtime.create(scene, THROUGHPUT);
  return {
    op: () => runtime.tick(),
    probe: () => probe(runtime),
    close: () => runtime.close(),
  };
}

function packed5(): Promise<CaseInstance> {
  const components = ["A", "B", "C", "D", "E"].map(valueComponent);
  let first = 0;
  const scene = defineScene({
    components,
    systems: components.map((c, i) => doubler(c, `double_${"ABCDE"[i]}`)),
    setup(world) {
      const init = components.map((c) => [c, { value: 1 }] as const);
      first = world.spawn(...init);
      for (let i = 1; i < CASE_COUNTS.packed_5; i++) world.spawn(...init);
    },
  });
  return start(scene, (runtime) => runtime.world.get(first, components[0].value));
}

function simpleIter(): Promise<CaseInstance> {
  const [A, B, C, D, E] = ["A", "B", "C", "D", "E"].map(valueComponent);
  let first = 0;
  const scene = defineScene({
    components: [A, B, C, D, E],
    systems: [swapper(A, B, "swap_ab"), swapper(C, D, "swap_cd"), swapper(C, E, "swap_ce")],
    setup(world) {
      for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
        const ab = world.spawn([A, { value: 0 }], [B, { value: 1 }]);
        if (i === 0) first = ab;
        world.spawn([A, { value: 0 }], [B, { value: 1 }], [C, { value: 2 }]);
        world.spawn([A, { value: 0 }], [B, { value: 1 }], [C, { value: 2 }], [D, { value: 3 }]);
        world.spawn([A, { value: 0 }], [B, { value: 1 }], [C, { value: 2 }], [E, { value: 3 }]);
      }
    },
  });
  return start(scene, (runtime) => runtime.world.get(first, A.value));
}

function fragIter(): Promise<CaseInstance> {
  const letters = FRAG_NAMES.map(valueComponent);
  const Data = valueComponent("Data");
  let first = 0;
  const scene = defineScene({
    components: [...letters, Data],
    systems: [doubler(Data, "double_data"), doubler(letters[25], "double_z")],
    setup(world) {
      for (const letter of letters) {
        for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
          const entity = world.spawn([letter, { value: 1 }], [Data, { value: 1 }]);
          if (first === 0) first = entity;
        }
      }
    },
  });
  return start(scene, (runtime) => runtime.world.get(first, Data.value));
}

/** Entities with A plus entities with B, through the world's cached queries. */
function countAB(runtime: Runtime, withA: QuerySpec, withB: QuerySpec): number {
  return runtime.world.query(withA).count() + runtime.world.query(withB).count();
}

function entityCycle(): Promise<CaseInstance> {
  const A = valueComponent("A");
  const B = valueComponent("B");
  const withA = { all: [A] };
  const withB = { all: [B] };
  const spawnB = defineSystem({
    name: "spawn_b",
    query: withA,
    reads: [A],
    writes: [B],
    runChunk(chunk, ctx) {
      const a = chunk.read(A.value);
      ctx.commands.spawnEach(chunk.count, B).setColumn(B.value, a);
    },
  });
  const killB = defineSystem({
    name: "kill_b",
    query: withB,
    writes: [B],
    runChunk(chunk, ctx) {
      ctx.commands.despawnEach(chunk);
    },
  });
  const scene = defineScene({
    components: [A, B],
    systems: [spawnB, killB],
    setup(world) {
      for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) world.spawn([A, { value: i }]);
    },
  });
  return start(scene, (runtime) => countAB(runtime, withA, withB));
}

/**
 * add_remove: B with a value in archetype storage (the case as written), or,
 * with `sparse`, B as a sparse tag, which adding and removing flips a bit
 * for and moves no row; the systems then test rows with `chunk.matches`.
 */
function addRemove(sparse = false): Promise<CaseInstance> {
  const A = valueComponent("A");
  const B: Component = sparse ? defineTag("B", { storage: "sparse" }) : valueComponent("B");
  const withA = { all: [A] };
  const withB = { all: [B] };
  const addB = defineSystem({
    name: "add_b",
    query: { all: [A], none: [B] },
    writes: [B],
    runChunk(chunk, ctx) {
      ctx.commands.addEach(chunk, B);
    },
  });
  const removeB = defineSystem({
    name: "remove_b",
    query: withB,
    writes: [B],
    runChunk(chunk, ctx) {
      ctx.commands.removeEach(chunk, B);
    },
  });
  const scene = defineScene({
    components: [A, B],
    systems: [addB, removeB],
    setup(world) {
      for (let i = 0; i < CASE_COUNTS.add_remove; i++) world.spawn(A);
    },
  });
  return start(scene, (runtime) => countAB(runtime, withA, withB));
}

const SETUPS: Record<CaseName, () => Promise<CaseInstance>> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/**
 * StaticECS with B stored sparse, on add_remove only: the figure set
 * against goodluck, which keeps components as bits per entity.
 */
export const sparseSubject: EcsSubject = {
  name: "staticecs-sparse",
  version: pkg.version,
  setup: (name) =>
    name === "add_remove"
      ? addRemove(true)
      : Promise.reject(new Error("runs add_remove only (B as a sparse tag)")),
};

/** StaticECS, the subject of the benchmark. */
export const subject: EcsSubject = {
  name: "staticecs",
  version: pkg.version,
  setup: (name) => SETUPS[name](),
};

/**
 * The scale case's world config: room for 1M entities, in 16,384-row chunks
 * (62 chunks: still enough to split over workers). Measured on Bun 1.4,
 * 16,384 rows ran about 10-20% faster than 4,096 and 1,024 rows 30% slower;
 * on Deno 2.9 4,096 and 16,384 were within noise.
 */
export const SCALE_CONFIG = { maxEntities: 1_100_000, chunkRows: 16_384 } as const;

/** The scale case in StaticECS: a runtime and the first entity's x. */
export interface ScaleWorld {
  readonly runtime: Runtime;
  /** Position.x of the first entity. */
  firstX(): number;
}

/**
 * `count` entities with Position {x, y} and Velocity {x, y} (f32) and one
 * movement system, `x += vx * dt, y += vy * dt`. Entity i starts at
 * (i, -i) with velocity (init(i), -init(i)).
 */
export async function scaleWorld(count: number, init: (i: number) => number): Promise<ScaleWorld> {
  const Position = defineComponent("Position", { x: "f32", y: "f32" });
  const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });
  let first = 0;
  const move = defineSystem({
    name: "move",
    query: { all: [Position, Velocity] },
    reads: [Velocity],
    writes: [Position],
    runChunk(chunk, ctx) {
      const x = chunk.write(Position.x);
      const y = chunk.write(Position.y);
      const vx = chunk.read(Velocity.x);
      const vy = chunk.read(Velocity.y);
      const dt = ctx.dt;
      for (let i = 0; i < chunk.count; i++) {
        x[i] += vx[i] * dt;
        y[i] += vy[i] * dt;
      }
    },
  });
  const scene = defineScene({
    components: [Position, Velocity],
    systems: [move],
    config: SCALE_CONFIG,
    setup(world) {
      for (let i = 0; i < count; i++) {
        const v = init(i);
        const entity = world.spawn([Position, { x: i, y: -i }], [Velocity, { x: v, y: -v }]);
        if (i === 0) first = entity;
      }
    },
  });
  const runtime = await Runtime.create(scene, THROUGHPUT);
  return { runtime, firstX: () => runtime.world.get(first, Position.x) };
}
