/**
 * The store contract (cluster/store.ts), run against the memory store and against a real
 * redis-server: leadership with a lease and a fencing epoch, fenced writes, and a round trip of
 * everything a store holds. Also the recovery log (cluster/recovery_log.ts) on its own, and
 * the Redis store's errors for a bad URL, an unreachable server and a wrong password.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  batchCount,
  batchIds,
  type EntityBatch,
  filterBatch,
  mergeBatches,
} from "../cluster/batch.ts";
import { Random } from "../mod.ts";
import { RecoveryLog } from "../cluster/recovery_log.ts";
import { parseRedisUrl, RedisStore } from "../cluster/redis_store.ts";
import {
  type ClusterStore,
  FencedError,
  MemoryBackend,
  MemoryStore,
  WriteOrderError,
} from "../cluster/store.ts";
import {
  freePort,
  type RedisServer,
  redisSkip,
  type RedisTlsServer,
  redisTlsSkip,
  startRedis,
  startRedisTls,
} from "./fixtures/redis.ts";

/** A batch of `ids`, each with one u32 column holding id * 10. */
function batchOf(ids: readonly number[]): EntityBatch {
  const column = new Uint32Array(ids.map((id) => id * 10));
  return {
    groups: ids.length === 0 ? [] : [{
      components: ["Cell", "ClusterId"],
      count: ids.length,
      ids: new Uint8Array(new Float64Array(ids).buffer),
      columns: [new Uint8Array(column.buffer)],
    }],
  };
}

function idsOf(batch: EntityBatch): number[] {
  return [...batchIds(batch)].sort((a, b) => a - b);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The contract, for two clients `a` and `b` of one store. */
function contract(name: string, open: () => Promise<[ClusterStore, ClusterStore]>): void {
  describe(`store contract: ${name}`, () => {
    it("one leader at a time; a new epoch after the lease expires; the old one is fenced", async () => {
      const [a, b] = await open();
      const e1 = await a.campaign("a:1", 150);
      assert.equal(typeof e1, "number");
      assert.equal(await b.campaign("b:1", 150), undefined);
      assert.deepEqual(await b.leader(), { epoch: e1, address: "a:1" });
      assert.equal(await a.renew(e1!, "a:1", 150), true);
      await a.write(e1!, 1, [
        {
          op: "meta",
          meta: { partitions: 1, seeded: true, layout: null, nextMemberId: 1, failovers: 0 },
        },
        { op: "held", partition: 0, held: [batchOf([1])] },
      ]);
      await sleep(250); // past the lease, not renewed: a stall
      const e2 = await b.campaign("b:1", 1_000);
      assert.ok(e2! > e1!);
      assert.equal(await a.renew(e1!, "a:1", 150), false);
      await assert.rejects(
        a.write(e1!, 2, [{ op: "held", partition: 0, held: [] }]),
        (error) => error instanceof FencedError && /epoch \d+ is fenced/.test(error.message),
      );
      // The fenced write changed nothing.
      assert.deepEqual(idsOf((await b.load()).partitions.get(0)!.held[0]), [1]);
      await b.resign(e2!, "b:1");
      assert.equal(await b.leader(), undefined);
      await a.close();
      await b.close();
    });

    it("holds the map, members, checkpoints and recovery logs, and loads them back", async () => {
      const [a, b] = await open();
      const epoch = (await a.campaign("a:1", 1_000))!;
      const base = batchOf([5, 6, 7]);
      await a.write(epoch, 1, [
        {
          op: "meta",
          meta: {
            partitions: 2,
            seeded: true,
            layout: { components: ["Cell", "ClusterId"], fieldBytes: [[4], [8]] },
            nextMemberId: 3,
            failovers: 1,
          },
        },
        {
          op: "member",
          member: {
            id: 2,
            address: "127.0.0.1:5000",
            partitions: [1],
            logStart: 4,
            seq: 9,
            outSeq: 12,
            checkpointTick: 60,
            tick: 70,
          },
        },
        { op: "owner", partition: 1, owner: 2, basePos: 4 },
        { op: "base", partition: 1, base, basePos: 4 },
        { op: "held", partition: 0, held: [batchOf([1]), batchOf([2])] },
        {
          op: "appendLog",
          id: 2,
          entries: [{ kind: "arrive", seq: 9, partition: 1, state: batchOf([8]) }],
        },
        { op: "appendLog", id: 2, entries: [{ kind: "depart", ids: new Float64Array([5]) }] },
        {
          op: "appendLog",
          id: 2,
          entries: [{ kind: "kept", partition: 0, state: batchOf([3, 4]) }],
        },
      ]);
      const loaded = await b.load();
      assert.equal(loaded.meta?.nextMemberId, 3);
      assert.deepEqual(loaded.meta?.layout?.fieldBytes, [[4], [8]]);
      const member = loaded.members.get(2)!;
      assert.equal(member.member.outSeq, 12);
      assert.deepEqual(member.member.partitions, [1]);
      assert.equal(member.log.length, 3);
      const one = loaded.partitions.get(1)!;
      assert.equal(one.owner, 2);
      assert.equal(one.basePos, 4);
      assert.deepEqual(idsOf(one.base), [5, 6, 7]);
      assert.deepEqual(loaded.partitions.get(0)!.held.map(idsOf), [[1], [2]]);
      // The loaded log restores partition 1 exactly: 5 departed, 8 arrived.
      const log = new RecoveryLog(64, member.member.logStart, member.log);
      assert.deepEqual(idsOf(log.restore(1, one.base, one.basePos)), [6, 7, 8]);
      assert.deepEqual(log.keptSince().map((k) => [k.partition, idsOf(k.state)]), [[0, [3, 4]]]);
      // A checkpoint too big to pass through the write script (staged, then renamed in place).
      const big = batchOf(Array.from({ length: 20_000 }, (_, i) => i + 100));
      await a.write(epoch, 2, [{ op: "base", partition: 0, base: big, basePos: 9 }]);
      const bigLoaded = (await b.load()).partitions.get(0)!;
      assert.equal(batchCount(bigLoaded.base), 20_000);
      assert.equal(bigLoaded.basePos, 9);
      // A rewrite replaces the log; dropping a member removes it and its log.
      await a.write(epoch, 3, [{ op: "rewriteLog", id: 2, entries: [] }]);
      assert.equal((await b.load()).members.get(2)!.log.length, 0);
      await a.write(epoch, 4, [{ op: "dropMember", id: 2 }, {
        op: "owner",
        partition: 1,
        owner: null,
        basePos: 0,
      }]);
      const dropped = await b.load();
      assert.equal(dropped.members.size, 0);
      assert.equal(dropped.partitions.get(1)!.owner, null);
      await a.close();
      await b.close();
    });

    it("a leader's writes apply once each, in order: one sent again or after a gap changes nothing", async () => {
      const [a, b] = await open();
      const epoch = (await a.campaign("a:1", 1_000))!;
      const member = {
        id: 1,
        address: "127.0.0.1:5000",
        partitions: [],
        logStart: 0,
        seq: 0,
        outSeq: 0,
        checkpointTick: 0,
        tick: 0,
      };
      const departs = (id: number) => ({
        op: "appendLog" as const,
        id: 1,
        entries: [{ kind: "depart" as const, ids: new Float64Array([id]) }],
      });
      const logged = async () =>
        (await b.load()).members.get(1)!.log.flatMap((e) => e.kind === "depart" ? [...e.ids] : []);
      await a.write(epoch, 1, [{ op: "member", member }, departs(10)]);
      // Sent again, as a client that reconnects resends a command whose reply was lost (it ran).
      await assert.rejects(
        a.write(epoch, 1, [{ op: "member", member }, departs(10)]),
        (error) => error instanceof WriteOrderError && /write 1 of epoch \d+/.test(error.message),
      );
      // Sent after a write that never arrived.
      await assert.rejects(a.write(epoch, 3, [departs(30)]), WriteOrderError);
      assert.deepEqual(await logged(), [10]);
      await a.write(epoch, 2, [departs(20)]);
      assert.deepEqual(await logged(), [10, 20]);
      // The next leader numbers its writes from 1 again.
      await a.resign(epoch, "a:1");
      const next = (await b.campaign("b:1", 1_000))!;
      await b.write(next, 1, [departs(40)]);
      await assert.rejects(a.write(epoch, 3, [departs(30)]), FencedError);
      assert.deepEqual(await logged(), [10, 20, 40]);
      await a.close();
      await b.close();
    });
  });
}

contract("memory", () => {
  const backend = new MemoryBackend();
  return Promise.resolve([new MemoryStore(backend), new MemoryStore(backend)]);
});

describe("redis", { skip: redisSkip() }, () => {
  let redis: RedisServer;
  let prefix = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  contract("redis", async () => {
    const name = `test${prefix++}`;
    return [
      await RedisStore.connect(redis.url, { prefix: name }),
      await RedisStore.connect(redis.url, { prefix: name }),
    ];
  });

  it("an unreachable server, a wrong password and a bad URL each say what to fix", async () => {
    const closed = await freePort();
    await assert.rejects(
      RedisStore.connect(`redis://127.0.0.1:${closed}/0`, { timeoutMs: 1_000 }),
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: .*start redis-server there/,
    );
    const guarded = await startRedis(["--requirepass", "right-password"]);
    try {
      await assert.rejects(
        RedisStore.connect(`redis://:wrong@127.0.0.1:${guarded.port}/0`, { env: {} }),
        /refused the credentials .*STATICECS_REDIS_PASSWORD/,
      );
      await assert.rejects(
        RedisStore.connect(guarded.url, { env: {} }),
        /requires a password: .*STATICECS_REDIS_PASSWORD/,
      );
      const store = await RedisStore.connect(guarded.url, {
        env: { STATICECS_REDIS_PASSWORD: "right-password" },
      });
      await store.close();
    } finally {
      await guarded.stop();
    }
    assert.throws(() => parseRedisUrl("http://x:1"), /the scheme must be redis:\/\/ \(or rediss/);
    assert.throws(() => parseRedisUrl("redis://h:1/99"), /database must be a number from 0 to 15/);
    assert.equal(parseRedisUrl("redis://u:p%40ss@h:7/1", {}).password, "p@ss");
    assert.equal(parseRedisUrl("redis://u:pass@h:7/1", {}).safe, "redis://u@h:7/1");
  });
});

describe("redis over TLS (rediss://)", { skip: redisTlsSkip() }, () => {
  let redis: RedisTlsServer;
  let prefix = 0;
  before(async () => {
    redis = await startRedisTls();
  });
  after(async () => {
    await redis?.stop();
  });
  contract("rediss", async () => {
    const name = `tls${prefix++}`, env = { STATICECS_REDIS_CA_FILE: redis.caFile };
    return [
      await RedisStore.connect(redis.tlsUrl, { prefix: name, env }),
      await RedisStore.connect(redis.tlsUrl, { prefix: name, env }),
    ];
  });

  it("an untrusted certificate and an unreadable CA file each say what to fix", async () => {
    const address = parseRedisUrl(redis.tlsUrl, {});
    assert.equal(address.tls, true);
    assert.equal(address.safe, redis.tlsUrl);
    assert.equal(parseRedisUrl(redis.url, {}).tls, false);
    // The system's CAs do not know the test's CA.
    await assert.rejects(
      RedisStore.connect(redis.tlsUrl, { env: {} }),
      /TLS failed \(.*\): if its certificate comes from a CA of your own, name that CA's PEM file in STATICECS_REDIS_CA_FILE/,
    );
    await assert.rejects(
      RedisStore.connect(redis.tlsUrl, {
        env: { STATICECS_REDIS_CA_FILE: `${redis.caFile}.missing` },
      }),
      /STATICECS_REDIS_CA_FILE=.*\.missing: cannot read it/,
    );
  });
});

describe("recovery log", () => {
  it("replays arrivals and departures after a base, and cuts at a checkpoint", () => {
    const log = new RecoveryLog(8);
    log.append({ kind: "arrive", seq: 1, partition: 0, state: batchOf([1]) });
    const basePos = log.end;
    log.append({ kind: "arrive", seq: 2, partition: 0, state: batchOf([2]) });
    log.append({ kind: "arrive", seq: 3, partition: 1, state: batchOf([3]) });
    log.append({ kind: "depart", ids: new Float64Array([10]) });
    const restored = log.restore(0, batchOf([10, 11]), basePos);
    assert.deepEqual(idsOf(restored), [2, 11]);
    assert.equal(batchCount(mergeBatches([restored])), 2);
    assert.deepEqual(log.takeUnsaved()?.entries.length, 4);
    assert.equal(log.takeUnsaved(), undefined);
    // The member applied up to seq 2 before its checkpoint: seq 3 stays, to be replayed.
    assert.equal(log.cut(2), 4);
    assert.equal(log.start, 4);
    assert.deepEqual(log.entries.map((e) => e.kind === "arrive" && e.seq), [3]);
    assert.deepEqual(log.arrivalsAfter(2).map((e) => e.seq), [3]);
    const unsaved = log.takeUnsaved()!;
    assert.equal(unsaved.rewrite, true);
    assert.equal(unsaved.entries.length, 1);
  });

  it("gives back what a handoff left behind, less what departed after", () => {
    const log = new RecoveryLog(8);
    log.append({ kind: "depart", ids: new Float64Array([1]) });
    log.append({ kind: "kept", partition: 2, state: batchOf([1, 2, 3]) });
    log.append({ kind: "kept", partition: 4, state: batchOf([5]) });
    log.append({ kind: "depart", ids: new Float64Array([3, 5]) });
    assert.deepEqual(log.keptSince().map((k) => [k.partition, idsOf(k.state)]), [[2, [1, 2]]]);
    // Neither a restore of a partition nor a rejoining member sees them; a checkpoint drops them.
    assert.deepEqual(idsOf(log.restore(2, batchOf([7]), 0)), [7]);
    assert.deepEqual(log.arrivalsAfter(0), []);
    log.cut(0);
    assert.deepEqual(log.keptSince(), []);
  });

  it("restores as replaying every entry in turn would, on 200 random logs", () => {
    // The reference: each arrival merged, each departure filtered, in log order.
    const replayed = (log: RecoveryLog, partition: number, base: EntityBatch, from: number) => {
      let state = base;
      for (const entry of log.entries.slice(from)) {
        if (entry.kind === "arrive" && entry.partition === partition) {
          state = mergeBatches([state, entry.state]);
        } else if (entry.kind === "depart") {
          const gone = new Set(entry.ids);
          state = filterBatch(state, (id) => !gone.has(id));
        }
      }
      return idsOf(state);
    };
    const random = new Random(7);
    const some = (n: number) => Array.from({ length: n }, () => 1 + random.int(30));
    for (let round = 0; round < 200; round++) {
      const log = new RecoveryLog(64);
      const base = batchOf([...new Set(some(random.int(8)))]);
      const entries = random.int(12);
      for (let k = 0; k < entries; k++) {
        const kind = random.int(3);
        if (kind === 0) {
          const state = batchOf(some(1 + random.int(4)));
          log.append({ kind: "arrive", seq: k + 1, partition: random.int(2), state });
        } else if (kind === 1) log.append({ kind: "depart", ids: new Float64Array(some(3)) });
        else log.append({ kind: "kept", partition: 0, state: batchOf(some(2)) });
      }
      const from = random.int(entries + 1);
      for (const partition of [0, 1]) {
        assert.deepEqual(
          idsOf(log.restore(partition, base, from)),
          replayed(log, partition, base, from),
        );
      }
      const kept = log.keptSince().map((k) => idsOf(k.state));
      const keptReplayed = log.entries.flatMap((entry, k) => {
        if (entry.kind !== "kept") return [];
        const after = new RecoveryLog(64, 0, log.entries.slice(k + 1));
        const ids = replayed(after, -1, entry.state, 0);
        return ids.length === 0 ? [] : [ids];
      });
      assert.deepEqual(kept, keptReplayed);
    }
  });

  it("refuses an entry past its bound", () => {
    const log = new RecoveryLog(1);
    log.append({ kind: "depart", ids: new Float64Array([1]) });
    assert.equal(log.full(), true);
    assert.throws(() => log.append({ kind: "depart", ids: new Float64Array([2]) }), /full/);
  });
});
