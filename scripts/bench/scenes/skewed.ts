/**
 * The skewed case: entity cost varies 100x across the table. The first
 * eighth of the entities invert their matrix 100 times per frame, the rest
 * once, so a static even split (one contiguous slice per thread) leaves one
 * thread with most of the work, while work stealing evens it out.
 *
 * @module
 */

import { defineComponent, defineScene, defineSystem } from "staticecs";
import { invertInPlace, MATRIX_FIELDS, matrixHolder } from "./_matrix.ts";

/** Entities in the scene. */
export const ENTITIES = 4_096;
/** Inversions per frame of a heavy entity; light ones do 1. */
export const HEAVY_INVERSIONS = 100;
/** Entities below this index are heavy. */
export const HEAVY_BELOW = ENTITIES / 8;

export const Transform = defineComponent("Transform", MATRIX_FIELDS);
export const Work = defineComponent("Work", { inversions: "u8" });

/** Scratch pointed at the current chunk's columns (see heavy_compute.ts). */
const HOLDER = matrixHolder();

export const invert = defineSystem({
  name: "invert_skewed",
  query: { all: [Transform, Work] },
  writes: [Transform],
  reads: [Work],
  cost: 100,
  runChunk(chunk) {
    const m = HOLDER;
    m.m0 = chunk.column(Transform.m0), m.m1 = chunk.column(Transform.m1);
    m.m2 = chunk.column(Transform.m2), m.m3 = chunk.column(Transform.m3);
    m.m4 = chunk.column(Transform.m4), m.m5 = chunk.column(Transform.m5);
    m.m6 = chunk.column(Transform.m6), m.m7 = chunk.column(Transform.m7);
    m.m8 = chunk.column(Transform.m8), m.m9 = chunk.column(Transform.m9);
    m.m10 = chunk.column(Transform.m10), m.m11 = chunk.column(Transform.m11);
    m.m12 = chunk.column(Transform.m12), m.m13 = chunk.column(Transform.m13);
    m.m14 = chunk.column(Transform.m14), m.m15 = chunk.column(Transform.m15);
    const inversions = chunk.column(Work.inversions);
    for (let i = 0; i < chunk.count; i++) invertInPlace(m, i, inversions[i]);
  },
});

export default defineScene({
  name: "skewed",
  components: [Transform, Work],
  systems: [invert],
  config: { chunkRows: 64 },
  setup(world, { random }) {
    for (let e = 0; e < ENTITIES; e++) {
      const values: Record<string, number> = {};
      for (let k = 0; k < 16; k++) {
        values[`m${k}`] = k % 5 === 0 ? 2 + random.next() : random.next();
      }
      world.spawn([Transform, values], [Work, {
        inversions: e < HEAVY_BELOW ? HEAVY_INVERSIONS : 1,
      }]);
    }
  },
});
