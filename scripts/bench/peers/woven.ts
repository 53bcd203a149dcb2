/**
 * Woven-ECS in the ECS benchmark, as its docs show: components from
 * `defineComponent` with typed fields, queries from `defineQuery`, systems
 * from `defineSystem` reading with `.read(ctx, eid)` and writing with
 * `.write(ctx, eid)`, and a frame of `world.sync()` then
 * `await world.execute(...)`.
 *
 * A system's queries see the world as it was when `execute` was called, so
 * the structural cases run their second system in a second `execute` of the
 * same frame, as StaticECS applies commands between stages.
 *
 * @module
 */

import {
  addComponent,
  type Context,
  createEntity,
  defineComponent,
  defineQuery,
  defineSystem,
  field,
  type QueryDef,
  removeComponent,
  removeEntity,
  World,
} from "@woven-ecs/core";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

function valueComponent() {
  return defineComponent({ value: field.int32() });
}

type Value = ReturnType<typeof valueComponent>;
type MainSystem = ReturnType<typeof defineSystem>;

/** One frame: sync, then each group of systems in its own `execute`. */
function frame(world: World, groups: readonly (readonly MainSystem[])[]): () => Promise<void> {
  return async () => {
    world.sync();
    for (const group of groups) await world.execute(...group);
  };
}

function instance(
  world: World,
  groups: readonly (readonly MainSystem[])[],
  probe: (ctx: Context) => number,
): CaseInstance {
  return {
    op: frame(world, groups),
    probe: () => {
      let seen = Number.NaN;
      world.execute((ctx: Context) => seen = probe(ctx));
      return seen;
    },
    close: () => world.dispose(),
  };
}

function doubler(component: Value): MainSystem {
  const query = defineQuery((q) => q.with(component));
  return defineSystem((ctx) => {
    for (const eid of query.current(ctx)) component.write(ctx, eid).value *= 2;
  });
}

function spawn(ctx: Context, components: readonly Value[], value: number): number {
  const eid = createEntity(ctx);
  for (const c of components) addComponent(ctx, eid, c, { value });
  return eid;
}

function packed5(): CaseInstance {
  const components = [
    valueComponent(),
    valueComponent(),
    valueComponent(),
    valueComponent(),
    valueComponent(),
  ];
  const world = new World(components, { maxEntities: 2_000 });
  let first = 0;
  world.execute((ctx: Context) => {
    first = spawn(ctx, components, 1);
    for (let i = 1; i < CASE_COUNTS.packed_5; i++) spawn(ctx, components, 1);
  });
  const systems = components.map(doubler);
  return instance(world, [systems], (ctx) => components[0].read(ctx, first).value);
}

function swapper(a: Value, b: Value): MainSystem {
  const query = defineQuery((q) => q.with(a, b));
  return defineSystem((ctx) => {
    for (const eid of query.current(ctx)) {
      const x = a.write(ctx, eid);
      const y = b.write(ctx, eid);
      const t = x.value;
      x.value = y.value;
      y.value = t;
    }
  });
}

function simpleIter(): CaseInstance {
  const [A, B, C, D, E] = [
    valueComponent(),
    valueComponent(),
    valueComponent(),
    valueComponent(),
    valueComponent(),
  ];
  const world = new World([A, B, C, D, E], { maxEntities: 5_000 });
  let first = -1;
  world.execute((ctx: Context) => {
    for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
      for (const extra of [[], [C], [C, D], [C, E]]) {
        const eid = spawn(ctx, [A], 0);
        addComponent(ctx, eid, B, { value: 1 });
        extra.forEach((c, k) => addComponent(ctx, eid, c, { value: 2 + k }));
        if (first < 0) first = eid;
      }
    }
  });
  const systems = [swapper(A, B), swapper(C, D), swapper(C, E)];
  return instance(world, [systems], (ctx) => A.read(ctx, first).value);
}

function fragIter(): CaseInstance {
  const letters = FRAG_NAMES.map(valueComponent);
  const Data = valueComponent();
  const world = new World([...letters, Data], { maxEntities: 3_000 });
  let first = -1;
  world.execute((ctx: Context) => {
    for (const letter of letters) {
      for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
        const eid = spawn(ctx, [letter, Data], 1);
        if (first < 0) first = eid;
      }
    }
  });
  const systems = [doubler(Data), doubler(letters[25])];
  return instance(world, [systems], (ctx) => Data.read(ctx, first).value);
}

function countAB(ctx: Context, withA: QueryDef, withB: QueryDef): number {
  return withA.current(ctx).length + withB.current(ctx).length;
}

function entityCycle(): CaseInstance {
  const A = valueComponent();
  const B = valueComponent();
  const world = new World([A, B], { maxEntities: 10_000 });
  world.execute((ctx: Context) => {
    for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) spawn(ctx, [A], i);
  });
  const withA = defineQuery((q) => q.with(A));
  const withB = defineQuery((q) => q.with(B));
  const spawnB = defineSystem((ctx) => {
    for (const eid of withA.current(ctx)) spawn(ctx, [B], A.read(ctx, eid).value);
  });
  const killB = defineSystem((ctx) => {
    for (const eid of withB.current(ctx)) removeEntity(ctx, eid);
  });
  return instance(world, [[spawnB], [killB]], (ctx) => countAB(ctx, withA, withB));
}

function addRemove(): CaseInstance {
  const A = valueComponent();
  const B = valueComponent();
  const world = new World([A, B], { maxEntities: 2_000 });
  world.execute((ctx: Context) => {
    for (let i = 0; i < CASE_COUNTS.add_remove; i++) spawn(ctx, [A], 0);
  });
  const withA = defineQuery((q) => q.with(A));
  const withB = defineQuery((q) => q.with(B));
  const addB = defineSystem((ctx) => {
    for (const eid of withA.current(ctx)) addComponent(ctx, eid, B);
  });
  const removeB = defineSystem((ctx) => {
    for (const eid of withB.current(ctx)) removeComponent(ctx, eid, B);
  });
  return instance(world, [[addB], [removeB]], (ctx) => countAB(ctx, withA, withB));
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** Woven-ECS, the SharedArrayBuffer peer. */
export const subject: EcsSubject = {
  name: "woven",
  version: pkg.devDependencies["@woven-ecs/core"],
  setup: (name) => SETUPS[name](),
};
