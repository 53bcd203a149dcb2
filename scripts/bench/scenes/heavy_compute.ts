/**
 * heavy_compute, as in the Rust ECS benchmark suite: entities with a 4x4
 * matrix (and a position and velocity), one system that inverts each matrix
 * 100 times per frame. Small chunks (64 rows) so 1,000 entities make 16
 * units of parallel work; the system declares its cost so the work-stealing
 * backend spreads it.
 *
 * @module
 */

import { defineComponent, defineScene, defineSystem } from "staticecs";
import { bindMatrix, invertInPlace, MATRIX_FIELDS, matrixHolder } from "./_matrix.ts";

/** Entities in the scene; a bench may scale it with the ENTITIES export. */
export const ENTITIES = 1_000;
/** Inversions per entity per frame. */
export const INVERSIONS = 100;

export const Transform = defineComponent("Transform", MATRIX_FIELDS);
const MATRIX = Object.values(Transform);
/**
 * Scratch that points at the current chunk's columns: each thread has its
 * own module instance, and a body sets every slot before reading any, so no
 * state carries from one chunk or frame to the next.
 */
const HOLDER = matrixHolder();
export const Position = defineComponent("Position", { x: "f32", y: "f32", z: "f32" });

export const invert = defineSystem({
  name: "invert",
  query: { all: [Transform, Position] },
  writes: [Transform, Position],
  cost: 400,
  runChunk(chunk) {
    const m = HOLDER;
    bindMatrix(m, chunk, MATRIX);
    const x = chunk.write(Position.x);
    for (let i = 0; i < chunk.count; i++) x[i] += invertInPlace(m, i, INVERSIONS);
  },
});

export default defineScene({
  name: "heavy_compute",
  components: [Transform, Position],
  systems: [invert],
  config: { chunkRows: 64 },
  setup(world, { random }) {
    for (let e = 0; e < ENTITIES; e++) {
      const values: Record<string, number> = {};
      for (let k = 0; k < 16; k++) {
        values[`m${k}`] = k % 5 === 0 ? 2 + random.next() : random.next();
      }
      world.spawn([Transform, values], [Position, { x: 0, y: 0, z: 0 }]);
    }
  },
});
