/**
 * The cluster's bounds in one table (cluster/limits.ts): defaults, ranges, errors naming the key
 * in the library and the flag in the CLI, the one PARTITIONS_MAX every part uses, the secret's
 * strength and `staticecs cluster secret`; and the two small helpers the coordinator's judgement
 * rests on, the progress clock and the log limiter.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineComponent, defineScene, World } from "../mod.ts";
import { checkSecret, generateSecret } from "../cluster/auth.ts";
import { PartitionMap } from "../cluster/partition_map.ts";
import { Coordinator } from "../cluster/coordinator.ts";
import {
  CLUSTER_LIMIT_RANGES,
  ClusterLimitError,
  DEFAULT_CLUSTER_LIMITS,
  PARTITIONS_MAX,
  resolveClusterLimits,
} from "../cluster/limits.ts";
import { checkCoordinatorMessage } from "../cluster/protocol.ts";
import { resolveLimits } from "../cluster/transport.ts";
import { LogLimiter } from "../cluster/_log_limiter.ts";
import { ProgressClock } from "../cluster/_progress_clock.ts";
import { cli } from "./fixtures/cli.ts";

const SECRET = "limits-test-secret";

describe("cluster limits", () => {
  test("defaults fill in, and the failure timeout follows the heartbeat", () => {
    const limits = resolveClusterLimits({ partitions: 16 });
    assert.equal(limits.heartbeatIntervalMs, DEFAULT_CLUSTER_LIMITS.heartbeatIntervalMs);
    assert.equal(limits.failureTimeoutMs, 4 * limits.heartbeatIntervalMs);
    assert.equal(
      resolveClusterLimits({ partitions: 1, heartbeatIntervalMs: 100 }).failureTimeoutMs,
      400,
    );
    assert.equal(limits.handshakeFrameBytesMax, 1024);
    assert.equal(resolveLimits().frameBytesMax, DEFAULT_CLUSTER_LIMITS.frameBytesMax);
  });

  test("a value out of range names the key and its range; render names it otherwise", () => {
    const cases: [Record<string, number>, RegExp][] = [
      [{ partitions: 0 }, /^partitions must be an integer from 1 to 4096; got 0$/],
      [
        { partitions: 8, heartbeatIntervalMs: 5 },
        /^heartbeatIntervalMs must be an integer from 10/,
      ],
      [{ partitions: 8, checkpointEveryTicks: 1.5 }, /^checkpointEveryTicks must be an integer/],
      [{ partitions: 8, handshakeFrameBytesMax: 10 }, /^handshakeFrameBytesMax must be an integer/],
      [
        { partitions: 8, heartbeatIntervalMs: 100, failureTimeoutMs: 150 },
        /^failureTimeoutMs \(150 ms\) must be at least 2 times heartbeatIntervalMs \(200 ms\)/,
      ],
    ];
    for (const [given, expected] of cases) {
      assert.throws(() => resolveClusterLimits(given), (error: Error) => {
        assert.ok(error instanceof ClusterLimitError);
        assert.match(error.message, expected);
        assert.match(error.render((key) => `<${key}>`), /^</);
        return true;
      });
    }
    assert.throws(() => resolveClusterLimits({}), /partitions is required/);
  });

  test("one PARTITIONS_MAX: the coordinator, the welcome check and PartitionMap agree", () => {
    assert.equal(PARTITIONS_MAX, CLUSTER_LIMIT_RANGES.partitions[1]);
    const Cell = defineComponent("LimitCell", { key: "u32" });
    const scene = defineScene({ components: [Cell], systems: [], cluster: { key: Cell.key } });
    assert.equal(
      new PartitionMap(new World(scene), scene, PARTITIONS_MAX).partitions,
      PARTITIONS_MAX,
    );
    assert.throws(
      () => new PartitionMap(new World(scene), scene, PARTITIONS_MAX + 1),
      /partitions must be/,
    );
    assert.throws(
      () => new Coordinator({ partitions: PARTITIONS_MAX + 1, secret: SECRET }),
      /partitions/,
    );
    const welcome = (partitions: number, heartbeatIntervalMs = 500) => ({
      t: "welcome",
      memberId: 1,
      idBase: 0,
      settings: { partitions, heartbeatIntervalMs, checkpointEveryTicks: 60, seed: 0 },
    });
    assert.equal(checkCoordinatorMessage(welcome(PARTITIONS_MAX), 1).t, "welcome");
    assert.throws(
      () => checkCoordinatorMessage(welcome(PARTITIONS_MAX + 1), 1),
      /welcome: field settings\.partitions must be an integer from 1 to 4096/,
    );
    assert.throws(
      () => checkCoordinatorMessage(welcome(8, 5), 1),
      /settings\.heartbeatIntervalMs must be an integer from 10 to 60000/,
    );
  });

  test("the CLI names its flags for the same errors", () => {
    const run = (...flags: string[]) =>
      cli(["cluster", "coordinator", "--listen", "127.0.0.1:0", "--secret", SECRET, ...flags]);
    const cases: [string[], RegExp][] = [
      [["--partitions", "5000"], /--partitions must be an integer from 1 to 4096; got 5000/],
      [["--partitions", "8", "--heartbeat-ms", "5"], /--heartbeat-ms must be an integer from 10/],
      [
        ["--partitions", "8", "--heartbeat-ms", "100", "--failure-ms", "150"],
        /--failure-ms \(150 ms\) must be at least 2 times --heartbeat-ms \(200 ms\)/,
      ],
      [
        ["--partitions", "8", "--unauthenticated-max", "0"],
        /--unauthenticated-max must be a positive integer/,
      ],
      [["--partitions", "8", "--handshake-ms", "5"], /--handshake-ms must be an integer from 10/],
    ];
    for (const [flags, expected] of cases) {
      const result = run(...flags);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, expected);
    }
  });
});

describe("the cluster secret", () => {
  test("at least 16 bytes that are not whitespace", () => {
    assert.equal(checkSecret("0123456789abcdef", "secret"), "0123456789abcdef");
    assert.equal(checkSecret("ü".repeat(8), "secret"), "ü".repeat(8)); // 16 bytes of UTF-8
    assert.throws(
      () => checkSecret(" ".repeat(64), "secret"),
      /secret has 0 bytes that are not whitespace/,
    );
    assert.throws(() => checkSecret("0123 4567 89ab cde", "secret"), /has 15 bytes/);
    assert.throws(
      () => new Coordinator({ partitions: 4, secret: "short" }),
      /cluster secret too weak: secret/,
    );
  });

  test("staticecs cluster secret prints a new one that the CLI accepts", () => {
    const first = cli(["cluster", "secret"]);
    const second = cli(["cluster", "secret"]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^[0-9a-f]{64}\n$/);
    assert.notEqual(first.stdout, second.stdout);
    assert.equal(generateSecret().length, 64);
    const weak = cli(["cluster", "status", "127.0.0.1:1", "--secret", "        "]);
    assert.equal(weak.status, 2);
    assert.match(weak.stderr, /too weak: --secret has 0 bytes .*staticecs cluster secret/);
  });
});

describe("the progress clock", () => {
  test("a late tick's lateness past the allowance is left out", () => {
    const clock = new ProgressClock(0, 100);
    assert.equal(clock.tick(25), 0);
    assert.equal(clock.now(75), 75);
    assert.equal(clock.tick(5_125), 5_000); // stopped for 5 s
    assert.equal(clock.now(5_125), 125);
    assert.equal(clock.now(5_200), 200);
    // Between ticks, progress stops at the allowance: a stall that is still going on.
    assert.equal(clock.now(9_000), 225);
  });
});

describe("the log limiter", () => {
  test("a flood of one kind is summed up, and other kinds still get through", () => {
    const lines: string[] = [];
    const limiter = new LogLimiter((line) => lines.push(line));
    for (let i = 0; i < 50; i++) limiter.line(`refused 10.0.0.${i}: timed out after ${i} ms`);
    limiter.line("refused 10.0.0.1: frame too large");
    limiter.dispose();
    assert.equal(lines.filter((l) => l.includes("timed out")).length, 11);
    assert.ok(lines.includes("refused 10.0.0.1: frame too large"));
    assert.match(lines.at(-1)!, /^40 more lines like this one were not logged .*timed out/);
  });
});
