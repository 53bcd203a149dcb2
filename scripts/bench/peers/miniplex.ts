/**
 * Miniplex 2 in the ECS benchmark, as its README shows: entities are plain
 * objects whose properties are the components, queries are made once with
 * `world.with(...)` and iterated with `for...of` (in reverse order, so an
 * entity may leave the query while it is iterated), and structural changes
 * go through `world.add`, `world.remove`, `addComponent` and
 * `removeComponent`.
 *
 * @module
 */

import { World } from "miniplex";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

type Letter =
  | "A"
  | "B"
  | "C"
  | "D"
  | "E"
  | "F"
  | "G"
  | "H"
  | "I"
  | "J"
  | "K"
  | "L"
  | "M"
  | "N"
  | "O"
  | "P"
  | "Q"
  | "R"
  | "S"
  | "T"
  | "U"
  | "V"
  | "W"
  | "X"
  | "Y"
  | "Z";

/** An entity: any of the components, each a number. */
type Entity = { [K in Letter | "Data"]?: number };

function packed5(): CaseInstance {
  const world = new World<Entity>();
  const first = world.add({ A: 1, B: 1, C: 1, D: 1, E: 1 });
  for (let i = 1; i < CASE_COUNTS.packed_5; i++) world.add({ A: 1, B: 1, C: 1, D: 1, E: 1 });
  const withA = world.with("A");
  const withB = world.with("B");
  const withC = world.with("C");
  const withD = world.with("D");
  const withE = world.with("E");
  return {
    op: () => {
      for (const entity of withA) entity.A *= 2;
      for (const entity of withB) entity.B *= 2;
      for (const entity of withC) entity.C *= 2;
      for (const entity of withD) entity.D *= 2;
      for (const entity of withE) entity.E *= 2;
    },
    probe: () => first.A!,
  };
}

function simpleIter(): CaseInstance {
  const world = new World<Entity>();
  const first = world.add({ A: 0, B: 1 });
  for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
    if (i > 0) world.add({ A: 0, B: 1 });
    world.add({ A: 0, B: 1, C: 2 });
    world.add({ A: 0, B: 1, C: 2, D: 3 });
    world.add({ A: 0, B: 1, C: 2, E: 3 });
  }
  const withAB = world.with("A", "B");
  const withCD = world.with("C", "D");
  const withCE = world.with("C", "E");
  return {
    op: () => {
      for (const entity of withAB) {
        const t = entity.A;
        entity.A = entity.B;
        entity.B = t;
      }
      for (const entity of withCD) {
        const t = entity.C;
        entity.C = entity.D;
        entity.D = t;
      }
      for (const entity of withCE) {
        const t = entity.C;
        entity.C = entity.E;
        entity.E = t;
      }
    },
    probe: () => first.A!,
  };
}

function fragIter(): CaseInstance {
  const world = new World<Entity>();
  let first: Entity | undefined;
  for (const letter of FRAG_NAMES as Letter[]) {
    for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
      const entity = world.add({ [letter]: 1, Data: 1 } as Entity);
      first ??= entity;
    }
  }
  const withData = world.with("Data");
  const withZ = world.with("Z");
  return {
    op: () => {
      for (const entity of withData) entity.Data *= 2;
      for (const entity of withZ) entity.Z *= 2;
    },
    probe: () => first!.Data!,
  };
}

function entityCycle(): CaseInstance {
  const world = new World<Entity>();
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) world.add({ A: i });
  const withA = world.with("A");
  const withB = world.with("B");
  return {
    op: () => {
      for (const entity of withA) world.add({ B: entity.A });
      for (const entity of withB) world.remove(entity);
    },
    probe: () => withA.size + withB.size,
  };
}

function addRemove(): CaseInstance {
  const world = new World<Entity>();
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) world.add({ A: 0 });
  const withA = world.with("A");
  const withB = world.with("B");
  return {
    op: () => {
      for (const entity of withA) world.addComponent(entity, "B", 0);
      for (const entity of withB) world.removeComponent(entity, "B");
    },
    probe: () => withA.size + withB.size,
  };
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** Miniplex, the object-based peer. */
export const subject: EcsSubject = {
  name: "miniplex",
  version: pkg.devDependencies.miniplex,
  setup: (name) => SETUPS[name](),
};
