/**
 * Boids: 10,000 birds that flock, in O(n) per tick.
 *
 * Each boid steers by three rules (Reynolds, 1987): cohesion (towards the
 * average position of its neighbours), alignment (towards their average
 * velocity) and separation (away from crowding), within a minimum and a
 * maximum speed. The world is a square torus: a boid leaving one edge comes
 * back at the opposite one.
 *
 * Looking at every other boid would cost O(n²). Instead, a uniform grid of
 * cells (one `Grid` resource whose fields are fixed-length arrays, one
 * element per cell) holds per-cell sums: count, position offset within the
 * cell, velocity. A boid's neighbours are the boids of the 3x3 cells around
 * its own; their averages come from nine cells' sums, so the cost per boid
 * is constant and a tick is O(n + cells).
 *
 * One tick is four systems, ordered by their declared access (each conflicts
 * with the one before, so each gets a stage of its own):
 *
 * 1. `clearGrid` (`run`, writes Grid): zeroes the sums.
 * 2. `binBoids` (`runChunk`, reads Position and Velocity, writes Grid):
 *    adds each boid to its cell.
 * 3. `steer` (`runChunk`, reads Grid and Position, writes Velocity): the
 *    three rules, a little seeded noise, and the speed limits.
 * 4. `move` (`runChunk`, reads Velocity, writes Position): integrates over
 *    the fixed timestep `ctx.dt` and wraps around.
 *
 * Positions are stored as offsets within a cell in the grid, so averages
 * across the world's edge come out right: a neighbour cell's offsets are
 * shifted by where that cell lies relative to the boid's own (-1, 0 or +1
 * cells), never by where it lies in the world.
 *
 * Run it: `npx bun cli/main.ts run examples/boids.ts --ticks 600`.
 *
 * @module
 */

import { defineComponent, defineResource, defineScene, defineSystem } from "staticecs";

/** Boids in the scene. */
export const BOID_COUNT = 10_000;
/** Side of the square world, in world units. */
export const WORLD_SIZE = 256;
/** Side of one grid cell: the radius a boid sees is about 1.5 cells. */
export const CELL_SIZE = 8;
/** Cells along one side of the grid. */
export const GRID_SIDE = WORLD_SIZE / CELL_SIZE;
/** Cells in the grid. */
export const CELL_COUNT = GRID_SIDE * GRID_SIDE;

/** Slowest a boid flies, in units per second. */
export const SPEED_MIN = 8;
/** Fastest a boid flies, in units per second. */
export const SPEED_MAX = 24;

const INVERSE_CELL_SIZE = 1 / CELL_SIZE;
const COHESION_PER_S2 = 0.8; // acceleration per unit of distance to the neighbours' centre
const ALIGNMENT_PER_S = 1.5; // acceleration per unit of velocity difference
const SEPARATION = 4; // strength of the push away from the own cell's other boids
const SEPARATION_SOFTENING = 0.25; // squared units: keeps the push finite at distance 0
const NOISE = 6; // peak random acceleration, units per second squared

/** Where a boid is, in world units, from 0 (inclusive) to WORLD_SIZE (exclusive). */
export const Position = defineComponent("Position", { x: "f32", y: "f32" });
/** Units per second. */
export const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });

/** Per-cell sums, rebuilt every tick; cell (cx, cy) is element cy * GRID_SIDE + cx. */
export const Grid = defineResource("Grid", {
  count: ["u32", CELL_COUNT],
  /** Sum of offsets from the cell's lower corner, so averages work across the wrap. */
  offsetX: ["f32", CELL_COUNT],
  offsetY: ["f32", CELL_COUNT],
  velocityX: ["f32", CELL_COUNT],
  velocityY: ["f32", CELL_COUNT],
});

/** The cell column (or row) of a coordinate in [0, WORLD_SIZE). */
function cellOf(coordinate: number): number {
  const cell = (coordinate * INVERSE_CELL_SIZE) | 0;
  return cell < GRID_SIDE ? cell : GRID_SIDE - 1;
}

/** Zeroes the grid's sums. */
export const clearGrid = defineSystem({
  name: "clearGrid",
  writes: [Grid],
  run(ctx) {
    const grid = ctx.resource(Grid);
    grid.count.fill(0);
    grid.offsetX.fill(0);
    grid.offsetY.fill(0);
    grid.velocityX.fill(0);
    grid.velocityY.fill(0);
  },
});

/** Adds every boid to the sums of its cell. */
export const binBoids = defineSystem({
  name: "binBoids",
  query: { all: [Position, Velocity] },
  reads: [Position, Velocity],
  writes: [Grid],
  runChunk(chunk, ctx) {
    const grid = ctx.resource(Grid);
    const count = grid.count, offsetX = grid.offsetX, offsetY = grid.offsetY;
    const velocityX = grid.velocityX, velocityY = grid.velocityY;
    const x = chunk.read(Position.x), y = chunk.read(Position.y);
    const vx = chunk.read(Velocity.x), vy = chunk.read(Velocity.y);
    for (let i = 0; i < chunk.count; i++) {
      const cx = cellOf(x[i]), cy = cellOf(y[i]);
      const cell = cy * GRID_SIDE + cx;
      count[cell]++;
      offsetX[cell] += x[i] - cx * CELL_SIZE;
      offsetY[cell] += y[i] - cy * CELL_SIZE;
      velocityX[cell] += vx[i];
      velocityY[cell] += vy[i];
    }
  },
});

/** Cohesion, alignment, separation, noise and speed limits, from the 3x3 cells around each boid. */
export const steer = defineSystem({
  name: "steer",
  query: { all: [Position, Velocity] },
  reads: [Grid, Position],
  writes: [Velocity],
  // Nine cells of averages per boid: worth spreading over threads at this size.
  cost: 8,
  runChunk(chunk, ctx) {
    const grid = ctx.resource(Grid);
    const count = grid.count, offsetX = grid.offsetX, offsetY = grid.offsetY;
    const velocityX = grid.velocityX, velocityY = grid.velocityY;
    const x = chunk.read(Position.x), y = chunk.read(Position.y);
    const vx = chunk.write(Velocity.x), vy = chunk.write(Velocity.y);
    const dt = ctx.dt, random = ctx.random;
    for (let i = 0; i < chunk.count; i++) {
      const cx = cellOf(x[i]), cy = cellOf(y[i]);
      const ownCell = cy * GRID_SIDE + cx;
      // The boid's position relative to its own cell's lower corner.
      const localX = x[i] - cx * CELL_SIZE, localY = y[i] - cy * CELL_SIZE;
      let neighbours = 0, sumX = 0, sumY = 0, sumVx = 0, sumVy = 0;
      for (let dy = -1; dy <= 1; dy++) {
        let ny = cy + dy;
        if (ny < 0) ny += GRID_SIDE;
        else if (ny >= GRID_SIDE) ny -= GRID_SIDE;
        for (let dx = -1; dx <= 1; dx++) {
          let nx = cx + dx;
          if (nx < 0) nx += GRID_SIDE;
          else if (nx >= GRID_SIDE) nx -= GRID_SIDE;
          const cell = ny * GRID_SIDE + nx;
          const n = count[cell];
          if (n === 0) continue;
          neighbours += n;
          sumX += offsetX[cell] + n * dx * CELL_SIZE;
          sumY += offsetY[cell] + n * dy * CELL_SIZE;
          sumVx += velocityX[cell];
          sumVy += velocityY[cell];
        }
      }
      // The sums include the boid itself: take it out.
      neighbours -= 1;
      let ax = (random.next() - 0.5) * 2 * NOISE, ay = (random.next() - 0.5) * 2 * NOISE;
      if (neighbours > 0) {
        const inverse = 1 / neighbours;
        ax += ((sumX - localX) * inverse - localX) * COHESION_PER_S2;
        ay += ((sumY - localY) * inverse - localY) * COHESION_PER_S2;
        ax += ((sumVx - vx[i]) * inverse - vx[i]) * ALIGNMENT_PER_S;
        ay += ((sumVy - vy[i]) * inverse - vy[i]) * ALIGNMENT_PER_S;
        const others = count[ownCell] - 1;
        if (others > 0) {
          // Away from the centre of the other boids of the own cell, harder when closer.
          const awayX = localX - (offsetX[ownCell] - localX) / others;
          const awayY = localY - (offsetY[ownCell] - localY) / others;
          const push = SEPARATION * others /
            (awayX * awayX + awayY * awayY + SEPARATION_SOFTENING);
          ax += awayX * push;
          ay += awayY * push;
        }
      }
      let nvx = vx[i] + ax * dt, nvy = vy[i] + ay * dt;
      const speedSquared = nvx * nvx + nvy * nvy;
      if (speedSquared > SPEED_MAX * SPEED_MAX) {
        const scale = SPEED_MAX / Math.sqrt(speedSquared);
        nvx *= scale;
        nvy *= scale;
      } else if (speedSquared < SPEED_MIN * SPEED_MIN) {
        if (speedSquared === 0) {
          // Stored here rather than `nvx = SPEED_MIN`: a float variable that may also hold an
          // integer constant is boxed by V8 on every pass (160 KB a tick on Deno).
          vx[i] = SPEED_MIN;
          vy[i] = nvy;
          continue;
        }
        const scale = SPEED_MIN / Math.sqrt(speedSquared);
        nvx *= scale;
        nvy *= scale;
      }
      vx[i] = nvx;
      vy[i] = nvy;
    }
  },
});

/** Wraps a coordinate into [0, WORLD_SIZE), also after float32 rounding. */
function wrap(coordinate: number): number {
  let wrapped = coordinate;
  if (wrapped < 0) wrapped += WORLD_SIZE;
  else if (wrapped >= WORLD_SIZE) wrapped -= WORLD_SIZE;
  // -1e-9 + 256 rounds to 256 in float32: store 0 instead.
  return Math.fround(wrapped) >= WORLD_SIZE ? 0 : wrapped;
}

/** Moves each boid by its velocity over one timestep, wrapping around the edges. */
export const move = defineSystem({
  name: "move",
  query: { all: [Position, Velocity] },
  reads: [Velocity],
  writes: [Position],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), y = chunk.write(Position.y);
    const vx = chunk.read(Velocity.x), vy = chunk.read(Velocity.y);
    const dt = ctx.dt;
    for (let i = 0; i < chunk.count; i++) {
      x[i] = wrap(x[i] + vx[i] * dt);
      y[i] = wrap(y[i] + vy[i] * dt);
    }
  },
});

/** The scene: BOID_COUNT boids at seeded random places, headings and speeds. */
export default defineScene({
  name: "boids",
  components: [Position, Velocity],
  resources: [Grid],
  systems: [clearGrid, binBoids, steer, move],
  config: { maxEntities: 16_384 },
  setup(world, { random }) {
    for (let i = 0; i < BOID_COUNT; i++) {
      const heading = random.range(0, 2 * Math.PI);
      const speed = random.range(SPEED_MIN, SPEED_MAX);
      world.spawn(
        [Position, { x: random.range(0, WORLD_SIZE), y: random.range(0, WORLD_SIZE) }],
        [Velocity, { x: speed * Math.cos(heading), y: speed * Math.sin(heading) }],
      );
    }
  },
});
