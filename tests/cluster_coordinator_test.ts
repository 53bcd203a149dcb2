/**
 * The coordinator and members in one process over the in-memory transport
 * (the same frames and authentication as TCP, no sockets): joins,
 * rebalancing, graceful leave, failover from checkpoints, and exact entity
 * conservation through all of them, checked by counting every member's
 * world and the coordinator's parked partitions. The scene is
 * examples/cluster_sim.ts with ships crossing cells all the time.
 */

import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { defineComponent, defineScene, Runtime, type Scene } from "../mod.ts";
import { Coordinator } from "../cluster/coordinator.ts";
import { ClusterMember, joinMessage } from "../cluster/member.ts";
import { MemoryTransport } from "../cluster/memory_transport.ts";
import { planMoves } from "../cluster/_placement.ts";
import { runClusterChurn } from "./fixtures/cluster_churn.ts";
import { until, UNTIL_MS_DEFAULT } from "./fixtures/until.ts";
import { acceptAuthenticated, authenticate, connectAuthenticated } from "../cluster/auth.ts";
import { FIELD_TYPES, ownerOf } from "../core/schema.ts";
import { batchIds, type EntityBatch } from "../cluster/batch.ts";
import type { ClusterStatus } from "../cluster/protocol.ts";
import type { Connection } from "../cluster/transport.ts";

// Setup reads the ship count when it runs; restored after this file, for the other test files.
const shipsBefore = process.env.STATICECS_SHIPS;
process.env.STATICECS_SHIPS = "2000";
after(() => {
  if (shipsBefore === undefined) delete process.env.STATICECS_SHIPS;
  else process.env.STATICECS_SHIPS = shipsBefore;
});
const { default: scene } = await import("../examples/cluster_sim.ts");
const SHIPS = 2000;
const SECRET = "memory-test-secret";
const PARTITIONS = 6;

interface Cluster {
  readonly transport: MemoryTransport;
  readonly coordinator: Coordinator;
  readonly port: number;
  readonly lines: string[];
  readonly timer: ReturnType<typeof setInterval>;
}

const open: { cluster?: Cluster; members: ClusterMember[] } = { members: [] };

afterEach(async () => {
  for (const member of open.members.splice(0)) {
    member.stop("test over");
    await member.runtime.close();
  }
  if (open.cluster !== undefined) {
    clearInterval(open.cluster.timer);
    await open.cluster.coordinator.close();
    open.cluster = undefined;
  }
});

async function cluster(
  checkpointEveryTicks = 5,
  limits: { memberLogEntriesMax?: number } = {},
): Promise<Cluster> {
  const transport = new MemoryTransport();
  const lines: string[] = [];
  const coordinator = new Coordinator({
    partitions: PARTITIONS,
    secret: SECRET,
    heartbeatIntervalMs: 50,
    checkpointEveryTicks,
    ...limits,
    log: (line) => lines.push(line),
  });
  const listener = await coordinator.listen(transport, "memory", 0);
  const timer = setInterval(() => coordinator.tick(), 10);
  open.cluster = { transport, coordinator, port: listener.port, lines, timer };
  return open.cluster;
}

async function join(c: Cluster, secret = SECRET): Promise<ClusterMember> {
  const member = await ClusterMember.join({
    transport: c.transport,
    host: "memory",
    port: c.port,
    secret,
    scene,
    ticksPerSecond: 200,
    createRuntime: (options) => Runtime.create(scene, options),
  });
  open.members.push(member);
  return member;
}

/** A member running `other` instead of the cluster's scene; not tracked (it is refused). */
function joinScene(c: Cluster, other: Scene): Promise<ClusterMember> {
  return ClusterMember.join({
    transport: c.transport,
    host: "memory",
    port: c.port,
    secret: SECRET,
    scene: other,
    createRuntime: (options) => Runtime.create(other, options),
  });
}

function settled(c: Cluster, live: readonly ClusterMember[]): Promise<ClusterStatus> {
  const ids = new Set(live.map((m) => m.memberId));
  return until(
    `partitions running on members ${[...ids].join(", ")}`,
    () => {
      const s = c.coordinator.status();
      const running = s.partitions.every((p) => p.state === "running" && ids.has(p.owner!));
      const each = live.every((m) => m.stats().partitions.length > 0);
      return running && each ? s : undefined;
    },
    UNTIL_MS_DEFAULT,
    20,
  );
}

async function leaveAllAndCount(c: Cluster, members: readonly ClusterMember[]): Promise<number> {
  for (const member of members) {
    assert.equal(await member.leave(), "left the cluster");
  }
  return await parkedCount(c);
}

/** Waits until every partition is parked in the coordinator, and counts what it holds. */
async function parkedCount(c: Cluster): Promise<number> {
  const s = await until(
    "every partition parked",
    () => {
      const s = c.coordinator.status();
      return s.partitions.every((p) => p.state === "parked") ? s : undefined;
    },
    UNTIL_MS_DEFAULT,
    20,
  );
  return s.partitions.reduce((n, p) => n + p.entities, 0);
}

/** Waits until each of `members` has sent a checkpoint since this call: their state is saved. */
function checkpointed(members: readonly ClusterMember[]): Promise<true> {
  const before = members.map((m) => m.stats().checkpoints);
  return until(
    `a new checkpoint from members ${members.map((m) => m.memberId).join(", ")}`,
    () => members.every((m, i) => m.stats().checkpoints > before[i]) || undefined,
    UNTIL_MS_DEFAULT,
    10,
  );
}

/** A member that speaks the protocol by hand, keeping what the coordinator sent it. */
async function rawMember(transport: MemoryTransport, port: number) {
  const connection = await authenticate(await transport.connect("memory", port), {
    secret: SECRET,
  });
  const received: Record<string, unknown>[] = [];
  connection.onMessage = (message) => received.push(message);
  connection.send(joinMessage(scene));
  const ids = (t: string) =>
    received.filter((m) => m.t === t).flatMap((m) => [...batchIds(m.state as EntityBatch)]);
  let tick = 0;
  /** A heartbeat: the first says it has started. */
  const heartbeat = () =>
    connection.send({ t: "heartbeat", tick: ++tick, counts: [], tickMsMean: 1 });
  return { connection, received, ids, heartbeat };
}

describe("placement", () => {
  it("moves as few partitions as evens the load", () => {
    const all = (n: number) => new Array(n).fill(true);
    assert.deepEqual(planMoves([1, 1, 1, 1], all(4), [1, 2]), [[3, 2], [2, 2]]);
    assert.deepEqual(planMoves([1, 1, 2, 2, 1], all(5), [1, 2, 3]), [[4, 3]]);
    assert.deepEqual(planMoves([1, 2], all(2), [1, 2, 3]), []);
    assert.deepEqual(planMoves([1, 1, 1], [false, false, false], [1, 2]), []);
    // The most loaded member has nothing movable (all on its way to it): take from the next.
    assert.deepEqual(
      planMoves([1, 1, 1, 2, 2, 2, 2], [true, true, true, false, false, false, false], [1, 2, 3]),
      [
        [2, 3],
      ],
    );
    // Balanced within one: nothing moves.
    assert.deepEqual(planMoves([1, 2, 3, 1], all(4), [1, 2, 3]), []);
  });
});

describe("coordinator and members in one process", () => {
  it("setup runs once and the first member owns everything", { timeout: 30_000 }, async () => {
    const c = await cluster();
    const first = await join(c);
    await settled(c, [first]);
    assert.equal(first.runtime.world.entityCount, SHIPS);
    assert.match(c.lines.join("\n"), /setup done on member 1: 2000 entities/);
    assert.equal(await leaveAllAndCount(c, [first]), SHIPS);
  });

  it(
    "joins rebalance, ships cross, and a leave hands everything over",
    { timeout: 30_000 },
    async () => {
      const c = await cluster();
      const members = [await join(c)];
      await settled(c, members);
      members.push(await join(c), await join(c));
      await settled(c, members);
      await until(
        "ships crossing between members",
        () => members.some((m) => m.stats().sentEntities > 0) || undefined,
        UNTIL_MS_DEFAULT,
        20,
      );
      assert.equal(await leaveAllAndCount(c, members), SHIPS);
      assert.doesNotMatch(c.lines.join("\n"), /failed/);
    },
  );

  it("a member that dies resumes elsewhere from its checkpoint, count conserved", {
    timeout: 30_000,
  }, async () => {
    const c = await cluster();
    const members = [await join(c)];
    await settled(c, members);
    members.push(await join(c), await join(c));
    await settled(c, members);
    await checkpointed(members);
    const victim = members[1];
    victim.stop("killed by the test");
    const survivors = [members[0], members[2]];
    const s = await settled(c, survivors);
    assert.ok(s.partitions.every((p) => p.owner !== victim.memberId));
    assert.match(
      c.lines.join("\n"),
      /member 2 failed .* \d+( to \d+)? ticks of state lost \(.*; entity count conserved\)/,
    );
    await checkpointed(survivors);
    assert.equal(await leaveAllAndCount(c, survivors), SHIPS);
  });

  it("two failures in a row and a rejoin conserve the count", { timeout: 30_000 }, async () => {
    const c = await cluster(3);
    const members = [await join(c), await join(c), await join(c)];
    await settled(c, members);
    await checkpointed(members);
    members[0].stop("killed");
    await settled(c, members.slice(1));
    await checkpointed(members.slice(1));
    members[1].stop("killed");
    await settled(c, members.slice(2));
    const late = await join(c);
    await settled(c, [members[2], late]);
    await checkpointed([members[2], late]);
    assert.equal(await leaveAllAndCount(c, [members[2], late]), SHIPS);
  });

  it(
    "members failed for a full recovery log, mid-transfer, conserve the count",
    { timeout: 30_000 },
    async () => {
      // Checkpoints too rare for the log bound: crossings fill a member's log within ticks, and
      // the transfer that finds it full fails a member, the sender (a departure) or the owner
      // (an arrival). Those entities must be counted once: in the failed member's restored
      // partitions, or where the transfer goes, never both and never neither.
      const c = await cluster(100_000, { memberLogEntriesMax: 8 });
      const members = [await join(c)];
      await settled(c, members);
      members.push(await join(c), await join(c));
      await until(
        "a member failed for a full log",
        () => /memberLogEntriesMax is 8/.test(c.lines.join("\n")) || undefined,
        UNTIL_MS_DEFAULT,
        10,
      );
      // Whoever is left running leaves; the others were failed over and stop.
      const live = new Set(
        c.coordinator.status().members.filter((m) => m.state === "active").map((m) => m.id),
      );
      for (const member of members) {
        if (live.has(member.memberId)) await member.leave();
        else member.stop("failed over");
      }
      assert.equal(await parkedCount(c), SHIPS, c.lines.join("\n"));
    },
  );

  it("a member running another scene is refused by name", { timeout: 30_000 }, async () => {
    const c = await cluster();
    const first = await join(c);
    await settled(c, [first]);
    const Other = defineComponent("OtherThing", { key: "u32" });
    const other = defineScene({
      name: "other",
      components: [Other],
      systems: [],
      cluster: { key: Other.key },
    });
    await assert.rejects(
      joinScene(c, other),
      /the joining scene "other" has components \[OtherThing, ClusterId\].*every member must run the same scene/,
    );
    assert.equal(await leaveAllAndCount(c, [first]), SHIPS);
  });

  it(
    "forged frames from an authenticated peer fail that peer only",
    { timeout: 30_000 },
    async () => {
      const c = await cluster();
      const first = await join(c);
      await settled(c, [first]);
      const components = scene.components.map((component) => ownerOf(component).name);
      const fieldBytes = scene.components.map((component) =>
        ownerOf(component).fields.map((f) => FIELD_TYPES[f.type].BYTES_PER_ELEMENT)
      );
      const group = (names: string[], columns: Uint8Array[]) => ({
        components: names,
        count: 1,
        ids: new Uint8Array(8),
        columns,
      });
      const forgeries = [
        { t: "transfer", partition: 0, handoff: false, state: { groups: [group(["Bogus"], [])] } },
        {
          t: "transfer",
          partition: 1,
          handoff: false,
          state: { groups: [group(["Cell", "ClusterId"], [new Uint8Array(8)])] },
        },
        { t: "transfer", partition: 2, handoff: true, state: { groups: [] } },
        {
          t: "checkpoint",
          tick: 1,
          appliedSeq: 0,
          parts: [{ partition: 99, state: { groups: [] } }],
        },
        { t: "assign", partition: 0, state: { groups: [] } },
      ];
      for (const forged of forgeries) {
        const connection = await c.transport.connect("memory", c.port);
        await authenticate(connection, { secret: SECRET });
        let reason: string | undefined;
        connection.onClose = (why) => reason = why;
        connection.onMessage = () => {};
        connection.send({ t: "join", scene: "cluster_sim", components, fieldBytes });
        connection.send(forged);
        await until(`${forged.t} closing the connection`, () => reason, UNTIL_MS_DEFAULT, 10);
      }
      const log = c.lines.join("\n");
      assert.match(
        log,
        /protocol error: transfer: groups\[0\] names component Bogus, not in the scene/,
      );
      assert.match(
        log,
        /protocol error: transfer: groups\[0\]\.columns\[0\] has 8 bytes; 1 values of 4 bytes are 4/,
      );
      assert.match(log, /protocol error: handoff of partition 2, which it was not asked for/);
      assert.match(
        log,
        /protocol error: checkpoint: field partition must be an integer from 0 to 5/,
      );
      assert.match(log, /protocol error: unknown message "assign" from a member/);
      await settled(c, [first]);
      assert.equal(await leaveAllAndCount(c, [first]), SHIPS);
    },
  );

  it(
    "a wrong secret is refused and the coordinator keeps running",
    { timeout: 30_000 },
    async () => {
      const c = await cluster();
      await assert.rejects(join(c, "wrong-secret-here"), /authentication failed|refused/);
      assert.match(c.lines.join("\n"), /authentication failed|refused/);
      const first = await join(c);
      await settled(c, [first]);
    },
  );
});

describe("what the coordinator judges, and how", () => {
  /** A coordinator on a clock the test moves, and one raw member that joined it. */
  async function manualCluster(limits: { startTimeoutMs?: number } = {}) {
    const transport = new MemoryTransport();
    const lines: string[] = [];
    const clock = { nowMs: 0 };
    const coordinator = new Coordinator({
      partitions: 2,
      secret: SECRET,
      heartbeatIntervalMs: 100,
      ...limits,
      log: (line) => lines.push(line),
      clock: () => clock.nowMs,
    });
    const listener = await coordinator.listen(transport, "memory", 0);
    const connection = await authenticate(await transport.connect("memory", listener.port), {
      secret: SECRET,
    });
    const received: string[] = [];
    connection.onMessage = (message) => received.push(message.t);
    connection.send(joinMessage(scene));
    await until(
      "the welcome",
      () => received.includes("welcome") || undefined,
      UNTIL_MS_DEFAULT,
      5,
    );
    let tick = 0;
    /** A heartbeat `ticks` ticks after the last one. */
    const heartbeat = (ticks = 1) =>
      connection.send({ t: "heartbeat", tick: tick += ticks, counts: [], tickMsMean: 1 });
    const state = () => coordinator.status().members[0].state;
    const delivered = () => new Promise((resolve) => setTimeout(resolve, 5));
    const port = listener.port;
    return {
      coordinator,
      clock,
      lines,
      heartbeat,
      state,
      delivered,
      connection,
      received,
      transport,
      port,
    };
  }

  it("a failover says how many ticks it loses: from the checkpoint, and since the last heartbeat", async () => {
    const c = await manualCluster();
    try {
      // The member ran setup: it owns both partitions and checkpoints them at tick 30.
      await until(
        "both assigns",
        () => c.received.filter((t) => t === "assign").length === 2 || undefined,
        UNTIL_MS_DEFAULT,
        5,
      );
      for (; c.clock.nowMs <= 1_000; c.clock.nowMs += 25) {
        if (c.clock.nowMs % 100 === 0) c.heartbeat(6); // 60 ticks a second
        if (c.clock.nowMs === 500) {
          const parts = [0, 1].map((partition) => ({ partition, state: { groups: [] } }));
          c.connection.send({ t: "checkpoint", tick: 30, appliedSeq: 0, parts });
        }
        await c.delivered();
        c.coordinator.tick();
      }
      c.clock.nowMs = 1_050;
      c.connection.close("killed");
      await until("the failover", () => c.state() === "failed" || undefined, UNTIL_MS_DEFAULT, 5);
      // Reported tick 66 (eleven heartbeats), 50 ms of 0.06 ticks/ms since: 3 ticks more.
      assert.match(
        c.lines.join("\n"),
        /from the checkpoint at tick 30: 36 to 39 ticks of state lost \(it last reported tick 66, 50 ms before; entity count conserved\)/,
      );
    } finally {
      await c.coordinator.close();
    }
  });

  it("a stall of the coordinator is not silence of its members; real silence still is", async () => {
    const c = await manualCluster();
    try {
      for (; c.clock.nowMs <= 300; c.clock.nowMs += 25) {
        if (c.clock.nowMs % 100 === 0) c.heartbeat();
        await c.delivered();
        c.coordinator.tick();
      }
      assert.equal(c.state(), "active");
      // Stopped for 5 s: the heartbeats sent meanwhile are still on their way.
      c.clock.nowMs += 5_000;
      c.coordinator.tick();
      assert.equal(c.state(), "active");
      assert.match(c.lines.join("\n"), /the coordinator stalled for 4925 ms/);
      c.heartbeat();
      await c.delivered();
      for (let k = 0; k < 8; k++) {
        c.clock.nowMs += 25;
        if (k % 4 === 0) c.heartbeat();
        await c.delivered();
        c.coordinator.tick();
      }
      assert.equal(c.state(), "active");
      // Now the member goes quiet, with the coordinator ticking on time: failed after 400 ms.
      for (let k = 0; k < 20 && c.state() !== "failed"; k++) {
        c.clock.nowMs += 25;
        c.coordinator.tick();
      }
      assert.equal(c.state(), "failed");
      assert.match(c.lines.join("\n"), /member 1 failed \(no heartbeat for 4\d\d ms\)/);
    } finally {
      await c.coordinator.close();
    }
  });

  it("a member is judged by startTimeoutMs until its first heartbeat: a long setup is not silence", async () => {
    const c = await manualCluster({ startTimeoutMs: 1_000 });
    try {
      // The first member runs setup for 900 ms of the coordinator's clock, sending nothing: more
      // than the failure timeout (400 ms), less than startTimeoutMs. It keeps setup's partitions.
      for (; c.clock.nowMs <= 900; c.clock.nowMs += 25) {
        await c.delivered();
        c.coordinator.tick();
      }
      assert.equal(c.state(), "joining");
      assert.equal(c.received.filter((t) => t === "assign").length, 2);
      c.heartbeat();
      await until("the first heartbeat taken", () => c.state() === "active" || undefined);
      // A second member joins and never starts: no partition goes to it, and past
      // startTimeoutMs it is failed with a line that names the setting.
      const second = await rawMember(c.transport, c.port);
      const secondState = () => c.coordinator.status().members.find((m) => m.id === 2)?.state;
      await until("the second member joining", () => secondState() === "joining" || undefined);
      const joinedMs = c.clock.nowMs;
      for (; c.clock.nowMs <= joinedMs + 1_100; c.clock.nowMs += 25) {
        if (c.clock.nowMs % 100 === 0) c.heartbeat();
        await c.delivered();
        c.coordinator.tick();
        if (c.clock.nowMs < joinedMs + 1_000) assert.equal(secondState(), "joining");
      }
      assert.equal(secondState(), "failed");
      assert.equal(second.received.filter((m) => m.t === "assign").length, 0);
      assert.match(
        c.lines.join("\n"),
        /member 2 failed \(not started 10\d\d ms after it joined \(startTimeoutMs is 1000, --start-timeout-ms\): making its runtime took longer, or it hung\)/,
      );
      assert.equal(c.state(), "active");
    } finally {
      await c.coordinator.close();
    }
  });

  it("past unauthenticatedConnectionsMax, a newcomer evicts the oldest, telling it to retry", async () => {
    const transport = new MemoryTransport();
    const lines: string[] = [];
    const coordinator = new Coordinator({
      partitions: 2,
      secret: SECRET,
      unauthenticatedConnectionsMax: 2,
      log: (line) => lines.push(line),
    });
    const listener = await coordinator.listen(transport, "memory", 0);
    try {
      const silent: { connection: Connection; messages: Record<string, unknown>[] }[] = [];
      for (let i = 0; i < 2; i++) {
        const connection = await transport.connect("memory", listener.port);
        const messages: Record<string, unknown>[] = [];
        connection.onMessage = (message) => messages.push(message);
        silent.push({ connection, messages });
      }
      const newcomer = await connectAuthenticated(transport, "memory", listener.port, {
        secret: SECRET,
      });
      assert.ok(newcomer.authenticated);
      await until(
        "the oldest to be closed",
        () => silent[0].connection.closed || undefined,
        UNTIL_MS_DEFAULT,
        10,
      );
      assert.equal(silent[1].connection.closed, false);
      const refusal = silent[0].messages.find((m) => m.t === "auth_error");
      assert.equal(refusal?.busy, true, "told that the coordinator is busy, so it may try again");
      assert.match(String(refusal?.reason), /evicted: 2 connections were authenticating at once/);
      assert.match(lines.join("\n"), /evicted: 2 connections were authenticating at once/);
    } finally {
      await coordinator.close();
    }
  });

  it("an authenticated connection that never speaks is closed at the handshake timeout", async () => {
    const transport = new MemoryTransport();
    const lines: string[] = [];
    const coordinator = new Coordinator({
      partitions: 2,
      secret: SECRET,
      handshakeTimeoutMs: 50,
      log: (line) => lines.push(line),
    });
    const listener = await coordinator.listen(transport, "memory", 0);
    try {
      const idle = await authenticate(await transport.connect("memory", listener.port), {
        secret: SECRET,
      });
      const closed = new Promise<string>((resolve) => idle.onClose = resolve);
      idle.onMessage = () => {};
      assert.equal(await closed, "the peer closed the connection");
      assert.match(
        lines.join("\n"),
        /closed before its first message: no first message within 50 ms/,
      );
    } finally {
      await coordinator.close();
    }
  });

  it(
    "a member whose setup failed does not fix the scene: the next one, of another scene, starts the cluster",
    {
      timeout: 30_000,
    },
    async () => {
      const c = await cluster();
      const Broken = defineComponent("BrokenThing", { key: "u32" });
      const broken = defineScene({
        name: "broken",
        components: [Broken],
        systems: [],
        cluster: { key: Broken.key },
        setup() {
          throw new Error("no map file");
        },
      });
      await assert.rejects(
        joinScene(c, broken),
        /no map file/,
      );
      await until(
        "the coordinator to forget the scene",
        () =>
          /the next member to join, with any scene, runs setup/.test(c.lines.join("\n")) ||
          undefined,
        UNTIL_MS_DEFAULT,
        10,
      );
      const first = await join(c);
      await settled(c, [first]);
      assert.equal(first.runtime.world.entityCount, SHIPS);
      assert.equal(await leaveAllAndCount(c, [first]), SHIPS);
    },
  );
});

describe("failover after a handoff, message by message", () => {
  /** Ships with these ClusterIds, in the scene's layout (Cell's key, then the id). */
  function ships(ids: readonly number[]): EntityBatch {
    return {
      groups: [{
        components: ["Cell", "ClusterId"],
        count: ids.length,
        ids: new Uint8Array(new Float64Array(ids).buffer),
        columns: [new Uint8Array(new Uint32Array(ids.length).buffer)],
      }],
    };
  }

  it(
    "entities that moved inside a member out of a partition it handed over are not lost when it fails",
    {
      timeout: 30_000,
    },
    async () => {
      const transport = new MemoryTransport();
      const lines: string[] = [];
      const coordinator = new Coordinator({
        partitions: 2,
        secret: SECRET,
        heartbeatIntervalMs: 10_000, // these members send one heartbeat, to say they started
        log: (line) => lines.push(line),
      });
      const listener = await coordinator.listen(transport, "memory", 0);
      const timer = setInterval(() => coordinator.tick(), 10);
      try {
        // Member 1 ran setup: both partitions, checkpointed with ships 1 to 3 in 0 and 4, 5 in 1.
        const a = await rawMember(transport, listener.port);
        a.heartbeat();
        await until(
          "both assigns",
          () => a.received.filter((m) => m.t === "assign").length === 2 || undefined,
        );
        a.connection.send({
          t: "checkpoint",
          tick: 5,
          appliedSeq: 0,
          parts: [{ partition: 0, state: ships([1, 2, 3]) }, {
            partition: 1,
            state: ships([4, 5]),
          }],
        });
        await until("setup done", () => lines.some((l) => l.startsWith("setup done")) || undefined);
        // Member 2 joins: one partition is revoked from member 1.
        const b = await rawMember(transport, listener.port);
        b.heartbeat();
        const revoke = await until(
          "a revoke",
          () => a.received.find((m) => m.t === "revoke") as { partition: number } | undefined,
        );
        const handed = revoke.partition;
        // Ship 4 (or 1) crossed, inside member 1, into the partition it keeps, then it hands over.
        const [moved, rest] = handed === 1 ? [4, [5]] : [1, [2, 3]];
        a.connection.send({
          t: "transfer",
          partition: handed,
          state: ships(rest),
          handoff: true,
          seq: 1,
        });
        await until(
          "the handoff assigned to member 2",
          () => b.ids("assign").length > 0 || undefined,
        );
        // Member 1 dies before its next checkpoint: its partition comes back from the one at
        // tick 5, which has not got the ship that moved; the ship goes back where it was.
        a.connection.close("killed");
        await until(
          "every ship on member 2, once",
          () => {
            const got = [...b.ids("assign"), ...b.ids("transfer")].sort((x, y) => x - y);
            assert.deepEqual(got, [1, 2, 3, 4, 5], lines.join("\n"));
            return true;
          },
          UNTIL_MS_DEFAULT,
          10,
        );
        assert.match(
          lines.join("\n"),
          new RegExp(
            `member 1 failed .*handed over since goes back: 1 entity to partition ${handed}`,
          ),
        );
        assert.ok(b.ids("transfer").includes(moved));
      } finally {
        clearInterval(timer);
        await coordinator.close();
      }
    },
  );
});

describe("a member looking for a coordinator", () => {
  it("gives up at coordinatorGraceMs, even at coordinators that authenticate and never answer", {
    timeout: 30_000,
  }, async () => {
    const transport = new MemoryTransport();
    const listeners = await Promise.all(
      [0, 1].map(() =>
        transport.listen("memory", 0, (connection) => {
          void acceptAuthenticated(connection, { secret: SECRET }).then((peer) => {
            if (peer !== undefined) peer.onMessage = () => {}; // reads the join, says nothing
          });
        })
      ),
    );
    const graceMs = 300;
    // Each wait of the search is cut off at the grace; were it not, this join would wait for
    // joinTimeoutMs, far past the test's own timeout, and the test would fail by that timeout.
    const joinTimeoutMs = 600_000;
    try {
      await assert.rejects(
        ClusterMember.join({
          transport,
          host: "memory",
          port: listeners[0].port,
          alternates: [{ host: "memory", port: listeners[1].port }],
          coordinatorGraceMs: graceMs,
          joinTimeoutMs,
          secret: SECRET,
          scene,
          createRuntime: (options) => Runtime.create(scene, options),
        }),
        new RegExp(`no coordinator took this member within ${graceMs} ms`),
      );
    } finally {
      await Promise.all(listeners.map((listener) => listener.close()));
    }
  });
});

describe("cluster churn", () => {
  for (const seed of [5, 10]) {
    it(`seed ${seed}: joins, leaves and kills at random moments conserve every entity`, {
      timeout: 30_000,
    }, async () => {
      const summary = await runClusterChurn({ seed, events: 10, timeoutMs: 20_000 });
      assert.equal(summary.entities, 1_500);
      assert.ok(summary.failovers > 0, "the sequence includes kills");
    });
  }
});
