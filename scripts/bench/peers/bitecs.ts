/**
 * bitECS 0.4 in the ECS benchmark, as its README and docs/Intro.md show:
 * components are plain objects of typed arrays indexed by entity id, systems
 * are functions that call `query(world, [...])` and loop over the ids.
 *
 * bitECS defers removing destroyed entities and removed components from
 * query results until the next query, so a system may remove while it
 * iterates.
 *
 * @module
 */

import {
  addComponent,
  addEntity,
  createWorld,
  query,
  removeComponent,
  removeEntity,
  type World,
} from "bitecs";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  ENTITY_IDS_MAX,
  FRAG_NAMES,
} from "./_subject.ts";

type Value = { value: Int32Array };

function component(): Value {
  return { value: new Int32Array(ENTITY_IDS_MAX) };
}

function spawn(world: World, components: readonly Value[], value: number): number {
  const eid = addEntity(world);
  for (const c of components) {
    addComponent(world, eid, c);
    c.value[eid] = value;
  }
  return eid;
}

function packed5(): CaseInstance {
  const world = createWorld();
  const components = [component(), component(), component(), component(), component()];
  const first = spawn(world, components, 1);
  for (let i = 1; i < CASE_COUNTS.packed_5; i++) spawn(world, components, 1);
  const systems = components.map((c) => (world: World) => {
    const value = c.value;
    for (const eid of query(world, [c])) value[eid] *= 2;
  });
  return {
    op: () => {
      for (const system of systems) system(world);
    },
    probe: () => components[0].value[first],
  };
}

function swap(a: Value, b: Value): (world: World) => void {
  return (world) => {
    const x = a.value;
    const y = b.value;
    for (const eid of query(world, [a, b])) {
      const t = x[eid];
      x[eid] = y[eid];
      y[eid] = t;
    }
  };
}

function simpleIter(): CaseInstance {
  const world = createWorld();
  const [A, B, C, D, E] = [component(), component(), component(), component(), component()];
  let first = -1;
  for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
    for (const extra of [[], [C], [C, D], [C, E]]) {
      const eid = addEntity(world);
      addComponent(world, eid, A);
      addComponent(world, eid, B);
      A.value[eid] = 0;
      B.value[eid] = 1;
      extra.forEach((c, k) => {
        addComponent(world, eid, c);
        c.value[eid] = 2 + k;
      });
      if (first < 0) first = eid;
    }
  }
  const systems = [swap(A, B), swap(C, D), swap(C, E)];
  return {
    op: () => {
      for (const system of systems) system(world);
    },
    probe: () => A.value[first],
  };
}

function fragIter(): CaseInstance {
  const world = createWorld();
  const letters = FRAG_NAMES.map(component);
  const Data = component();
  let first = -1;
  for (const letter of letters) {
    for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
      const eid = spawn(world, [letter, Data], 1);
      if (first < 0) first = eid;
    }
  }
  const Z = letters[25];
  const doubleData = (world: World) => {
    for (const eid of query(world, [Data])) Data.value[eid] *= 2;
  };
  const doubleZ = (world: World) => {
    for (const eid of query(world, [Z])) Z.value[eid] *= 2;
  };
  return {
    op: () => {
      doubleData(world);
      doubleZ(world);
    },
    probe: () => Data.value[first],
  };
}

function entityCycle(): CaseInstance {
  const world = createWorld();
  const A = component();
  const B = component();
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) spawn(world, [A], i);
  const spawnB = (world: World) => {
    for (const eid of query(world, [A])) {
      const b = addEntity(world);
      addComponent(world, b, B);
      B.value[b] = A.value[eid];
    }
  };
  const killB = (world: World) => {
    for (const eid of query(world, [B])) removeEntity(world, eid);
  };
  return {
    op: () => {
      spawnB(world);
      killB(world);
    },
    probe: () => query(world, [A]).length + query(world, [B]).length,
  };
}

function addRemove(): CaseInstance {
  const world = createWorld();
  const A = component();
  const B = component();
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) spawn(world, [A], 0);
  const addB = (world: World) => {
    for (const eid of query(world, [A])) addComponent(world, eid, B);
  };
  const removeB = (world: World) => {
    for (const eid of query(world, [B])) removeComponent(world, eid, B);
  };
  return {
    op: () => {
      addB(world);
      removeB(world);
    },
    probe: () => query(world, [A]).length + query(world, [B]).length,
  };
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** bitECS, the reference data-oriented peer. */
export const subject: EcsSubject = {
  name: "bitecs",
  version: pkg.devDependencies.bitecs,
  setup: (name) => SETUPS[name](),
};
