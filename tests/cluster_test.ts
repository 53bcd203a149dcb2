/**
 * The cluster with real processes on loopback, under both `bun test` and
 * `deno test -A`: each test starts `staticecs cluster coordinator` and
 * members (`cluster join`) as child processes of this runtime, drives them
 * with signals, and reads the cluster through `cluster status`, so every
 * message crosses real TCP sockets after a real HMAC handshake. Every wait
 * has a deadline; every process is killed at the end of its test.
 */

import { spawnSync } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  cleanExit,
  CLI,
  COORDINATOR_STOPPED,
  exitOf,
  MEMBER_STOPPED,
  ProcessCluster,
  ROOT,
  RUNTIME,
  total,
} from "./fixtures/cluster_processes.ts";
import { until } from "./fixtures/until.ts";
import type { ClusterStatus } from "../cluster/protocol.ts";

const SECRET = "cluster-test-secret";
const SHIPS = 3_000;
const PARTITIONS = 8;
/** Longest one test may take. */
const TEST_MS = 60_000;
/** How long the coordinator is stopped: longer than its 3 s failure timeout. */
const STALL_MS = 5_000;

const cluster = new ProcessCluster({ secret: SECRET, ships: SHIPS, partitions: PARTITIONS });
const start = cluster.start.bind(cluster);
const coordinator = cluster.coordinator.bind(cluster);
const join = cluster.join.bind(cluster);
const status = cluster.status.bind(cluster);
const settled = cluster.settled.bind(cluster);
const leaveAllAndCount = cluster.leaveAllAndCount.bind(cluster);

afterEach(() => cluster.killAll());

/**
 * Waits until every active member of `since` has run two checkpoint intervals past it: each has
 * cut a checkpoint since, and entities have had ticks to cross partitions.
 */
function ranCheckpoints(port: number, since: ClusterStatus): Promise<ClusterStatus> {
  const ticks = 2 * since.checkpointEveryTicks;
  const active = since.members.filter((m) => m.state === "active");
  return until(
    `members ${active.map((m) => m.id).join(", ")} to run ${ticks} ticks`,
    async () => {
      const s = await status(port);
      const ran = active.every((m) => {
        const now = s.members.find((n) => n.id === m.id);
        return now !== undefined && now.tick >= m.tick + ticks;
      });
      return ran ? s : undefined;
    },
  );
}

describe("cluster with real processes", () => {
  it("a coordinator and one member run the whole world, and status reports it", {
    timeout: TEST_MS,
  }, async () => {
    const { proc, port } = await coordinator();
    const member = join(port);
    const s = await settled(port, 1);
    // Partitions go to the first member when it joins, before its setup has run: wait for the
    // ships, so that the coordinator does not stop while the member is still in setup.
    await until(
      "setup's ships to reach the coordinator",
      async () => total(await status(port)) === SHIPS || undefined,
    );
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
    await ranCheckpoints(port, before);
    const victimId = Number(/member (\d+): joined/.exec(members[1].log())![1]);
    const victim = before.members.find((m) => m.id === victimId)!;
    assert.ok(victim.partitions.length > 0);
    members[1].child.kill("SIGKILL");
    const after = await settled(port, 2);
    assert.ok(after.partitions.every((p) => p.owner !== victim.id));
    // Ships keep crossing between the two survivors for a while, then both leave.
    await ranCheckpoints(port, after);
    assert.equal(await leaveAllAndCount(port, members), SHIPS, proc.log());
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

  it(
    "a coordinator stopped for 5 s (SIGSTOP) and continued fails no member, and keeps every entity",
    {
      timeout: TEST_MS,
    },
    async () => {
      const { proc, port } = await coordinator();
      const members = [join(port)];
      await settled(port, 1);
      members.push(join(port), join(port));
      const before = await settled(port, 3);
      process.kill(proc.child.pid!, "SIGSTOP");
      // The stall itself, longer than the 3 s failure timeout; what is checked is what follows.
      await new Promise((resolve) => setTimeout(resolve, STALL_MS));
      process.kill(proc.child.pid!, "SIGCONT");
      const resumed = await status(port);
      // Past a whole failure timeout of the coordinator running again, any wrong judgement is made.
      const judged = await until(
        "the coordinator to run a failure timeout past the stall",
        async () => {
          const s = await status(port);
          return s.uptimeMs > resumed.uptimeMs + s.failureTimeoutMs ? s : undefined;
        },
      );
      const live = judged.members.filter((m) => m.state === "active" || m.state === "suspect");
      assert.deepEqual(
        live.map((m) => m.id).sort(),
        before.members.map((m) => m.id).sort(),
        proc.log(),
      );
      assert.doesNotMatch(proc.log(), /member \d+ failed/);
      assert.match(proc.log(), /the coordinator stalled for \d+ ms \(its tick came late\)/);
      assert.equal(judged.failovers, 0);
      // Every member leaves and exits 0 (a failed one exits 1), and every ship is still there.
      assert.equal(await leaveAllAndCount(port, members), SHIPS, proc.log());
    },
  );

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
    await ranCheckpoints(port, await status(port));
    second.child.kill("SIGTERM");
    await cleanExit(second, MEMBER_STOPPED);
    const s = await settled(port, 1);
    assert.match(proc.log(), /member 2 left; nothing lost/);
    assert.equal(s.members.find((m) => m.id === 2)?.state, "left");
    // The last member leaves too: the coordinator holds every ship.
    assert.equal(await leaveAllAndCount(port, [first]), SHIPS);
    // A new member picks the parked world up where it was left.
    const third = join(port);
    await settled(port, 1);
    assert.equal(await leaveAllAndCount(port, [third]), SHIPS);
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
    assert.match(out.stderr, /--secret or STATICECS_SECRET/);
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
