// @ts-check
/**
 * The project's test entry point (`npm test`), for plain Node 20 with no dependencies.
 *
 * Runs, in order: `bun test tests/`, `deno test -A tests/`, `deno check`, `deno lint` and
 * `deno fmt --check`, streaming each one's output. It counts what the two test runners report
 * (Deno's count is made comparable to Bun's: a describe block is not counted as a test of its
 * own) and each static step as 1 passed or 1 failed, and ends with one line
 * `N passed, N failed`. It exits 1 if anything failed or timed out.
 *
 * Usage: node scripts/test.mjs [--only bun|deno|static[,...]]
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const TEST_DIR = "tests";
const CHECK_TARGETS = [
  "mod.ts",
  "backend.ts",
  "cluster.ts",
  "cli",
  "inspect",
  "core",
  "ffi",
  "cluster",
  "scripts",
  "examples",
  "tests",
];
const STEP_TIMEOUT_MS = Number(process.env.STATICECS_TEST_STEP_TIMEOUT_MS ?? 8 * 60_000);
const TEST_TIMEOUT_MS = 60_000; // per test, for bun (deno has no per-test timeout)
const OUTPUT_KEPT_CHARS_MAX = 8 * 1024 * 1024; // the tail of a step's output kept for parsing
const GROUPS = ["bun", "deno", "static"];
const FAILED_NAMES_SHOWN_MAX = 20; // failed tests named again in the summary
const TEST_FILE = /(^|[._])(test|spec)\.(ts|tsx|mts|js|mjs|jsx)$/;

/** Process group of the step running now, ended with this script on Ctrl-C or SIGTERM. */
let runningGroupPid = /** @type {number | undefined} */ (undefined);
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    killGroup(runningGroupPid);
    process.exit(130);
  });
}

/**
 * @typedef {{ name: string, group: string, command: string, args: string[],
 *   parse: (output: string, exitCode: number) => Counts, skipNote?: string,
 *   failures?: (output: string) => string[] }} Step
 * @typedef {{ passed: number, failed: number, skipped: number }} Counts
 * @typedef {{ exitCode: number, output: string, timedOut: boolean, seconds: number }} RunResult
 * @typedef {{ name: string, counts: Counts | undefined, note: string, failedNames?: string[] }} Row
 */

await main();

async function main() {
  const groups = parseOnly(process.argv.slice(2));
  /** @type {Row[]} */
  const rows = [];
  for (const step of plannedSteps()) {
    if (!groups.includes(step.group)) continue;
    if (step.skipNote === undefined) rows.push(await runStep(step));
    else rows.push({ name: step.name, counts: undefined, note: step.skipNote });
  }
  printSummary(rows);
  const passed = rows.reduce((sum, row) => sum + (row.counts?.passed ?? 0), 0);
  const failed = rows.reduce((sum, row) => sum + (row.counts?.failed ?? 0), 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

/** @param {string[]} argv @returns {string[]} */
function parseOnly(argv) {
  if (argv.length === 0) return GROUPS;
  let value = "";
  if (argv.length === 2 && argv[0] === "--only") value = argv[1];
  if (argv.length === 1 && argv[0].startsWith("--only=")) value = argv[0].slice("--only=".length);
  const wanted = value.split(",").filter((group) => group !== "");
  if (wanted.length === 0 || wanted.some((group) => !GROUPS.includes(group))) {
    console.error(
      `usage: node scripts/test.mjs [--only ${GROUPS.join("|")}[,...]]; got: ${argv.join(" ")}`,
    );
    process.exit(2);
  }
  return wanted;
}

/** @returns {Step[]} */
function plannedSteps() {
  const testsSkipNote = hasTestFiles(path.join(ROOT, TEST_DIR))
    ? undefined
    : `skipped: no test files in ${TEST_DIR}/`;
  /** @type {Step[]} */
  const steps = [{
    name: "bun test",
    group: "bun",
    command: binary("bun"),
    args: ["test", "--timeout", String(TEST_TIMEOUT_MS), `./${TEST_DIR}/`],
    parse: parseBunCounts,
    failures: (output) => matchedLines(output, /^\(fail\) (.+)$/gm),
    skipNote: testsSkipNote,
  }, {
    name: "deno test",
    group: "deno",
    command: binary("deno"),
    args: ["test", "-A", `${TEST_DIR}/`],
    parse: parseDenoCounts,
    failures: (output) => matchedLines(output, /^(.+ \.\.\.) FAILED\b/gm),
    skipNote: testsSkipNote,
  }];
  // The stress suite (deque, injector, parker, backend determinism, cluster churn), a bounded number of rounds
  // with fresh seeds: scripts/stress.ts --rounds 100 is the long form.
  const rounds = process.env.STATICECS_STRESS_ROUNDS ?? "3";
  steps.push({
    name: "bun stress",
    group: "bun",
    command: binary("bun"),
    args: ["scripts/stress.ts", "--rounds", rounds],
    parse: parsePlainCounts,
    failures: stressFailures,
  }, {
    name: "deno stress",
    group: "deno",
    command: binary("deno"),
    args: ["run", "-A", "scripts/stress.ts", "--rounds", rounds],
    parse: parsePlainCounts,
    failures: stressFailures,
  });
  const targets = CHECK_TARGETS.filter((target) => existsSync(path.join(ROOT, target)));
  if (targets.length > 0) {
    steps.push(staticStep("deno check", ["check", ...targets]));
  }
  steps.push(staticStep("deno lint", ["lint"]));
  steps.push(staticStep("deno fmt", ["fmt", "--check"]));
  return steps;
}

/**
 * A script that ends with a line `N passed, N failed`.
 *
 * @param {string} output @param {number} exitCode @returns {Counts}
 */
function parsePlainCounts(output, exitCode) {
  const match = /^(\d+) passed, (\d+) failed$/m.exec(output.split("\n").reverse().join("\n"));
  if (match === null) return { passed: 0, failed: exitCode === 0 ? 0 : 1, skipped: 0 };
  const skipped = /^(\d+) skipped$/m.exec(output);
  return {
    passed: Number(match[1]),
    failed: Number(match[2]),
    skipped: skipped === null ? 0 : Number(skipped[1]),
  };
}

/** @param {string} name @param {string[]} args @returns {Step} */
function staticStep(name, args) {
  return {
    name,
    group: "static",
    command: binary("deno"),
    args,
    parse: (_output, exitCode) => ({
      passed: exitCode === 0 ? 1 : 0,
      failed: exitCode === 0 ? 0 : 1,
      skipped: 0,
    }),
  };
}

/** @param {string} name */
function binary(name) {
  const file = path.join(BIN, name);
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`npm ci\` first (bun and deno come from npm).`);
    process.exit(2);
  }
  return file;
}

/** @param {string} dir @param {number} depth @returns {boolean} */
function hasTestFiles(dir, depth = 0) {
  if (depth > 8 || !existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && TEST_FILE.test(entry.name)) return true;
    if (entry.isDirectory() && hasTestFiles(path.join(dir, entry.name), depth + 1)) return true;
  }
  return false;
}

/** @param {Step} step */
async function runStep(step) {
  console.log(`\n=== ${step.name}: ${path.basename(step.command)} ${step.args.join(" ")}`);
  const result = await runStreaming(step.command, step.args);
  const counts = step.parse(stripAnsi(result.output), result.exitCode);
  let note = `exit ${result.exitCode}, ${result.seconds.toFixed(1)} s`;
  if (result.timedOut) {
    counts.failed = Math.max(counts.failed, 1);
    note = `TIMED OUT after ${STEP_TIMEOUT_MS / 1000} s`;
  } else if (result.exitCode !== 0 && counts.failed === 0) {
    counts.failed = 1; // it failed without saying which test: a crash, a load error, no tests
  }
  const failedNames = counts.failed > 0 ? step.failures?.(stripAnsi(result.output)) : undefined;
  return { name: step.name, counts, note, failedNames };
}

/**
 * Names of the tests a step's output says failed, so the summary (all CI may show) has them.
 *
 * @param {string} output @param {RegExp} pattern @returns {string[]}
 */
function matchedLines(output, pattern) {
  return [...new Set([...output.matchAll(pattern)].map((match) => match[1].trim()))];
}

/** @param {string} output */
function stressFailures(output) {
  return matchedLines(output, /^\s*(round \d+ \S+ seed \d+: (?!ok\b).*)$/gm);
}

/**
 * Runs a command in its own process group, copying its output through as it comes and keeping
 * the tail for parsing; kills the group at the step timeout.
 *
 * @param {string} command @param {string[]} args @returns {Promise<RunResult>}
 */
function runStreaming(command, args) {
  const startedMs = Date.now();
  const env = { ...process.env };
  if (!process.stdout.isTTY) env.NO_COLOR = "1";
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  runningGroupPid = child.pid;
  let output = "";
  const keep = (/** @type {Buffer} */ chunk) => {
    output += chunk.toString("utf8");
    if (output.length > OUTPUT_KEPT_CHARS_MAX) output = output.slice(-OUTPUT_KEPT_CHARS_MAX);
  };
  child.stdout.on("data", (chunk) => (process.stdout.write(chunk), keep(chunk)));
  child.stderr.on("data", (chunk) => (process.stderr.write(chunk), keep(chunk)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, STEP_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on("error", (error) => keep(Buffer.from(`\n${error.message}\n`)));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      runningGroupPid = undefined;
      const exitCode = code ?? (signal === null ? 1 : 128);
      resolve({ exitCode, output, timedOut, seconds: (Date.now() - startedMs) / 1000 });
    });
  });
}

/** @param {number | undefined} pid */
function killGroup(pid) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group already exited.
  }
}

/** @param {string} text */
function stripAnsi(text) {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}

/**
 * Bun ends with lines like ` 9 pass`, ` 1 skip`, ` 0 fail`, ` 1 error`.
 *
 * @param {string} output @param {number} exitCode @returns {Counts}
 */
function parseBunCounts(output, exitCode) {
  const passed = lastNumber(output, /^\s*(\d+) pass$/gm);
  const failed = lastNumber(output, /^\s*(\d+) fail$/gm);
  const errors = lastNumber(output, /^\s*(\d+) errors?$/gm);
  const skipped = lastNumber(output, /^\s*(\d+) skip$/gm) + lastNumber(output, /^\s*(\d+) todo$/gm);
  const counts = { passed, failed: Math.max(failed, errors > 0 ? 1 : 0), skipped };
  if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

/**
 * Deno ends with `ok | 3 passed (9 steps) | 0 failed (130ms)`, adding `| N ignored` when some
 * are. A node:test describe block is a test whose `it`s are steps; it prints an opening line
 * `name ...` and a closing `name ... ok`. Bun counts only the `it`s, so groups are taken out.
 *
 * @param {string} output @param {number} exitCode @returns {Counts}
 */
function parseDenoCounts(output, exitCode) {
  const summary = output.split("\n").reverse().find((line) => /^(ok|FAILED) \| /.test(line));
  if (summary === undefined) return { passed: 0, failed: exitCode === 0 ? 0 : 1, skipped: 0 };
  const field = (/** @type {string} */ word) => {
    const match = new RegExp(`(\\d+) ${word}(?: \\((\\d+) steps?\\))?`).exec(summary);
    return match === null ? 0 : Number(match[1]) + Number(match[2] ?? 0);
  };
  const groups = countDenoGroups(output);
  return {
    passed: Math.max(0, field("passed") - groups.passed),
    failed: Math.max(0, field("failed") - groups.failed),
    skipped: field("ignored"),
  };
}

/** @param {string} output @returns {{ passed: number, failed: number }} */
function countDenoGroups(output) {
  const lines = output.split("\n");
  const openers = new Set(lines.filter((line) => /\S \.\.\.$/.test(line)));
  let passed = 0;
  let failed = 0;
  for (const line of lines) {
    const match = /^(.*\S \.\.\.) (ok|FAILED)\b/.exec(line);
    if (match === null || !openers.has(match[1])) continue;
    if (match[2] === "ok") passed += 1;
    else failed += 1;
  }
  return { passed, failed };
}

/** @param {string} text @param {RegExp} pattern */
function lastNumber(text, pattern) {
  let value = 0;
  for (const match of text.matchAll(pattern)) value = Number(match[1]);
  return value;
}

/** @param {Row[]} rows */
function printSummary(rows) {
  console.log("\n=== summary");
  for (const { name, counts, note, failedNames = [] } of rows) {
    const figures = counts === undefined
      ? "-"
      : `pass ${counts.passed}  fail ${counts.failed}  skip ${counts.skipped}`;
    console.log(`  ${name.padEnd(11)} ${figures.padEnd(28)} (${note})`);
    for (const failed of failedNames.slice(0, FAILED_NAMES_SHOWN_MAX)) {
      console.log(`      failed: ${failed}`);
    }
    if (failedNames.length > FAILED_NAMES_SHOWN_MAX) {
      console.log(`      ... and ${failedNames.length - FAILED_NAMES_SHOWN_MAX} more (above)`);
    }
  }
}
