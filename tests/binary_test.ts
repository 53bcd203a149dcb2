/**
 * The compiled binary, alone in an empty folder with a user's scene: every
 * subcommand, `--help`, `--version`, and the bad-input paths (exit 2). The
 * binary is built once here with scripts/build.ts, as CI does.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { signalDuringSetup } from "./fixtures/signal_during_setup.ts";
import { until } from "./fixtures/until.ts";
import { ioUringUsable, requireIoUring } from "./fixtures/io_uring.ts";
import { hostRuntime } from "../core/_host.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const isBun = hostRuntime().name === "bun";
const SKIP = isBun
  ? false
  : "the binary is built with `bun build --compile` and tested in the Bun " +
    "run; what it does does not depend on the runtime running the tests";

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let folder = "";

function staticecs(...args: string[]): Ran {
  const result = spawnSync(path.join(folder, "staticecs"), args, {
    cwd: folder,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertBadInput(ran: Ran, pattern: RegExp): void {
  assert.equal(ran.status, 2, `exit code; stderr: ${ran.stderr}`);
  const lines = ran.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line of error, got: ${ran.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(ran.stderr, /\n\s+at /, "no stack trace");
}

describe("compiled binary", { skip: SKIP }, () => {
  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), "staticecs-binary-"));
    const { buildBinary } = await import("../scripts/build.ts");
    buildBinary(path.join(folder, "staticecs"));
    copyFileSync(path.join(ROOT, "tests/fixtures/tiny_scene.ts"), path.join(folder, "scene.ts"));
    copyFileSync(
      path.join(ROOT, "tests/fixtures/parallel_scene.ts"),
      path.join(folder, "parallel.ts"),
    );
    writeFileSync(path.join(folder, "not_a_scene.ts"), "export default 42;\n");
    copyFileSync(path.join(ROOT, "examples/cluster_sim.ts"), path.join(folder, "ships.ts"));
    for (const file of ["sneak_column_scene.ts", "_sneak.ts"]) {
      copyFileSync(path.join(ROOT, "tests/fixtures", file), path.join(folder, file));
    }
    copyFileSync(
      path.join(ROOT, "tests/fixtures/looping_setup_scene.ts"),
      path.join(folder, "looping.ts"),
    );
  });

  after(() => {
    if (folder !== "") rmSync(folder, { recursive: true, force: true });
  });

  test("runs a user's scene that imports from staticecs, with the same checksum as the sources", () => {
    const ran = staticecs("run", "scene.ts", "--ticks", "30", "--seed", "7", "--json");
    assert.equal(ran.status, 0, ran.stderr);
    const summary = JSON.parse(ran.stdout);
    assert.equal(summary.backend, "blocking");
    assert.equal(summary.ticks, 30);
    assert.equal(summary.entities, 200);
    assert.match(summary.checksum, /^[0-9a-f]{16}$/);
    assert.equal(typeof summary.firstFrameMs, "number");
    const fromSource = spawnSync(
      process.execPath,
      [
        "cli/main.ts",
        "run",
        "tests/fixtures/tiny_scene.ts",
        "--ticks",
        "30",
        "--seed",
        "7",
        "--json",
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(fromSource.status, 0, fromSource.stderr);
    assert.equal(JSON.parse(fromSource.stdout).checksum, summary.checksum);
  });

  test("runs work-stealing on 2 workers with the blocking backend's checksum", () => {
    const run = (...extra: string[]) => {
      const ran = staticecs("run", "parallel.ts", "--ticks", "60", "--json", ...extra);
      assert.equal(ran.status, 0, ran.stderr);
      return JSON.parse(ran.stdout);
    };
    const blocking = run();
    const parallel = run("--backend", "work-stealing", "--workers", "2");
    assert.equal(parallel.backend, "work-stealing");
    assert.equal(parallel.backendStats.workers, 2);
    assert.equal(parallel.checksum, blocking.checksum);
    assert.equal(parallel.entities, blocking.entities);
  });

  test("runs the journal example on io-uring: same bytes with io_uring off, the sources' checksum", () => {
    requireIoUring();
    for (const file of ["journal.ts", "journal_check.ts"]) {
      copyFileSync(path.join(ROOT, "examples", file), path.join(folder, file));
    }
    const options = ["--ticks", "40", "--seed", "7", "--json"];
    const run = (journal: string, env: Record<string, string>) =>
      spawnSync(
        path.join(folder, "staticecs"),
        ["run", "journal.ts", ...options, "--backend", "io-uring"],
        {
          cwd: folder,
          encoding: "utf8",
          timeout: 30_000,
          env: { ...process.env, STATICECS_JOURNAL: journal, ...env },
        },
      );
    const ring = run("ring.bin", {});
    assert.equal(ring.status, 0, ring.stderr);
    if (ioUringUsable()) assert.doesNotMatch(ring.stderr, /io_uring not used/);
    const summary = JSON.parse(ring.stdout);
    assert.equal(summary.backend, "io-uring");
    const off = run("off.bin", { STATICECS_IO_URING: "off" });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stderr, /io_uring not used: disabled by STATICECS_IO_URING=off/);
    assert.deepEqual(
      readFileSync(path.join(folder, "ring.bin")),
      readFileSync(path.join(folder, "off.bin")),
    );
    assert.equal(JSON.parse(off.stdout).checksum, summary.checksum);
    // The journal keeps a file handle, not an OS descriptor: the sources on the blocking
    // backend give the binary's io-uring checksum.
    const fromSource = spawnSync(process.execPath, [
      "cli/main.ts",
      "run",
      "examples/journal.ts",
      ...options,
    ], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, STATICECS_JOURNAL: path.join(folder, "source.bin") },
    });
    assert.equal(fromSource.status, 0, fromSource.stderr);
    assert.equal(JSON.parse(fromSource.stdout).checksum, summary.checksum);
  });

  test("Ctrl-C during a setup stuck in a loop: one line, exit 130", async () => {
    const end = await signalDuringSetup(
      [path.join(folder, "staticecs"), ["run", "looping.ts", "--ticks", "1"]],
      folder,
      "SIGINT",
    );
    assert.deepEqual(end, {
      code: 130,
      signal: null,
      lastLine: "staticecs: looping.ts: stopped during setup (SIGINT)",
    });
  });

  test("--inspect serves the embedded page and stream, and a paused run resumes with the token", async () => {
    const child = spawn(path.join(folder, "staticecs"), [
      "run",
      "parallel.ts",
      "--ticks",
      "20",
      "--json",
      "--inspect",
      "127.0.0.1:0",
      "--paused",
    ], { cwd: folder, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "", stdout = "";
    child.stderr!.on("data", (chunk) => stderr += String(chunk));
    child.stdout!.on("data", (chunk) => stdout += String(chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const [, url, token] = await until(
        "the inspector's address",
        () => /(http:\/\/\S+\/)#token=([0-9a-f]+)/.exec(stderr) ?? undefined,
      );
      for (const [file, text] of [["", "<title>"], ["uplot.js", "uPlot"], ["app.js", "stream("]]) {
        const response = await fetch(url + file);
        assert.equal(response.status, 200, file);
        assert.ok((await response.text()).includes(text), `${file} holds ${text}`);
      }
      const stream = await fetch(`${url}stream`);
      const first = await stream.body!.getReader().read();
      assert.match(new TextDecoder().decode(first.value), /^data: \{"type":"hello"/);
      await stream.body!.cancel().catch(() => {});
      const resumed = await fetch(`${url}api/control`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ action: "resume" }),
      });
      assert.equal(resumed.status, 200);
      assert.equal(await exited, 0, stderr);
      assert.equal(JSON.parse(stdout).ticks, 20);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("info --json reports runtime, cores and io_uring", () => {
    const ran = staticecs("info", "--json");
    assert.equal(ran.status, 0, ran.stderr);
    const info = JSON.parse(ran.stdout);
    assert.equal(info.runtime, "bun");
    assert.equal(typeof info.version, "string");
    assert.ok(Number.isInteger(info.cores) && info.cores >= 1);
    assert.equal(typeof info.ioUring.usable, "boolean");
    assert.equal(typeof info.ioUring.reason, "string");
    assert.ok(info.ioUring.reason.length > 0);
  });

  test("an undeclared write fails naming the system and component, on every backend", {
    timeout: 60_000,
  }, () => {
    for (const backend of ["blocking", "work-stealing", "adaptive"]) {
      const ran = staticecs("run", "sneak_column_scene.ts", "--ticks", "3", "--backend", backend);
      assert.equal(ran.status, 1, `${backend}: ${ran.stderr}`);
      assert.match(
        ran.stderr,
        // (adaptive may first say, on a line of its own, that io_uring is not used here)
        /^tick 0: system sneak \(update\): chunk\.column\(Position\.x\) writes, but sneak lists Position only as read/m,
        backend,
      );
      assert.match(ran.stdout, /checksum\s+none: a system failed/, backend);
    }
  });

  test("check validates a scene and says it did not type-check", () => {
    const ran = staticecs("check", "scene.ts");
    assert.equal(ran.status, 0, ran.stderr);
    assert.match(ran.stdout, /not type-checked: the compiled binary has no type checker/);
    assert.match(ran.stdout, /^stages/m);
  });

  test("--version and --help on every subcommand", () => {
    const version = staticecs("--version");
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^staticecs \d+\.\d+\.\d+ \(bun /);
    const subcommands = [["--help"], ["run", "--help"], ["check", "--help"], ["info", "--help"]];
    for (const args of [...subcommands, ["cluster", "--help"]]) {
      const ran = staticecs(...args);
      assert.equal(ran.status, 0, `${args.join(" ")}: ${ran.stderr}`);
      assert.match(ran.stdout, /usage/i, args.join(" "));
    }
  });

  test("bad input exits 2 with one line", () => {
    assertBadInput(staticecs("run", "missing.ts"), /missing\.ts/);
    assertBadInput(staticecs("run", "scene.ts", "--ticks", "abc"), /--ticks.*abc/);
    assertBadInput(staticecs("run", "scene.ts", "--frobnicate"), /--frobnicate/);
    assertBadInput(staticecs("run", "not_a_scene.ts"), /not_a_scene\.ts: default export/);
    assertBadInput(staticecs("run", "scene.ts", "--backend", "warp"), /warp/);
    assertBadInput(staticecs("run", "scene.ts", "--workers", "2"), /--workers is for/);
    assertBadInput(
      staticecs("run", "scene.ts", "--backend", "work-stealing", "--workers", "0x"),
      /--workers must be a positive integer/,
    );
    assertBadInput(staticecs("launch"), /launch/);
    assertBadInput(staticecs("cluster", "coordinator", "--partitions", "4"), /needs --listen/);
    assertBadInput(staticecs("cluster", "status", "nowhere"), /HOST:PORT|host:port/i);
  });

  test("cluster: a coordinator and a member from the binary; status with and without the secret", async () => {
    const env = {
      ...process.env,
      NO_COLOR: "1",
      STATICECS_SECRET: "binary-test-secret",
      STATICECS_SHIPS: "1000",
    };
    const children: ChildProcess[] = [];
    const start = (...args: string[]) => {
      const child = spawn(path.join(folder, "staticecs"), args, {
        cwd: folder,
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let log = "";
      child.stderr!.on("data", (chunk) => log += String(chunk));
      children.push(child);
      return { child, log: () => log };
    };
    try {
      const coordinator = start(
        "cluster",
        "coordinator",
        "--listen",
        "127.0.0.1:0",
        "--partitions",
        "4",
      );
      const port = await until(
        "the coordinator to listen",
        () => /listening on 127\.0\.0\.1:(\d+)/.exec(coordinator.log())?.[1],
      );
      const member = start("cluster", "join", `127.0.0.1:${port}`, "ships.ts");
      const status = await until("the member to run every partition", () => {
        const ran = spawnSync(path.join(folder, "staticecs"), [
          "cluster",
          "status",
          `127.0.0.1:${port}`,
          "--json",
        ], {
          cwd: folder,
          encoding: "utf8",
          timeout: 10_000,
          env,
        });
        if (ran.status !== 0) return undefined;
        const s = JSON.parse(ran.stdout);
        const total = s.partitions.reduce(
          (n: number, p: { entities: number }) => n + p.entities,
          0,
        );
        return s.partitions.every((p: { owner: number | null }) => p.owner === 1) && total === 1000
          ? s
          : undefined;
      });
      assert.equal(status.members[0].state, "active");
      const wrong = spawnSync(path.join(folder, "staticecs"), [
        "cluster",
        "status",
        `127.0.0.1:${port}`,
      ], {
        cwd: folder,
        encoding: "utf8",
        timeout: 10_000,
        env: { ...env, STATICECS_SECRET: "not-the-secret-at-all" },
      });
      assertBadInput(
        { status: wrong.status, stdout: wrong.stdout, stderr: wrong.stderr },
        /authentication failed/,
      );
      coordinator.child.kill("SIGTERM");
      const code = await new Promise((resolve) => member.child.on("close", resolve));
      assert.equal(code, 0, member.log());
      assert.match(member.log(), /stopped \(the coordinator stopped/);
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
