/**
 * The skewed case: entity cost varies 100x across the table. The first
 * eighth of the entities invert their matrix 100 times per frame, the rest
 * once, so a static even split (one contiguous slice per thread) leaves one
 * thread with most of the work, while work stealing evens it out.
 *
 * @module
 */

import { defineComponent, defineScene, defineSystem } from "staticecs";
import { bindMatrix, invertInPlace, MATRIX_FIELDS, matrixHolder } from "./_matrix.ts";

/** Entities in the scene. */
export const ENTITIES = 4_096;
/** Inversions per frame of a heavy entity; light ones do 1. */
export const HEAVY_INVERSIONS = 100;
/** Entities below this index are heavy. */
export const HEAVY_BELOW = ENTITIES / 8;

export const Transform = defineComponent("Transform", MATRIX_FIELDS);
const MATRIX = Object.values(Transform);
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
    bindMatrix(m, chunk, MATRIX);
    const inversions = chunk.read(Work.inversions);
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
