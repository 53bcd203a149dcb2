/**
 * Tests of examples/: each scene runs with the Runtime API, without frame
 * errors, within its expected entity counts, deterministically for a seed,
 * and doing what its module doc says. Runs under `bun test` and `deno test -A`.
 */

import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SEED, Runtime, type Scene } from "../mod.ts";
import boids, {
  BOID_COUNT,
  CELL_COUNT,
  Grid,
  Position as BoidPosition,
  SPEED_MAX,
  SPEED_MIN,
  Velocity as BoidVelocity,
  WORLD_SIZE,
} from "../examples/boids.ts";
import lifecycle, {
  Burning,
  Emitter,
  EMITTER_COUNT,
  INITIAL_PARTICLES,
  Lifetime,
  Parent,
  Stats,
} from "../examples/lifecycle.ts";
import tour, { Heat } from "../examples/tour.ts";
import hello from "../examples/hello.ts";
import clusterSim, { Cell, CELLS_PER_SIDE, MAP_SIZE, Position } from "../examples/cluster_sim.ts";

const TICKS = 100;

/**
 * Checksums after TICKS ticks with seed 7. Bun and Deno run this same file, so these pin that
 * both runtimes compute the same worlds. If you changed an example, the checksum digest or the
 * random streams on purpose, run `npx bun cli/main.ts run examples/<name>.ts --ticks 100
 * --seed 7` and put its checksum here.
 */
const PINNED_CHECKSUMS: ReadonlyArray<[string, Scene, string]> = [
  ["boids", boids, "b740100a45c42388"],
  ["lifecycle", lifecycle, "8779c3ef5606c107"],
  ["tour", tour, "0d433d62091aaa47"],
  ["hello", hello, "fcda6273462bfde5"],
];

/** Runs `ticks` frames; fails the test with the first frame error, if any. */
async function runScene(scene: Scene, seed: number, ticks: number): Promise<Runtime> {
  const runtime = await Runtime.create(scene, { seed });
  for (let t = 0; t < ticks; t++) {
    const result = runtime.tick();
    if (!result.ok) {
      await runtime.close();
      const first = result.errors[0];
      assert.fail(`tick ${t}: system ${first.system} failed: ${first.message}`);
    }
  }
  return runtime;
}

/** The checksum after `ticks` frames with `seed`. */
async function checksumAfter(scene: Scene, seed: number, ticks: number): Promise<string> {
  const runtime = await runScene(scene, seed, ticks);
  const checksum = runtime.checksum();
  await runtime.close();
  return checksum;
}

/**
 * How aligned boids are with the boids of their own cell: the sum over cells
 * of |sum of velocities| divided by the sum of speeds. About 1/sqrt(boids per
 * cell) for random headings, 1 when every cell flies one way.
 */
function localOrder(runtime: Runtime): number {
  const grid = runtime.world.resource(Grid);
  let aligned = 0;
  for (let cell = 0; cell < CELL_COUNT; cell++) {
    aligned += Math.hypot(grid.velocityX[cell], grid.velocityY[cell]);
  }
  let speeds = 0;
  runtime.world.query({ all: [BoidVelocity] }).forEachChunk((chunk) => {
    const vx = chunk.column(BoidVelocity.x), vy = chunk.column(BoidVelocity.y);
    for (let i = 0; i < chunk.count; i++) speeds += Math.hypot(vx[i], vy[i]);
  });
  return aligned / speeds;
}

describe("examples/boids.ts", () => {
  it("runs 100 ticks keeping every boid in the world and within the speed limits", async () => {
    const runtime = await runScene(boids, 1, TICKS);
    assert.equal(runtime.world.entityCount, BOID_COUNT);
    assert.equal(runtime.world.resource(Grid).count.reduce((sum, n) => sum + n, 0), BOID_COUNT);
    let checked = 0;
    runtime.world.query({ all: [BoidPosition, BoidVelocity] }).forEachChunk((chunk) => {
      const x = chunk.column(BoidPosition.x), y = chunk.column(BoidPosition.y);
      const vx = chunk.column(BoidVelocity.x), vy = chunk.column(BoidVelocity.y);
      for (let i = 0; i < chunk.count; i++) {
        assert.ok(x[i] >= 0 && x[i] < WORLD_SIZE && y[i] >= 0 && y[i] < WORLD_SIZE);
        const speed = Math.hypot(vx[i], vy[i]);
        assert.ok(speed >= SPEED_MIN * 0.999 && speed <= SPEED_MAX * 1.001, `speed ${speed}`);
        checked++;
      }
    });
    assert.equal(checked, BOID_COUNT);
    await runtime.close();
  });

  it("flocks: boids align with their neighbours over 300 ticks", async () => {
    const runtime = await runScene(boids, 3, 1);
    const start = localOrder(runtime);
    runtime.run(299);
    const end = localOrder(runtime);
    await runtime.close();
    assert.ok(start < 0.4, `local order at tick 1 is ${start}; random headings give about 0.3`);
    assert.ok(end > 0.45, `local order at tick 300 is ${end}; flocking should raise it`);
  });
});

describe("examples/lifecycle.ts", () => {
  it("spawns, despawns, adds and removes every frame, with consistent counts", async () => {
    const runtime = await runScene(lifecycle, 1, TICKS);
    const world = runtime.world;
    const stats = world.resource(Stats);
    // Each kind of change happens about 25 (spawn, despawn) or 5-10 (add, remove) times a tick.
    assert.ok(stats.spawned > 20 * TICKS, `spawned ${stats.spawned}`);
    assert.ok(stats.died > 15 * TICKS, `died ${stats.died}`);
    assert.ok(stats.ignited > 4 * TICKS, `ignited ${stats.ignited}`);
    assert.ok(stats.extinguished > 2 * TICKS, `extinguished ${stats.extinguished}`);
    assert.equal(world.entityCount, INITIAL_PARTICLES + EMITTER_COUNT + stats.spawned - stats.died);
    assert.equal(stats.alive, world.entityCount);
    // Every burning particle caught fire during the run and has not gone out or died since.
    const burning = world.query({ all: [Burning] }).count();
    assert.equal(burning, stats.ignited - stats.extinguished - stats.diedBurning);
    assert.ok(burning > 0);
    assert.equal(world.query({ all: [Lifetime] }).count(), world.entityCount - EMITTER_COUNT);
    await runtime.close();
  });

  it("resolves pending handles stored in entity fields", async () => {
    const runtime = await runScene(lifecycle, 2, TICKS);
    const world = runtime.world;
    let emitters = 0;
    world.query({ all: [Emitter] }).forEachChunk((chunk) => {
      const last = chunk.column(Emitter.last), emitted = chunk.column(Emitter.emitted);
      for (let i = 0; i < chunk.count; i++) {
        // Spawned this tick, so alive: particles live at least half a second.
        assert.ok(world.isAlive(last[i]), `emitter ${chunk.entities[i]}: last ${last[i]}`);
        assert.equal(world.get(last[i], Parent.emitter), chunk.entities[i]);
        assert.equal(world.get(last[i], Lifetime.ageS), Math.fround(1 / 60));
        assert.ok(emitted[i] >= 2 * TICKS && emitted[i] <= 4 * TICKS);
        emitters++;
      }
    });
    assert.equal(emitters, EMITTER_COUNT);
    await runtime.close();
  });

  it("stays between 2,000 and 3,500 entities over 600 ticks", async () => {
    const runtime = await runScene(lifecycle, 3, 600);
    const stats = runtime.world.resource(Stats);
    assert.ok(stats.alivePeak <= 3_500, `peak ${stats.alivePeak}`);
    assert.ok(runtime.world.entityCount >= 2_000, `alive ${runtime.world.entityCount}`);
    await runtime.close();
  });

  it("continues from a snapshot exactly as the original run", async () => {
    const original = await runScene(lifecycle, 5, TICKS / 2);
    const snapshot = original.snapshot();
    original.run(TICKS / 2);
    const restored = await Runtime.create(lifecycle, { seed: 5, snapshot });
    const result = restored.run(TICKS / 2);
    assert.equal(result?.ok, true);
    assert.equal(restored.ticks, original.ticks);
    assert.equal(restored.checksum(), original.checksum());
    await original.close();
    await restored.close();
  });
});

describe("examples/hello.ts", () => {
  it("is quoted in full in README.md, with the checksum the README gives for 600 ticks", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const source = readFileSync(new URL("../examples/hello.ts", import.meta.url), "utf8");
    assert.ok(
      readme.includes("```ts\n" + source + "```\n"),
      "README.md must contain examples/hello.ts verbatim in a ts code block; copy it over",
    );
    const checksum = await checksumAfter(hello, DEFAULT_SEED, 600);
    assert.ok(
      readme.includes(`\`${checksum}\``),
      `README.md must give hello's checksum ${checksum}`,
    );
  });
});

describe("examples/tour.ts", () => {
  it("replaces every destroyed ship in the same frame", async () => {
    const runtime = await runScene(tour, 1, 300);
    assert.equal(runtime.world.entityCount, 1_000);
    assert.ok(runtime.world.resource(Heat).respawned > 100);
    await runtime.close();
  });

  it("is quoted in full, as it is, in README.md", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const source = readFileSync(new URL("../examples/tour.ts", import.meta.url), "utf8");
    assert.ok(
      readme.includes("```ts\n" + source + "```\n"),
      "README.md must contain examples/tour.ts verbatim in a ts code block; copy it over",
    );
  });
});

describe("examples/cluster_sim.ts", () => {
  it("run alone: ships stay on the map and each ship's key is its cell", async () => {
    const runtime = await runScene(clusterSim, 7, 300);
    assert.equal(runtime.world.entityCount, 20_000);
    const cellSize = MAP_SIZE / CELLS_PER_SIDE;
    const keys = new Set<number>();
    runtime.world.query({ all: [Position, Cell] }).forEachChunk((chunk) => {
      const x = chunk.column(Position.x), y = chunk.column(Position.y);
      const key = chunk.column(Cell.key);
      for (let i = 0; i < chunk.count; i++) {
        assert.ok(x[i] >= 0 && x[i] < MAP_SIZE && y[i] >= 0 && y[i] < MAP_SIZE);
        const expected =
          Math.min(CELLS_PER_SIDE - 1, Math.floor(y[i] / cellSize)) * CELLS_PER_SIDE +
          Math.min(CELLS_PER_SIDE - 1, Math.floor(x[i] / cellSize));
        assert.equal(key[i], expected);
        keys.add(key[i]);
      }
    });
    assert.equal(keys.size, CELLS_PER_SIDE * CELLS_PER_SIDE, "ships in every cell");
    await runtime.close();
  });
});

describe("examples are deterministic", () => {
  for (const [name, scene, pinned] of PINNED_CHECKSUMS) {
    it(`${name}: one checksum per seed, the same under Bun and Deno`, async () => {
      const first = await checksumAfter(scene, 7, TICKS);
      assert.equal(await checksumAfter(scene, 7, TICKS), first);
      assert.notEqual(await checksumAfter(scene, 8, TICKS), first);
      assert.equal(first, pinned, `${name} after ${TICKS} ticks with seed 7`);
    });
  }
});
