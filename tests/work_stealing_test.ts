/**
 * The work-stealing backend against the blocking reference: the same scene,
 * with spawns, despawns, adds, removes, sets and events recorded on worker
 * threads, ends with the same world checksum on 1 to 4 workers; a system
 * that throws on a worker shows in the frame result and the pool goes on.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Backend, BlockingBackend, Runtime, UsageError, WorkStealingBackend } from "../mod.ts";
import { DEFAULT_MIN_PARALLEL_WORK } from "../backend.ts";
import scene, { Tally } from "./fixtures/parallel_scene.ts";
import { blockingChecksum, runUntilWorkersRan, workerTasks } from "./fixtures/on_pool.ts";

const SCENE_URL = new URL("./fixtures/parallel_scene.ts", import.meta.url).href;
const TICKS = 300;
const FAULT_TICK = 37;
const LONG = { timeout: 60_000 };

interface Outcome {
  readonly checksum: string;
  readonly entities: number;
  readonly splits: number;
  readonly faults: { tick: number; system: string; message: string }[];
  readonly stats: Record<string, unknown>;
}

async function play(backend: Backend): Promise<Outcome> {
  const runtime = await Runtime.create(scene, { backend, seed: 99 });
  try {
    runtime.world.resource(Tally).faultTick = FAULT_TICK;
    const faults: Outcome["faults"] = [];
    for (let i = 0; i < TICKS; i++) {
      const frame = runtime.tick();
      for (const e of frame.errors) {
        faults.push({ tick: e.tick, system: e.system, message: e.message });
      }
    }
    return {
      checksum: runtime.checksum(),
      entities: runtime.world.entityCount,
      splits: runtime.world.resource(Tally).splits,
      faults,
      stats: runtime.backend.stats(),
    };
  } finally {
    await runtime.close();
  }
}

function parallel(workers: number): WorkStealingBackend {
  return new WorkStealingBackend({ sceneUrl: SCENE_URL, workers, minParallelWork: 1 });
}

describe("work-stealing backend", () => {
  test("ends with the blocking backend's checksum on 1, 2, 3 and 4 workers", LONG, async () => {
    const reference = await play(new BlockingBackend());
    assert.ok(reference.splits > 0, "the scene splits entities");
    assert.notEqual(reference.entities, 3000, "the population changes");
    for (const workers of [1, 2, 3, 4]) {
      const outcome = await play(parallel(workers));
      assert.equal(outcome.checksum, reference.checksum, `checksum with ${workers} workers`);
      assert.equal(outcome.entities, reference.entities, `entities with ${workers} workers`);
      assert.equal(outcome.splits, reference.splits, `events counted with ${workers} workers`);
      assert.equal(outcome.stats.workers, workers);
      assert.ok((outcome.stats.stagesParallel as number) > 0, "stages ran in parallel");
      const threads = outcome.stats.threads as { tasksExecuted: number }[];
      assert.equal(threads.length, workers + 1);
      assert.ok(threads.reduce((sum, t) => sum + t.tasksExecuted, 0) > TICKS);
    }
  });

  test("a system that throws on a worker is reported by name; the pool goes on", LONG, async () => {
    const outcome = await play(parallel(2));
    assert.ok(outcome.faults.length >= 1, "the fault was reported");
    for (const fault of outcome.faults) {
      assert.equal(fault.tick, FAULT_TICK);
      assert.equal(fault.system, "fragile");
      assert.equal(fault.message, `fault at tick ${FAULT_TICK}`);
    }
    const reference = await play(new BlockingBackend());
    assert.equal(reference.faults.length >= 1, true);
    assert.equal(outcome.checksum, reference.checksum, "frames after the fault match");
  });

  test("a scene module that cannot load in the workers fails init with its reason", async () => {
    const backend = new WorkStealingBackend({
      sceneUrl: new URL("./fixtures/does_not_exist.ts", import.meta.url).href,
      workers: 1,
    });
    await assert.rejects(Runtime.create(scene, { backend }), /worker 1 could not start/);
  });

  test("workers 0 runs every stage inline", LONG, async () => {
    const outcome = await play(parallel(0));
    const reference = await play(new BlockingBackend());
    assert.equal(outcome.checksum, reference.checksum);
    assert.equal(outcome.stats.stagesParallel, 0);
  });
});

describe("minParallelWork 0: a small scene's determinism checked on the pool", () => {
  const seed = 7;

  test("with the default threshold every stage of the small scene runs inline", LONG, async () => {
    const backend = new WorkStealingBackend({ sceneUrl: SCENE_URL, workers: 2 });
    const runtime = await Runtime.create(scene, { backend, seed });
    try {
      runtime.run(30);
      const stats = backend.stats();
      assert.equal(stats.minParallelWork, DEFAULT_MIN_PARALLEL_WORK);
      assert.equal(stats.stagesParallel, 0, "below the threshold the pool checks nothing");
      assert.equal(workerTasks(stats), 0);
    } finally {
      await runtime.close();
    }
  });

  test("with 0, workers run its tasks and the checksum is blocking's on 1, 2 and 3 workers", {
    timeout: 120_000,
  }, async () => {
    for (const workers of [1, 2, 3]) {
      const backend = new WorkStealingBackend({ sceneUrl: SCENE_URL, workers, minParallelWork: 0 });
      const run = await runUntilWorkersRan(scene, backend, seed, 60);
      assert.equal(run.stats.minParallelWork, 0);
      // `move` and `life` have many chunks; `count` is one run system, alone in its stage.
      assert.equal(run.stats.stagesParallel, 2 * run.ticks, `${workers} workers`);
      assert.equal(run.stats.stagesInline, run.ticks, "the one-system, one-task stage");
      assert.ok(workerTasks(run.stats) > 0, `tasks ran on the ${workers} workers`);
      const reference = await blockingChecksum(scene, seed, run.ticks);
      assert.equal(run.checksum, reference, `checksum with ${workers} workers`);
    }
  });

  test("a negative or non-number minParallelWork is a UsageError naming it", async () => {
    for (const minParallelWork of [-1, Number.NaN]) {
      const backend = new WorkStealingBackend({ sceneUrl: SCENE_URL, workers: 1, minParallelWork });
      await assert.rejects(
        Runtime.create(scene, { backend }),
        (error) =>
          error instanceof UsageError &&
          /^minParallelWork must be a number of 0 or more .*; got (-1|NaN)$/.test(error.message),
      );
    }
  });
});
