/**
 * Shared measuring and printing for the benchmark scripts in `scripts/bench/`.
 *
 * A benchmark measures subjects (libraries, code paths) on the same case in
 * the same process: each subject is warmed up, then timed in several
 * interleaved rounds (round-robin over the subjects, starting one further
 * each round) so that drift in machine speed or JIT state spreads over all of
 * them, and the median of the rounds is reported. One op is whatever the
 * script calls one unit of work (an ECS frame, a batch of writes).
 *
 * Output follows the project's rule: a table a person can read, or with
 * `--json` exactly one JSON object a script can, of the shape
 * `{ bench, runtime, rows: [{ case, subject, value, unit }], ratios }`.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";
import { detectHost, hostName } from "../../core/_host.ts";

/** The JavaScript runtime running the benchmark. */
export type RuntimeName = "bun" | "deno" | "node";

/** One unit of work; may return a promise, which is awaited. */
export type Op = () => unknown;

/** One measured figure. */
export interface Row {
  readonly case: string;
  readonly subject: string;
  readonly value: number;
  readonly unit: string;
}

/** How long to warm up and measure. */
export interface Timing {
  /** Time each subject runs before it is measured. */
  readonly warmupMs: number;
  /** Time of one measurement of one subject in one round. */
  readonly sliceMs: number;
  /** Measurements per subject, interleaved; the median is reported. */
  readonly rounds: number;
}

/** A subject ready to run: its op, and whether the op returns a promise. */
export interface Runner {
  readonly subject: string;
  readonly op: Op;
  readonly isAsync: boolean;
}

/** Longest a batch of ops is allowed to run between two clock reads. */
const BATCH_MS_MAX = 0.5;
/** Most ops run between two clock reads, however fast the op. */
const BATCH_OPS_MAX = 10_000;

/**
 * The runtime this process runs on.
 *
 * @example
 * ```ts
 * import { runtimeName } from "./_harness.ts";
 * console.log(runtimeName()); // "bun" under Bun, "deno" under Deno
 * ```
 */
export function runtimeName(): RuntimeName {
  return hostName() ?? "node";
}

/**
 * The runtime's version (`process.version` under Node).
 *
 * @example
 * ```ts
 * import { runtimeVersion } from "./_harness.ts";
 * console.log(runtimeVersion()); // e.g. "1.4.5"
 * ```
 */
export function runtimeVersion(): string {
  return detectHost()?.version ?? process.version;
}

/** A full garbage collection, or undefined where the runtime offers none. */
const fullGc: (() => void) | undefined = findGc();

function findGc(): (() => void) | undefined {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return () => bun.gc(true);
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    // V8 (Deno, Node) accepts the flag at run time; a fresh context then has `gc`.
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? gc as () => void : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a full garbage collection; returns false if the runtime offers none.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./_harness.ts";
 * collectGarbage();
 * ```
 */
export function collectGarbage(): boolean {
  if (fullGc === undefined) return false;
  fullGc();
  return true;
}

/**
 * The median of a non-empty list (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./_harness.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs `op` once to learn whether it returns a promise, and wraps it.
 *
 * @example
 * ```ts
 * import { prepareRunner } from "./_harness.ts";
 * const runner = await prepareRunner("noop", () => {});
 * console.log(runner.isAsync); // false
 * ```
 */
export async function prepareRunner(subject: string, op: Op): Promise<Runner> {
  const first = op();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  return { subject, op, isAsync };
}

/** Runs `count` ops; awaits each one if the runner is async. */
export async function runOps(runner: Runner, count: number): Promise<void> {
  const op = runner.op;
  if (runner.isAsync) {
    for (let i = 0; i < count; i++) await op();
  } else {
    runOpsSync(op, count);
  }
}

function runOpsSync(op: Op, count: number): void {
  for (let i = 0; i < count; i++) op();
}

/** Ops run for `ms` milliseconds in batches of `batch`; returns ops per second. */
async function opsPerSecond(runner: Runner, batch: number, ms: number): Promise<number> {
  if (!runner.isAsync) return opsPerSecondSync(runner.op, batch, ms);
  const started = performance.now();
  const deadline = started + ms;
  let ops = 0;
  let now = started;
  do {
    await runOps(runner, batch);
    ops += batch;
    now = performance.now();
  } while (now < deadline);
  return (ops * 1000) / (now - started);
}

/** The synchronous twin of opsPerSecond: no promise between the clock reads. */
function opsPerSecondSync(op: Op, batch: number, ms: number): number {
  const started = performance.now();
  const deadline = started + ms;
  let ops = 0;
  let now = started;
  do {
    runOpsSync(op, batch);
    ops += batch;
    now = performance.now();
  } while (now < deadline);
  return (ops * 1000) / (now - started);
}

/** Warms a runner up for `warmupMs` and returns the batch size that runs about BATCH_MS_MAX. */
async function warmUp(runner: Runner, warmupMs: number): Promise<number> {
  const rate = await opsPerSecond(runner, 1, Math.max(1, warmupMs));
  const batch = Math.floor((rate * BATCH_MS_MAX) / 1000);
  return Math.min(BATCH_OPS_MAX, Math.max(1, batch));
}

/**
 * Warms every runner up, then measures each `timing.rounds` times, round
 * robin, each round starting one subject further. Returns the ops/s samples
 * of each subject, in the order of `runners`.
 *
 * @example
 * ```ts
 * import { interleave, median, prepareRunner } from "./_harness.ts";
 * const runner = await prepareRunner("noop", () => {});
 * const [samples] = await interleave([runner], { warmupMs: 10, sliceMs: 10, rounds: 3 });
 * console.log(median(samples) > 0);
 * ```
 */
export async function interleave(runners: readonly Runner[], timing: Timing): Promise<number[][]> {
  const batches: number[] = [];
  for (const runner of runners) batches.push(await warmUp(runner, timing.warmupMs));
  const samples: number[][] = runners.map(() => []);
  for (let round = 0; round < timing.rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      const s = (round + k) % runners.length;
      samples[s].push(await opsPerSecond(runners[s], batches[s], timing.sliceMs));
    }
  }
  return samples;
}

/** Heap figures of one subject, in bytes per op. */
export interface HeapPerOp {
  /** Growth of the heap per op during a batch started after a full GC (garbage included). */
  readonly grownBytes: number;
  /** What is still used after a full GC at the end of the batch: a leak if it is not ~0. */
  readonly retainedBytes: number;
  /** Ops in the larger batch of each measured pair. */
  readonly opsPerBatch: number;
  /** False if the runtime offered no GC: both figures are then noisy. */
  readonly gcAvailable: boolean;
}

/**
 * How to read how many bytes a program allocated: V8 (Deno, Node) counts
 * every allocation in `total_allocated_bytes`, collections or not, in steps
 * of a linear allocation buffer, so a batch should allocate some MB to be
 * read well. JSC (Bun) has no such counter and updates `heapUsed` only when it
 * collects, but its `heapTotal` grows by a 16 KiB block each time allocation
 * needs a new one; a batch should stay small enough that no eden collection
 * hands blocks back meanwhile.
 */
interface AllocationGauge {
  read(): number;
  /** Growth a large batch should reach before the batch size stops growing. */
  readonly batchBytesMin: number;
}

const allocationGauge: AllocationGauge = chooseAllocationGauge();

function chooseAllocationGauge(): AllocationGauge {
  if (runtimeName() === "bun") {
    return { read: () => process.memoryUsage().heapTotal, batchBytesMin: 256 * 1024 };
  }
  // Newer V8 only; the runtime's typings do not list it yet.
  const totalAllocated = () => Reflect.get(v8.getHeapStatistics(), "total_allocated_bytes");
  if (typeof totalAllocated() === "number") {
    return { read: () => totalAllocated() as number, batchBytesMin: 8 * 1024 * 1024 };
  }
  return { read: () => process.memoryUsage().heapUsed, batchBytesMin: 256 * 1024 };
}

/** One batch of `ops`, after a full GC: bytes the heap grew, and bytes surviving another full GC. */
async function heapBatch(runner: Runner, ops: number): Promise<[grown: number, kept: number]> {
  collectGarbage();
  const usedBefore = process.memoryUsage().heapUsed;
  const before = allocationGauge.read();
  if (runner.isAsync) await runOps(runner, ops);
  else runOpsSync(runner.op, ops);
  const after = allocationGauge.read();
  collectGarbage();
  return [after - before, process.memoryUsage().heapUsed - usedBefore];
}

/**
 * Bytes allocated per op, as the slope between a batch of n ops and one of
 * 4n, each after a full GC (see AllocationGauge): the slope cancels what the
 * first allocations after a collection cost (a fresh 16 KiB block per size
 * class in JSC, a fresh buffer in V8). n grows (1, 4, 16, ...) while a 4n
 * batch allocates less than the gauge needs, up to `opsMax / 4`.
 * Then `batches` pairs are measured and the medians returned, with what
 * survives a full GC after the larger batch. Under Bun, a batch that outgrows
 * the eden generation is cut short by a collection, so figures of hundreds of
 * KB per op are lower bounds.
 *
 * @example
 * ```ts
 * import { heapPerOp, prepareRunner } from "./_harness.ts";
 * const runner = await prepareRunner("noop", () => {});
 * const heap = await heapPerOp(runner, 3, 64);
 * console.log(heap.grownBytes);
 * ```
 */
export async function heapPerOp(
  runner: Runner,
  batches: number,
  opsMax: number,
): Promise<HeapPerOp> {
  let n = 1;
  for (;;) {
    if (4 * n * 4 > opsMax) {
      n = Math.max(1, Math.floor(opsMax / 4));
      break;
    }
    const [grown] = await heapBatch(runner, n * 4);
    if (grown >= allocationGauge.batchBytesMin) break;
    n *= 4;
  }
  const grown: number[] = [];
  const retained: number[] = [];
  for (let b = 0; b < batches; b++) {
    const [small] = await heapBatch(runner, n);
    const [large, kept] = await heapBatch(runner, 4 * n);
    grown.push((large - small) / (3 * n));
    retained.push(kept / (4 * n));
  }
  return {
    grownBytes: median(grown),
    retainedBytes: median(retained),
    opsPerBatch: 4 * n,
    gcAvailable: fullGc !== undefined,
  };
}

/**
 * A number with thousands separators and `digits` decimals: `12,345`.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./_harness.ts";
 * formatNumber(12345.6); // "12,346"
 * ```
 */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned.
 *
 * @example
 * ```ts
 * import { formatTable } from "./_harness.ts";
 * console.log(formatTable(["case", "ops/s"], [["a", "1"]]));
 * ```
 */
export function formatTable(
  header: readonly string[],
  body: readonly (readonly string[])[],
): string {
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  const line = (row: readonly string[]) =>
    row.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...body.map(line)].join("\n");
}

/**
 * Prints the one JSON object of a benchmark's `--json` output.
 *
 * @example
 * ```ts
 * import { printJson } from "./_harness.ts";
 * printJson({ bench: "demo", runtime: "bun", rows: [], ratios: {} });
 * ```
 */
export function printJson(result: {
  readonly bench: string;
  readonly runtime: RuntimeName;
  readonly rows: readonly Row[];
  readonly ratios: Readonly<Record<string, number>>;
  readonly [key: string]: unknown;
}): void {
  console.log(JSON.stringify(result));
}

/**
 * Rejects if `promise` has not settled after `ms` milliseconds, naming `what`.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./_harness.ts";
 * await withTimeout(Promise.resolve(1), 1000, "a quick promise");
 * ```
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A benchmark's own options, besides the common ones: each a string or a boolean flag. */
export type BenchOptionSpec = Readonly<Record<string, "string" | "boolean">>;

/** The parsed values of a BenchOptionSpec: a string (or undefined) or a boolean per option. */
export type BenchOptionValues<S extends BenchOptionSpec> = {
  readonly [K in keyof S]: S[K] extends "boolean" ? boolean : string | undefined;
};

/** What every benchmark takes: `--json`, `--quick` and `--rounds N`. */
export interface BenchArgs<S extends BenchOptionSpec> {
  readonly json: boolean;
  readonly quick: boolean;
  readonly rounds: number;
  /** The benchmark's own options. */
  readonly values: BenchOptionValues<S>;
}

/**
 * The timing of the benchmarks whose op is a frame of a runtime (frame.ts,
 * check_access.ts, moves.ts): 1 s of warm-up and 500 ms slices, or 200 ms
 * each for `--quick`.
 *
 * @example
 * ```ts ignore
 * const timing = frameTiming(options); // { warmupMs: 1000, sliceMs: 500, rounds: 9 }
 * ```
 */
export function frameTiming(args: { readonly quick: boolean; readonly rounds: number }): Timing {
  return args.quick
    ? { warmupMs: 200, sliceMs: 200, rounds: args.rounds }
    : { warmupMs: 1000, sliceMs: 500, rounds: args.rounds };
}

/** How a benchmark reads its command line. */
export interface BenchCommand<S extends BenchOptionSpec> {
  /** The script's file name, for errors ("ecs.ts"). */
  readonly script: string;
  /** The usage line, printed by --help and after an error. */
  readonly usage: string;
  /** `--rounds` when not given, for a quick and a full run. */
  readonly rounds: { readonly quick: number; readonly full: number };
  /** The benchmark's own options. */
  readonly options: S;
}

/**
 * The one option parser of the benchmarks: the common options plus the
 * script's own, strictly (an unknown option is an error), then `build` turns
 * them into the script's options. `-h`/`--help` prints the usage and exits 0;
 * an error (from parsing or from `build`) prints it with the usage and exits 2.
 *
 * @example
 * ```ts ignore
 * import { benchOptions, parseNames } from "./_harness.ts";
 * const options = benchOptions({
 *   script: "ecs.ts",
 *   usage: "usage: ecs.ts [--json] [--quick] [--rounds N] [--cases a,b]",
 *   rounds: { quick: 3, full: 15 },
 *   options: { cases: "string" },
 * }, (args) => ({ ...args, cases: parseNames("--cases", args.values.cases, ["a", "b"], "case") }));
 * ```
 */
export function benchOptions<S extends BenchOptionSpec, T>(
  command: BenchCommand<S>,
  build: (args: BenchArgs<S>) => T,
  argv: readonly string[] = process.argv.slice(2),
): T {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(command.usage);
    process.exit(0);
  }
  try {
    return build(parseBenchArgs(command, argv));
  } catch (error) {
    console.error(`${command.script}: ${error instanceof Error ? error.message : error}`);
    console.error(command.usage);
    process.exit(2);
  }
}

function parseBenchArgs<S extends BenchOptionSpec>(
  command: BenchCommand<S>,
  argv: readonly string[],
): BenchArgs<S> {
  const options: Record<string, { type: "string" | "boolean" }> = {
    json: { type: "boolean" },
    quick: { type: "boolean" },
    rounds: { type: "string" },
  };
  for (const [name, type] of Object.entries(command.options)) options[name] = { type };
  const { values } = parseArgs({ args: [...argv], options, strict: true });
  const quick = values.quick === true;
  const own: Record<string, string | boolean | undefined> = {};
  for (const [name, type] of Object.entries(command.options)) {
    own[name] = type === "boolean" ? values[name] === true : values[name] as string | undefined;
  }
  return {
    json: values.json === true,
    quick,
    rounds: parseRounds(values.rounds as string | undefined, quick, command.rounds),
    values: own as BenchOptionValues<S>,
  };
}

/**
 * The cases (or subjects) a list option picks, in `all`'s order; all of them
 * when the option is absent.
 *
 * @example
 * ```ts
 * import { parseSubset } from "./_harness.ts";
 * parseSubset("--cases", "c,a", ["a", "b", "c"], "case"); // ["a", "c"]
 * ```
 */
export function parseSubset<T extends string>(
  flag: string,
  text: string | undefined,
  all: readonly T[],
  noun: string,
): readonly T[] {
  const names = parseNames(flag, text, all, noun);
  return names === undefined ? all : all.filter((name) => names.includes(name));
}

/**
 * The `--workers` option: a whole number from 1 to `max`, or `fallback` when absent.
 *
 * @example
 * ```ts
 * import { parseWorkers } from "./_harness.ts";
 * parseWorkers("3", 64, 1); // 3
 * ```
 */
export function parseWorkers<F extends number | undefined>(
  text: string | undefined,
  max: number,
  fallback: F,
): number | F {
  if (text === undefined) return fallback;
  const workers = Number(text);
  if (!Number.isInteger(workers) || workers < 1 || workers > max) {
    throw new Error(`--workers must be an integer from 1 to ${max}; got ${text}`);
  }
  return workers;
}

/**
 * The `--rounds` option: a whole number from 1 to 1000, or the default for a
 * quick or a full run.
 *
 * @example
 * ```ts
 * import { parseRounds } from "./_harness.ts";
 * const rounds = parseRounds(undefined, true, { quick: 3, full: 15 }); // 3
 * ```
 */
export function parseRounds(
  text: string | undefined,
  quick: boolean,
  defaults: { readonly quick: number; readonly full: number },
): number {
  const rounds = text === undefined ? (quick ? defaults.quick : defaults.full) : Number(text);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) {
    throw new Error(`--rounds must be an integer from 1 to 1000; got ${text}`);
  }
  return rounds;
}

/**
 * A comma-separated list option (`--cases a,b`), each name checked against
 * `known`: the names as given, or undefined when the option is absent.
 *
 * @example
 * ```ts
 * import { parseNames } from "./_harness.ts";
 * parseNames("--cases", "b, a", ["a", "b", "c"], "case"); // ["b", "a"]
 * ```
 */
export function parseNames<T extends string>(
  flag: string,
  text: string | undefined,
  known: readonly T[],
  noun: string,
): T[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    if (!(known as readonly string[]).includes(name)) {
      throw new Error(`${flag}: unknown ${noun} "${name}"; known ${noun}s are ${known.join(", ")}`);
    }
  }
  return names as T[];
}
