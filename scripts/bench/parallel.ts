/**
 * The parallel benchmark: StaticECS's work-stealing backend against its own
 * blocking backend, a static even split over Workers (the way bitECS
 * documents using workers; _static_split.ts), and Woven-ECS running the same
 * computation on its own worker threads (peers/woven_workers.ts).
 *
 * - heavy_compute (scenes/heavy_compute.ts): 1,000 entities each inverting a
 *   4x4 matrix 100 times per frame; even cost. Blocking, work-stealing, the
 *   static split (for reference) and Woven-ECS workers.
 * - skewed (scenes/skewed.ts): 4,096 entities whose cost varies 100x across
 *   the table (the first eighth are heavy). Work-stealing against the static
 *   split, with blocking for context.
 * - overhead (scenes/small_systems.ts): ten small systems in one stage, too
 *   little work to wake a pool. Work-stealing against blocking.
 *
 * Every parallel subject runs on the same number of threads: the main thread
 * and N workers for StaticECS work-stealing and the static split, N + 1
 * workers for Woven-ECS (its main thread waits while its workers run). The
 * static split and Woven-ECS start from the data of the StaticECS world after
 * setup, and before measuring, every subject of a matrix case runs a few
 * frames from that start: their matrices must then be equal, bit for bit.
 *
 * One op is one frame; each case is warmed up and measured in interleaved
 * rounds, and the median ops/s is reported (see _harness.ts).
 *
 * Usage:
 *   npx bun scripts/bench/parallel.ts [--json] [--quick] [--rounds N] [--workers N] [--cases a,b]
 *   npx deno run -A scripts/bench/parallel.ts [same options]
 *
 * `--cases` takes heavy_compute, skewed, overhead; `--workers` defaults to
 * cores - 1 (at least 1). A subject that fails to start or to give the right
 * matrices is listed as not run, with the reason.
 *
 * @module
 */

import {
  type BackendStats,
  type Chunk,
  type Component,
  type Field,
  Runtime,
  type Scene,
  WorkStealingBackend,
} from "staticecs";
import {
  benchOptions,
  formatNumber,
  formatTable,
  interleave,
  median,
  type Op,
  parseSubset,
  parseWorkers,
  prepareRunner,
  printJson,
  type Row,
  type Runner,
  runtimeName,
  runtimeVersion,
  type Timing,
  withTimeout,
} from "./_harness.ts";
import { type SplitData, StaticSplit } from "./_static_split.ts";
import type { MATRIX_FIELDS } from "./scenes/_matrix.ts";
import heavyScene, * as heavy from "./scenes/heavy_compute.ts";
import skewedScene, * as skewed from "./scenes/skewed.ts";
import smallScene from "./scenes/small_systems.ts";

const CASES = ["heavy_compute", "skewed", "overhead"] as const;
type CaseName = typeof CASES[number];

const BLOCKING = "staticecs_blocking";
const WORK_STEALING = "staticecs_ws";
const SPLIT = "static_split";
const WOVEN = "woven_workers";
const SUBJECTS = [BLOCKING, WORK_STEALING, SPLIT, WOVEN] as const;

/** Frames every subject of a matrix case runs before its matrices are compared. */
const CHECK_FRAMES = 3;
const SETUP_TIMEOUT_MS = 60_000;
const FRAME_TIMEOUT_MS = 10_000;
const WORKERS_MAX = 64;

interface Options {
  readonly json: boolean;
  readonly quick: boolean;
  readonly timing: Timing;
  readonly workers: number;
  readonly cases: readonly CaseName[];
}

/** A subject that could not run a case, and why. */
interface Skip {
  readonly subject: string;
  readonly case: string;
  readonly reason: string;
}

/** The result of comparing a subject's matrices with the work-stealing world's. */
interface Check {
  readonly case: string;
  readonly subject: string;
  readonly frames: number;
  readonly digest: string;
  readonly reference: string;
  readonly equal: boolean;
}

/** A subject set up for a case: its frame, what it looks like after frames, how to close it. */
interface Subject {
  readonly name: string;
  readonly op: Op;
  /** The sixteen matrix columns in entity order (matrix cases only). */
  readonly matrix?: () => Float32Array[] | Promise<Float32Array[]>;
  readonly runtime?: Runtime;
  close(): void | Promise<void>;
}

/** What a case collected besides its rows. */
interface CaseReport {
  readonly rows: Row[];
  readonly checks: Check[];
  readonly stats: Record<string, BackendStats>;
}

function parseOptions(): Options {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
  return benchOptions({
    script: "parallel.ts",
    usage: USAGE,
    rounds: { quick: 5, full: 15 },
    options: { workers: "string", cases: "string" },
  }, ({ json, quick, rounds, values }) => ({
    json,
    quick,
    timing: quick
      ? { warmupMs: 150, sliceMs: 80, rounds }
      : { warmupMs: 400, sliceMs: 200, rounds },
    workers: parseWorkers(values.workers, WORKERS_MAX, Math.max(1, cores - 1)),
    cases: parseSubset("--cases", values.cases, CASES, "case"),
  }));
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split("\n")[0].slice(0, 200);
}

type Matrix = Component<typeof MATRIX_FIELDS>;
const MATRIX_KEYS = Array.from({ length: 16 }, (_, k) => `m${k}` as keyof typeof MATRIX_FIELDS);

/** Copies a column, chunk by chunk, out of every entity the query of `component` matches. */
function readColumn(
  runtime: Runtime,
  component: Component,
  read: (chunk: Chunk, out: Float32Array, at: number) => void,
): Float32Array {
  const query = runtime.world.query({ all: [component] });
  const out = new Float32Array(query.count());
  let at = 0;
  query.forEachChunk((chunk) => {
    read(chunk, out, at);
    at += chunk.count;
  });
  return out;
}

function fieldColumn(runtime: Runtime, component: Component, field: Field): Float32Array {
  return readColumn(runtime, component, (chunk, out, at) => {
    const column = chunk.column(field);
    for (let i = 0; i < chunk.count; i++) out[at + i] = Number(column[i]);
  });
}

function matrixOf(runtime: Runtime, transform: Matrix): Float32Array[] {
  return MATRIX_KEYS.map((key) => fieldColumn(runtime, transform, transform[key]));
}

/** FNV-1a over the f32 bits of every value of every column, as 8 hex digits. */
function digest(columns: readonly Float32Array[]): string {
  let hash = 0x811c9dc5;
  for (const column of columns) {
    const bits = new Uint32Array(column.buffer, column.byteOffset, column.length);
    for (let i = 0; i < bits.length; i++) {
      hash = Math.imul(hash ^ bits[i], 0x01000193);
    }
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

function staticEcs(name: string, runtime: Runtime, transform?: Matrix): Subject {
  return {
    name,
    op: () => runtime.tick(),
    matrix: transform === undefined ? undefined : () => matrixOf(runtime, transform),
    runtime,
    close: () => runtime.close(),
  };
}

function splitSubject(split: StaticSplit): Subject {
  return {
    name: SPLIT,
    op: () => split.frame(),
    matrix: () => Object.values(split.columns.matrix).map((column) => column.slice()),
    close: () => split.close(),
  };
}

async function startSubject(
  name: string,
  subjects: Subject[],
  skips: Skip[],
  caseName: CaseName,
  make: () => Promise<Subject>,
): Promise<void> {
  try {
    subjects.push(await withTimeout(make(), SETUP_TIMEOUT_MS, `${name} setup`));
  } catch (error) {
    skips.push({ subject: name, case: caseName, reason: describe(error) });
  }
}

/** Blocking and work-stealing runtimes of `scene` (the work-stealing one is required). */
async function staticEcsPair(
  caseName: CaseName,
  scene: Scene,
  sceneUrl: string,
  options: Options,
  transform?: Matrix,
): Promise<[blocking: Subject, workStealing: Subject]> {
  const blocking = await Runtime.create(scene);
  const backend = new WorkStealingBackend({ sceneUrl, workers: options.workers });
  try {
    const runtime = await withTimeout(
      Runtime.create(scene, { backend }),
      SETUP_TIMEOUT_MS,
      `${caseName} work-stealing runtime`,
    );
    return [
      staticEcs(BLOCKING, blocking, transform),
      staticEcs(WORK_STEALING, runtime, transform),
    ];
  } catch (error) {
    await blocking.close();
    throw error;
  }
}

/** The heavy_compute case's subjects, from one start. */
async function heavySubjects(options: Options, skips: Skip[]): Promise<Subject[]> {
  const url = new URL("./scenes/heavy_compute.ts", import.meta.url).href;
  const pair = await staticEcsPair("heavy_compute", heavyScene, url, options, heavy.Transform);
  const subjects: Subject[] = [...pair];
  const runtime = pair[1].runtime!;
  const matrix = matrixOf(runtime, heavy.Transform);
  const x = fieldColumn(runtime, heavy.Position, heavy.Position.x);
  const inversions = new Float32Array(x.length).fill(heavy.INVERSIONS);
  const threads = options.workers + 1;
  await startSubject(SPLIT, subjects, skips, "heavy_compute", async () => {
    return splitSubject(await StaticSplit.create({ threads, data: { matrix, inversions, x } }));
  });
  await startSubject(WOVEN, subjects, skips, "heavy_compute", async () => {
    const woven = await import("./peers/woven_workers.ts");
    if (woven.WOVEN_INVERSIONS !== heavy.INVERSIONS) {
      throw new Error(`inverts ${woven.WOVEN_INVERSIONS} times, the scene ${heavy.INVERSIONS}`);
    }
    const world = await woven.createWovenWorkers(threads, { matrix, x });
    return { name: WOVEN, op: world.op, matrix: world.matrix, close: () => world.close() };
  });
  return subjects;
}

/** The skewed case's subjects, from one start. */
async function skewedSubjects(options: Options, skips: Skip[]): Promise<Subject[]> {
  const url = new URL("./scenes/skewed.ts", import.meta.url).href;
  const pair = await staticEcsPair("skewed", skewedScene, url, options, skewed.Transform);
  const subjects: Subject[] = [...pair];
  const runtime = pair[1].runtime!;
  const data: SplitData = {
    matrix: matrixOf(runtime, skewed.Transform),
    inversions: fieldColumn(runtime, skewed.Work, skewed.Work.inversions),
  };
  await startSubject(SPLIT, subjects, skips, "skewed", async () => {
    return splitSubject(await StaticSplit.create({ threads: options.workers + 1, data }));
  });
  return subjects;
}

async function overheadSubjects(options: Options): Promise<Subject[]> {
  const url = new URL("./scenes/small_systems.ts", import.meta.url).href;
  return [...await staticEcsPair("overhead", smallScene, url, options)];
}

/**
 * Runs CHECK_FRAMES frames of every subject; a subject whose matrices then
 * differ from the work-stealing world's is dropped (with a skip). StaticECS
 * runtimes without matrices compare world checksums instead.
 */
async function checkSubjects(
  caseName: CaseName,
  subjects: Subject[],
  skips: Skip[],
): Promise<[kept: Subject[], checks: Check[]]> {
  const alive: Subject[] = [];
  for (const subject of subjects) {
    try {
      for (let f = 0; f < CHECK_FRAMES; f++) {
        await withTimeout(Promise.resolve(subject.op()), FRAME_TIMEOUT_MS, `${subject.name} frame`);
      }
      alive.push(subject);
    } catch (error) {
      skips.push({ subject: subject.name, case: caseName, reason: describe(error) });
      await subject.close();
    }
  }
  const reference = alive.find((s) => s.name === WORK_STEALING);
  if (reference === undefined) return [alive, []];
  const look = async (s: Subject) =>
    s.matrix === undefined ? s.runtime!.checksum() : digest(await s.matrix());
  const expected = await look(reference);
  const kept: Subject[] = [];
  const checks: Check[] = [];
  for (const subject of alive) {
    const seen = await look(subject);
    const equal = seen === expected;
    if (subject !== reference) {
      checks.push({
        case: caseName,
        subject: subject.name,
        frames: CHECK_FRAMES,
        digest: seen,
        reference: expected,
        equal,
      });
    }
    if (equal) {
      kept.push(subject);
      continue;
    }
    const reason = `state after ${CHECK_FRAMES} frames differs from ${WORK_STEALING}'s`;
    skips.push({ subject: subject.name, case: caseName, reason });
    await subject.close();
  }
  return [kept, checks];
}

async function makeSubjects(name: CaseName, options: Options, skips: Skip[]): Promise<Subject[]> {
  if (name === "heavy_compute") return await heavySubjects(options, skips);
  if (name === "skewed") return await skewedSubjects(options, skips);
  return await overheadSubjects(options);
}

async function runCase(name: CaseName, options: Options, skips: Skip[]): Promise<CaseReport> {
  let subjects: Subject[];
  try {
    subjects = await makeSubjects(name, options, skips);
  } catch (error) {
    skips.push({ subject: "staticecs", case: name, reason: describe(error) });
    return { rows: [], checks: [], stats: {} };
  }
  const [kept, checks] = await checkSubjects(name, subjects, skips);
  const stats: Record<string, BackendStats> = {};
  try {
    const runners: Runner[] = [];
    for (const subject of kept) runners.push(await prepareRunner(subject.name, subject.op));
    const samples = await interleave(runners, options.timing);
    const rows: Row[] = runners.map((runner, i) => ({
      case: name,
      subject: runner.subject,
      value: median(samples[i]),
      unit: "ops/s",
    }));
    for (const subject of kept) {
      if (subject.name === WORK_STEALING) stats[name] = subject.runtime!.backend.stats();
    }
    return { rows, checks, stats };
  } finally {
    // Closed even if a frame throws mid-measurement: live workers would keep the process up.
    for (const subject of kept) await subject.close();
  }
}

function valueOf(rows: readonly Row[], name: string, subject: string): number | undefined {
  return rows.find((r) => r.case === name && r.subject === subject && r.unit === "ops/s")?.value;
}

/** Each subject work-stealing is compared with, and its name in ratio keys. */
const RATIO_NAMES: Readonly<Record<string, string>> = {
  [BLOCKING]: "blocking",
  [SPLIT]: "static_split",
  [WOVEN]: "woven_workers",
};

/** Work-stealing's ops/s over each other subject's, per case: `<case>_ws_vs_<subject>`. */
function ratiosOf(rows: readonly Row[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const name of CASES) {
    const ws = valueOf(rows, name, WORK_STEALING);
    if (ws === undefined) continue;
    for (const [subject, short] of Object.entries(RATIO_NAMES)) {
      const other = valueOf(rows, name, subject);
      if (other !== undefined) ratios[`${name}_ws_vs_${short}`] = ws / other;
    }
  }
  return ratios;
}

/** The targets this benchmark is held to: ratio name, label, minimum. */
const TARGETS: readonly (readonly [string, string, number])[] = [
  ["heavy_compute_ws_vs_blocking", "heavy_compute ws / blocking", 1.7],
  ["skewed_ws_vs_static_split", "skewed ws / static split", 1.3],
  ["overhead_ws_vs_blocking", "overhead ws / blocking", 0.5],
];

function ratioCell(value: number | undefined): string {
  return value === undefined ? "-" : `${value.toFixed(2)}x`;
}

function opsTable(rows: readonly Row[], ratios: Record<string, number>): string {
  const cases = CASES.filter((c) => rows.some((r) => r.case === c));
  const others = [BLOCKING, SPLIT, WOVEN].filter((s) => rows.some((r) => r.subject === s));
  const body = cases.map((c) => [
    c,
    ...SUBJECTS.filter((s) => rows.some((r) => r.subject === s)).map((s) => {
      const v = valueOf(rows, c, s);
      return v === undefined ? "-" : formatNumber(v, 1);
    }),
    ...others.map((s) => ratioCell(ratios[`${c}_ws_vs_${RATIO_NAMES[s]}`])),
  ]);
  const header = [
    "ops/s",
    ...SUBJECTS.filter((s) => rows.some((r) => r.subject === s)),
    ...others.map((s) => `ws / ${s.replace("staticecs_", "")}`),
  ];
  return formatTable(header, body);
}

function targetLines(ratios: Record<string, number>): string[] {
  return TARGETS.filter(([key]) => ratios[key] !== undefined).map(([key, label, target]) =>
    `  ${ratios[key] >= target ? "met " : "MISS"}  ${label.padEnd(28)} ` +
    `${ratioCell(ratios[key]).padStart(7)}  (target >= ${target.toFixed(1)}x)`
  );
}

function checkLines(checks: readonly Check[]): string[] {
  return checks.map((c) =>
    c.equal
      ? `  same   ${c.case}: ${c.subject} = ${WORK_STEALING} after ${c.frames} frames (${c.digest})`
      : `  DIFFER ${c.case}: ${c.subject} ${c.digest} but ${WORK_STEALING} ${c.reference} ` +
        `after ${c.frames} frames`
  );
}

/** Per-thread counters of each case's work-stealing pool. */
function statsLines(stats: Record<string, BackendStats>): string[] {
  return Object.entries(stats).map(([name, s]) => {
    const threads = (s.threads as Record<string, number>[]).map((t) =>
      `t${t.thread} ${t.tasksExecuted} tasks/${t.tasksStolen} stolen/${t.busyMs} ms busy/` +
      `${t.parkedMs} ms parked`
    );
    return `  ${name}: ${s.stagesParallel} stages parallel, ${s.stagesInline} inline; ` +
      threads.join("; ");
  });
}

function printReport(
  report: CaseReport,
  ratios: Record<string, number>,
  skips: readonly Skip[],
  options: Options,
): void {
  const t = options.timing;
  const out: string[] = [
    `parallel benchmark on ${runtimeName()} ${runtimeVersion()}: ${options.workers} worker(s) ` +
    `+ the main thread (${WOVEN}: ${options.workers + 1} workers); median of ${t.rounds} ` +
    `interleaved rounds of ${t.sliceMs} ms after ${t.warmupMs} ms of warm-up; one op = one frame`,
    "",
    opsTable(report.rows, ratios),
    "",
  ];
  const targets = targetLines(ratios);
  if (targets.length > 0) out.push("targets:", ...targets, "");
  if (report.checks.length > 0) {
    out.push("same state before measuring:", ...checkLines(report.checks), "");
  }
  const stats = statsLines(report.stats);
  if (stats.length > 0) out.push("work-stealing pool, over the whole case:", ...stats, "");
  for (const skip of skips) out.push(`not run: ${skip.subject} on ${skip.case}: ${skip.reason}`);
  console.log(out.join("\n").trimEnd());
}

const USAGE =
  "usage: parallel.ts [--json] [--quick] [--rounds N] [--workers N] [--cases heavy_compute,skewed,overhead]";

async function main(): Promise<void> {
  const options = parseOptions();
  const skips: Skip[] = [];
  const all: CaseReport = { rows: [], checks: [], stats: {} };
  for (const name of options.cases) {
    if (!options.json) console.error(`running ${name}...`);
    const report = await runCase(name, options, skips);
    all.rows.push(...report.rows);
    all.checks.push(...report.checks);
    Object.assign(all.stats, report.stats);
  }
  const ratios = ratiosOf(all.rows);
  if (!options.json) {
    printReport(all, ratios, skips, options);
    return;
  }
  printJson({
    bench: "parallel",
    runtime: runtimeName(),
    rows: all.rows,
    ratios,
    skipped: skips,
    checks: all.checks,
    backendStats: all.stats,
    setup: {
      runtimeVersion: runtimeVersion(),
      workers: options.workers,
      threads: options.workers + 1,
      timing: options.timing,
    },
  });
}

await main();
