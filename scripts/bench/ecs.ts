/**
 * StaticECS against the JavaScript ECS peers (piecs, bitECS 0.3 and 0.4,
 * goodluck, Miniplex, Koota, Becsy, Woven-ECS) on the five cases of the
 * standard JavaScript ECS benchmark (noctjs/ecs-benchmark; see
 * peers/_subject.ts), plus a scale case (1M entities moving, against a
 * hand-written typed-array loop: the ceiling) and the heap growth per frame
 * of the structural cases.
 *
 * Every subject runs in this process and runtime; each case is warmed up and
 * measured in interleaved rounds, and the median ops/s (one op = one frame)
 * is reported, with StaticECS's ratio to each peer and to the best peer of
 * the case (named in `bestPeers` with `--json`).
 *
 * Usage:
 *   npx bun scripts/bench/ecs.ts [--json] [--quick] [--rounds N] [--cases a,b] [--subjects a,b]
 *     [--in-process]
 *   npx deno run -A scripts/bench/ecs.ts [same options]
 *
 * Each case runs in a child process of its own (as the standard benchmark runs
 * each in a fresh worker); `--in-process` runs them all in this one.
 *
 * `--cases` takes packed_5, simple_iter, frag_iter, entity_cycle, add_remove,
 * scale; `--subjects` takes staticecs (always run), piecs, bitecs-0.3, bitecs
 * (0.4), goodluck, miniplex, koota, becsy, woven; `--quick` is a CI smoke run
 * (fewer, shorter rounds; a 100k-entity scale case). With `--json`, `ratios`
 * holds `<case>_vs_<peer>` and `<case>_vs_best_peer` (StaticECS's ops/s over
 * the peer's) and `scale_vs_loop`. A peer that fails to load, set up, or
 * give the right result after its first frame is listed as not run, with the
 * reason. A peer that hangs synchronously (Becsy does, in World.create, when two
 * systems writing one component are left unordered) hangs the run.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";
import { jsonFromScript } from "./_cluster_child.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  heapPerOp,
  interleave,
  median,
  parseNames,
  parseSubset,
  prepareRunner,
  printJson,
  type Row,
  type Runner,
  runtimeName,
  runtimeVersion,
  type Timing,
  withTimeout,
} from "./_harness.ts";
import {
  type CaseInstance,
  type CaseName,
  CASES,
  type EcsSubject,
  PROBE_AFTER_FIRST_FRAME,
} from "./peers/_subject.ts";
import {
  SCALE_CONFIG,
  scaleWorld,
  sparseSubject,
  subject as staticEcs,
} from "./peers/staticecs.ts";

/** Peer adapters, loaded at start so a library that fails to load is reported, not fatal. */
const PEER_LOADERS: readonly (readonly [string, () => Promise<{ subject: EcsSubject }>])[] = [
  ["piecs", () => import("./peers/piecs.ts")],
  ["bitecs-0.3", () => import("./peers/bitecs_0_3.ts")],
  ["bitecs", () => import("./peers/bitecs.ts")],
  ["goodluck", () => import("./peers/goodluck.ts")],
  ["miniplex", () => import("./peers/miniplex.ts")],
  ["koota", () => import("./peers/koota.ts")],
  ["becsy", () => import("./peers/becsy.ts")],
  ["woven", () => import("./peers/woven.ts")],
];

const ALL_CASES = [...CASES, "scale"] as const;
type BenchCase = typeof ALL_CASES[number];
const HEAP_CASES: readonly CaseName[] = ["entity_cycle", "add_remove"];
const SETUP_TIMEOUT_MS = 60_000;
const SCALE_DT = 1 / 60;
const LOOP_SUBJECT = "typed_array_loop";

interface Options {
  readonly json: boolean;
  /** Run every case in this process (a child does), instead of a child process per case. */
  readonly inProcess: boolean;
  readonly quick: boolean;
  readonly timing: Timing;
  readonly cases: readonly BenchCase[];
  readonly subjects: readonly string[] | undefined;
  readonly scaleEntities: number;
  readonly heapBatches: number;
  /** About how long the larger batch of a heap measurement may run: it bounds its ops. */
  readonly heapSeconds: number;
}

/** A subject that could not run a case (or at all), and why. */
interface Skip {
  readonly subject: string;
  readonly case: string;
  readonly reason: string;
}

function parseOptions(): Options {
  return benchOptions({
    script: "ecs.ts",
    usage: USAGE,
    rounds: { quick: 3, full: 15 },
    options: { cases: "string", subjects: "string", "in-process": "boolean" },
  }, ({ json, quick, rounds, values }) => ({
    json,
    inProcess: values["in-process"] === true,
    quick,
    timing: quick ? { warmupMs: 50, sliceMs: 40, rounds } : { warmupMs: 300, sliceMs: 100, rounds },
    cases: parseSubset("--cases", values.cases, ALL_CASES, "case"),
    subjects: parseSubjects(values.subjects),
    scaleEntities: quick ? 100_000 : 1_000_000,
    heapBatches: quick ? 3 : 5,
    heapSeconds: quick ? 0.1 : 0.5,
  }));
}

function parseSubjects(list: string | undefined): readonly string[] | undefined {
  const known = [staticEcs.name, ...PEER_LOADERS.map(([name]) => name)];
  return parseNames("--subjects", list, known, "subject");
}

async function loadSubjects(options: Options, skips: Skip[]): Promise<EcsSubject[]> {
  const wanted = (name: string) => options.subjects?.includes(name) ?? true;
  const subjects: EcsSubject[] = [staticEcs, sparseSubject];
  for (const [name, load] of PEER_LOADERS) {
    if (!wanted(name)) continue;
    try {
      subjects.push((await load()).subject);
    } catch (error) {
      skips.push({ subject: name, case: "*", reason: `does not load: ${describe(error)}` });
    }
  }
  return subjects;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split("\n")[0].slice(0, 160);
}

/** Sets a subject up for a case and checks its first frame; undefined (and a skip) on failure. */
async function prepare(
  subject: EcsSubject,
  name: CaseName,
  skips: Skip[],
): Promise<[CaseInstance, Runner] | undefined> {
  let instance: CaseInstance | undefined;
  try {
    const made = withTimeout(Promise.resolve(subject.setup(name)), SETUP_TIMEOUT_MS, "setup");
    instance = await made;
    const runner = await withTimeout(prepareRunner(subject.name, instance.op), 10_000, "a frame");
    const seen = await instance.probe();
    if (seen !== PROBE_AFTER_FIRST_FRAME[name]) {
      throw new Error(
        `wrong result after one frame: ${seen}, expected ${PROBE_AFTER_FIRST_FRAME[name]}`,
      );
    }
    return [instance, runner];
  } catch (error) {
    skips.push({ subject: subject.name, case: name, reason: describe(error) });
    await instance?.close?.();
    return undefined;
  }
}

/** Measures one case in every subject that runs it: ops/s rows, then heap rows if wanted. */
async function runCase(
  name: CaseName,
  subjects: readonly EcsSubject[],
  options: Options,
  skips: Skip[],
): Promise<Row[]> {
  const prepared: [CaseInstance, Runner][] = [];
  for (const subject of subjects) {
    if (subject === sparseSubject && name !== "add_remove") continue; // its one case
    const ready = await prepare(subject, name, skips);
    if (ready !== undefined) prepared.push(ready);
  }
  const runners = prepared.map(([, runner]) => runner);
  const samples = await interleave(runners, options.timing);
  const rows: Row[] = runners.map((runner, i) => ({
    case: name,
    subject: runner.subject,
    value: median(samples[i]),
    unit: "ops/s",
  }));
  if (HEAP_CASES.includes(name)) {
    for (const [i, runner] of runners.entries()) {
      const opsMax = Math.max(4, Math.min(16_384, Math.round(rows[i].value * options.heapSeconds)));
      const heap = await heapPerOp(runner, options.heapBatches, opsMax);
      rows.push({ case: name, subject: runner.subject, value: heap.grownBytes, unit: "bytes/op" });
      rows.push({
        case: name,
        subject: runner.subject,
        value: heap.retainedBytes,
        unit: "bytes/op retained",
      });
    }
  }
  for (const [instance] of prepared) await instance.close?.();
  return rows;
}

/** The scale case: StaticECS's movement system over N entities against a plain loop. */
async function runScale(options: Options, skips: Skip[]): Promise<Row[]> {
  const count = options.scaleEntities;
  const init = (i: number) => 1 + (i % 1000) / 100;
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  const vx = new Float32Array(count);
  const vy = new Float32Array(count);
  for (let i = 0; i < count; i++) [x[i], y[i], vx[i], vy[i]] = [i, -i, init(i), -init(i)];
  const loop = () => {
    for (let i = 0; i < count; i++) {
      x[i] += vx[i] * SCALE_DT;
      y[i] += vy[i] * SCALE_DT;
    }
  };
  const runners = [await prepareRunner(LOOP_SUBJECT, loop)];
  const world = await scaleWorld(count, init);
  try {
    world.runtime.tick();
    if (world.firstX() !== x[0]) {
      throw new Error(`x after one frame ${world.firstX()}, loop ${x[0]}`);
    }
    runners.unshift(await prepareRunner(staticEcs.name, () => world.runtime.tick()));
  } catch (error) {
    skips.push({ subject: staticEcs.name, case: "scale", reason: describe(error) });
  }
  const samples = await interleave(runners, options.timing);
  await world.runtime.close();
  return runners.map((runner, i) => ({
    case: "scale",
    subject: runner.subject,
    value: median(samples[i]),
    unit: "ops/s",
  }));
}

function valueOf(rows: readonly Row[], name: string, subject: string, unit = "ops/s") {
  return rows.find((r) => r.case === name && r.subject === subject && r.unit === unit)?.value;
}

/** StaticECS's ratios in a run, and the best peer of each case. */
interface Ratios {
  /** `<case>_vs_<peer>` for each peer that ran, `<case>_vs_best_peer`, and `scale_vs_loop`. */
  readonly ratios: Record<string, number>;
  /** The peer with the most ops/s on each case. */
  readonly bestPeers: Record<string, string>;
}

/** StaticECS's ops/s over each peer's and the best peer's on each case, and over the loop's at scale. */
function ratiosOf(rows: readonly Row[], cases: readonly BenchCase[]): Ratios {
  const ratios: Record<string, number> = {};
  const bestPeers: Record<string, string> = {};
  for (const name of cases) {
    const ours = valueOf(rows, name, staticEcs.name);
    if (ours === undefined) continue;
    if (name === "scale") {
      const loop = valueOf(rows, name, LOOP_SUBJECT);
      if (loop !== undefined) ratios.scale_vs_loop = ours / loop;
      continue;
    }
    const peers = rows.filter((r) =>
      r.case === name && r.unit === "ops/s" && !r.subject.startsWith(staticEcs.name)
    );
    const sparse = valueOf(rows, name, sparseSubject.name);
    for (const peer of sparse === undefined ? [] : peers) {
      ratios[`${name}_sparse_vs_${peer.subject}`] = sparse! / peer.value;
    }
    for (const peer of peers) ratios[`${name}_vs_${peer.subject}`] = ours / peer.value;
    if (peers.length === 0) continue;
    const best = peers.reduce((a, b) => b.value > a.value ? b : a);
    ratios[`${name}_vs_best_peer`] = ours / best.value;
    bestPeers[name] = best.subject;
  }
  return { ratios, bestPeers };
}

function ratioCell(value: number | undefined): string {
  return value === undefined ? "-" : `${value.toFixed(2)}x`;
}

function opsTable(rows: readonly Row[], subjects: string[]): string {
  const cases = CASES.filter((c) => rows.some((r) => r.case === c));
  const body = cases.map((c) => [
    c,
    ...subjects.map((s) => {
      const v = valueOf(rows, c, s);
      return v === undefined ? "n/a" : formatNumber(v);
    }),
  ]);
  return formatTable(["ops/s", ...subjects], body);
}

/** StaticECS's ratio to each peer on each case, and to the best peer, named. */
function ratioTable({ ratios, bestPeers }: Ratios, peers: string[]): string {
  const cases = CASES.filter((c) => bestPeers[c] !== undefined);
  const body = cases.map((c) => [
    c,
    ...peers.map((p) => ratioCell(ratios[`${c}_vs_${p}`])),
    `${ratioCell(ratios[`${c}_vs_best_peer`])} (${bestPeers[c]})`,
  ]);
  return formatTable(["staticecs / peer", ...peers, "best peer"], body);
}

function heapTable(rows: readonly Row[], subjects: string[]): string {
  const body = HEAP_CASES.filter((c) => rows.some((r) => r.case === c)).map((c) => [
    c,
    ...subjects.map((s) => {
      const grown = valueOf(rows, c, s, "bytes/op");
      const kept = valueOf(rows, c, s, "bytes/op retained");
      if (grown === undefined || kept === undefined) return "n/a";
      return `${formatNumber(grown)} (${formatNumber(kept)})`;
    }),
  ]);
  return formatTable(["bytes/op (retained)", ...subjects], body);
}

function scaleLines(rows: readonly Row[], options: Options, ratios: Record<string, number>) {
  const lines: string[] = [];
  const count = options.scaleEntities;
  for (const subject of [staticEcs.name, LOOP_SUBJECT]) {
    const v = valueOf(rows, "scale", subject);
    if (v === undefined) continue;
    const updates = (v * count) / 1e6;
    lines.push(
      `  ${subject.padEnd(17)} ${formatNumber(v, 1).padStart(8)} frames/s  ` +
        `${formatNumber(updates).padStart(6)} M entity-updates/s`,
    );
  }
  lines.push(`  staticecs / loop  ${ratioCell(ratios.scale_vs_loop)}`);
  return [
    `scale: ${formatNumber(count)} entities, Position + Velocity (f32), one movement system; ` +
    `config ${JSON.stringify(SCALE_CONFIG)}`,
    ...lines,
  ];
}

/**
 * The peers of issue 14's 1.0x target: every peer but goodluck, which keeps
 * components as bits per entity and runs no scheduler; it has its own target
 * (add_remove with B as a sparse tag, 0.5x).
 */
const TARGET_PEERS = ["piecs", "bitecs-0.3", "bitecs", "koota", "becsy", "miniplex", "woven"];

/** Targets of issues 4 and 14, checked against this run. */
function targetLines(ratios: Record<string, number>, rows: readonly Row[]): string[] {
  const checks: [string, number | undefined, number][] = [];
  for (const c of CASES) {
    const against = TARGET_PEERS.map((p) => ratios[`${c}_vs_${p}`]).filter((v) => v !== undefined);
    const worst = against.length === 0 ? undefined : Math.min(...against);
    checks.push([`${c} vs best peer*`, worst, 1.0]);
  }
  checks.push(["add_remove (B sparse) vs goodluck", ratios.add_remove_sparse_vs_goodluck, 0.5]);
  checks.push(["scale vs loop", ratios.scale_vs_loop, 0.8]);
  const lines = checks.filter(([, v]) => v !== undefined).map(([label, v, target]) =>
    `  ${v! >= target ? "met " : "MISS"}  ${label.padEnd(26)} ${ratioCell(v).padStart(7)}` +
    `  (target ${target.toFixed(1)}x)`
  );
  for (const c of HEAP_CASES) {
    const grown = valueOf(rows, c, staticEcs.name, "bytes/op");
    if (grown === undefined) continue;
    const ok = Math.abs(grown) < 8;
    lines.push(
      `  ${ok ? "met " : "MISS"}  ${`${c} heap growth`.padEnd(26)} ${
        formatNumber(grown).padStart(7)
      }  (target ~0 bytes/op)`,
    );
  }
  return lines;
}

function printReport(
  rows: readonly Row[],
  ratios: Ratios,
  subjects: readonly EcsSubject[],
  skips: readonly Skip[],
  options: Options,
): void {
  const names = subjects.map((s) => s.name);
  const t = options.timing;
  const out: string[] = [
    `ECS benchmark on ${runtimeName()} ${runtimeVersion()}: median of ${t.rounds} interleaved ` +
    `rounds of ${t.sliceMs} ms after ${t.warmupMs} ms of warm-up; one op = one frame`,
    `subjects: ${subjects.map((s) => `${s.name} ${s.version}`).join(", ")}`,
    "",
  ];
  if (rows.some((r) => (CASES as readonly string[]).includes(r.case))) {
    out.push(opsTable(rows, names), "");
  }
  if (Object.keys(ratios.bestPeers).length > 0) {
    out.push(ratioTable(ratios, names.filter((n) => n !== staticEcs.name)), "");
  }
  if (rows.some((r) => r.unit === "bytes/op")) {
    out.push(
      "heap growth per frame over a batch started after a full GC (retained after another GC):",
      heapTable(rows, names),
      "",
    );
  }
  if (rows.some((r) => r.case === "scale")) {
    out.push(...scaleLines(rows, options, ratios.ratios), "");
  }
  const targets = targetLines(ratios.ratios, rows);
  if (targets.length > 0) {
    out.push("targets (* best of the peers but goodluck):", ...targets, "");
  }
  for (const skip of skips) out.push(`not run: ${skip.subject} on ${skip.case}: ${skip.reason}`);
  console.log(out.join("\n").trimEnd());
}

/**
 * Runs one case in a child process of this runtime (`--cases NAME --in-process --json`, the
 * other options passed on), as the standard benchmark runs each case in a fresh worker: code
 * that several cases share (a library's, or StaticECS's scheduler) is then compiled for that
 * case's shapes only, as in a program that is one game.
 */
function runCaseInChild(name: BenchCase): { rows: Row[]; skipped: Skip[] } {
  const passed = process.argv.slice(2).filter((arg, i, all) =>
    arg !== "--json" && arg !== "--cases" && all[i - 1] !== "--cases" &&
    !arg.startsWith("--cases=")
  );
  const result = jsonFromScript<{ rows: Row[]; skipped: Skip[] }>(
    fileURLToPath(import.meta.url),
    [...passed, "--cases", name, "--in-process", "--json"],
    name,
  );
  return { rows: result.rows, skipped: result.skipped };
}

const USAGE =
  "usage: ecs.ts [--json] [--quick] [--rounds N] [--cases a,b] [--subjects a,b] [--in-process]";

async function main(): Promise<void> {
  const options = parseOptions();
  const skips: Skip[] = [];
  const subjects = await loadSubjects(options, skips);
  const rows: Row[] = [];
  for (const name of options.cases) {
    if (!options.json) console.error(`running ${name}...`);
    if (!options.inProcess && options.cases.length > 1) {
      const child = runCaseInChild(name);
      rows.push(...child.rows);
      skips.push(...child.skipped);
    } else if (name === "scale") rows.push(...await runScale(options, skips));
    else rows.push(...await runCase(name, subjects, options, skips));
  }
  const ratios = ratiosOf(rows, options.cases);
  if (options.json) {
    printJson({
      bench: "ecs",
      runtime: runtimeName(),
      rows,
      ratios: ratios.ratios,
      bestPeers: ratios.bestPeers,
      skipped: skips,
      setup: {
        runtimeVersion: runtimeVersion(),
        subjects: Object.fromEntries(subjects.map((s) => [s.name, s.version])),
        timing: options.timing,
        scaleEntities: options.scaleEntities,
        scaleConfig: SCALE_CONFIG,
      },
    });
  } else {
    printReport(rows, ratios, subjects, skips, options);
  }
}

await main();
