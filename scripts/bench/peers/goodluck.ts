/**
 * goodluck 7.0.0 in the ECS benchmark, as its README and the standard
 * benchmark's adapter (noctjs/ecs-benchmark, src/cases/goodluck) write it:
 * the world holds a signature per entity (a bit per component) and an array
 * per component, entities are made with `instantiate(world, [mixins])`, and
 * a system is a loop over every signature that tests its mask, written out
 * in the frame as there. There is no query and no scheduler: a structural
 * change sets or clears a bit. Entities are made in that benchmark's order
 * (in frag_iter, one of each letter in turn).
 *
 * Component data are objects (`new Value(v)`), as Goodluck's are, except in
 * add_remove, where the standard benchmark stores plain numbers; there B is
 * added to entities with A and without B (the standard benchmark tests only
 * "without B", the same work when every live entity has A). Values are kept
 * 32-bit integers, as the cases define them, with `| 0` after doubling: the
 * standard benchmark starts them at 0, where ours start at 1, and a number
 * doubled every frame reaches Infinity and keeps V8 on its double path
 * (2x to 4x slower on Deno in packed_5).
 *
 * @module
 */

// @ts-types="./_goodluck.d.ts"
import { instantiate, type Mixin, WorldImpl } from "goodluck";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

/** One component's data for one entity. */
class Value {
  value: number;
  constructor(value: number) {
    this.value = value;
  }
}

const HAS_A = 1 << 0;
const HAS_B = 1 << 1;
const HAS_C = 1 << 2;
const HAS_D = 1 << 3;
const HAS_E = 1 << 4;

/** The world of packed_5, simple_iter and entity_cycle. */
class World extends WorldImpl {
  A: Value[] = [];
  B: Value[] = [];
  C: Value[] = [];
  D: Value[] = [];
  E: Value[] = [];
}

type Letter = "A" | "B" | "C" | "D" | "E";

/** The mixin giving an entity component `key` (bit `mask`) with `value`. */
function has(mask: number, key: Letter, value: number): Mixin<World> {
  return (world, entity) => {
    world.Signature[entity] |= mask;
    world[key][entity] = new Value(value);
  };
}

/** Entities whose signature has every bit of `mask`. */
function count(world: WorldImpl, mask: number): number {
  return world.Signature.filter((signature) => (signature & mask) === mask).length;
}

function packed5(): CaseInstance {
  const world = new World();
  const blueprint = [has(HAS_A, "A", 1), has(HAS_B, "B", 1), has(HAS_C, "C", 1)];
  blueprint.push(has(HAS_D, "D", 1), has(HAS_E, "E", 1));
  const first = instantiate(world, blueprint);
  for (let i = 1; i < CASE_COUNTS.packed_5; i++) instantiate(world, blueprint);
  return {
    op: () => {
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_A) === HAS_A) world.A[i].value = (world.A[i].value * 2) | 0;
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_B) === HAS_B) world.B[i].value = (world.B[i].value * 2) | 0;
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_C) === HAS_C) world.C[i].value = (world.C[i].value * 2) | 0;
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_D) === HAS_D) world.D[i].value = (world.D[i].value * 2) | 0;
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_E) === HAS_E) world.E[i].value = (world.E[i].value * 2) | 0;
      }
    },
    probe: () => world.A[first].value,
  };
}

const QUERY_AB = HAS_A | HAS_B;
const QUERY_CD = HAS_C | HAS_D;
const QUERY_CE = HAS_C | HAS_E;

function simpleIter(): CaseInstance {
  const world = new World();
  const [a, b, c] = [has(HAS_A, "A", 0), has(HAS_B, "B", 1), has(HAS_C, "C", 2)];
  const [d, e] = [has(HAS_D, "D", 3), has(HAS_E, "E", 3)];
  const first = instantiate(world, [a, b]);
  for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
    if (i > 0) instantiate(world, [a, b]);
    instantiate(world, [a, b, c]);
    instantiate(world, [a, b, c, d]);
    instantiate(world, [a, b, c, e]);
  }
  return {
    op: () => {
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & QUERY_AB) === QUERY_AB) {
          const x = world.A[i].value;
          world.A[i].value = world.B[i].value;
          world.B[i].value = x;
        }
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & QUERY_CD) === QUERY_CD) {
          const x = world.C[i].value;
          world.C[i].value = world.D[i].value;
          world.D[i].value = x;
        }
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & QUERY_CE) === QUERY_CE) {
          const x = world.C[i].value;
          world.C[i].value = world.E[i].value;
          world.E[i].value = x;
        }
      }
    },
    probe: () => world.A[first].value,
  };
}

/** The world of frag_iter: the 26 letters (bits 0 to 25) and Data (bit 26). */
class FragWorld extends WorldImpl {
  Letters: Value[][] = FRAG_NAMES.map(() => []);
  Data: Value[] = [];
}

const HAS_Z = 1 << 25;
const HAS_DATA = 1 << 26;

function fragIter(): CaseInstance {
  const world = new FragWorld();
  const data: Mixin<FragWorld> = (world, entity) => {
    world.Signature[entity] |= HAS_DATA;
    world.Data[entity] = new Value(1);
  };
  const letters = FRAG_NAMES.map((_, k): Mixin<FragWorld> => (world, entity) => {
    world.Signature[entity] |= 1 << k;
    world.Letters[k][entity] = new Value(1);
  });
  let first = -1;
  for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
    for (const letter of letters) {
      const entity = instantiate(world, [data, letter]);
      if (first < 0) first = entity;
    }
  }
  const Z = world.Letters[25];
  return {
    op: () => {
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_DATA) === HAS_DATA) {
          world.Data[i].value = (world.Data[i].value * 2) | 0;
        }
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_Z) === HAS_Z) Z[i].value = (Z[i].value * 2) | 0;
      }
    },
    probe: () => world.Data[first].value,
  };
}

function entityCycle(): CaseInstance {
  const world = new World();
  for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) instantiate(world, [has(HAS_A, "A", i)]);
  return {
    op: () => {
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_A) === HAS_A) {
          instantiate(world, [has(HAS_B, "B", world.A[i].value)]);
        }
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_B) === HAS_B) world.DestroyEntity(i);
      }
    },
    probe: () => count(world, HAS_A) + count(world, HAS_B),
  };
}

/** The world of add_remove: A and B hold plain numbers, as in the standard benchmark. */
class AddRemoveWorld extends WorldImpl {
  A: number[] = [];
  B: number[] = [];
}

function addRemove(): CaseInstance {
  const world = new AddRemoveWorld();
  for (let i = 0; i < CASE_COUNTS.add_remove; i++) {
    instantiate(world, [(world, entity) => {
      world.Signature[entity] |= HAS_A;
      world.A[entity] = 0;
    }]);
  }
  return {
    op: () => {
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & (HAS_A | HAS_B)) === HAS_A) {
          world.Signature[i] |= HAS_B;
          world.B[i] = 0;
        }
      }
      for (let i = 0; i < world.Signature.length; i++) {
        if ((world.Signature[i] & HAS_B) === HAS_B) world.Signature[i] &= ~HAS_B;
      }
    },
    probe: () => count(world, HAS_A) + count(world, HAS_B),
  };
}

const SETUPS: Record<CaseName, () => CaseInstance> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** goodluck, the bit-per-component peer with no queries and no scheduler. */
export const subject: EcsSubject = {
  name: "goodluck",
  version: pkg.devDependencies.goodluck,
  setup: (name) => SETUPS[name](),
};
