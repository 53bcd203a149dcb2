/**
 * Coordinators that die, stall and change, with real processes on loopback under `bun test`
 * and `deno test -A`: two coordinators sharing a real redis-server (a leader and a standby) and
 * members given both addresses; the leader killed (SIGKILL), stopped past its lease (SIGSTOP,
 * then SIGCONT), or killed together with a member; and, on the memory store, members that
 * outlive their coordinator for their grace and then exit saying why. Every count is taken
 * with every member gone (all partitions parked in the leader), so it is exact.
 */

import process from "node:process";
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { exitOf, type Proc, ProcessCluster, RUNTIME, total } from "./fixtures/cluster_processes.ts";
import { type RedisServer, redisSkip, startRedis } from "./fixtures/redis.ts";
import { until } from "./fixtures/until.ts";
import { DEFAULT_CLUSTER_LIMITS } from "../cluster/limits.ts";

const SECRET = "cluster-redis-test-secret";
const SHIPS = 20_000;
const PARTITIONS = 8;
const TEST_MS = 90_000;
/** The bound on a takeover after the leader is killed, with the default 1 s lease. */
const TAKEOVER_MS_MAX = 2_000;

const cluster = new ProcessCluster({ secret: SECRET, ships: SHIPS, partitions: PARTITIONS });

afterEach(() => cluster.killAll());

/** When a line matching `pattern` was logged (its ISO stamp), in ms since the epoch. */
function loggedAt(proc: Proc, pattern: RegExp): number | undefined {
  for (const line of proc.log().split("\n")) {
    if (pattern.test(line)) return Date.parse(line.slice(0, line.indexOf(" ")));
  }
  return undefined;
}

/** Every process's log so far, for a failure message. */
const everyLog = () => cluster.running.map((p) => p.log()).join("\n---\n");

/**
 * Ticks the members run before a step: a second of their 60 Hz, past several checkpoints (the
 * fixture's coordinators ask for one every 10 ticks).
 */
const RAN_TICKS = 60;

describe("coordinators sharing Redis", { skip: redisSkip() }, () => {
  let redis: RedisServer;
  let run = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  /** A leader, a standby (each on a database of its own per test) and 3 members given both. */
  async function twoCoordinatorsThreeMembers() {
    const store = `redis://127.0.0.1:${redis.port}/${run++ % 16}`;
    const leader = await cluster.coordinator(["--store", store]);
    await until(
      "the first coordinator to lead",
      () => /leads now/.test(leader.proc.log()) || undefined,
    );
    const standby = await cluster.coordinator(["--store", store]);
    await until(
      "the second to stand by",
      () => /standby: .* leads/.test(standby.proc.log()) || undefined,
    );
    const ports = [leader.port, standby.port];
    const members = [cluster.join(ports)];
    await cluster.settled(leader.port, 1);
    await until(
      "setup's ships",
      async () => total(await cluster.status(leader.port)) === SHIPS || undefined,
    );
    members.push(cluster.join(ports), cluster.join(ports));
    await cluster.settled(leader.port, 3);
    // Ships cross, checkpoints are written.
    await cluster.ranTicks(leader.port, RAN_TICKS, true);
    return { leader, standby, members };
  }

  it(
    "the leader killed (SIGKILL): the standby leads within 2 s, takes every member back, and every ship is there",
    {
      timeout: TEST_MS,
    },
    async () => {
      const { leader, standby, members } = await twoCoordinatorsThreeMembers();
      const killedMs = Date.now();
      process.kill(leader.proc.child.pid!, "SIGKILL");
      const ledMs = await until(
        "the standby to lead",
        () => loggedAt(standby.proc, /leads now \(epoch 2/),
      );
      assert.ok(ledMs - killedMs <= TAKEOVER_MS_MAX, `takeover took ${ledMs - killedMs} ms`);
      const s = await cluster.settled(standby.port, 3);
      assert.equal(s.role, "leader");
      assert.equal(s.failovers, 0, standby.proc.log());
      assert.ok(s.partitions.every((p) => p.owner !== null));
      // The leader has taken each member back; the member's own line may still be on its way
      // through the pipe. A member either rejoins within its grace (coordinatorGraceMs: these
      // members run with the default) or gives up and exits 1 by then, so that is the wait.
      for (const member of members) {
        const outcome = await until(
          "the member to log its rejoin, or to exit",
          () =>
            /rejoined the coordinator at /.test(member.log())
              ? "rejoined"
              : member.child.exitCode !== null
              ? `exited ${member.child.exitCode}`
              : undefined,
          DEFAULT_CLUSTER_LIMITS.coordinatorGraceMs,
        ).catch((error) => `${error.message}`);
        assert.equal(outcome, "rejoined", `${outcome}; every log:\n${everyLog()}`);
      }
      await cluster.ranTicks(standby.port, RAN_TICKS);
      assert.equal(
        await cluster.leaveAllAndCount(standby.port, members),
        SHIPS,
        standby.proc.log(),
      );
    },
  );

  it(
    "the leader stopped past its lease (SIGSTOP), then continued: it is fenced, stands down, and assigns nothing",
    {
      timeout: TEST_MS,
    },
    async () => {
      const { leader, standby, members } = await twoCoordinatorsThreeMembers();
      process.kill(leader.proc.child.pid!, "SIGSTOP");
      await until("the standby to lead", () => loggedAt(standby.proc, /leads now \(epoch 2/));
      await cluster.settled(standby.port, 3);
      process.kill(leader.proc.child.pid!, "SIGCONT");
      const downMs = await until(
        "the old leader to stand down",
        () => loggedAt(leader.proc, /stood down \(epoch 1\)/),
      );
      // It answers as a standby now, naming the new leader.
      const seen = await cluster.status(leader.port);
      assert.equal(seen.role, "standby");
      assert.equal(seen.leader, `127.0.0.1:${standby.port}`);
      await cluster.ranTicks(standby.port, RAN_TICKS);
      // Nothing it logged after standing down is an assignment, a move or a failover.
      const afterDown = leader.proc.log().split("\n").filter((line) =>
        Date.parse(line.slice(0, line.indexOf(" "))) > downMs
      );
      assert.ok(
        afterDown.every((line) =>
          !/moves from|member \d+ (joined|rejoined|failed)|parked in/.test(line)
        ),
        afterDown.join("\n"),
      );
      // One owner per partition, the same one in the leader's view and in the members' own.
      const s = await cluster.settled(standby.port, 3);
      const owned = s.members.flatMap((m) => m.partitions);
      assert.equal(new Set(owned).size, owned.length);
      assert.equal(s.failovers, 0);
      assert.equal(
        await cluster.leaveAllAndCount(standby.port, members),
        SHIPS,
        standby.proc.log(),
      );
    },
  );

  it(
    "a member killed while the leader changes: its partitions come back from the store, count exact",
    {
      timeout: TEST_MS,
    },
    async () => {
      const { leader, standby, members } = await twoCoordinatorsThreeMembers();
      process.kill(leader.proc.child.pid!, "SIGKILL");
      process.kill(members[1].child.pid!, "SIGKILL");
      await until("the standby to lead", () => loggedAt(standby.proc, /leads now \(epoch 2/));
      const s = await cluster.settled(standby.port, 2);
      assert.equal(s.failovers, 1);
      assert.match(
        standby.proc.log(),
        /member \d+ failed \(no heartbeat for \d+ ms\); partitions .* from the checkpoint at tick \d+/,
      );
      await cluster.ranTicks(standby.port, RAN_TICKS);
      const survivors = [members[0], members[2]];
      assert.equal(await cluster.leaveAllAndCount(standby.port, survivors), SHIPS, everyLog());
    },
  );
});

describe("members outlive a memory-store coordinator", () => {
  it(
    "they keep running for --coordinator-grace-ms, then exit 1 saying why",
    { timeout: TEST_MS },
    async () => {
      const small = new ProcessCluster({ secret: SECRET, ships: 2_000, partitions: 4 });
      try {
        const { proc, port } = await small.coordinator();
        const members = [small.join(port, ["--coordinator-grace-ms", "3000"])];
        await small.settled(port, 1);
        members.push(small.join(port, ["--coordinator-grace-ms", "3000"]));
        await small.settled(port, 2);
        const killedMs = Date.now();
        process.kill(proc.child.pid!, "SIGKILL");
        await until(
          "both to notice",
          () => members.every((m) => /lost the coordinator/.test(m.log())) || undefined,
        );
        for (const member of members) {
          assert.equal(await exitOf(member), 1, member.log());
          assert.match(
            member.log(),
            /stopped \(no coordinator took this member within 3000 ms \(coordinatorGraceMs, --coordinator-grace-ms\)/,
          );
          // It kept simulating meanwhile: at least a second of its 60 Hz after the loss.
          const lostTick = Number(/lost the coordinator at tick (\d+)/.exec(member.log())![1]);
          const stopTick = Number(/\) after (\d+) ticks/.exec(member.log())![1]);
          assert.ok(stopTick >= lostTick + 60, `ticks ${lostTick} then ${stopTick}`);
        }
        assert.ok(Date.now() - killedMs >= 3_000);
      } finally {
        small.killAll();
      }
    },
  );

  it(
    "a coordinator restarted without its state turns them away by name",
    { timeout: TEST_MS },
    async () => {
      const small = new ProcessCluster({ secret: SECRET, ships: 2_000, partitions: 4 });
      try {
        const first = await small.coordinator();
        const member = small.join(first.port, ["--coordinator-grace-ms", "20000"]);
        await small.settled(first.port, 1);
        process.kill(first.proc.child.pid!, "SIGKILL");
        await until(
          "the member to notice",
          () => /lost the coordinator/.test(member.log()) || undefined,
        );
        // The same port, a new process with an empty memory store.
        small.start([
          "cluster",
          "coordinator",
          "--listen",
          `127.0.0.1:${first.port}`,
          "--partitions",
          "4",
          "--heartbeat-ms",
          "100",
        ]);
        assert.equal(await exitOf(member), 1, member.log());
        assert.match(
          member.log(),
          /member 1 is not a member of this cluster any more .*restart it to join afresh/,
        );
      } finally {
        small.killAll();
      }
    },
  );
});

void RUNTIME;
