/**
 * The cluster store in Redis (issue 16), measured against a real redis-server started for the
 * run (tests/fixtures/redis.ts: a free loopback port, no persistence):
 *
 * - takeover: two `staticecs cluster coordinator --store redis://...` processes and three
 *   members (examples/cluster_sim.ts, given both addresses). Each round kills the leader with
 *   SIGKILL and times, from the signal, the standby's "leads now" line (its ISO stamp) and the
 *   first `cluster status` of the new leader with all three members back and every partition
 *   running; the killed coordinator is then started again on its port, as the next standby.
 *   After the last round every member leaves and the leader must hold exactly the ships.
 * - Redis load: with 3 members on 64 partitions and a standby, INFO commandstats and INFO
 *   stats (bytes in and out) before and after a window, per heartbeat interval.
 * - checkpoint throughput: RedisStore.write of one `base` op per partition (64 partitions,
 *   entities of 32 bytes: 24 of fields and the 8-byte ClusterId), msgpackr bytes in one fenced
 *   script call, timed from the call to Redis's answer, then read back and counted.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { fetchStatus } from "../../cli/cluster.ts";
import { batchCount, type EntityBatch } from "../../cluster/batch.ts";
import { RedisStore } from "../../cluster/redis_store.ts";
import { joinArgs, runsEverywhere } from "../../tests/fixtures/cluster_processes.ts";
import { type RedisServer, startRedis } from "../../tests/fixtures/redis.ts";
import { type Child, CLI, ROOT, signalChild, spawnScript, until } from "./_cluster_child.ts";
import { SETTLE_MS_MAX } from "./_cluster_failover.ts";

/** A cluster of two coordinators sharing Redis and three members. */
interface StoreCluster {
  readonly ports: number[];
  readonly coordinators: Child[];
  readonly members: Child[];
  readonly store: string;
}

const HEARTBEAT_MS = 100;

/** One takeover. */
export interface TakeoverSample {
  readonly leaseMs: number;
  /** Signal to the standby's "leads now" line. */
  readonly leadsMs: number;
  /** Signal to a status of the new leader with every member back and every partition running. */
  readonly membersBackMs: number;
}

function coordinatorArgs(port: number, store: string, partitions: number, leaseMs: number) {
  return [
    "cluster",
    "coordinator",
    "--listen",
    `127.0.0.1:${port}`,
    "--partitions",
    String(partitions),
    "--heartbeat-ms",
    String(HEARTBEAT_MS),
    "--failure-ms",
    "3000",
    "--checkpoint-every",
    "30",
    "--store",
    store,
    "--lease-ms",
    String(leaseMs),
  ];
}

function startCoordinator(
  port: number,
  options: { store: string; partitions: number; leaseMs: number; secret: string; ships: number },
): Child {
  return spawnScript(
    `coordinator ${port}`,
    CLI,
    coordinatorArgs(port, options.store, options.partitions, options.leaseMs),
    {
      cwd: ROOT,
      env: { STATICECS_SECRET: options.secret, STATICECS_SHIPS: String(options.ships) },
    },
  );
}

async function portOf(child: Child): Promise<number> {
  return await until(`${child.name} to listen`, () => {
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(child.stderr());
    return match === null ? undefined : Number(match[1]);
  }, SETTLE_MS_MAX);
}

/** Starts the leader, the standby and three members; resolves once all three run partitions. */
async function startCluster(
  redis: RedisServer,
  db: number,
  options: { partitions: number; leaseMs: number; secret: string; ships: number },
): Promise<StoreCluster> {
  const store = `redis://127.0.0.1:${redis.port}/${db}`;
  const first = startCoordinator(0, { ...options, store });
  const firstPort = await portOf(first);
  await until(
    "the first to lead",
    () => /leads now/.test(first.stderr()) || undefined,
    SETTLE_MS_MAX,
  );
  const second = startCoordinator(0, { ...options, store });
  const ports = [firstPort, await portOf(second)];
  const join = () =>
    spawnScript("member", CLI, joinArgs(ports), {
      cwd: ROOT,
      env: { STATICECS_SECRET: options.secret, STATICECS_SHIPS: String(options.ships) },
    });
  const members = [join()];
  const explain = (error: Error) => {
    const logs = [first, second, ...members].map((c) => c.stderr().slice(-2_000)).join("\n---\n");
    throw new Error(`${error.message}; logs:\n${logs}`);
  };
  await settled(ports, options.secret, 1).catch(explain);
  members.push(join(), join());
  await settled(ports, options.secret, 3).catch(explain);
  return { ports, coordinators: [first, second], members, store };
}

/** Which of the two coordinators leads now. */
async function leaderIndex(cluster: StoreCluster, secret: string): Promise<number> {
  return await until("a leader", async () => {
    for (const [index, port] of cluster.ports.entries()) {
      const s = await fetchStatus("127.0.0.1", port, secret, 1_000).catch(() => undefined);
      if (s?.role === "leader") return index;
    }
    return undefined;
  }, SETTLE_MS_MAX);
}

/** Waits for whichever of `ports` leads to run every partition on `members` live members. */
async function settled(
  ports: number | number[],
  secret: string,
  members: number,
  ms = SETTLE_MS_MAX,
) {
  const list = typeof ports === "number" ? [ports] : ports;
  return await until(
    `${members} members on every partition`,
    async () => {
      for (const port of list) {
        const s = await fetchStatus("127.0.0.1", port, secret, 1_000).catch(() => undefined);
        if (s === undefined || s.role !== "leader") continue;
        return runsEverywhere(s, members) ? s : undefined;
      }
      return undefined;
    },
    ms,
    10,
  );
}

/** When `child` logged that it leads, at or after `sinceMs` (its ISO stamp), if it has. */
function leadsAt(child: Child, sinceMs: number): number | undefined {
  for (const line of child.stderr().split("\n")) {
    if (!line.includes("leads now (epoch ")) continue;
    const at = Date.parse(line.slice(0, line.indexOf(" ")));
    if (at >= sinceMs) return at;
  }
  return undefined;
}

/**
 * Kills the leader `rounds` times (each time the other coordinator leads next) and times the
 * takeover; ends with every member leaving and the ships counted.
 */
export async function measureTakeover(
  redis: RedisServer,
  db: number,
  options: { rounds: number; leaseMs: number; secret: string; ships: number; partitions: number },
  progress: (line: string) => void,
): Promise<{ samples: TakeoverSample[]; standDowns: number; shipsCounted: number }> {
  const cluster = await startCluster(redis, db, options);
  const samples: TakeoverSample[] = [];
  let standDowns = 0;
  let leader = 0;
  for (let round = 0; round < options.rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // ships cross, checkpoints land
    leader = await leaderIndex(cluster, options.secret);
    const standby = 1 - leader;
    const killedMs = Date.now();
    signalChild(cluster.coordinators[leader], "SIGKILL");
    const leadsMs = await until(
      "the standby to lead",
      () => leadsAt(cluster.coordinators[standby], killedMs - 1),
      10_000,
      5,
    ).catch((error) => {
      const logs = cluster.coordinators.map((c) => c.stderr().slice(-3_000)).join("\n---\n");
      throw new Error(`${error.message}; coordinators' logs:\n${logs}`);
    }) - killedMs;
    await settled(cluster.ports, options.secret, 3, 20_000);
    const membersBackMs = Date.now() - killedMs;
    samples.push({ leaseMs: options.leaseMs, leadsMs, membersBackMs });
    progress(
      `takeover, lease ${options.leaseMs} ms, round ${round + 1}: leads after ${leadsMs} ms, ` +
        `members back after ${membersBackMs} ms`,
    );
    await cluster.coordinators[leader].exited;
    standDowns += (cluster.coordinators[leader].stderr().match(/stood down/g) ?? []).length;
    const restarted = startCoordinator(cluster.ports[leader], { ...options, store: cluster.store });
    cluster.coordinators[leader] = restarted;
    await until(
      "the restarted coordinator to stand by",
      () => /standby: .* leads/.test(restarted.stderr()) || undefined,
      SETTLE_MS_MAX,
    ).catch((error) => {
      throw new Error(`${error.message}; its log:\n${restarted.stderr()}`);
    });
  }
  leader = await leaderIndex(cluster, options.secret);
  for (const c of cluster.coordinators) {
    standDowns += (c.stderr().match(/stood down/g) ?? []).length;
  }
  for (const member of cluster.members) {
    signalChild(member, "SIGTERM");
    await member.exited;
  }
  const parked = await until("every partition parked", async () => {
    const s = await fetchStatus("127.0.0.1", cluster.ports[leader], options.secret, 1_000);
    return s.partitions.every((p) => p.state === "parked") ? s : undefined;
  }, SETTLE_MS_MAX);
  for (const c of cluster.coordinators) signalChild(c, "SIGKILL");
  return {
    samples,
    standDowns,
    shipsCounted: parked.partitions.reduce((n, p) => n + p.entities, 0),
  };
}

/** Redis commands (by name) and bytes per heartbeat interval, 3 members on 64 partitions. */
export async function measureRedisLoad(
  redis: RedisServer,
  db: number,
  options: { secret: string; ships: number; windowMs: number },
): Promise<{
  leads: number[];
  logs: string[];
  commands: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  intervals: number;
}> {
  const cluster = await startCluster(redis, db, { ...options, partitions: 64, leaseMs: 1_000 });
  const probe = await RedisStore.connect(redis.url, { prefix: "bench-probe" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = await redisCounters(probe.client);
    await new Promise((resolve) => setTimeout(resolve, options.windowMs));
    const after = await redisCounters(probe.client);
    const intervals = options.windowMs / HEARTBEAT_MS;
    const commands: Record<string, number> = {};
    for (const [name, calls] of Object.entries(after.calls)) {
      const delta = calls - (before.calls[name] ?? 0) - (name === "info" ? 2 : 0);
      if (delta > 0) commands[name] = delta / intervals;
    }
    const leads = cluster.coordinators.map((c) => (c.stderr().match(/leads now/g) ?? []).length);
    return {
      leads,
      logs: leads.some((n) => n > 1) ? cluster.coordinators.map((c) => c.stderr()) : [],
      commands,
      bytesIn: (after.bytesIn - before.bytesIn) / intervals,
      bytesOut: (after.bytesOut - before.bytesOut) / intervals,
      intervals,
    };
  } finally {
    await probe.close();
    for (const child of [...cluster.members, ...cluster.coordinators]) {
      signalChild(child, "SIGKILL");
    }
  }
}

async function redisCounters(redis: Redis) {
  const text = await redis.info("commandstats") + "\n" + await redis.info("stats");
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    calls[match[1]] = Number(match[2]);
  }
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(text)![1]);
  return {
    calls,
    bytesIn: field("total_net_input_bytes"),
    bytesOut: field("total_net_output_bytes"),
  };
}

/** A batch of `count` entities: 24 bytes of fields (six f32) and the ClusterId. */
function checkpointBatch(count: number, firstId: number): EntityBatch {
  const ids = new Float64Array(count);
  for (let i = 0; i < count; i++) ids[i] = firstId + i;
  const columns: Uint8Array[] = [];
  for (let c = 0; c < 6; c++) {
    const column = new Float32Array(count);
    for (let i = 0; i < count; i++) column[i] = i * 0.5 + c;
    columns.push(new Uint8Array(column.buffer));
  }
  return {
    groups: [{
      components: ["Position", "Velocity", "Cell", "ClusterId"],
      count,
      ids: new Uint8Array(ids.buffer),
      columns,
    }],
  };
}

/** Checkpoint writes of `entities` over `partitions` into Redis: entities per second each round. */
export async function measureCheckpoint(
  redis: RedisServer,
  options: { rounds: number; entities: number; partitions: number },
): Promise<{ perSecond: number[]; bytes: number; counted: number }> {
  const store = await RedisStore.connect(redis.url, { prefix: "bench-checkpoint" });
  try {
    await store.clear();
    const epoch = (await store.campaign("bench", 60_000))!;
    const per = Math.ceil(options.entities / options.partitions);
    const batches = Array.from(
      { length: options.partitions },
      (_, p) => checkpointBatch(per, p * per),
    );
    const meta = {
      partitions: options.partitions,
      seeded: true,
      layout: null,
      nextMemberId: 1,
      failovers: 0,
    };
    let writes = 0;
    await store.write(epoch, ++writes, [{ op: "meta", meta }]);
    const perSecond: number[] = [];
    for (let round = 0; round <= options.rounds; round++) {
      const started = performance.now();
      await store.write(
        epoch,
        ++writes,
        batches.map((base, partition) => ({ op: "base", partition, base, basePos: round })),
      );
      const ms = performance.now() - started;
      if (round > 0) perSecond.push((per * options.partitions * 1000) / ms); // round 0 warms up
    }
    const loaded = await store.load();
    let counted = 0;
    for (const p of loaded.partitions.values()) counted += batchCount(p.base);
    const memory = await store.client.info("memory");
    const bytes = Number(/^used_memory:(\d+)/m.exec(memory)![1]);
    await store.clear();
    return { perSecond, bytes, counted };
  } finally {
    await store.close();
  }
}

export { startRedis };
