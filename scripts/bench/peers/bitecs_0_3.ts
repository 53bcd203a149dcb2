/**
 * bitECS 0.3.34 in the ECS benchmark: the version of the standard
 * benchmark's published table, installed as the npm alias `bitecs-0.3`
 * beside 0.4. Written as that benchmark's adapter (noctjs/ecs-benchmark,
 * src/cases/bitecs) and 0.3's README write it: components from
 * `defineComponent({ value: Types.i32 })` are typed arrays indexed by entity
 * id, queries are made once with `defineQuery`, systems take and return the
 * world and are composed with `pipe`. Entities are made in that benchmark's
 * order, and each system is a function literal of its own, as there: on
 * Deno, five systems made by one factory ran packed_5 at 1/70 of the speed
 * (each store has its own hidden class, so the closures' shared type
 * feedback goes megamorphic).
 *
 * bitECS 0.3 keeps entity ids, and the ids free for reuse, in module-level
 * state shared by every world, sized 100,000 by default: plenty for every
 * case of a run. Removals from a query are applied the next time it is run,
 * so a system may remove while it iterates.
 *
 * @module
 */

// @ts-types="./_bitecs_0_3.d.ts"
import {
  addComponent,
  addEntity,
  type Component,
  createWorld,
  defineComponent,
  defineQuery,
  deleteWorld,
  type IWorld,
  pipe,
  removeComponent,
  removeEntity,
  type System,
  Types,
} from "bitecs-0.3";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

type Value = { value: Int32Array };

function component(): Value {
  return defineComponent({ value: Types.i32 });
}

/** The case's frame, its probe, and the world deleted on close. */
function instance(world: IWorld, systems: System[], probe: () => number): CaseInstance {
  const pipeline = pipe(...systems);
  return { op: () => pipeline(world), probe, close: () => deleteWorld(world) };
}

/**
 * `count` entities of each component set, one of each in turn as in the
 * standard benchmark; returns the first. Values are set by filling each
 * store, whose indexes are entity ids.
 */
function spawnInTurn(world: IWorld, sets: readonly Value[][], count: number): number {
  let first = -1;
  for (let i = 0; i < count; i++) {
    for (const set of sets) {
      const eid = addEntity(world);
      for (const c of set) addComponent(world, c, eid);
      if (first < 0) first = eid;
    }
  }
  return first;
}

function packed5(): CaseInstance {
  const world = createWorld();
  const [A, B, C, D, E] = [component(), component(), component(), component(), component()];
  const queryA = defineQuery([A]);
  const { value: valA } = A;
  const packedA: System = (world) => {
    const ents = queryA(world);
    for (let i = 0, n = ents.length; i < n; i++) valA[ents[i]] *= 2;
    return world;
  };
  const queryB = defineQuery([B]);
  const { value: valB } = B;
  const packedB: System = (world) => {
    const ents = queryB(world);
    for (let i = 0, n = ents.length; i < n; i++) valB[ents[i]] *= 2;
    return world;
  };
  const queryC = defineQuery([C]);
  const { value: valC } = C;
  const packedC: System = (world) => {
    const ents = queryC(world);
    for (let i = 0, n = ents.length; i < n; i++) valC[ents[i]] *= 2;
    return world;
  };
  const queryD = defineQuery([D]);
  const { value: valD } = D;
  const packedD: System = (world) => {
    const ents = queryD(world);
    for (let i = 0, n = ents.length; i < n; i++) valD[ents[i]] *= 2;
    return world;
  };
  const queryE = defineQuery([E]);
  const { value: valE } = E;
  const packedE: System = (world) => {
    const ents = queryE(world);
    for (let i = 0, n = ents.length; i < n; i++) valE[ents[i]] *= 2;
    return world;
  };
  const first = spawnInTurn(world, [[A, B, C, D, E]], CASE_COUNTS.packed_5);
  for (const c of [A, B, C, D, E]) c.value.fill(1);
  return instance(world, [packedA, packedB, packedC, packedD, packedE], () => A.value[first]);
}

function simpleIter(): CaseInstance {
  const world = createWorld();
  const [A, B, C, D, E] = [component(), component(), component(), component(), component()];
  const queryAB = defineQuery([A, B]);
  const systemAB: System = (world) => {
    const ents = queryAB(world);
    for (let i = 0; i < ents.length; i++) {
      const eid = ents[i];
      const x = A.value[eid];
      A.value[eid] = B.value[eid];
      B.value[eid] = x;
    }
    return world;
  };
  const queryCD = defineQuery([C, D]);
  const systemCD: System = (world) => {
    const ents = queryCD(world);
    for (let i = 0; i < ents.length; i++) {
      const eid = ents[i];
      const x = C.value[eid];
      C.value[eid] = D.value[eid];
      D.value[eid] = x;
    }
    return world;
  };
  const queryCE = defineQuery([C, E]);
  const systemCE: System = (world) => {
    const ents = queryCE(world);
    for (let i = 0; i < ents.length; i++) {
      const eid = ents[i];
      const x = C.value[eid];
      C.value[eid] = E.value[eid];
      E.value[eid] = x;
    }
    return world;
  };
  const sets = [[A, B], [A, B, C], [A, B, C, D], [A, B, C, E]];
  const first = spawnInTurn(world, sets, CASE_COUNTS.simple_iter);
  for (const [c, value] of [[A, 0], [B, 1], [C, 2], [D, 3], [E, 3]] as const) c.value.fill(value);
  return instance(world, [systemAB, systemCD, systemCE], () => A.value[first]);
}

function fragIter(): CaseInstance {
  const world = createWorld();
  const letters = FRAG_NAMES.map(component);
  const Z = letters[25];
  const Data = component();
  const dataQuery = defineQuery([Data]);
  const dataSystem: System = (world) => {
    const ents = dataQuery(world);
    for (let i = 0; i < ents.length; i++) Data.value[ents[i]] *= 2;
    return world;
  };
  const zQuery = defineQuery([Z]);
  const zSystem: System = (world) => {
    const ents = zQuery(world);
    for (let i = 0; i < ents.length; i++) Z.value[ents[i]] *= 2;
    return world;
  };
  const sets = letters.map((letter) => [Data, letter]);
  const first = spawnInTurn(world, sets, CASE_COUNTS.frag_iter);
  for (const c of [Data, ...letters]) c.value.fill(1);
  return instance(world, [dataSystem, zSystem], () => Data.value[first]);
}

/** Entities with `a` plus entities with `b`. */
function counter(world: IWorld, a: Component, b: Component): () => number {
  const withA = defineQuery([a]);
  const withB = defineQuery([b]);
  return () => withA(world).length + withB(world).length;
}

function entityCycle(): CaseInstance {
  const world = createWorld();
  const A = component();
  const B = component();
  const queryA = defineQuery([A]);
  const spawnB: System = (world) => {
    const ents = queryA(world);
    for (let i = 0; i < ents.length; i++) {
      const eid = addEntity(world);
      addComponent(world, B, eid);
      B.value[eid] = A.value[ents[i]];
    }
    return world;
  };
  const queryB = defineQuery([B]);
  const killB: System = (world) => {
    const ents = queryB(world);
    for (let i = 0; i < ents.length; i++) removeEntity(world, ents[i]);
    return world;
  };
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) {
    const eid = addEntity(world);
    addComponent(world, A, eid);
    A.value[eid] = i;
  }
  return instance(world, [spawnB, killB], counter(world, A, B));
}

function addRemove(): CaseInstance {
  const world = createWorld();
  const A = defineComponent();
  const B = defineComponent();
  const queryA = defineQuery([A]);
  const addB: System = (world) => {
    const ents = queryA(world);
    for (let i = 0; i < ents.length; i++) addComponent(world, B, ents[i]);
    return world;
  };
  const queryB = defineQuery([B]);
  const removeB: System = (world) => {
    const ents = queryB(world);
    for (let i = 0; i < ents.length; i++) removeComponent(world, B, ents[i]);
    return world;
  };
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) addComponent(world, A, addEntity(world));
  return instance(world, [addB, removeB], counter(world, A, B));
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** bitECS 0.3.34, the version of the standard benchmark's table. */
export const subject: EcsSubject = {
  name: "bitecs-0.3",
  version: pkg.devDependencies["bitecs-0.3"].replace(/^npm:bitecs@/, ""),
  setup: (name) => SETUPS[name](),
};
