/**
 * The cost of `checkAccess` (`staticecs run --check-access`): each scene runs
 * twice in this process, with the opt-in access hash off (the baseline) and
 * on, on the blocking and the work-stealing backend, one tick per op, the
 * subjects' measurements interleaved; the figure is ticks/s with the check
 * over ticks/s without it. The always-on check (one table load per column
 * call) is in both, as in every run.
 *
 * Usage:
 *   npx bun scripts/bench/check_access.ts [--json] [--quick] [--rounds N]
 *   npx deno run -A scripts/bench/check_access.ts [same options]
 *
 * @module
 */

import { type Backend, BlockingBackend, Runtime, type Scene, WorkStealingBackend } from "staticecs";
import boids from "../../examples/boids.ts";
import lifecycle from "../../examples/lifecycle.ts";
import heavy from "./scenes/heavy_compute.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  frameTiming,
  interleave,
  median,
  parseNames,
  prepareRunner,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const SCENES: Record<string, { scene: Scene; url: string }> = {
  boids: { scene: boids, url: new URL("../../examples/boids.ts", import.meta.url).href },
  lifecycle: {
    scene: lifecycle,
    url: new URL("../../examples/lifecycle.ts", import.meta.url).href,
  },
  heavy_compute: {
    scene: heavy,
    url: new URL("./scenes/heavy_compute.ts", import.meta.url).href,
  },
};
const BACKENDS: Record<string, (url: string) => Backend> = {
  blocking: () => new BlockingBackend(),
  "work-stealing": (url) => new WorkStealingBackend({ sceneUrl: url, workers: 1 }),
};

const options = benchOptions({
  script: "check_access.ts",
  usage: "usage: check_access.ts [--json] [--quick] [--rounds N] [--scenes a,b]",
  rounds: { quick: 3, full: 9 },
  options: { scenes: "string" },
}, (args) => ({
  ...args,
  scenes: parseNames("--scenes", args.values.scenes, Object.keys(SCENES), "scene") ??
    Object.keys(SCENES),
}));
const { rounds, scenes } = options;
const timing = frameTiming(options);

const rows: Row[] = [];
const ratios: Record<string, number> = {};
for (const name of scenes) {
  for (const [backendName, makeBackend] of Object.entries(BACKENDS)) {
    const { scene, url } = SCENES[name];
    const runtimes = await Promise.all(
      [false, true].map((checkAccess) =>
        Runtime.create(scene, { backend: makeBackend(url), checkAccess, seed: 7 })
      ),
    );
    try {
      const runners = await Promise.all(
        runtimes.map((runtime, i) =>
          prepareRunner(i === 0 ? "off" : "on", () => {
            const frame = runtime.tick();
            if (!frame.ok) throw new Error(`${name}: ${frame.errors[0].message}`);
          })
        ),
      );
      const [off, on] = (await interleave(runners, timing)).map(median);
      const key = `${name} ${backendName}`;
      rows.push({ case: key, subject: "off", value: off, unit: "ticks/s" });
      rows.push({ case: key, subject: "on", value: on, unit: "ticks/s" });
      ratios[key] = on / off;
    } finally {
      for (const runtime of runtimes) await runtime.close();
    }
  }
}

if (options.json) {
  printJson({ bench: "check_access", runtime: runtimeName(), rows, ratios, rounds });
} else {
  console.log(`checkAccess cost on ${runtimeName()}, median of ${rounds} interleaved rounds`);
  console.log(formatTable(
    ["scene, backend", "ticks/s off", "ticks/s on", "on / off"],
    Object.keys(ratios).map((key) => [
      key,
      formatNumber(rows.find((r) => r.case === key && r.subject === "off")!.value),
      formatNumber(rows.find((r) => r.case === key && r.subject === "on")!.value),
      formatNumber(ratios[key], 2),
    ]),
  ));
}
