/**
 * piecs 0.4 in the ECS benchmark, as its README and the standard benchmark's
 * adapter (noctjs/ecs-benchmark, src/cases/piecs) write it: a component is an
 * id from `world.createComponentId()` beside a typed array the user keeps,
 * indexed by entity id (piecs leaves component storage to the user);
 * entities are made from prefabricated archetypes, in the standard
 * benchmark's order; systems are registered with
 * `createEntitySystem(fn, (q) => q.every(...))`, and `world.update()`, one
 * op, runs each once per archetype that matches.
 *
 * Each system is a function literal of its own, as there and as a user
 * writes systems: V8 specializes a function on its closure's context only
 * while the function has one closure, so systems made by one factory can run
 * slower on Deno (0.6x to 1.0x in packed_5 here, within the noise of a
 * loaded machine; 1/70 for bitECS 0.3, see bitecs_0_3.ts).
 *
 * Structural changes apply at once, inside the systems; a system that moves
 * entities out of the archetype it iterates walks it backwards, as the
 * standard benchmark does (piecs' own error message says to).
 *
 * @module
 */

import { type Archetype, createEntitySystem, getStatistics, World } from "piecs/dist/index.mjs";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  ENTITY_IDS_MAX,
  FRAG_NAMES,
} from "./_subject.ts";

/** A component with a value: its id and the values, indexed by entity id. */
interface Store {
  readonly id: number;
  readonly arr: Int32Array;
}

function store(world: World, value: number): Store {
  return { id: world.createComponentId(), arr: new Int32Array(ENTITY_IDS_MAX).fill(value) };
}

/** `count` entities of each prefab, one of each in turn as in the standard benchmark; the first. */
function spawnInTurn(world: World, prefabs: readonly Archetype[], count: number): number {
  const first = world.createEntity(prefabs[0]);
  for (let i = 0; i < count; i++) {
    for (let k = i === 0 ? 1 : 0; k < prefabs.length; k++) world.createEntity(prefabs[k]);
  }
  return first;
}

/** Entities whose archetype has `component`: what `probe` counts. */
function countWith(world: World, component: number | Store): number {
  const id = typeof component === "number" ? component : component.id;
  let count = 0;
  for (const archetype of getStatistics(world).archetypes) {
    if (archetype.componentIds.includes(id)) count += archetype.entities;
  }
  return count;
}

function packed5(): CaseInstance {
  const world = new World();
  const [A, B, C, D, E] = [1, 1, 1, 1, 1].map((value) => store(world, value));
  const prefab = world.prefabricate([A, B, C, D, E]);
  world
    .registerSystem(createEntitySystem(function systemA(entities) {
      for (let i = 0, l = entities.length; i < l; i++) A.arr[entities[i]] *= 2;
    }, (q) => q.every(A)))
    .registerSystem(createEntitySystem(function systemB(entities) {
      for (let i = 0, l = entities.length; i < l; i++) B.arr[entities[i]] *= 2;
    }, (q) => q.every(B)))
    .registerSystem(createEntitySystem(function systemC(entities) {
      for (let i = 0, l = entities.length; i < l; i++) C.arr[entities[i]] *= 2;
    }, (q) => q.every(C)))
    .registerSystem(createEntitySystem(function systemD(entities) {
      for (let i = 0, l = entities.length; i < l; i++) D.arr[entities[i]] *= 2;
    }, (q) => q.every(D)))
    .registerSystem(createEntitySystem(function systemE(entities) {
      for (let i = 0, l = entities.length; i < l; i++) E.arr[entities[i]] *= 2;
    }, (q) => q.every(E)))
    .initialize();
  const first = spawnInTurn(world, [prefab], CASE_COUNTS.packed_5);
  return { op: () => world.update(), probe: () => A.arr[first] };
}

function simpleIter(): CaseInstance {
  const world = new World();
  const [A, B, C, D, E] = [0, 1, 2, 3, 3].map((value) => store(world, value));
  const prefabs = [[A, B], [A, B, C], [A, B, C, D], [A, B, C, E]].map((s) => world.prefabricate(s));
  world
    .registerSystem(createEntitySystem(function systemAB(entities) {
      for (let i = 0, l = entities.length; i < l; i++) {
        const entity = entities[i];
        const a = A.arr[entity];
        A.arr[entity] = B.arr[entity];
        B.arr[entity] = a;
      }
    }, (q) => q.every(A, B)))
    .registerSystem(createEntitySystem(function systemCD(entities) {
      for (let i = 0, l = entities.length; i < l; i++) {
        const entity = entities[i];
        const c = C.arr[entity];
        C.arr[entity] = D.arr[entity];
        D.arr[entity] = c;
      }
    }, (q) => q.every(C, D)))
    .registerSystem(createEntitySystem(function systemCE(entities) {
      for (let i = 0, l = entities.length; i < l; i++) {
        const entity = entities[i];
        const c = C.arr[entity];
        C.arr[entity] = E.arr[entity];
        E.arr[entity] = c;
      }
    }, (q) => q.every(C, E)))
    .initialize();
  const first = spawnInTurn(world, prefabs, CASE_COUNTS.simple_iter);
  return { op: () => world.update(), probe: () => A.arr[first] };
}

function fragIter(): CaseInstance {
  const world = new World();
  const letters = FRAG_NAMES.map(() => store(world, 1));
  const Z = letters[25];
  const Data = store(world, 1);
  const prefabs = letters.map((letter) => world.prefabricate([Data, letter]));
  world
    .registerSystem(createEntitySystem(function dataSystem(entities) {
      for (let i = 0, l = entities.length; i < l; i++) Data.arr[entities[i]] *= 2;
    }, (q) => q.every(Data)))
    .registerSystem(createEntitySystem(function zSystem(entities) {
      for (let i = 0, l = entities.length; i < l; i++) Z.arr[entities[i]] *= 2;
    }, (q) => q.every(Z)))
    .initialize();
  const first = spawnInTurn(world, prefabs, CASE_COUNTS.frag_iter);
  return { op: () => world.update(), probe: () => Data.arr[first] };
}

function entityCycle(): CaseInstance {
  const world = new World();
  const A = store(world, 0);
  const B = store(world, 0);
  const prefabA = world.prefabricate([A]);
  const prefabB = world.prefabricate([B]);
  world
    .registerSystem(createEntitySystem(function spawnBs(entities, world) {
      for (let i = 0, l = entities.length; i < l; i++) {
        B.arr[world.createEntity(prefabB)] = A.arr[entities[i]];
      }
    }, (q) => q.every(A)))
    .registerSystem(createEntitySystem(function deleteBs(entities, world) {
      for (let i = entities.length - 1; i >= 0; i--) world.deleteEntity(entities[i]);
    }, (q) => q.every(B)))
    .initialize();
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) A.arr[world.createEntity(prefabA)] = i;
  return { op: () => world.update(), probe: () => countWith(world, A) + countWith(world, B) };
}

function addRemove(): CaseInstance {
  const world = new World();
  const A = world.createComponentId();
  const B = world.createComponentId();
  const prefabA = world.prefabricate([A]);
  world
    .registerSystem(createEntitySystem(function addB(entities, world) {
      for (let i = entities.length - 1; i >= 0; i--) world.addComponent(entities[i], B);
    }, (q) => q.every(A)))
    .registerSystem(createEntitySystem(function removeB(entities, world) {
      for (let i = entities.length - 1; i >= 0; i--) world.removeComponent(entities[i], B);
    }, (q) => q.every(B)))
    .initialize();
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) world.createEntity(prefabA);
  return { op: () => world.update(), probe: () => countWith(world, A) + countWith(world, B) };
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** piecs, the leader of the standard benchmark's structural cases. */
export const subject: EcsSubject = {
  name: "piecs",
  version: pkg.devDependencies.piecs,
  setup: (name) => SETUPS[name](),
};
