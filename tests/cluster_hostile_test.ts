/**
 * Hostile peers against a real coordinator process on loopback, under both `bun test` and
 * `deno test -A`: strangers with oversized frames, floods of connections, slowloris and element
 * bombs, and holders of the secret whose frames after a real handshake are replayed, injected or
 * bombs, or who never speak. The cluster (a coordinator and two members running
 * examples/cluster_sim.ts) lives through every case: after each, the coordinator still answers
 * `status`, no member was failed, and its log names what it refused; at the end every member
 * leaves and every ship is counted.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { joinMessage } from "../cluster/member.ts";
import { encodeFrame } from "../cluster/_frame.ts";
import { authenticate } from "../cluster/auth.ts";
import { tcpTransport } from "../cluster/tcp.ts";
import scene from "../examples/cluster_sim.ts";
import { type Proc, ProcessCluster } from "./fixtures/cluster_processes.ts";
import {
  BOMB_BYTES,
  elementBombs,
  emptyMapsPayload,
  manyConnections,
  oversizedFrames,
  RawClient,
  slowloris,
} from "./fixtures/hostile_peers.ts";
import { until } from "./fixtures/until.ts";

const SECRET = "hostile-test-secret";
const SHIPS = 2_000;
const PARTITIONS = 8;
/** Short, so that the cases that wait for it stay short. */
const HANDSHAKE_MS = 1_000;
const UNAUTHENTICATED_MAX = 16;
const CASE_MS = 30_000;

const cluster = new ProcessCluster({ secret: SECRET, ships: SHIPS, partitions: PARTITIONS });
const setup: { coordinator?: Proc; port?: number; members: Proc[]; memberIds: number[] } = {
  members: [],
  memberIds: [],
};

before(async () => {
  const { proc, port } = await cluster.coordinator([
    "--handshake-ms",
    String(HANDSHAKE_MS),
    "--unauthenticated-max",
    String(UNAUTHENTICATED_MAX),
  ]);
  setup.coordinator = proc;
  setup.port = port;
  setup.members.push(cluster.join(port));
  await cluster.settled(port, 1);
  setup.members.push(cluster.join(port));
  const s = await cluster.settled(port, 2);
  setup.memberIds.push(...s.members.map((m) => m.id));
});

after(() => cluster.killAll());

function target() {
  return { host: "127.0.0.1", port: setup.port! };
}

function log(): string {
  return setup.coordinator!.log();
}

/**
 * The coordinator answers status, and the two members are there and not failed, with every
 * partition running on them.
 */
async function assertHealthy(): Promise<void> {
  assert.equal(setup.coordinator!.child.exitCode, null, "the coordinator is running");
  const s = await cluster.settled(setup.port!, 2);
  const live = s.members.filter((m) => m.state === "active" || m.state === "suspect");
  assert.deepEqual(live.map((m) => m.id).sort(), [...setup.memberIds].sort(), log());
  for (const id of setup.memberIds) {
    assert.doesNotMatch(log(), new RegExp(`member ${id} failed`));
  }
}

/** Runs `attack` while asking for status every 100 ms; every answer must come. */
async function underAttack<T>(attack: Promise<T>): Promise<T> {
  let done = false;
  const polling = (async () => {
    let answers = 0;
    while (!done) {
      await cluster.status(setup.port!);
      answers++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return answers;
  })();
  try {
    return await attack;
  } finally {
    done = true;
    assert.ok(await polling > 0, "status answered during the attack");
  }
}

/** Waits for the coordinator's log to show `pattern`. */
function logged(pattern: RegExp): Promise<true> {
  return until(`the coordinator to log ${pattern}`, () => pattern.test(log()) || undefined)
    .catch((error) => {
      throw new Error(
        `${error.message}; its log ends:\n${log().split("\n").slice(-20).join("\n")}`,
      );
    });
}

/** A raw client that joined as a member, with its member id. */
async function rawMember(): Promise<{ client: RawClient; id: number }> {
  const client = await RawClient.authenticated(target(), SECRET);
  client.send(joinMessage(scene));
  const welcome = await client.next("welcome", 10_000);
  return { client, id: welcome.memberId as number };
}

describe("a coordinator under hostile peers", () => {
  it("a stranger declaring a 63 MiB frame is cut off at its header", {
    timeout: CASE_MS,
  }, async () => {
    const result = await underAttack(oversizedFrames(target(), { connections: 1, ms: 3_000 }));
    assert.equal(result.closedByServer, 1);
    await logged(
      new RegExp(
        `frame too large: the peer declared a ${BOMB_BYTES}-byte frame, over frameBytesMax \\(1024\\)`,
      ),
    );
    await assertHealthy();
  });

  it("twenty strangers streaming 63 MiB bodies are cut off too", { timeout: CASE_MS }, async () => {
    const result = await underAttack(oversizedFrames(target(), { connections: 20, ms: 3_000 }));
    assert.equal(result.closedByServer, 20);
    await assertHealthy();
  });

  it("element bombs within the handshake's 1 KiB are decoded in bounded work and refused", {
    timeout: CASE_MS,
  }, async () => {
    const result = await underAttack(elementBombs(target(), { frameBytes: 1024, ms: 1_500 }));
    assert.ok(result.connections > 0);
    await logged(/closed before authenticating: malformed frame: the payload decodes to an array/);
    await assertHealthy();
  });

  it("an element bomb from a member is refused after frameElementsMax values, failing it only", {
    timeout: CASE_MS,
  }, async () => {
    const { client, id } = await rawMember();
    await underAttack((async () => {
      client.write(client.sealPayload(emptyMapsPayload(BOMB_BYTES)));
      await client.closed;
    })());
    await logged(
      new RegExp(
        `member ${id} failed \\(connection closed: frame too complex: the \\d+-byte payload ` +
          `holds more than 1048576 values`,
      ),
    );
    await assertHealthy();
  });

  it("slowloris: connections trickling a frame are closed at the handshake timeout", {
    timeout: CASE_MS,
  }, async () => {
    const result = await underAttack(
      slowloris(target(), { connections: 30, everyMs: 100, ms: 3 * HANDSHAKE_MS }),
    );
    assert.equal(result.closedByServer, 30);
    await logged(new RegExp(`authentication timed out: no auth frame within ${HANDSHAKE_MS} ms`));
    await assertHealthy();
  });

  it("a frame replayed from another session is refused", { timeout: CASE_MS }, async () => {
    const first = await RawClient.authenticated(target(), SECRET);
    const recorded = first.seal({ t: "status?" });
    first.close();
    const second = await RawClient.authenticated(target(), SECRET);
    second.write(recorded);
    await second.closed;
    assert.ok(second.closedByServer);
    assert.equal(second.pending.some((m) => m.t === "status"), false, "no status for a replay");
    await logged(/frame authentication failed: frame 0 of the session from 127\.0\.0\.1:\d+/);
    await assertHealthy();
  });

  it("a frame replayed within a member's session fails that member only", {
    timeout: CASE_MS,
  }, async () => {
    const { client, id } = await rawMember();
    const heartbeat = client.send({ t: "heartbeat", tick: 1, counts: [], tickMsMean: 0.5 });
    client.write(heartbeat);
    await client.closed;
    await logged(
      new RegExp(`member ${id} failed \\(connection closed: frame authentication failed`),
    );
    await assertHealthy();
  });

  it("a frame injected without a MAC is refused, not obeyed", { timeout: CASE_MS }, async () => {
    const { client, id } = await rawMember();
    client.write(encodeFrame({ t: "leave" }, 1024));
    await client.closed;
    await logged(
      new RegExp(`member ${id} failed \\(connection closed: frame authentication failed`),
    );
    assert.doesNotMatch(log(), new RegExp(`member ${id} leaves`));
    await assertHealthy();
  });

  it("idle authenticated connections are closed at the handshake timeout", {
    timeout: CASE_MS,
  }, async () => {
    const connections = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const connection = await tcpTransport().connect("127.0.0.1", setup.port!);
        return await authenticate(connection, { secret: SECRET });
      }),
    );
    await until(
      "the idle connections to be closed",
      () => connections.every((c) => c.closed) || undefined,
    );
    await logged(new RegExp(`no first message within ${HANDSHAKE_MS} ms of authenticating`));
    await assertHealthy();
  });

  it("a flood of connections evicts the oldest, and status still gets through", {
    timeout: CASE_MS,
  }, async () => {
    const result = await underAttack(
      manyConnections(target(), { connections: 300, perSecond: 1_000, ms: 2_000 }),
    );
    assert.ok(result.closedByServer >= 300 - UNAUTHENTICATED_MAX, JSON.stringify(result));
    await logged(
      new RegExp(`evicted: ${UNAUTHENTICATED_MAX} connections were authenticating at once`),
    );
    await assertHealthy();
  });

  it("after all that, every member leaves and every ship is there", {
    timeout: CASE_MS,
  }, async () => {
    assert.equal(await cluster.leaveAllAndCount(setup.port!, setup.members), SHIPS, log());
  });
});
