/**
 * A scene for the cluster: ships drift over a 1,000 x 1,000 map cut into
 * 8 x 8 cells. A ship's partition key is its cell, kept up to date by the
 * `locate` system, so a ship that crosses a cell border may cross into a
 * partition another member runs, and moves there.
 *
 * It runs alone too: `staticecs run examples/cluster_sim.ts --ticks 600`.
 * In a cluster (see README, "Cluster"), setup runs once for the whole
 * cluster, and the ship count stays the same however members come and go.
 * `STATICECS_SHIPS` sets how many ships setup spawns (default 20,000).
 *
 * @module
 */

import process from "node:process";
import { defineComponent, defineScene, defineSystem } from "staticecs";

/** Map side, in map units, and cells per side. */
export const MAP_SIZE = 1000;
export const CELLS_PER_SIDE = 8;
const CELL_SIZE = MAP_SIZE / CELLS_PER_SIDE;

export const Position = defineComponent("Position", { x: "f32", y: "f32" });
export const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });
/** The ship's cell, row-major: the partition key. */
export const Cell = defineComponent("Cell", { key: "u32" });

/** Ships moved on, wrapping at the map's edges. */
export const drift = defineSystem({
  name: "drift",
  query: { all: [Position, Velocity] },
  reads: [Velocity],
  writes: [Position],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), y = chunk.write(Position.y);
    const vx = chunk.read(Velocity.x), vy = chunk.read(Velocity.y);
    for (let i = 0; i < chunk.count; i++) {
      x[i] = (x[i] + vx[i] * ctx.dt + MAP_SIZE) % MAP_SIZE;
      y[i] = (y[i] + vy[i] * ctx.dt + MAP_SIZE) % MAP_SIZE;
    }
  },
});

/** Each ship's cell from its position. */
export const locate = defineSystem({
  name: "locate",
  phase: "post_update",
  query: { all: [Position, Cell] },
  reads: [Position],
  writes: [Cell],
  runChunk(chunk) {
    const x = chunk.read(Position.x), y = chunk.read(Position.y);
    const key = chunk.write(Cell.key);
    for (let i = 0; i < chunk.count; i++) {
      const column = Math.min(CELLS_PER_SIDE - 1, Math.floor(x[i] / CELL_SIZE));
      const row = Math.min(CELLS_PER_SIDE - 1, Math.floor(y[i] / CELL_SIZE));
      key[i] = row * CELLS_PER_SIDE + column;
    }
  },
});

function shipCount(): number {
  const text = process.env.STATICECS_SHIPS;
  if (text === undefined) return 20_000;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0 || count > 1_000_000) {
    throw new Error(`STATICECS_SHIPS must be an integer from 0 to 1000000; got "${text}"`);
  }
  return count;
}

export default defineScene({
  name: "cluster_sim",
  components: [Position, Velocity, Cell],
  systems: [drift, locate],
  cluster: { key: Cell.key },
  setup(world, { random }) {
    for (let i = 0, n = shipCount(); i < n; i++) {
      const x = random.next() * MAP_SIZE, y = random.next() * MAP_SIZE;
      const angle = random.next() * 2 * Math.PI, speed = 20 + random.next() * 60;
      const key = Math.floor(y / CELL_SIZE) * CELLS_PER_SIDE + Math.floor(x / CELL_SIZE);
      world.spawn(
        [Position, { x, y }],
        [Velocity, { x: Math.cos(angle) * speed, y: Math.sin(angle) * speed }],
        [Cell, { key }],
      );
    }
  },
});
