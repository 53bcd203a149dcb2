/**
 * Koota in the ECS benchmark, as its README shows: traits with a schema are
 * stored struct-of-arrays; iteration uses queries made once with
 * `createQuery` and `useStores`, the README's way "for performance-critical
 * operations" (a loop over the stores, indexed by `entity.id()`); structural
 * changes use `world.spawn`, `entity.add`, `entity.remove` and
 * `entity.destroy`. A query result is a copy, so it may be changed while
 * iterated.
 *
 * Koota adds methods to `Number.prototype` when it loads.
 *
 * @module
 */

import { createQuery, createWorld, type Entity, trait, type World } from "koota";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

type Value = ReturnType<typeof valueTrait>;

function valueTrait() {
  return trait({ value: 0 });
}

/** Koota keeps a world per id in a global table: every world made is destroyed on close. */
function instance(world: World, op: () => void, probe: () => number): CaseInstance {
  return { op, probe, close: () => world.destroy() };
}

function doubler(world: World, component: Value): () => void {
  const query = createQuery(component);
  return () => {
    world.query(query).useStores(([store], entities) => {
      const value = store.value;
      for (let i = 0; i < entities.length; i++) value[entities[i].id()] *= 2;
    });
  };
}

function packed5(): CaseInstance {
  const world = createWorld();
  const traits = [valueTrait(), valueTrait(), valueTrait(), valueTrait(), valueTrait()];
  const init = traits.map((t) => t({ value: 1 }));
  const first = world.spawn(...init);
  for (let i = 1; i < CASE_COUNTS.packed_5; i++) world.spawn(...traits.map((t) => t({ value: 1 })));
  const systems = traits.map((t) => doubler(world, t));
  return instance(world, () => {
    for (const system of systems) system();
  }, () => first.get(traits[0])!.value);
}

function swapper(world: World, a: Value, b: Value): () => void {
  const query = createQuery(a, b);
  return () => {
    world.query(query).useStores(([x, y], entities) => {
      const xs = x.value;
      const ys = y.value;
      for (let i = 0; i < entities.length; i++) {
        const eid = entities[i].id();
        const t = xs[eid];
        xs[eid] = ys[eid];
        ys[eid] = t;
      }
    });
  };
}

function simpleIter(): CaseInstance {
  const world = createWorld();
  const [A, B, C, D, E] = [valueTrait(), valueTrait(), valueTrait(), valueTrait(), valueTrait()];
  let first: Entity | undefined;
  for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
    const ab = world.spawn(A({ value: 0 }), B({ value: 1 }));
    first ??= ab;
    world.spawn(A({ value: 0 }), B({ value: 1 }), C({ value: 2 }));
    world.spawn(A({ value: 0 }), B({ value: 1 }), C({ value: 2 }), D({ value: 3 }));
    world.spawn(A({ value: 0 }), B({ value: 1 }), C({ value: 2 }), E({ value: 3 }));
  }
  const systems = [swapper(world, A, B), swapper(world, C, D), swapper(world, C, E)];
  return instance(world, () => {
    for (const system of systems) system();
  }, () => first!.get(A)!.value);
}

function fragIter(): CaseInstance {
  const world = createWorld();
  const letters = FRAG_NAMES.map(valueTrait);
  const Data = valueTrait();
  let first: Entity | undefined;
  for (const letter of letters) {
    for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
      const entity = world.spawn(letter({ value: 1 }), Data({ value: 1 }));
      first ??= entity;
    }
  }
  const doubleData = doubler(world, Data);
  const doubleZ = doubler(world, letters[25]);
  return instance(world, () => {
    doubleData();
    doubleZ();
  }, () => first!.get(Data)!.value);
}

function entityCycle(): CaseInstance {
  const world = createWorld();
  const A = valueTrait();
  const B = valueTrait();
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) world.spawn(A({ value: i }));
  const withA = createQuery(A);
  const withB = createQuery(B);
  return instance(world, () => {
    world.query(withA).useStores(([a], entities) => {
      for (let i = 0; i < entities.length; i++) {
        world.spawn(B({ value: a.value[entities[i].id()] }));
      }
    });
    for (const entity of world.query(withB)) entity.destroy();
  }, () => world.query(withA).length + world.query(withB).length);
}

function addRemove(): CaseInstance {
  const world = createWorld();
  const A = valueTrait();
  const B = valueTrait();
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) world.spawn(A);
  const withA = createQuery(A);
  const withB = createQuery(B);
  return instance(world, () => {
    for (const entity of world.query(withA)) entity.add(B);
    for (const entity of world.query(withB)) entity.remove(B);
  }, () => world.query(withA).length + world.query(withB).length);
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** Koota, the pmndrs peer. */
export const subject: EcsSubject = {
  name: "koota",
  version: pkg.devDependencies.koota,
  setup: (name) => SETUPS[name](),
};
