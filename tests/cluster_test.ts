/**
 * The cluster with real processes on loopback, under both `bun test` and
 * `deno test -A`: each test starts `staticecs cluster coordinator` and
 * members (`cluster join`) as child processes of this runtime, drives them
 * with signals, and reads the cluster through `cluster status`, so every
 * message crosses real TCP sockets after a real HMAC handshake. Every wait
 * has a deadline; every process is killed at the end of its test.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fetchStatus } from "../cli/cluster.ts";
import { until } from "./fixtures/until.ts";
import type { ClusterStatus } from "../cluster/protocol.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "cli", "main.ts");
const RUNTIME = process.versions.deno !== undefined ? "deno" : "bun";
const SECRET = "cluster-test-secret";
const SHIPS = 3_000;
const PARTITIONS = 8;
/** Longest wait for any one condition. */
const WAIT_MS = 20_000;
/** Longest one test may take. */
const TEST_MS = 60_000;

interface Proc {
  readonly child: ChildProcess;
  /** stderr so far. */
  readonly log: () => string;
  readonly exited: Promise<number | null>;
}

const running: Proc[] = [];

afterEach(() => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
  }
});

function start(args: readonly string[], env: Record<string, string> = {}): Proc {
  const runtimeArgs = RUNTIME === "deno" ? ["run", "-A", CLI] : [CLI];
  const child = spawn(process.execPath, [...runtimeArgs, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      NO_COLOR: "1",
      STATICECS_SECRET: SECRET,
      STATICECS_SHIPS: String(SHIPS),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => stderr += String(chunk));
  child.stdout!.on("data", () => {});
  // "close", not "exit": it comes after stderr has been read to its end.
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => resolve(code))
  );
  const proc = { child, log: () => stderr, exited };
  running.push(proc);
  return proc;
}

/**
 * Waits for `proc` to exit and checks that it exited 0. Deno's
 * node:child_process (2.9.6) reports a child we sent SIGTERM as killed by
 * it even when the child handled the signal and exited 0, so under Deno a
 * SIGTERM exit counts as clean when the child logged its orderly stop.
 */
async function cleanExit(proc: Proc, stoppedLine: RegExp): Promise<void> {
  const code = await exitOf(proc);
  if (RUNTIME === "deno" && code === null && proc.child.signalCode === "SIGTERM") {
    assert.match(proc.log(), stoppedLine);
    return;
  }
  assert.equal(code, 0, proc.log());
}

async function exitOf(proc: Proc, ms = WAIT_MS): Promise<number | null> {
  const result = await until("the process to exit", async () => {
    const code = await Promise.race([
      proc.exited,
      new Promise((r) => setTimeout(() => r("wait"), 200)),
    ]);
    return code === "wait" ? undefined : { code: code as number | null };
  }, ms);
  return result.code;
}

const MEMBER_STOPPED = /member \d+: stopped \(/;
const COORDINATOR_STOPPED = /coordinator: SIGTERM: stopping every member/;

/** Starts a coordinator on a free port; resolves with it and its port. */
async function coordinator(extra: readonly string[] = []): Promise<{ proc: Proc; port: number }> {
  const proc = start([
    "cluster",
    "coordinator",
    "--listen",
    "127.0.0.1:0",
    "--partitions",
    String(PARTITIONS),
    // Heartbeats every 100 ms; failure after 3 s of silence, since this shared 2-core machine
    // runs four runtimes at once here and a busy one can miss a few heartbeats.
    "--heartbeat-ms",
    "100",
    "--failure-ms",
    "3000",
    "--checkpoint-every",
    "10",
    ...extra,
  ]);
  const port = await until("the coordinator to listen", () => {
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(proc.log());
    return match === null ? undefined : Number(match[1]);
  });
  return { proc, port };
}

function join(port: number): Proc {
  return start(["cluster", "join", `127.0.0.1:${port}`, "examples/cluster_sim.ts", "--hz", "60"]);
}

function status(port: number): Promise<ClusterStatus> {
  return fetchStatus("127.0.0.1", port, SECRET);
}

function total(s: ClusterStatus): number {
  return s.partitions.reduce((n, p) => n + p.entities, 0);
}

/** Waits until every partition runs on one of `members` live members, each running some. */
async function settled(port: number, members: number): Promise<ClusterStatus> {
  return await until(`${members} members running all partitions`, async () => {
    const s = await status(port);
    const live = s.members.filter((m) => m.state === "active" || m.state === "suspect");
    const ids = new Set(live.map((m) => m.id));
    const ok = live.length === members &&
      s.partitions.every((p) => p.state === "running" && ids.has(p.owner!)) &&
      live.every((m) => m.partitions.length > 0);
    return ok ? s : undefined;
  }).catch(async (error) => {
    const s = await status(port).catch(() => undefined);
    const logs = running.map((p) => p.log()).join("\n---\n");
    throw new Error(`${error.message}\nstatus: ${JSON.stringify(s)}\nlogs:\n${logs}`);
  });
}

/**
 * Lets the members go one by one (SIGTERM: a graceful leave each), then
 * counts what the coordinator holds: with no member left every partition is
 * parked there, so the count is exact, not a sum of heartbeats taken at
 * different moments while ships cross between members.
 */
async function leaveAllAndCount(port: number, members: readonly Proc[]): Promise<ClusterStatus> {
  for (const member of members) {
    if (member.child.exitCode !== null || member.child.signalCode !== null) continue;
    member.child.kill("SIGTERM");
    await cleanExit(member, MEMBER_STOPPED);
  }
  return await until("every partition parked", async () => {
    const s = await status(port);
    return s.partitions.every((p) => p.state === "parked") ? s : undefined;
  });
}

describe("cluster with real processes", () => {
  it("a coordinator and one member run the whole world, and status reports it", {
    timeout: TEST_MS,
  }, async () => {
    const { proc, port } = await coordinator();
    const member = join(port);
    const s = await settled(port, 1);
    assert.equal(s.partitions.length, PARTITIONS);
    assert.ok(s.partitions.every((p) => p.owner === s.members[0].id));
    // The status command itself, as a user runs it.
    const runtimeArgs = RUNTIME === "deno" ? ["run", "-A", CLI] : [CLI];
    const out = spawnSync(process.execPath, [
      ...runtimeArgs,
      "cluster",
      "status",
      `127.0.0.1:${port}`,
      "--json",
    ], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, STATICECS_SECRET: SECRET },
    });
    assert.equal(out.status, 0, out.stderr);
    const json = JSON.parse(out.stdout);
    assert.deepEqual(
      Object.keys(json.members[0]).filter((k) => ["id", "address", "state"].includes(k)).sort(),
      [
        "address",
        "id",
        "state",
      ],
    );
    assert.equal(json.partitions.length, PARTITIONS);
    assert.ok(
      json.partitions.every((p: { id: number; owner: number | null; entities: number }) =>
        typeof p.id === "number" && p.owner === json.members[0].id && typeof p.entities === "number"
      ),
    );
    proc.child.kill("SIGTERM");
    await cleanExit(proc, COORDINATOR_STOPPED);
    // The coordinator's shutdown stops the member, which exits 0 by itself.
    assert.equal(await exitOf(member), 0, member.log());
    assert.match(member.log(), /stopped \(the coordinator stopped \(SIGTERM\)\)/);
  });

  it("a member killed with SIGKILL: its partitions resume on the others with every entity", {
    timeout: TEST_MS,
  }, async () => {
    const { proc, port } = await coordinator();
    const members = [join(port)];
    await settled(port, 1);
    members.push(join(port), join(port));
    const before = await settled(port, 3);
    // Let entities cross partitions and checkpoints happen before the kill.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const victimId = Number(/member (\d+): joined/.exec(members[1].log())![1]);
    const victim = before.members.find((m) => m.id === victimId)!;
    assert.ok(victim.partitions.length > 0);
    members[1].child.kill("SIGKILL");
    const after = await settled(port, 2);
    assert.ok(after.partitions.every((p) => p.owner !== victim.id));
    // Ships keep crossing between the two survivors for a while, then both leave.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(total(await leaveAllAndCount(port, members)), SHIPS, proc.log());
    assert.match(
      proc.log(),
      new RegExp(
        `member ${victimId} failed \\(.*\\); partitions .* from the checkpoint at tick \\d+`,
      ),
    );
    assert.match(
      proc.log(),
      /\d+( to \d+)? ticks of state lost \(it last reported tick \d+, \d+ ms before; entity count conserved\)/,
    );
  });

  it("a graceful leave hands every entity over", { timeout: TEST_MS }, async () => {
    const { proc, port } = await coordinator();
    const first = join(port);
    await settled(port, 1);
    const second = join(port);
    await settled(port, 2);
    await until(
      "the second member to say it joined",
      () => /: joined /.test(second.log()) || undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    second.child.kill("SIGTERM");
    await cleanExit(second, MEMBER_STOPPED);
    const s = await settled(port, 1);
    assert.match(proc.log(), /member 2 left; nothing lost/);
    assert.equal(s.members.find((m) => m.id === 2)?.state, "left");
    // The last member leaves too: the coordinator holds every ship.
    assert.equal(total(await leaveAllAndCount(port, [first])), SHIPS);
    // A new member picks the parked world up where it was left.
    const third = join(port);
    await settled(port, 1);
    assert.equal(total(await leaveAllAndCount(port, [third])), SHIPS);
  });

  it("a wrong secret is refused for status and join, and the coordinator stays up", {
    timeout: TEST_MS,
  }, async () => {
    const { proc, port } = await coordinator();
    const runtimeArgs = RUNTIME === "deno" ? ["run", "-A", CLI] : [CLI];
    const env = { ...process.env, STATICECS_SECRET: "not-the-secret-at-all" };
    const out = spawnSync(process.execPath, [
      ...runtimeArgs,
      "cluster",
      "status",
      `127.0.0.1:${port}`,
    ], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
      env,
    });
    assert.equal(out.status, 2);
    assert.match(out.stderr, /authentication failed/);
    const member = start(["cluster", "join", `127.0.0.1:${port}`, "examples/cluster_sim.ts"], {
      STATICECS_SECRET: "not-the-secret-at-all",
    });
    assert.equal(await exitOf(member), 2);
    assert.match(member.log(), /authentication failed/);
    assert.match(proc.log(), /authentication failed/);
    const s = await status(port);
    assert.equal(s.members.length, 0);
  });

  it(
    "garbage and oversized frames close only their own connection",
    { timeout: TEST_MS },
    async () => {
      const { proc, port } = await coordinator();
      const member = join(port);
      await settled(port, 1);
      const send = (bytes: Uint8Array) =>
        new Promise<void>((resolve) => {
          const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
          socket.resume(); // a paused socket never sees its close
          socket.on("error", () => resolve());
          socket.on("close", () => resolve());
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 5_000);
        });
      const garbage = new Uint8Array(4096);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
      const oversized = new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]);
      await Promise.all([
        send(garbage),
        send(oversized),
        send(new Uint8Array([0, 0, 0, 3, 0xc1, 0xc1, 0xc1])),
      ]);
      await settled(port, 1);
      assert.equal(proc.child.exitCode, null);
      assert.equal(member.child.exitCode, null);
    },
  );
});
