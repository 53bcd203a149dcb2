/**
 * Runs the concurrency stress tests many rounds in a row, each round with a
 * new seed, in this process, under whichever runtime runs the script:
 *
 * ```sh
 * npx bun scripts/stress.ts [--rounds 100] [--seed S] [--only mpmc,storm] [--timeout-ms 20000]
 * npx deno run -A scripts/stress.ts --rounds 3
 * ```
 *
 * Round r runs every case with seed `S + r * 0x9e3779b9` (mod 2^32), where S is
 * `--seed`, else STATICECS_STRESS_SEED, else random; so `--rounds 1 --seed X`
 * repeats exactly the seed a failure printed. A failure prints its case, round
 * and seed and the run goes on; the last line is `N passed, N failed` (one per
 * case per round) and the exit code is 1 if anything failed.
 *
 * To stress something new (the backend's determinism check, say), add a case
 * to {@link CASES}: a name and a function from a seed to a one-line summary
 * that throws on failure.
 *
 * @module
 */

import process from "node:process";
import { type Backend, BlockingBackend, Runtime, WorkStealingBackend } from "../mod.ts";
import { parseArgs } from "node:util";
import {
  runInjectorStress,
  runMpmcStress,
  runPingPong,
  runStealStorm,
  stressSeed,
  type StressSummary,
} from "../tests/fixtures/deque_stress.ts";
import { runClusterChurn } from "../tests/fixtures/cluster_churn.ts";
import { hostName } from "../core/_host.ts";
import { runClusterChurnRedis } from "../tests/fixtures/cluster_churn_redis.ts";
import { redisSkip, startRedis } from "../tests/fixtures/redis.ts";

/** One stress test: `run` throws on failure and returns a one-line summary otherwise. */
export interface StressCase {
  readonly name: string;
  /** Why the case cannot run on this machine (a missing system part), or false. */
  skip?(): false | string;
  run(seed: number, timeoutMs: number): Promise<string>;
}

/** Every stress case, run in this order each round. */
export const CASES: readonly StressCase[] = [
  {
    name: "mpmc",
    run: async (seed, timeoutMs) => describe(await runMpmcStress({ seed, timeoutMs })),
  },
  {
    name: "injector",
    run: async (seed, timeoutMs) => describe(await runInjectorStress({ seed, timeoutMs })),
  },
  {
    name: "storm",
    run: async (seed, timeoutMs) => describe(await runStealStorm({ seed, timeoutMs })),
  },
  {
    name: "determinism",
    run: (seed) => runDeterminism(seed),
  },
  {
    name: "cluster",
    run: async (seed, timeoutMs) => {
      const summary = await runClusterChurn({ seed, events: 10, timeoutMs });
      return `${summary.events.length} membership changes, ${summary.failovers} failovers, ` +
        `${summary.entities} entities at the end, as spawned`;
    },
  },
  {
    name: "cluster-redis",
    skip: redisSkip,
    run: async (seed, timeoutMs) => {
      const redis = await startRedis();
      try {
        const summary = await runClusterChurnRedis({
          seed,
          events: 12,
          timeoutMs,
          redisUrl: redis.url,
          prefix: `stress${seed}`,
        });
        const crashes = summary.events.filter((e) => e.startsWith("crash")).length;
        return `${summary.events.length} changes, ${crashes} coordinator crashes, ` +
          `${summary.entities} entities at the end, as spawned`;
      } finally {
        await redis.stop();
      }
    },
  },
  {
    name: "pingpong",
    run: async (seed, timeoutMs) => {
      const summary = await runPingPong({ seed, timeoutMs });
      if (summary.lostWakeups > 0) throw new Error(`${summary.lostWakeups} lost wake-ups`);
      return `${summary.rounds} rounds, ${summary.workerParks} worker parks, ` +
        `${summary.mainParks} main parks, 0 lost wake-ups`;
    },
  },
];

/**
 * The parallel test scene with this seed on the blocking backend and on the
 * work-stealing backend with 1 to 3 workers (every stage parallel): the
 * world checksums after 120 frames of spawns, despawns, adds, removes, sets
 * and events recorded on workers must all be equal.
 */
async function runDeterminism(seed: number): Promise<string> {
  const sceneUrl = new URL("../tests/fixtures/parallel_scene.ts", import.meta.url).href;
  const scene = (await import(sceneUrl)).default;
  const backends: Backend[] = [
    new BlockingBackend(),
    ...[1, 2, 3].map((workers) =>
      new WorkStealingBackend({ sceneUrl, workers, minParallelWork: 1 })
    ),
  ];
  const sums: string[] = [];
  for (const backend of backends) {
    const runtime = await Runtime.create(scene, { backend, seed });
    try {
      runtime.run(120);
      sums.push(runtime.checksum());
    } finally {
      await runtime.close();
    }
  }
  if (new Set(sums).size !== 1) {
    throw new Error(`checksums differ: blocking ${sums[0]}, 1-3 workers ${sums.slice(1)}`);
  }
  return `blocking and 1-3 workers agree on ${sums[0]}`;
}

/** A round's seed: round 0 runs `base` itself. */
export function roundSeed(base: number, round: number): number {
  return (base + Math.imul(round, 0x9e3779b9)) >>> 0;
}

function describe(summary: StressSummary): string {
  return `${summary.tasks} tasks, executed ${summary.executed.join("/")}, steals ` +
    `${summary.stealOk} ok ${summary.stealRetry} lost, ${summary.injected} injected, ` +
    `${summary.inline} inline, ${summary.parks} parks`;
}

interface Options {
  readonly rounds: number;
  readonly seed: number;
  readonly cases: readonly StressCase[];
  readonly timeoutMs: number;
}

const USAGE = `usage: scripts/stress.ts [--rounds N] [--seed S] ` +
  `[--only ${CASES.map((entry) => entry.name).join(",")}] [--timeout-ms MS]`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string", default: "100" },
      seed: { type: "string" },
      only: { type: "string" },
      "timeout-ms": { type: "string", default: "20000" },
    },
    strict: true,
  });
  const integer = (text: string, name: string, max: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new Error(`--${name} must be an integer in [0, ${max}]; got "${text}"\n${USAGE}`);
    }
    return value;
  };
  const rounds = integer(values.rounds, "rounds", 1_000_000);
  const seed = values.seed === undefined ? stressSeed() : integer(values.seed, "seed", 2 ** 32 - 1);
  const timeoutMs = integer(values["timeout-ms"], "timeout-ms", 600_000);
  const wanted = values.only?.split(",").filter((name) => name !== "");
  const cases = wanted === undefined ? CASES : CASES.filter((entry) => wanted.includes(entry.name));
  const unknown = wanted?.filter((name) => !CASES.some((entry) => entry.name === name)) ?? [];
  if (unknown.length > 0 || cases.length === 0) {
    throw new Error(`--only: unknown case ${unknown.join(",") || "(none given)"}\n${USAGE}`);
  }
  return { rounds, seed, cases, timeoutMs };
}

async function main(): Promise<number> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const runtime = hostName() ?? "unknown";
  const command = runtime === "deno"
    ? "npx deno run -A scripts/stress.ts"
    : `npx ${runtime} scripts/stress.ts`;
  console.log(
    `stress: ${options.rounds} rounds of ${options.cases.map((entry) => entry.name).join(", ")} ` +
      `on ${runtime}, base seed ${options.seed}`,
  );
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const startedMs = performance.now();
  for (let round = 0; round < options.rounds; round += 1) {
    const seed = roundSeed(options.seed, round);
    const roundStartedMs = performance.now();
    for (const entry of options.cases) {
      const caseStartedMs = performance.now();
      const skip = entry.skip?.() ?? false;
      if (skip !== false) {
        skipped += 1;
        console.log(`  round ${round} ${entry.name}: skipped: ${skip}`);
        continue;
      }
      try {
        const summary = await entry.run(seed, options.timeoutMs);
        passed += 1;
        const ms = (performance.now() - caseStartedMs).toFixed(0);
        console.log(`  round ${round} ${entry.name} seed ${seed}: ok in ${ms} ms (${summary})`);
      } catch (error) {
        failed += 1;
        const message = error instanceof Error ? error.message : String(error);
        console.log(
          `  round ${round} ${entry.name} seed ${seed}: FAILED: ${message}\n` +
            `    repeat: ${command} --rounds 1 --seed ${seed} --only ${entry.name}`,
        );
      }
    }
    const roundMs = (performance.now() - roundStartedMs).toFixed(0);
    console.log(`round ${round} seed ${seed}: ${roundMs} ms`);
  }
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  console.log(`${options.rounds} rounds in ${seconds} s`);
  if (skipped > 0) console.log(`${skipped} skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) {
  // Exit explicitly: a worker a failed case could not stop must not keep the process alive.
  process.exit(await main());
}
