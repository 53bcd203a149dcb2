/**
 * The cluster benchmark (issue 8), three figures with their targets:
 *
 * 1. Failover time with 100 ms heartbeats (failure after the default 4
 *    intervals): a real coordinator and three members running
 *    examples/cluster_sim.ts, child processes of this runtime through the
 *    CLI; a member SIGKILLed (its socket closes) or SIGSTOPped (its socket
 *    stays open: only missed heartbeats tell). Time from the signal to
 *    `cluster status` showing every partition running on another live
 *    member, and to the coordinator's own "member N failed" log line.
 *    Target: at most 1,000 ms. See _cluster_failover.ts.
 * 2. Entity transfer throughput over loopback: 1,000,000 entities of 32
 *    bytes of component data (40 with the ClusterId) from world A in this
 *    process to world B in a receiver child, collect → transfer frame on a
 *    tcpTransport() connection → checkBatch → insert, in two batch sizes;
 *    against the same frame bytes sent raw over the same kind of
 *    connection. Target: 1,000,000 entities/s or more. See
 *    _cluster_transfer.ts.
 * 3. Heartbeat cost per member: bytes per heartbeat frame, and the CPU a
 *    coordinator process spends per idle member (heartbeats and failure
 *    detection), from process.cpuUsage() in windows with and without 32
 *    members. See _cluster_heartbeat.ts.
 *
 * 4. The cost of authenticating every frame (issue 13): sealing and
 *    opening a heartbeat frame, and bulk MB/s, in this process. See
 *    measureMacCost in _cluster_heartbeat.ts.
 * 5. The cluster store in Redis (issue 16): takeover time after SIGKILL of
 *    the leader with the default 1 s lease and with a 250 ms lease (targets
 *    2 s and 0.5 s), Redis commands and bytes per heartbeat interval with 3
 *    members on 64 partitions, and checkpoint throughput into Redis with
 *    32-byte entities (target 1,000,000 entities/s). Needs redis-server.
 *    See _cluster_store.ts.
 * Every figure is the median over rounds, and every run checks that the
 * work was real: world B ends with exactly the entities and field sums
 * world A had; after the failovers every member leaves and the coordinator
 * must hold exactly the ships setup spawned; the coordinator's status must
 * show the heartbeats the members sent.
 *
 * Usage:
 *   npx bun scripts/bench/cluster.ts [--json] [--quick] [--rounds N] [--only LIST]
 *   npx deno run -A scripts/bench/cluster.ts [same options]
 * `--only failover,transfer,heartbeat,mac,store` runs some parts. Children run this
 * script with `--receiver` (transfer) or `--coordinator` (heartbeat CPU).
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { killAll } from "./_cluster_child.ts";
import { type FailoverResult, type KillSignal, measureFailover } from "./_cluster_failover.ts";
import {
  heartbeatFrameBytes,
  type HeartbeatResult,
  measureHeartbeatCpu,
  measureMacCost,
  serveCoordinator,
} from "./_cluster_heartbeat.ts";
import {
  ENTITY_DATA_BYTES,
  ENTITY_WIRE_BYTES,
  serveReceiver,
  SHAPES,
  type TransferRun,
  TransferSender,
  type TransferShape,
} from "./_cluster_transfer.ts";
import {
  measureCheckpoint,
  measureRedisLoad,
  measureTakeover,
  startRedis,
} from "./_cluster_store.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  median,
  parseSubset,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const PARTS = ["transfer", "heartbeat", "failover", "mac", "store"] as const;
type Part = typeof PARTS[number];

const FAILOVER_TARGET_MS = 1_000;
const TRANSFER_TARGET_PER_S = 1_000_000;
const TRANSFER_ENTITIES = 1_000_000;
const HEARTBEAT_MS = 100;
/** Failover cluster: partitions, ships (cluster_sim's STATICECS_SHIPS), checkpoint interval. */
const FAILOVER_PARTITIONS = 16;
const FAILOVER_SHIPS = 5_000;
const FAILOVER_CHECKPOINT_TICKS = 30;
/** Heartbeat CPU: idle members and partitions (two each). */
const HEARTBEAT_MEMBERS = 32;
const HEARTBEAT_PARTITIONS = 64;

interface Options {
  readonly json: boolean;
  readonly quick: boolean;
  readonly rounds: number;
  readonly parts: readonly Part[];
}

/** One line under the table: what was checked, and whether it held. */
interface Check {
  readonly what: string;
  readonly ok: boolean;
}

/** What each part adds to the report. */
interface Report {
  readonly rows: Row[];
  readonly ratios: Record<string, number>;
  /** Table lines: case, subject, median, unit, vs target, vs baseline. */
  readonly table: string[][];
  readonly checks: Check[];
  readonly details: Record<string, unknown>;
}

function parseOptions(): Options & { child?: "receiver" | "coordinator"; childArgs: Args } {
  return benchOptions({
    script: "cluster.ts",
    usage: `usage: cluster.ts [--json] [--quick] [--rounds N] [--only ${PARTS.join(",")}]`,
    rounds: { quick: 2, full: 5 },
    // --receiver, --coordinator and their settings: how the parent starts its children.
    options: {
      only: "string",
      receiver: "boolean",
      coordinator: "boolean",
      partitions: "string",
      "heartbeat-ms": "string",
    },
  }, ({ json, quick, rounds, values }) => ({
    json,
    quick,
    rounds,
    parts: parseSubset("--only", values.only, PARTS, "part"),
    child: values.receiver ? "receiver" : values.coordinator ? "coordinator" : undefined,
    childArgs: {
      partitions: Number(values.partitions ?? HEARTBEAT_PARTITIONS),
      heartbeatMs: Number(values["heartbeat-ms"] ?? HEARTBEAT_MS),
    },
  }));
}

interface Args {
  readonly partitions: number;
  readonly heartbeatMs: number;
}

function emptyReport(): Report {
  return { rows: [], ratios: {}, table: [], checks: [], details: {} };
}

function ratioText(value: number, of: string): string {
  return `${formatNumber(value, 2)} ${of}`;
}

// --- transfer ---------------------------------------------------------------------------------

async function transferPart(options: Options, secret: string, report: Report): Promise<void> {
  const sender = await TransferSender.start(TRANSFER_ENTITIES, SCRIPT, secret);
  const runs = new Map<TransferShape, { ecs: TransferRun[]; raw: TransferRun[] }>();
  try {
    for (const shape of SHAPES) {
      // Warm-up, untimed: JIT, world B's chunks, and the frame sizes the raw run repeats.
      await sender.runTransfer(shape, true);
      await sender.runRaw(shape);
      runs.set(shape, { ecs: [], raw: [] });
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const shape of SHAPES) {
        const into = runs.get(shape)!;
        // Alternate which subject goes first, so drift spreads over both.
        if (round % 2 === 0) {
          into.ecs.push(await sender.runTransfer(shape, false));
          into.raw.push(await sender.runRaw(shape));
        } else {
          into.raw.push(await sender.runRaw(shape));
          into.ecs.push(await sender.runTransfer(shape, false));
        }
        progress(
          options,
          `transfer round ${round + 1}/${options.rounds}, ${shape.name}: ecs ${
            formatNumber(into.ecs.at(-1)!.ms)
          } ms, raw ${formatNumber(into.raw.at(-1)!.ms)} ms`,
        );
      }
    }
  } finally {
    await sender.close();
  }
  for (const shape of SHAPES) reportTransfer(shape, runs.get(shape)!, report);
  const s = sender.expected;
  report.checks.push({
    what:
      `transfer: every run, world B held exactly ${
        formatNumber(TRANSFER_ENTITIES)
      } entities with world A's sums ` +
      `(x ${s.x}, vz ${s.vz}, key ${s.key}, kg ${s.kg}, ClusterId ${s.id}); world A ended empty`,
    ok: true,
  });
}

function reportTransfer(
  shape: TransferShape,
  runs: { ecs: TransferRun[]; raw: TransferRun[] },
  report: Report,
): void {
  const caseName = `transfer ${shape.name}`;
  const ecsPerS = median(runs.ecs.map((r) => (TRANSFER_ENTITIES * 1000) / r.ms));
  const rawPerS = median(runs.raw.map((r) => (TRANSFER_ENTITIES * 1000) / r.ms));
  const mbPerS = (r: TransferRun) => r.bytes / 1e6 / (r.ms / 1000);
  const ecsMbPerS = median(runs.ecs.map(mbPerS)), rawMbPerS = median(runs.raw.map(mbPerS));
  report.rows.push(
    { case: caseName, subject: "ecs", value: ecsPerS, unit: "entities/s" },
    { case: caseName, subject: "raw bytes", value: rawPerS, unit: "entities/s" },
    { case: caseName, subject: "ecs", value: ecsMbPerS, unit: "MB/s" },
    { case: caseName, subject: "raw bytes", value: rawMbPerS, unit: "MB/s" },
  );
  const vsTarget = ecsPerS / TRANSFER_TARGET_PER_S, vsRaw = ecsPerS / rawPerS;
  report.ratios[`${caseName}: ecs / 1,000,000 entities/s target`] = vsTarget;
  report.ratios[`${caseName}: ecs / raw bytes`] = vsRaw;
  const frameBytes = runs.ecs[0].bytes / runs.ecs[0].frames;
  report.table.push(
    [
      caseName,
      "ecs",
      formatNumber(ecsPerS),
      `entities/s (${formatNumber(ecsMbPerS)} MB/s)`,
      ratioText(vsTarget, "of 1M/s"),
      ratioText(vsRaw, "of raw"),
    ],
    [
      "",
      "raw bytes",
      formatNumber(rawPerS),
      `entities/s (${formatNumber(rawMbPerS)} MB/s)`,
      "",
      "",
    ],
  );
  report.details[caseName] = {
    frames: runs.ecs[0].frames,
    frameBytesMean: frameBytes,
    ecsSendMsMedian: median(runs.ecs.map((r) => r.sendMs)),
    ecsReceiverInsertMsMedian: median(runs.ecs.map((r) => r.receiveMs)),
    ecsMs: runs.ecs.map((r) => r.ms),
    rawMs: runs.raw.map((r) => r.ms),
  };
}

// --- heartbeat --------------------------------------------------------------------------------

async function heartbeatPart(options: Options, secret: string, report: Report): Promise<void> {
  // cluster_sim's 20,000 ships over 16 partitions, a member of three owning 5 an hour in at 60 Hz.
  const owned = heartbeatFrameBytes(5, 1250, 216_000);
  const none = heartbeatFrameBytes(0, 0, 216_000);
  const result = await measureHeartbeatCpu({
    members: HEARTBEAT_MEMBERS,
    partitions: HEARTBEAT_PARTITIONS,
    heartbeatMs: HEARTBEAT_MS,
    windowMs: options.quick ? 1_000 : 2_000,
    rounds: options.rounds,
    script: SCRIPT,
    secret,
    progress: (line) => progress(options, line),
  });
  const { perMember, perHeartbeat } = heartbeatFigures(result);
  const perSecond = (owned * 1000) / HEARTBEAT_MS;
  report.rows.push(
    { case: "heartbeat frame", subject: "5 of 16 partitions", value: owned, unit: "B" },
    { case: "heartbeat frame", subject: "no partition", value: none, unit: "B" },
    { case: "heartbeat coordinator CPU", subject: "per member", value: perMember, unit: "ms/s" },
    {
      case: "heartbeat coordinator CPU",
      subject: "per heartbeat",
      value: perHeartbeat,
      unit: "µs",
    },
  );
  const membersPerCore = 1000 / perMember;
  report.ratios["heartbeat: idle members one coordinator core can keep"] = membersPerCore;
  report.table.push(
    ["heartbeat frame", "5 of 16 partitions", String(owned), `B (${perSecond} B/s per member)`],
    ["", "no partition", String(none), "B"],
    [
      "heartbeat coordinator CPU",
      "per idle member",
      formatNumber(perMember, 3),
      `CPU ms/s (${formatNumber(membersPerCore)} members/core)`,
    ],
    ["", "per heartbeat", formatNumber(perHeartbeat, 1), "CPU µs"],
  );
  const seenShare = result.heartbeatsSeen / result.heartbeatsSent;
  report.checks.push({
    what: `heartbeat: the coordinator's status showed ${result.heartbeatsSeen} of the ` +
      `${result.heartbeatsSent} heartbeats the members sent (at most one each in flight)`,
    ok: result.heartbeatsSent - result.heartbeatsSeen <= HEARTBEAT_MEMBERS * options.rounds &&
      seenShare > 0.9,
  });
  report.details.heartbeat = {
    members: HEARTBEAT_MEMBERS,
    partitions: HEARTBEAT_PARTITIONS,
    idleCpuMsPerS: result.idleCpuMsPerS,
    membersCpuMsPerS: result.membersCpuMsPerS,
    heartbeatsPerS: result.heartbeatsPerS,
  };
}

function heartbeatFigures(result: HeartbeatResult): { perMember: number; perHeartbeat: number } {
  const extra = result.membersCpuMsPerS.map((busy, r) => busy - result.idleCpuMsPerS[r]);
  return {
    perMember: median(extra.map((ms) => ms / HEARTBEAT_MEMBERS)),
    perHeartbeat: median(extra.map((ms, r) => (ms * 1000) / result.heartbeatsPerS[r])),
  };
}

// --- failover ---------------------------------------------------------------------------------

async function failoverPart(options: Options, secret: string, report: Report): Promise<void> {
  const result = await measureFailover({
    rounds: options.rounds,
    ships: FAILOVER_SHIPS,
    partitions: FAILOVER_PARTITIONS,
    heartbeatMs: HEARTBEAT_MS,
    checkpointEveryTicks: FAILOVER_CHECKPOINT_TICKS,
    secret,
    progress: (line) => progress(options, line),
  });
  for (const signal of ["SIGKILL", "SIGSTOP"] as KillSignal[]) {
    reportFailover(signal, result, report);
  }
  report.checks.push(
    {
      what: `failover: after ${result.samples.length} failovers every member left and the ` +
        `coordinator held ${result.shipsCounted} of the ${FAILOVER_SHIPS} ships setup spawned`,
      ok: result.shipsCounted === FAILOVER_SHIPS,
    },
    {
      what: `failover: ${result.conservedLines} of ${result.samples.length} failover log lines ` +
        `say "entity count conserved"`,
      ok: result.conservedLines === result.samples.length,
    },
    {
      what: `failover: ${result.spuriousFailures} live members failed by mistake (missed ` +
        `heartbeats on a busy machine)`,
      ok: result.spuriousFailures === 0,
    },
  );
  report.details.failover = {
    failureTimeoutMs: result.failureTimeoutMs,
    ships: FAILOVER_SHIPS,
    partitions: FAILOVER_PARTITIONS,
    checkpointEveryTicks: FAILOVER_CHECKPOINT_TICKS,
    samples: result.samples,
  };
}

function reportFailover(signal: KillSignal, result: FailoverResult, report: Report): void {
  const samples = result.samples.filter((s) => s.signal === signal);
  const caseName = `failover ${signal}`;
  const statusMs = median(samples.map((s) => s.statusMs));
  const logMs = median(samples.map((s) => s.logMs));
  const worst = Math.max(...samples.map((s) => s.statusMs));
  report.rows.push(
    { case: caseName, subject: "status", value: statusMs, unit: "ms" },
    { case: caseName, subject: "coordinator log", value: logMs, unit: "ms" },
    { case: caseName, subject: "status, worst", value: worst, unit: "ms" },
  );
  report.ratios[`${caseName}: status / 1 s target`] = statusMs / FAILOVER_TARGET_MS;
  report.ratios[`${caseName}: worst / 1 s target`] = worst / FAILOVER_TARGET_MS;
  const how = signal === "SIGKILL" ? "socket closed" : "missed heartbeats";
  report.table.push(
    [
      `${caseName} (${how})`,
      "status",
      formatNumber(statusMs),
      "ms",
      ratioText(statusMs / FAILOVER_TARGET_MS, "of 1 s"),
    ],
    ["", "coordinator log", formatNumber(logMs), "ms"],
    [
      "",
      "status, worst",
      formatNumber(worst),
      "ms",
      ratioText(worst / FAILOVER_TARGET_MS, "of 1 s"),
    ],
  );
}

// --- mac --------------------------------------------------------------------------------------

function macPart(options: Options, report: Report): void {
  const cost = measureMacCost(options.rounds);
  const transferMs = (TRANSFER_ENTITIES * ENTITY_WIRE_BYTES) / 1e6 / cost.bulkMbPerS * 1000;
  report.rows.push(
    { case: "frame MAC", subject: "heartbeat, seal + open", value: cost.heartbeatUs, unit: "µs" },
    { case: "frame MAC", subject: "bulk, seal + open", value: cost.bulkMbPerS, unit: "MB/s" },
    { case: "frame MAC", subject: "1,000,000-entity transfer", value: transferMs, unit: "ms" },
  );
  report.table.push(
    ["frame MAC (HMAC-SHA256)", "heartbeat, seal + open", formatNumber(cost.heartbeatUs, 2), "µs"],
    ["", "bulk, seal + open", formatNumber(cost.bulkMbPerS), "MB/s"],
    [
      "",
      "1,000,000 entities",
      formatNumber(transferMs),
      `ms of MAC (${formatNumber((TRANSFER_ENTITIES * ENTITY_WIRE_BYTES) / 1e6)} MB)`,
    ],
  );
  report.details.mac = cost;
}

// --- store ------------------------------------------------------------------------------------

/** Takeover targets by lease: the 2 s with the default lease, 0.5 s with 250 ms. */
const TAKEOVER_TARGETS_MS: readonly [leaseMs: number, targetMs: number][] = (process.env
  .STATICECS_BENCH_LEASES ?? "1000,250").split(",").map((ms) => [Number(ms), Number(ms) * 2]);
const STORE_SHIPS = 5_000;
const CHECKPOINT_ENTITIES = 1_000_000;
const CHECKPOINT_TARGET_PER_S = 1_000_000;

async function storePart(options: Options, secret: string, report: Report): Promise<void> {
  const redis = await startRedis();
  try {
    let db = 0;
    for (const [leaseMs, targetMs] of TAKEOVER_TARGETS_MS) {
      const result = await measureTakeover(redis, db++, {
        rounds: options.rounds,
        leaseMs,
        secret,
        ships: STORE_SHIPS,
        partitions: 16,
      }, (line) => progress(options, line));
      const leads = median(result.samples.map((s) => s.leadsMs));
      const back = median(result.samples.map((s) => s.membersBackMs));
      const worst = Math.max(...result.samples.map((s) => s.leadsMs));
      const caseName = `takeover, lease ${leaseMs} ms`;
      report.rows.push(
        { case: caseName, subject: "standby leads", value: leads, unit: "ms" },
        { case: caseName, subject: "standby leads, worst", value: worst, unit: "ms" },
        { case: caseName, subject: "members back", value: back, unit: "ms" },
      );
      report.ratios[`${caseName}: leads / ${targetMs} ms target`] = leads / targetMs;
      report.table.push(
        [
          `${caseName} (SIGKILL)`,
          "standby leads",
          formatNumber(leads),
          "ms",
          ratioText(leads / targetMs, `of ${targetMs} ms`),
        ],
        ["", "worst", formatNumber(worst), "ms", ratioText(worst / targetMs, `of ${targetMs} ms`)],
        ["", "3 members back", formatNumber(back), "ms"],
      );
      report.checks.push({
        what: `${caseName}: after ${result.samples.length} takeovers every member left and the ` +
          `leader held ${result.shipsCounted} of the ${STORE_SHIPS} ships`,
        ok: result.shipsCounted === STORE_SHIPS,
      });
      report.details[caseName] = { samples: result.samples, standDowns: result.standDowns };
      report.checks.push({
        what: `${caseName}: ${result.standDowns} stand-downs of a live leader (a renewal ` +
          `refused after a stall past the lease)`,
        ok: true,
      });
    }
    // Without ships: the cost of leases, heartbeats and empty checkpoints; with 5,000 ships
    // crossing between members: transfers and checkpoints written too.
    for (const ships of [0, STORE_SHIPS]) {
      const load = await measureRedisLoad(redis, db++, {
        secret,
        ships,
        windowMs: options.quick ? 2_000 : 5_000,
      });
      const commands = Object.values(load.commands).reduce((a, b) => a + b, 0);
      const scripts = load.commands.eval ?? 0;
      const caseName = `redis per heartbeat interval, ${ships} ships`;
      report.rows.push(
        { case: caseName, subject: "commands", value: commands, unit: "" },
        { case: caseName, subject: "round trips (scripts)", value: scripts, unit: "" },
        { case: caseName, subject: "bytes in", value: load.bytesIn, unit: "B" },
        { case: caseName, subject: "bytes out", value: load.bytesOut, unit: "B" },
      );
      const byName = Object.entries(load.commands).map(([n, c]) => `${n} ${formatNumber(c, 1)}`)
        .join(", ");
      report.table.push(
        [
          `redis per 100 ms heartbeat, ${ships} ships`,
          "commands",
          formatNumber(commands, 1),
          byName,
        ],
        [
          "3 members, 64 partitions",
          "bytes in / out",
          `${formatNumber(load.bytesIn)} / ${formatNumber(load.bytesOut)}`,
          "B",
        ],
      );
      report.details[caseName] = { ...load, logs: undefined };
    }
    const checkpoint = await measureCheckpoint(redis, {
      rounds: options.rounds,
      entities: CHECKPOINT_ENTITIES,
      partitions: 64,
    });
    const perS = median(checkpoint.perSecond);
    report.rows.push({
      case: "checkpoint into redis",
      subject: "64 partitions",
      value: perS,
      unit: "entities/s",
    });
    report.ratios["checkpoint into redis / 1,000,000 entities/s target"] = perS /
      CHECKPOINT_TARGET_PER_S;
    report.table.push([
      "checkpoint into redis (32 B)",
      `${formatNumber(CHECKPOINT_ENTITIES)} in 64 partitions`,
      formatNumber(perS),
      "entities/s",
      ratioText(perS / CHECKPOINT_TARGET_PER_S, "of 1M/s"),
    ]);
    report.checks.push({
      what: `checkpoint: read back ${checkpoint.counted} of ${CHECKPOINT_ENTITIES} entities`,
      ok: checkpoint.counted >= CHECKPOINT_ENTITIES,
    });
    report.details.checkpoint = checkpoint;
  } finally {
    await killAll();
    await redis.stop();
  }
}

// --- main -------------------------------------------------------------------------------------

function progress(options: Options, line: string): void {
  if (!options.json) console.error(`  ${line}`);
}

async function runParts(options: Options): Promise<Report> {
  const secret = randomBytes(16).toString("hex");
  const report = emptyReport();
  const started = performance.now();
  try {
    const run: Record<Part, () => Promise<void>> = {
      transfer: () => transferPart(options, secret, report),
      heartbeat: () => heartbeatPart(options, secret, report),
      failover: () => failoverPart(options, secret, report),
      mac: () => Promise.resolve(macPart(options, report)),
      store: () => storePart(options, secret, report),
    };
    for (const part of PARTS) if (options.parts.includes(part)) await run[part]();
  } finally {
    await killAll();
  }
  report.details.wallSeconds = (performance.now() - started) / 1000;
  return report;
}

function print(options: Options, report: Report): void {
  if (options.json) {
    printJson({
      bench: "cluster",
      runtime: runtimeName(),
      rounds: options.rounds,
      quick: options.quick,
      rows: report.rows,
      ratios: report.ratios,
      checks: report.checks,
      entityDataBytes: ENTITY_DATA_BYTES,
      entityWireBytes: ENTITY_WIRE_BYTES,
      details: report.details,
    });
    return;
  }
  console.log(
    `cluster benchmark on ${runtimeName()}, median of ${options.rounds} rounds ` +
      `(${formatNumber(report.details.wallSeconds as number, 0)} s)`,
  );
  console.log(
    `transfer: ${formatNumber(TRANSFER_ENTITIES)} entities of ${ENTITY_DATA_BYTES} B component ` +
      `data + 8 B ClusterId = ${ENTITY_WIRE_BYTES} B each on the wire; receiver in a child ` +
      `process; failover: heartbeat ${HEARTBEAT_MS} ms, ${FAILOVER_SHIPS} ships, ` +
      `${FAILOVER_PARTITIONS} partitions, 3 members`,
  );
  console.log(
    formatTable(["case", "subject", "median", "unit", "vs target", "vs baseline"], report.table),
  );
  for (const check of report.checks) console.log(`${check.ok ? "ok  " : "FAIL"} ${check.what}`);
}

/** A child's secret, from the environment its parent set. */
function childSecret(): string {
  const secret = process.env.STATICECS_SECRET;
  if (secret === undefined) throw new Error("--receiver and --coordinator need STATICECS_SECRET");
  return secret;
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (options.child === "receiver") {
    await serveReceiver(childSecret());
    return 0;
  }
  if (options.child === "coordinator") {
    await serveCoordinator(
      options.childArgs.partitions,
      options.childArgs.heartbeatMs,
      childSecret(),
    );
    return 0;
  }
  const report = await runParts(options);
  print(options, report);
  return report.checks.every((c) => c.ok) ? 0 : 1;
}

// Exit explicitly: a socket or timer left by a failed run must not keep the benchmark alive.
process.exit(await main());
