/**
 * Frame overhead: what a frame costs per system when the systems do nothing,
 * on the blocking backend, against the baseline of a plain loop calling the
 * same number of empty functions (the least any scheduler can cost). Cases:
 *
 * - `run_one_stage`: N `run` systems that write disjoint resources, so all
 *   share one stage;
 * - `run_n_stages`: N `run` systems that all write one resource, so each is
 *   a stage of its own (its commands applied after it);
 * - `query_empty`: N query systems over a component no entity has.
 *
 * Each prints nanoseconds per system per frame, the ratio to the baseline,
 * and the heap growth per frame (which must be 0: a frame allocates
 * nothing).
 *
 * Usage:
 *   npx bun scripts/bench/frame.ts [--json] [--quick] [--rounds N] [--systems N] [--no-timing]
 *   npx deno run -A scripts/bench/frame.ts [same options]
 *
 * @module
 */

import {
  defineComponent,
  defineResource,
  defineScene,
  defineSystem,
  type Resource,
  Runtime,
  type Scene,
  type System,
} from "staticecs";
import {
  benchOptions,
  formatNumber,
  formatTable,
  frameTiming,
  heapPerOp,
  interleave,
  median,
  prepareRunner,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const options = benchOptions({
  script: "frame.ts",
  usage: "usage: frame.ts [--json] [--quick] [--rounds N] [--systems N] [--no-timing]",
  rounds: { quick: 3, full: 9 },
  options: { systems: "string", "no-timing": "boolean" },
}, (args) => {
  const systems = Number(args.values.systems ?? "100");
  if (!Number.isInteger(systems) || systems < 1 || systems > 10_000) {
    throw new Error(`--systems must be an integer from 1 to 10000; got ${args.values.systems}`);
  }
  return { ...args, systems, noTiming: args.values["no-timing"] };
});
const { rounds } = options;
const timing = frameTiming(options);
const systemCount = options.systems;

const Nobody = defineComponent("Nobody", { value: "u32" });
const Shared = defineResource("Shared", { value: "u32" });
const Own = Array.from({ length: systemCount }, (_, i) => defineResource(`Own${i}`, { v: "u32" }));

const CASES: Record<string, () => Scene> = {
  run_one_stage: () =>
    scene(Own.map((own, i) => defineSystem({ name: `s${i}`, writes: [own], run() {} })), Own),
  run_n_stages: () =>
    scene(
      Own.map((_, i) => defineSystem({ name: `s${i}`, writes: [Shared], run() {} })),
      [Shared],
    ),
  query_empty: () =>
    scene(
      Own.map((_, i) =>
        defineSystem({ name: `s${i}`, query: { all: [Nobody] }, reads: [Nobody], runChunk() {} })
      ),
      [],
    ),
};

function scene(systems: System[], resources: readonly Resource[]): Scene {
  return defineScene({ components: [Nobody], resources, systems });
}

/** The baseline: the same number of empty functions, called in a loop. */
function baseline(): () => void {
  const bodies = Array.from({ length: systemCount }, () => () => {});
  return () => {
    for (let i = 0; i < bodies.length; i++) bodies[i]();
  };
}

/**
 * The runtime's own clock reads, on (the CLI's default) or off with `--no-timing` (frameTiming
 * false, systemTimingEvery 0): under Deno each `performance.now()` read allocates a number.
 */
const TIMING = options.noTiming ? { frameTiming: false, systemTimingEvery: 0 } as const : {};

const rows: Row[] = [];
const ratios: Record<string, number> = {};
const heap: Record<string, number> = {};
for (const [name, make] of Object.entries(CASES)) {
  const runtime = await Runtime.create(make(), TIMING);
  try {
    const tick = await prepareRunner("staticecs", () => runtime.tick());
    const loop = await prepareRunner("baseline", baseline());
    const [ticks, loops] = (await interleave([tick, loop], timing)).map(median);
    const nsPerSystem = 1e9 / ticks / systemCount;
    rows.push({ case: name, subject: "staticecs", value: nsPerSystem, unit: "ns/system" });
    rows.push({
      case: name,
      subject: "baseline",
      value: 1e9 / loops / systemCount,
      unit: "ns/call",
    });
    ratios[name] = (1e9 / loops) / (1e9 / ticks);
    heap[name] = (await heapPerOp(tick, 3, 20_000)).grownBytes;
  } finally {
    await runtime.close();
  }
}

if (options.json) {
  printJson({ bench: "frame", runtime: runtimeName(), systems: systemCount, rows, ratios, heap });
} else {
  console.log(
    `frame overhead on ${runtimeName()}, ${systemCount} empty systems, median of ${rounds} rounds`,
  );
  console.log(formatTable(
    ["case", "ns/system", "baseline ns/call", "baseline / staticecs", "heap bytes/frame"],
    Object.keys(ratios).map((name) => [
      name,
      formatNumber(rows.find((r) => r.case === name && r.subject === "staticecs")!.value, 1),
      formatNumber(rows.find((r) => r.case === name && r.subject === "baseline")!.value, 2),
      formatNumber(ratios[name], 3),
      formatNumber(heap[name], 1),
    ]),
  ));
}
