/**
 * Tests of the `staticecs` command (cli/), under both `bun test` and `deno test -A`: each test
 * spawns cli/main.ts with the runtime running the tests, so each runtime tests itself.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SEED } from "../mod.ts";
import { VERSION } from "../cli/version.ts";
import { cli, cliCommand, type CliResult, ROOT, RUN_TIMEOUT_MS, RUNTIME } from "./fixtures/cli.ts";
import { requireIoUring } from "./fixtures/io_uring.ts";
import { startChild } from "./fixtures/child.ts";
import { signalDuringSetup } from "./fixtures/signal_during_setup.ts";
import { until } from "./fixtures/until.ts";
import { TICKED } from "./fixtures/announcing_scene.ts";

const TINY = "tests/fixtures/tiny_scene.ts";
const ANNOUNCING = "tests/fixtures/announcing_scene.ts";
const LOOPING_SETUP = "tests/fixtures/looping_setup_scene.ts";

/** Runs the CLI, expects exit 0, and parses stdout as exactly one JSON object. */
function runJson(args: readonly string[], cwd = ROOT): Record<string, unknown> {
  const result = cli(args, cwd);
  assert.equal(result.status, 0, `exit ${result.status}; stderr: ${result.stderr}`);
  return parseOneJson(result.stdout);
}

function parseOneJson(stdout: string): Record<string, unknown> {
  assert.equal(stdout.trimEnd().split("\n").length, 1, `stdout is not one line: ${stdout}`);
  const value = JSON.parse(stdout);
  assert.equal(typeof value, "object");
  return value;
}

/** Expects exit 2 and one stderr line `staticecs: ...` containing each of `parts`, no stack. */
function assertBadInput(result: CliResult, ...parts: string[]): void {
  assert.equal(result.status, 2, `exit ${result.status}; stderr: ${result.stderr}`);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `stderr is not one line:\n${result.stderr}`);
  assert.match(lines[0], /^staticecs: /);
  for (const part of parts) assert.ok(lines[0].includes(part), `"${lines[0]}" lacks "${part}"`);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

describe("staticecs run", () => {
  it("runs --ticks 50 and prints one JSON summary", () => {
    const summary = runJson(["run", TINY, "--ticks", "50", "--json"]);
    assert.equal(summary.backend, "blocking");
    assert.equal(summary.scene, "tiny");
    assert.equal(summary.seed, DEFAULT_SEED);
    assert.equal(summary.hz, null);
    assert.equal(summary.ticks, 50);
    assert.equal(summary.entities, 200);
    assert.equal(summary.droppedTicks, 0);
    assert.deepEqual(summary.errors, []);
    assert.equal(summary.stopReason, "ticks");
    for (const key of ["tickMsMean", "tickMsP99", "wallSeconds"]) {
      assert.equal(typeof summary[key], "number", key);
      assert.ok((summary[key] as number) >= 0, key);
    }
    assert.ok((summary.tickMsP99 as number) >= 0);
    assert.deepEqual(Object.keys(summary.systems as object), ["move", "jitter"]);
    for (const ms of Object.values(summary.systems as object)) assert.equal(typeof ms, "number");
    assert.match(summary.checksum as string, /^[0-9a-f]+$/);
    assert.equal(typeof summary.backendStats, "object");
  });

  it("gives the same checksum for the same seed, another for another seed", () => {
    const args = ["run", TINY, "--ticks", "20", "--json", "--seed"];
    const first = runJson([...args, "7"]).checksum;
    assert.equal(runJson([...args, "7"]).checksum, first);
    assert.notEqual(runJson([...args, "8"]).checksum, first);
  });

  it("prints a readable table without --json", () => {
    const result = cli(["run", TINY, "--ticks", "5"]);
    assert.equal(result.status, 0, result.stderr);
    for (const label of ["scene", "backend", "seed", "ticks", "tick ms", "checksum", "jitter"]) {
      assert.match(result.stdout, new RegExp(`^\\s*${label}\\b`, "m"), label);
    }
  });

  it("stops by itself after --duration", () => {
    const summary = runJson(["run", TINY, "--duration", "0.3", "--json"]);
    assert.equal(summary.stopReason, "duration");
    assert.ok((summary.ticks as number) > 0);
    assert.ok((summary.wallSeconds as number) >= 0.25, String(summary.wallSeconds));
  });

  it("paces ticks in real time with --hz", () => {
    const summary = runJson(["run", TINY, "--hz", "50", "--duration", "0.5", "--json"]);
    assert.equal(summary.hz, 50);
    assert.equal(summary.dt, 1 / 50);
    const ticks = summary.ticks as number;
    assert.ok(ticks >= 10 && ticks <= 30, `${ticks} ticks at 50 Hz for 0.5 s`);
  });

  it("runs exactly --ticks N when paced", () => {
    assert.equal(runJson(["run", TINY, "--hz", "1000", "--ticks", "20", "--json"]).ticks, 20);
  });

  it("exits with the code a setup gives process.exit, as on the main thread", () => {
    // Setup runs in a worker, where process.exit alone would end only the worker.
    const result = cli(["run", "tests/fixtures/exiting_setup_scene.ts", "--ticks", "1"]);
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stdout, "");
  });

  it("stops at a failing system under stop-first and exits 1", () => {
    const result = cli(["run", "tests/fixtures/throwing_scene.ts", "--ticks", "10", "--json"]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /tick 3: system explode \(update\): boom at tick 3/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    const summary = parseOneJson(result.stdout);
    assert.equal(summary.ticks, 4);
    assert.equal(summary.stopReason, "error");
    assert.deepEqual(summary.errors, [
      { tick: 3, system: "explode", phase: "update", message: "boom at tick 3" },
    ]);
  });

  it("runs on through failures under aggregate and exits 1", () => {
    const result = cli(["run", "tests/fixtures/aggregate_scene.ts", "--ticks", "10", "--json"]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /tick 2: system flaky/);
    assert.match(result.stderr, /tick 4: system flaky/);
    const summary = parseOneJson(result.stdout);
    assert.equal(summary.ticks, 10);
    assert.equal(summary.errorCount, 2);
  });
});

describe("staticecs run with spawns over maxEntities", () => {
  it("prints the bound error once per failed spawn, its skipped commands folded in", () => {
    const result = cli(["run", "tests/fixtures/spawn_limit_scene.ts", "--ticks", "4", "--json"]);
    assert.equal(result.status, 1, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 4, "tick 2 refuses one spawn, tick 3 all three");
    for (const line of lines) {
      assert.match(
        line,
        /^tick [23]: system grow \(update\): entity limit reached: .*maxEntities 8.*; 2 commands on this spawn skipped$/,
      );
    }
    assert.equal(parseOneJson(result.stdout).errorCount, 4);
  });
});

describe("staticecs run --backend work-stealing", () => {
  const PARALLEL = "tests/fixtures/parallel_scene.ts";

  it("with --min-parallel-work 0, runs the small scene on the pool with blocking's checksum", {
    timeout: 60_000,
  }, () => {
    const blocking = runJson(["run", PARALLEL, "--ticks", "60", "--json"]);
    for (const backend of ["work-stealing", "adaptive"]) {
      const parallel = runJson([
        "run",
        PARALLEL,
        ...["--ticks", "60", "--json", "--backend", backend, "--workers", "2"],
        ...["--min-parallel-work", "0"],
      ]);
      assert.equal(parallel.backend, backend);
      assert.equal(parallel.checksum, blocking.checksum, backend);
      const stats = parallel.backendStats as Record<string, number | unknown[]>;
      assert.equal(stats.workers, 2);
      assert.equal(stats.minParallelWork, 0);
      assert.equal(stats.stagesParallel, 120, `${backend}: two stages of many chunks a tick`);
      assert.equal((stats.threads as unknown[]).length, 3);
    }
  });

  it("says when no stage reached the pool, and how to send small stages there", {
    timeout: 60_000,
  }, () => {
    const table = cli(["run", PARALLEL, "--ticks", "5", "--backend", "work-stealing"]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /thread 1 +tasksExecuted \d+ +tasksStolen \d+ +parkedMs \d+/);
    assert.match(
      table.stdout,
      /^pool +0 of 15 stage runs on the worker pool; .*--min-parallel-work 0 sends it every stage/m,
    );
    const forced = cli([
      "run",
      PARALLEL,
      ...["--ticks", "5", "--backend", "work-stealing", "--min-parallel-work", "0"],
    ]);
    assert.match(forced.stdout, /^pool +10 of 15 stage runs on the worker pool$/m);
  });

  it("rejects --workers and --min-parallel-work with a backend that has none, and bad values", {
    timeout: 60_000,
  }, () => {
    assertBadInput(cli(["run", TINY, "--workers", "2"]), "--workers is for");
    assertBadInput(
      cli(["run", TINY, "--backend", "work-stealing", "--workers", "300"]),
      "--workers must be at most 256",
    );
    assertBadInput(
      cli(["run", TINY, "--min-parallel-work", "0"]),
      "--min-parallel-work is for --backend work-stealing or adaptive; --backend blocking runs",
    );
    for (const value of ["-1", "1.5", "lots"]) {
      assertBadInput(
        cli(["run", TINY, "--backend", "adaptive", `--min-parallel-work=${value}`]),
        `--min-parallel-work must be an integer of 0 or more; got ${value}`,
      );
    }
  });
});

/**
 * The journal example's checksum after 40 ticks with seed 7, on every backend and under both
 * runtimes: the Journal resource keeps a file handle (1), never an OS descriptor. If you change
 * the example on purpose, run `npx bun cli/main.ts run examples/journal.ts --ticks 40 --seed 7`
 * and put its checksum here.
 */
const JOURNAL_CHECKSUM = "5d2124f6eb6ced3c";

/** Runs examples/journal.ts with `args`, writing `journal`; returns its JSON summary. */
function runJournal(journal: string, args: readonly string[]): Record<string, unknown> {
  const [command, commandArgs] = cliCommand(["run", "examples/journal.ts", "--json", ...args]);
  const ran = spawnSync(command, commandArgs, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: "1", STATICECS_JOURNAL: journal },
  });
  assert.equal(ran.status, 0, `${args.join(" ")}: ${ran.stderr}`);
  return parseOneJson(ran.stdout);
}

describe("staticecs run examples/journal.ts", () => {
  it("writes the journal on io-uring, which journal_check verifies", { timeout: 60_000 }, () => {
    requireIoUring();
    const dir = mkdtempSync(path.join(os.tmpdir(), "staticecs-journal-"));
    try {
      const journal = path.join(dir, "journal.bin");
      const summary = runJournal(journal, ["--ticks", "45", "--backend", "io-uring"]);
      assert.equal(summary.backend, "io-uring");
      const stats = summary.backendStats as Record<string, number>;
      assert.equal(stats.ioOperations, 45 + 1 + 1, "a write per frame, the open, an fsync");
      const check = spawnSync(
        process.execPath,
        [...(RUNTIME === "deno" ? ["run", "-A"] : []), "examples/journal_check.ts", journal],
        { cwd: ROOT, encoding: "utf8", timeout: RUN_TIMEOUT_MS },
      );
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /45 frames, 90000 records, all verified/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives one checksum and one file on every backend, the pinned one", {
    timeout: 180_000,
  }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "staticecs-journal-"));
    try {
      const backends = [
        ["--backend", "blocking"],
        ["--backend", "work-stealing", "--workers", "1"],
        ["--backend", "work-stealing", "--workers", "2"],
        ["--backend", "io-uring"],
        ["--backend", "adaptive", "--workers", "2"],
      ];
      const files = backends.map((_, i) => path.join(dir, `journal${i}.bin`));
      const checksums = backends.map((args, i) =>
        runJournal(files[i], ["--ticks", "40", "--seed", "7", ...args]).checksum
      );
      for (let i = 0; i < backends.length; i++) {
        assert.equal(checksums[i], JOURNAL_CHECKSUM, backends[i].join(" "));
        assert.deepEqual(readFileSync(files[i]), readFileSync(files[0]), backends[i].join(" "));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("staticecs run, bad input (exit 2, one line)", () => {
  const fixture = (name: string) => `tests/fixtures/${name}.ts`;
  const cases: [string, string[], string[]][] = [
    ["missing scene", ["run"], ["needs a scene file"]],
    ["missing file", ["run", "nowhere/scene.ts"], ["not found", "nowhere/scene.ts"]],
    ["import throws", ["run", fixture("import_error_scene")], [
      "import_error_scene.ts: failed to load: this scene is broken on purpose",
    ]],
    ["no default export", ["run", fixture("no_default_scene")], ["got undefined"]],
    ["default function", ["run", fixture("function_scene")], ["got a function"]],
    ["plain object", ["run", fixture("plain_object_scene")], ["got an object without"]],
    ["setup throws", ["run", fixture("setup_error_scene")], ["setup failed: no map file"]],
    ["schedule cycle", ["run", fixture("bad_schedule_scene")], [
      "bad_schedule_scene.ts: systems order themselves in a cycle",
    ]],
    ["bad config", ["run", fixture("bad_config_scene")], ["bad_config_scene.ts:", "maxEntites"]],
    ["unknown flag", ["run", TINY, "--tick", "5"], ["--tick", "--help"]],
    ["bad --ticks", ["run", TINY, "--ticks", "abc"], [
      "--ticks must be a positive integer; got abc",
    ]],
    ["zero --ticks", ["run", TINY, "--ticks", "0"], ["--ticks must be a positive integer"]],
    ["bad --duration", ["run", TINY, "--duration", "soon"], ["--duration must be a positive"]],
    ["bad --hz", ["run", TINY, "--hz=-5"], ["--hz must be a positive number", "got -5"]],
    ["bad --seed", ["run", TINY, "--seed", "4294967296"], ["--seed must be an integer from 0"]],
    ["--ticks with --duration", ["run", TINY, "--ticks", "5", "--duration", "1"], [
      "--ticks and --duration",
    ]],
    ["unknown backend", ["run", TINY, "--backend", "warp"], ["warp", "blocking"]],
    ["unknown command", ["frobnicate"], ['unknown command "frobnicate"', "run, check, info"]],
    ["no command", [], ["missing command"]],
    ["unknown info flag", ["info", "--fast"], ["--fast"]],
  ];
  for (const [name, args, parts] of cases) {
    it(name, () => assertBadInput(cli(args), ...parts));
  }

  it("prints the stack of the cause with --verbose", () => {
    const result = cli(["run", fixture("setup_error_scene"), "--verbose"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /setup failed: no map file\n/);
    assert.match(result.stderr, /setup_error_scene\.ts/);
  });
});

describe("staticecs run, scenes outside the project", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "staticecs-cli-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`resolves "staticecs" for a scene in a temp dir (${RUNTIME})`, () => {
    writeFileSync(path.join(dir, "scene.ts"), readFileSync(path.join(ROOT, TINY), "utf8"));
    const outside = runJson(["run", "scene.ts", "--ticks", "10", "--json"], dir);
    const inside = runJson(["run", TINY, "--ticks", "10", "--json"]);
    assert.equal(outside.sceneFile, "scene.ts");
    assert.equal(outside.checksum, inside.checksum);
  });
});

describe("staticecs run, signals", () => {
  it("ends a run without --ticks on SIGINT with a summary and exit 0", async () => {
    const run = startChild(...cliCommand(["run", ANNOUNCING, "--json"]), ROOT);
    // The scene says when a tick has run: the loop, and its signal handler, are in place.
    await until("the first tick", () => run.stderr().includes(TICKED) || undefined);
    // Not child.kill: Deno 2.9's node:child_process then reports the child as killed by the
    // signal even when it handled it and exited 0.
    process.kill(run.child.pid!, "SIGINT");
    assert.equal((await run.ended).code, 0, run.stderr());
    const summary = parseOneJson(run.stdout());
    assert.equal(summary.stopReason, "signal");
    assert.ok((summary.ticks as number) > 0);
  });

  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`stops a setup stuck in a loop on ${signal}: one line, exit ${code}`, async () => {
      const end = await signalDuringSetup(
        cliCommand(["run", LOOPING_SETUP, "--ticks", "1"]),
        ROOT,
        signal,
      );
      assert.deepEqual(end, {
        code,
        signal: null,
        lastLine: `staticecs: ${LOOPING_SETUP}: stopped during setup (${signal})`,
      });
    });
  }
});

describe("staticecs info", () => {
  it("--json has the runtime, version, cores and io_uring", () => {
    const info = runJson(["info", "--json"]);
    assert.equal(info.runtime, RUNTIME);
    assert.equal(typeof info.version, "string");
    assert.ok(Number.isInteger(info.cores) && (info.cores as number) >= 1);
    const ioUring = info.ioUring as Record<string, unknown>;
    assert.equal(typeof ioUring.usable, "boolean");
    assert.equal(typeof ioUring.reason, "string");
  });

  it("prints a table without --json", () => {
    const result = cli(["info"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^runtime\s+(bun|deno) /m);
    assert.match(result.stdout, /^io_uring\s+/m);
  });
});

describe("staticecs --help and --version", () => {
  it("--help lists the commands", () => {
    const result = cli(["--help"]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /run <scene\.ts>/);
    assert.match(result.stdout, /info/);
  });

  it("run --help lists every flag, even after a bad one", () => {
    const result = cli(["run", "--nonsense", "--help"]);
    assert.equal(result.status, 0);
    for (const flag of ["--ticks", "--duration", "--hz", "--backend", "--seed", "--json"]) {
      assert.ok(result.stdout.includes(flag), flag);
    }
    assert.ok(result.stdout.includes("--verbose"));
  });

  it("info --help", () => {
    const result = cli(["info", "--help"]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--json/);
  });

  it("--version names the version and the runtime", () => {
    const result = cli(["--version"]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, new RegExp(`^staticecs ${VERSION} \\(${RUNTIME} \\d+\\.\\d+`));
  });

  it("cli/version.ts matches package.json", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    assert.equal(VERSION, pkg.version);
  });
});
