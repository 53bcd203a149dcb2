/**
 * What the inspector costs: boids (10,000 entities) on the work-stealing
 * backend, `staticecs run --ticks T --json` in a child process, with
 * `--inspect` off against `--inspect` with a watcher. Each inspected run
 * starts `--paused`; the watcher connects, and only then resumes it through
 * the control route, so the whole measured run is watched (the summary's
 * ticksPerSecond leaves the paused time out). Subjects, one child each per
 * round, interleaved (round-robin, starting one further each round):
 *
 * - `off`: no --inspect.
 * - `stream`: --inspect, this process reading the live stream (the
 *   inspector's own cost: sampling, task records, serving).
 * - `page`: --inspect with the page open in headless Chromium (Debian's
 *   package; skipped, with a note, where it is missing). The browser runs on
 *   the same cores as the run, so this counts what drawing the page takes
 *   from it too.
 * - `baseline` (with `--baseline DIR`): DIR's cli/main.ts without
 *   --inspect, DIR being a checkout of a revision before the inspector: what
 *   "no cost with --inspect off" is measured against.
 *
 * The figure is the median ticks per second; the ratio of a subject is the
 * median over rounds of its ticks per second over `off`'s in the same round
 * (paired, so that a machine shared with other work, whose speed drifts,
 * moves both). The load average at the start and the end is printed too:
 * on a busy 2-core machine the rounds spread widely. Run: `npx bun scripts/bench/inspect.ts [--rounds N]
 * [--ticks T] [--baseline DIR] [--json]` (or `npx deno run -A ...`: the
 * children then run under Deno).
 *
 * @module
 */

import os from "node:os";
import path from "node:path";
import process from "node:process";
import { existsSync } from "node:fs";
import { type Browser, CHROMIUM_PATH, launchChromium } from "../chromium.ts";
import { startChild } from "../../tests/fixtures/child.ts";
import { until } from "../../tests/fixtures/until.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  median,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const ROOT = path.resolve(import.meta.dirname ?? ".", "..", "..");
const SUBJECTS = ["off", "stream", "page", "baseline"] as const;
type Subject = typeof SUBJECTS[number];

const options = benchOptions({
  script: "inspect.ts",
  usage: "usage: inspect.ts [--json] [--quick] [--rounds N] [--ticks N] [--workers N] " +
    "[--baseline CHECKOUT]",
  rounds: { quick: 3, full: 7 },
  options: { ticks: "string", workers: "string", baseline: "string" },
}, (args) => {
  const ticks = Number(args.values.ticks ?? (args.quick ? "1000" : "3000"));
  if (!Number.isInteger(ticks) || ticks < 100) throw new Error("--ticks must be an integer >= 100");
  const workers = args.values.workers ?? "1";
  const { baseline } = args.values;
  if (baseline !== undefined && !existsSync(path.join(path.resolve(baseline), "cli", "main.ts"))) {
    throw new Error(`--baseline ${baseline}: no cli/main.ts there; give a checkout of the project`);
  }
  return { ...args, ticks, workers, baseline: baseline && path.resolve(baseline) };
});
const { rounds, ticks, workers, baseline } = options;
const hasChromium = existsSync(CHROMIUM_PATH);
const subjects = SUBJECTS.filter((s) =>
  (s !== "page" || hasChromium) && (s !== "baseline" || baseline !== undefined)
);
const RUN_ARGS = [
  "run",
  "examples/boids.ts",
  "--backend",
  "work-stealing",
  "--workers",
  workers,
  "--ticks",
  String(ticks),
  "--json",
];

/** The command that runs `cli/main.ts` of `root` under this runtime. */
function cli(root: string, args: readonly string[]): [string, string[]] {
  const main = path.join(root, "cli", "main.ts");
  const runtimeArgs = runtimeName() === "deno" ? ["run", "-A", main] : [main];
  return [process.execPath, [...runtimeArgs, ...args]];
}

/** Runs one subject once; resolves to its ticks per second. */
async function runOnce(subject: Subject, browser: Browser | undefined): Promise<number> {
  const inspect = subject === "stream" || subject === "page";
  const args = inspect ? [...RUN_ARGS, "--inspect", "127.0.0.1:0", "--paused"] : RUN_ARGS;
  const root = subject === "baseline" ? baseline! : ROOT;
  const [command, commandArgs] = cli(root, args);
  const run = startChild(command, commandArgs, root);
  let stopWatching = () => {};
  if (inspect) {
    const [, url, token] = await until("the inspector's address", () => {
      if (run.child.exitCode !== null) throw new Error(`exited early: ${run.stderr()}`);
      return /(http:\/\/\S+\/)#token=([0-9a-f]+)/.exec(run.stderr()) ?? undefined;
    }, 60_000);
    stopWatching = subject === "page" ? await openPage(browser!, url) : await readStream(url);
    await resume(url, token);
  }
  const end = await run.ended;
  stopWatching();
  if (end.code !== 0) throw new Error(`${subject} run failed (${end.code}): ${run.stderr()}`);
  return JSON.parse(run.stdout()).ticksPerSecond;
}

/** Reads the stream until told to stop; resolves once the first message is in. */
async function readStream(url: string): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(`${url}stream`, { signal: abort.signal });
  const reader = response.body!.getReader();
  await reader.read();
  void (async () => {
    while (!(await reader.read()).done) { /* what a page would do, minus the drawing */ }
  })().catch(() => {});
  return () => abort.abort();
}

/** Opens the page; resolves once it shows the paused run. */
async function openPage(browser: Browser, url: string): Promise<() => void> {
  const page = await browser.context.newPage();
  await page.goto(url);
  await until(
    "the page to show the run",
    async () => await page.getAttribute("#top", "data-state") === "paused" || undefined,
    60_000,
  );
  return () => void page.close();
}

async function resume(url: string, token: string): Promise<void> {
  const response = await fetch(`${url}api/control`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ action: "resume" }),
  });
  if (response.status !== 200) throw new Error(`resume refused: ${await response.text()}`);
}

const loadBefore = os.loadavg()[0];
const browser = hasChromium ? await launchChromium() : undefined;
const measured = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[(round + i) % subjects.length];
      measured.get(subject)!.push(await runOnce(subject, browser));
    }
  }
} finally {
  await browser?.close();
}

const loadAverage = [loadBefore, os.loadavg()[0]].map((l) => Math.round(l * 100) / 100);
const medians = new Map(subjects.map((s) => [s, median(measured.get(s)!)]));
const offRounds = measured.get("off")!;
/** A subject's ticks per second over off's in the same round, the median over rounds. */
const pairedRatio = (subject: Subject) =>
  median(measured.get(subject)!.map((value, round) => value / offRounds[round]));
const rows: Row[] = subjects.map((subject) => ({
  case: "boids_work_stealing",
  subject,
  value: medians.get(subject)!,
  unit: "ticks/s",
}));
const ratios: Record<string, number> = {};
for (const subject of subjects) {
  if (subject !== "off") ratios[`${subject}_vs_off`] = pairedRatio(subject);
}
const note = hasChromium ? "" : `page: skipped, no Chromium at ${CHROMIUM_PATH}`;
if (options.json) {
  printJson({
    bench: "inspect",
    runtime: runtimeName(),
    ticks,
    rounds,
    loadAverage,
    rows,
    ratios,
    note,
  });
} else {
  console.log(
    `boids, work-stealing, ${workers} worker(s), ${ticks} ticks per run, median of ` +
      `${rounds} interleaved rounds (${runtimeName()}); load average ${loadAverage.join(" -> ")}`,
  );
  console.log(formatTable(
    ["subject", "ticks/s", "vs off (paired)", "rounds"],
    subjects.map((s) => [
      s,
      formatNumber(medians.get(s)!, 1),
      s === "off" ? "" : formatNumber(pairedRatio(s), 3),
      measured.get(s)!.map((v) => formatNumber(v)).join(" "),
    ]),
  ));
  if (note !== "") console.log(note);
}
