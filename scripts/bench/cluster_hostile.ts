/**
 * The cluster under hostile peers (issue 13): a real coordinator (`staticecs cluster
 * coordinator`, default settings, 16 partitions) and three members running
 * examples/cluster_sim.ts (20,000 ships), child processes of this runtime on loopback. Each case
 * runs one attack from tests/fixtures/hostile_peers.ts in a child process of its own for a
 * window (6 s, 3 s with --quick, however soon the coordinator cut the attack off), while this
 * process asks for `status` every POLL_MS over a fresh authenticated
 * connection (as `staticecs cluster status` does) and samples the coordinator's resident memory
 * (VmRSS in /proc) every POLL_MS.
 *
 * Per case: the worst, 95th percentile and median `status` latency (connect, handshake and
 * answer), failed status requests, the RSS at the start and at the peak of
 * the coordinator, and how many of the three members were failed (must be 0). The figure that
 * matters is the ratio to the idle case measured in the same run. The stall case stops the
 * coordinator (SIGSTOP) for STALL_MS and continues it; its latency counts only the requests
 * made after it continued. After the last case every member leaves, and the coordinator must
 * hold exactly the ships setup spawned.
 *
 * Each case runs once per round (3 rounds, 1 with --quick), the cases of a round one after
 * another; a latency figure is the median over the rounds of that round's figure, the RSS peak
 * the highest of the rounds.
 *
 * Usage:
 *   npx bun scripts/bench/cluster_hostile.ts [--json] [--quick] [--rounds N] [--only LIST]
 *   npx deno run -A scripts/bench/cluster_hostile.ts [same options]
 * `--only idle,stall,...` runs some cases (idle always runs). The attack children run this
 * script with `--attack NAME --port P --ms M`.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { fetchStatus } from "../../cli/cluster.ts";
import { generateSecret } from "../../cluster/auth.ts";
import type { ClusterStatus } from "../../cluster/protocol.ts";
import { joinMessage } from "../../cluster/member.ts";
import scene from "../../examples/cluster_sim.ts";
import {
  type AttackReport,
  BOMB_BYTES,
  elementBombs,
  idleAuthenticated,
  injectedFrames,
  manyConnections,
  memberBomb,
  oversizedFrames,
  replayedFrames,
  slowloris,
  type Target,
} from "../../tests/fixtures/hostile_peers.ts";
import { type Child, killAll, signalChild, sleep, spawnScript } from "./_cluster_child.ts";
import {
  leaveAllAndCount,
  type Member,
  settled,
  startCoordinator,
  startMember,
} from "./_cluster_failover.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  median,
  parseNames,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const SCRIPT = fileURLToPath(import.meta.url);
const PARTITIONS = 16;
const SHIPS = 20_000;
const MEMBERS = 3;
const POLL_MS = 20;
const STATUS_TIMEOUT_MS = 10_000;
const STALL_MS = 5_000;
const ATTACK_LINE = "@attack ";
const READY_LINE = "@ready";

/** What each attack does, in the attack child; `ms` is the case's window. */
const ATTACKS: Record<string, (target: Target, secret: string, ms: number) => Promise<unknown>> = {
  "oversized frame": (target, _, ms) => oversizedFrames(target, { connections: 1, ms }),
  "20 oversized frames": (target, _, ms) => oversizedFrames(target, { connections: 20, ms }),
  "element bombs": (target, _, ms) => elementBombs(target, { frameBytes: 1024, ms }),
  "connection flood": (target, _, ms) =>
    manyConnections(target, { connections: 2_000, perSecond: 1_000, ms }),
  "slowloris": (target, _, ms) => slowloris(target, { connections: 200, everyMs: 200, ms }),
  "replayed frames": (target, secret, ms) => replayedFrames(target, secret, { ms }),
  "injected frames": (target, secret, ms) => injectedFrames(target, secret, { ms }),
  "idle authenticated": (target, secret, ms) =>
    idleAuthenticated(target, secret, { connections: 50, ms }),
  "member element bomb": (target, secret, ms) =>
    memberBomb(target, secret, { join: joinMessage(scene), payloadBytes: BOMB_BYTES, ms }),
};

/** Cases in the order they run: the member's bomb, which leaves the heap grown, last. */
const CASES = [
  "idle",
  ...Object.keys(ATTACKS).filter((name) => name !== "member element bomb"),
  "stall",
  "member element bomb",
] as const;

/** One case's figures. */
interface CaseResult {
  readonly name: string;
  readonly statusMsWorst: number;
  readonly statusMsP95: number;
  readonly statusMsMedian: number;
  readonly statusRequests: number;
  readonly statusFailures: number;
  readonly rssMbPeak: number;
  /** RSS when the case began: the peak above it is what the case cost. */
  readonly rssMbStart: number;
  readonly membersFailed: number;
  readonly attack: unknown;
}

/** The coordinator and its members, and how to reach them. */
interface Cluster {
  readonly coordinator: Child;
  readonly members: Member[];
  readonly memberIds: number[];
  readonly port: number;
  readonly secret: string;
  readonly status: () => Promise<ClusterStatus>;
}

async function startCluster(secret: string): Promise<Cluster> {
  const env = { STATICECS_SECRET: secret, STATICECS_SHIPS: String(SHIPS) };
  const coordinator = startCoordinator(["--partitions", String(PARTITIONS)], env);
  const port = await coordinator.port;
  const status = () => fetchStatus("127.0.0.1", port, secret, STATUS_TIMEOUT_MS);
  const members: Member[] = [];
  const logs = () =>
    [coordinator.child, ...members.map((m) => m.child)]
      .map((c) => `--- ${c.name}:\n${c.stderr().slice(-3000)}`).join("\n");
  const s = await (async () => {
    for (let i = 0; i < MEMBERS; i++) {
      members.push(startMember(port, env, `member ${i + 1}`));
      await settled(status, i + 1);
    }
    return await settled(status, MEMBERS);
  })().catch((error) => {
    throw new Error(`${(error as Error).message}\n${logs()}`, { cause: error });
  });
  const memberIds = s.members.map((m) => m.id);
  return { coordinator: coordinator.child, members, memberIds, port, secret, status };
}

/** The coordinator's resident memory now, in MB (0 where /proc is missing). */
function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? 0 : Number(match[1]) / 1024;
  } catch {
    return 0;
  }
}

/** Asks for status every POLL_MS and samples RSS until `done` resolves. */
async function measureWhile(
  cluster: Cluster,
  done: Promise<unknown>,
  countFromMs: () => number,
): Promise<{ latencies: number[]; failures: number; rssMbPeak: number }> {
  let finished = false;
  void done.finally(() => finished = true);
  const pid = cluster.coordinator.process.pid!;
  let rssMbPeak = rssMb(pid);
  const sampler = setInterval(() => rssMbPeak = Math.max(rssMbPeak, rssMb(pid)), POLL_MS);
  const latencies: number[] = [];
  let failures = 0;
  try {
    while (!finished) {
      const startedMs = performance.now();
      const ok = await cluster.status().then(() => true, () => false);
      if (startedMs >= countFromMs()) {
        latencies.push(performance.now() - startedMs);
        if (!ok) failures++;
      }
      await sleep(POLL_MS).promise;
    }
  } finally {
    clearInterval(sampler);
  }
  return { latencies, failures, rssMbPeak: Math.max(rssMbPeak, rssMb(pid)) };
}

/**
 * Starts one attack in a child process; resolves once it is ready to attack, with a promise of
 * its report at the end of the window (`ms`).
 */
async function startAttack(
  cluster: Cluster,
  name: string,
  ms: number,
): Promise<{ done: Promise<unknown> }> {
  const child = spawnScript(`attack ${name}`, SCRIPT, [
    "--attack",
    name,
    "--port",
    String(cluster.port),
    "--ms",
    String(ms),
  ], { env: { STATICECS_SECRET: cluster.secret } });
  await child.nextLine(READY_LINE, 60_000);
  const done = child.nextLine(ATTACK_LINE, ms + 60_000).then(async (line) => {
    await child.exited;
    return JSON.parse(line);
  });
  return { done };
}

/** The stall case: SIGSTOP for STALL_MS, SIGCONT, then a window of the coordinator catching up. */
async function stall(cluster: Cluster, ms: number, resumed: { atMs: number }): Promise<unknown> {
  signalChild(cluster.coordinator, "SIGSTOP");
  await sleep(STALL_MS).promise;
  signalChild(cluster.coordinator, "SIGCONT");
  resumed.atMs = performance.now();
  await sleep(ms).promise;
  return { stoppedMs: STALL_MS };
}

async function runCase(cluster: Cluster, name: string, ms: number): Promise<CaseResult> {
  const failedBefore = failedMembers(cluster);
  const rssMbStart = rssMb(cluster.coordinator.process.pid!);
  const resumed = { atMs: 0 };
  const { done } = name === "idle"
    ? { done: sleep(ms).promise.then(() => ({})) }
    : name === "stall"
    ? { done: stall(cluster, ms, resumed) }
    : await startAttack(cluster, name, ms);
  const measured = await measureWhile(cluster, done, () => resumed.atMs);
  const attack = await done;
  // Past the attack: the three members back running every partition (or a clear failure).
  await settledOrLogs(cluster);
  const sorted = [...measured.latencies].sort((a, b) => a - b);
  return {
    name,
    statusMsWorst: sorted.at(-1) ?? NaN,
    statusMsP95: sorted[Math.floor(0.95 * (sorted.length - 1))] ?? NaN,
    statusMsMedian: median(sorted),
    statusRequests: sorted.length,
    statusFailures: measured.failures,
    rssMbPeak: measured.rssMbPeak,
    rssMbStart,
    membersFailed: failedMembers(cluster) - failedBefore,
    attack,
  };
}

/** "member N failed" lines of the coordinator for the three real members. */
function failedMembers(cluster: Cluster): number {
  const log = cluster.coordinator.stderr();
  return cluster.memberIds.filter((id) => new RegExp(`member ${id} failed`).test(log)).length;
}

function print(
  json: boolean,
  results: CaseResult[],
  shipsCounted: number,
  quick: boolean,
  rounds: number,
): void {
  const idle = results[0];
  const rows: Row[] = results.flatMap((r) => [
    { case: r.name, subject: "status worst", value: r.statusMsWorst, unit: "ms" },
    { case: r.name, subject: "status p95", value: r.statusMsP95, unit: "ms" },
    { case: r.name, subject: "status median", value: r.statusMsMedian, unit: "ms" },
    { case: r.name, subject: "coordinator RSS peak", value: r.rssMbPeak, unit: "MB" },
    { case: r.name, subject: "members failed", value: r.membersFailed, unit: "members" },
  ]);
  const ratios = Object.fromEntries(results.flatMap((r) => [
    [`${r.name}: status worst / idle`, r.statusMsWorst / idle.statusMsWorst],
    [`${r.name}: RSS peak / idle`, r.rssMbPeak / idle.rssMbPeak],
    [`${r.name}: status p95 / idle`, r.statusMsP95 / idle.statusMsP95],
  ]));
  const checks = [
    {
      what: `no case failed any of the ${MEMBERS} members`,
      ok: results.every((r) => r.membersFailed === 0),
    },
    {
      what: `after every case, every member left and the coordinator held ${shipsCounted} of ` +
        `the ${SHIPS} ships setup spawned`,
      ok: shipsCounted === SHIPS,
    },
  ];
  if (json) {
    printJson({
      bench: "cluster_hostile",
      rounds,
      runtime: runtimeName(),
      quick,
      rows,
      ratios,
      checks,
      cases: results,
    });
    return;
  }
  console.log(
    `cluster under hostile peers on ${runtimeName()}: coordinator with default settings, ` +
      `${PARTITIONS} partitions, ${MEMBERS} members, ${formatNumber(SHIPS)} ships; status every ` +
      `${POLL_MS} ms; latencies are medians over ${rounds} rounds of each round's figure, RSS ` +
      `the highest`,
  );
  console.log(formatTable(
    ["case", "status worst", "p95", "median", "failed", "RSS start", "RSS peak", "members failed"],
    results.map((r) => [
      r.name,
      `${formatNumber(r.statusMsWorst, 1)} ms`,
      `${formatNumber(r.statusMsP95, 1)} ms`,
      `${formatNumber(r.statusMsMedian, 1)} ms`,
      `${r.statusFailures}/${r.statusRequests}`,
      `${formatNumber(r.rssMbStart)} MB`,
      `${formatNumber(r.rssMbPeak)} MB`,
      String(r.membersFailed),
    ]),
  ));
  for (const check of checks) console.log(`${check.ok ? "ok  " : "FAIL"} ${check.what}`);
}

async function attackChild(name: string, port: number, ms: number): Promise<void> {
  const attack = ATTACKS[name];
  if (attack === undefined) throw new Error(`--attack: unknown attack "${name}"`);
  const secret = process.env.STATICECS_SECRET ?? "";
  const startedMs = performance.now();
  console.log(READY_LINE);
  const report = await attack({ host: "127.0.0.1", port }, secret, ms);
  // The window is the same for every case, however soon the coordinator cut the attack off.
  await sleep(Math.max(0, startedMs + ms - performance.now())).promise;
  console.log(ATTACK_LINE + JSON.stringify(report as AttackReport));
}

/** Waits until the three members run every partition; on a timeout, says what the logs say. */
async function settledOrLogs(cluster: Cluster): Promise<void> {
  try {
    await settled(cluster.status, MEMBERS);
  } catch (error) {
    const logs = [cluster.coordinator, ...cluster.members.map((m) => m.child)]
      .map((c) => `--- ${c.name}:\n${c.stderr().slice(-3000)}`).join("\n");
    throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
  }
}

async function main(): Promise<number> {
  const options = benchOptions({
    script: "cluster_hostile.ts",
    usage: "usage: cluster_hostile.ts [--json] [--quick] [--rounds N] [--only a,b]",
    rounds: { quick: 1, full: 3 },
    // --attack, --port and --ms: what the script passes a child that attacks.
    options: { only: "string", attack: "string", port: "string", ms: "string" },
  }, (args) => args);
  const { values, quick, rounds } = options;
  if (values.attack !== undefined) {
    await attackChild(values.attack, Number(values.port), Number(values.ms));
    return 0;
  }
  const only = parseNames("--only", values.only, CASES, "case");
  const cases = CASES.filter((c) => c === "idle" || only === undefined || only.includes(c));
  const ms = quick ? 3_000 : 6_000;
  const cluster = await startCluster(generateSecret());
  const byCase = new Map<string, CaseResult[]>(cases.map((name) => [name, []]));
  let shipsCounted = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const name of cases) {
        byCase.get(name)!.push(await runCase(cluster, name, ms));
        if (!options.json) console.error(`  round ${round}/${rounds}, ${name}: done`);
      }
    }
    shipsCounted = await leaveAllAndCount(cluster.status, cluster.members);
  } finally {
    await killAll();
  }
  print(options.json, [...byCase.values()].map(combine), shipsCounted, quick, rounds);
  return 0;
}

/** One case over the rounds: the median of each latency figure, the highest RSS, the sums. */
function combine(runs: readonly CaseResult[]): CaseResult {
  const mid = (pick: (r: CaseResult) => number) => median(runs.map(pick));
  return {
    name: runs[0].name,
    statusMsWorst: mid((r) => r.statusMsWorst),
    statusMsP95: mid((r) => r.statusMsP95),
    statusMsMedian: mid((r) => r.statusMsMedian),
    statusRequests: runs.reduce((n, r) => n + r.statusRequests, 0),
    statusFailures: runs.reduce((n, r) => n + r.statusFailures, 0),
    rssMbPeak: Math.max(...runs.map((r) => r.rssMbPeak)),
    rssMbStart: runs[0].rssMbStart,
    membersFailed: runs.reduce((n, r) => n + r.membersFailed, 0),
    attack: runs.map((r) => r.attack),
  };
}

// Exit explicitly: a socket or timer left by an attack must not keep the benchmark alive.
process.exit(await main());
