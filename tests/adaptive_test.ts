/**
 * The adaptive backend: a tiny stage stays inline, a heavy one goes
 * parallel, a stage whose entities grow 100x mid-run switches once and
 * stays, noisy timings fed to the estimator cause no oscillation, and the
 * world ends as on the blocking backend.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdaptiveBackend, type Backend, BlockingBackend, Random, Runtime } from "../mod.ts";
import { ModeEstimator } from "../core/scheduler/_estimator.ts";
import adaptiveScene, { Growth } from "./fixtures/adaptive_scene.ts";
import parallelScene from "./fixtures/parallel_scene.ts";
import heavyScene from "../scripts/bench/scenes/heavy_compute.ts";

const LONG = { timeout: 60_000 };
const ADAPTIVE_URL = new URL("./fixtures/adaptive_scene.ts", import.meta.url).href;
const PARALLEL_URL = new URL("./fixtures/parallel_scene.ts", import.meta.url).href;
const HEAVY_URL = new URL("../scripts/bench/scenes/heavy_compute.ts", import.meta.url).href;

type Row = Record<string, number | string>;
type SwitchEvent = { tick: number; stage: string; from: string; to: string; reason: string };

function stageRow(backend: Backend, system: string): Row {
  const rows = backend.stats().stages as Row[];
  const row = rows.find((r) => String(r.systems).split(",").includes(system));
  assert.ok(row !== undefined, `a stats row for ${system}`);
  return row;
}

describe("adaptive backend", () => {
  test(
    "a tiny stage stays inline; a stage whose entities grow 100x switches once and stays",
    LONG,
    async () => {
      const backend = new AdaptiveBackend({ sceneUrl: ADAPTIVE_URL, workers: 1 });
      const switches: SwitchEvent[] = [];
      const runtime = await Runtime.create(adaptiveScene, {
        backend,
        trace: { onSwitch: (event) => switches.push(event) },
      });
      try {
        runtime.world.resource(Growth).tick = 60;
        runtime.run(60);
        assert.equal(stageRow(backend, "churn").mode, "inline", "few entities: inline");
        runtime.run(240);
        const tiny = stageRow(backend, "tiny");
        assert.equal(tiny.mode, "inline");
        assert.equal(tiny.switches, 0);
        assert.ok((tiny.parallelRuns as number) > 0, "parallel was tried");
        assert.ok((tiny.inlineMs as number) < (tiny.parallelMs as number));
        const churn = stageRow(backend, "churn");
        assert.equal(churn.mode, "parallel", `grown: parallel (${JSON.stringify(churn)})`);
        assert.equal(churn.switches, 1, JSON.stringify(churn));
        const churnSwitches = switches.filter((s) => s.stage === churn.stage);
        assert.equal(churnSwitches.length, 1);
        assert.equal(churnSwitches[0].from, "inline");
        assert.equal(churnSwitches[0].to, "parallel");
        assert.ok(churnSwitches[0].tick > 60, "after the growth tick");
      } finally {
        await runtime.close();
      }
    },
  );

  test("a heavy stage goes parallel", LONG, async () => {
    const backend = new AdaptiveBackend({ sceneUrl: HEAVY_URL, workers: 1 });
    const runtime = await Runtime.create(heavyScene, { backend });
    try {
      runtime.run(120);
      const row = stageRow(backend, "invert");
      assert.equal(row.mode, "parallel", JSON.stringify(row));
      assert.ok((row.parallelRuns as number) > (row.inlineRuns as number));
    } finally {
      await runtime.close();
    }
  });

  test("ends with the blocking backend's checksum, also when it switches often", LONG, async () => {
    const play = async (backend: Backend) => {
      const runtime = await Runtime.create(parallelScene, { backend, seed: 7 });
      try {
        runtime.run(200);
        return { checksum: runtime.checksum(), stats: backend.stats() };
      } finally {
        await runtime.close();
      }
    };
    const reference = await play(new BlockingBackend());
    const adaptive = await play(new AdaptiveBackend({ sceneUrl: PARALLEL_URL, workers: 1 }));
    assert.equal(adaptive.checksum, reference.checksum);
    // A jumpy tuning: explores every other run and switches on any gain, so both modes mix.
    const jumpy = await play(
      new AdaptiveBackend({
        sceneUrl: PARALLEL_URL,
        workers: 1,
        estimator: { cooldownRuns: 1, exploreEveryRuns: 2, marginRatio: 0, noiseSigmas: 0 },
      }),
    );
    assert.equal(jumpy.checksum, reference.checksum);
    assert.ok((jumpy.stats.stagesParallel as number) > 0, "some stages ran in parallel");
    assert.ok((jumpy.stats.stagesInline as number) > 0, "some stages ran inline");
  });
});

describe("mode estimator", () => {
  /** Feeds `runs` runs of one slot with timings from `ms(mode)`; returns the estimator. */
  function feed(runs: number, ms: (mode: 0 | 1) => number, prior: 0 | 1 = 0): ModeEstimator {
    const estimator = new ModeEstimator({ slots: 1 });
    estimator.prior(0, prior);
    for (let i = 0; i < runs; i++) {
      const mode = estimator.next(0, 1000);
      estimator.observe(0, mode, 1000, ms(mode));
    }
    return estimator;
  }

  test("noisy timings around equal means cause at most one switch", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = new Random(seed, 1);
      // Both modes 1 ms on average, +-40% uniform noise and a 5 ms spike in 2% of runs.
      const noisy = () => (1 + random.range(-0.4, 0.4)) + (random.next() < 0.02 ? 5 : 0);
      const estimator = feed(600, noisy);
      assert.ok(estimator.switches(0) <= 1, `seed ${seed}: ${estimator.switches(0)} switches`);
    }
  });

  test("noisy timings with a small true difference cause at most one switch", () => {
    const random = new Random(11, 1);
    const estimator = feed(800, (mode) => (mode === 1 ? 1.08 : 1) * (1 + random.range(-0.3, 0.3)));
    assert.ok(estimator.switches(0) <= 1);
  });

  test("a clearly better mode wins once and keeps winning", () => {
    const random = new Random(5, 1);
    const estimator = feed(400, (mode) => (mode === 1 ? 1 : 3) * (1 + random.range(-0.2, 0.2)));
    assert.equal(estimator.switches(0), 1);
    assert.equal(estimator.mode(0), 1);
    assert.ok(estimator.runCount(0, 0) > 0 && estimator.runCount(0, 1) > 0, "both modes measured");
  });

  test("a work change beyond the ratio lets the prior decide again", () => {
    const estimator = new ModeEstimator({ slots: 1 });
    estimator.prior(0, 0);
    for (let i = 0; i < 50; i++) estimator.observe(0, estimator.next(0, 100, 0), 100, 1);
    assert.equal(estimator.next(0, 10_000, 1), 1);
    const change = estimator.takeSwitch();
    assert.equal(change?.to, 1);
    assert.equal(estimator.switches(0), 1);
  });
});
