/**
 * Failover time of a real cluster: `staticecs cluster coordinator` with
 * 100 ms heartbeats (failure after the default 4 intervals) and three
 * `cluster join` members running examples/cluster_sim.ts, all child
 * processes of this runtime on loopback. Each round signals one member
 * that owns partitions, either SIGKILL (the kernel closes its socket: the
 * coordinator sees the connection close) or SIGSTOP (the process hangs with
 * its socket open: only missed heartbeats tell), and times two things:
 *
 * - status: from the signal to the first `cluster status` answer (polled
 *   every POLL_MS over a fresh authenticated connection, as the CLI does)
 *   in which every partition is "running" on a live member other than the
 *   victim. That is the coordinator's view: the assign frame has been
 *   queued to the new owner, which inserts it on its next turn.
 * - log: from the signal to the ISO timestamp of the coordinator's
 *   "member N failed" line, written once it has detected the failure and
 *   assigned every partition elsewhere (millisecond resolution).
 *
 * A stopped victim is killed once the failover is seen. A fresh member then
 * joins in its place and the next round waits for the cluster to settle on
 * three members again, with checkpoints since. After the last round every
 * member leaves (SIGTERM: a graceful handover each) and the coordinator,
 * now holding every partition, must count exactly the ships setup spawned.
 *
 * @module
 */

import { fetchStatus } from "../../cli/cluster.ts";
import type { ClusterStatus } from "../../cluster/protocol.ts";
import { type Child, CLI, ROOT, signalChild, sleep, spawnScript, until } from "./_cluster_child.ts";

/** Time between two status polls after a signal. */
const POLL_MS = 10;
/** Longest a failover may take before the round is abandoned as a failure. */
const FAILOVER_MS_MAX = 10_000;
/** Longest wait for start-up, settling or a graceful leave. */
export const SETTLE_MS_MAX = 60_000;
/** A status poll's own deadline. */
const STATUS_TIMEOUT_MS = 2_000;

/** How to run the failover rounds. */
export interface FailoverOptions {
  /** Rounds per signal; the signals alternate. */
  readonly rounds: number;
  readonly ships: number;
  readonly partitions: number;
  readonly heartbeatMs: number;
  readonly checkpointEveryTicks: number;
  readonly secret: string;
  readonly progress: (line: string) => void;
}

/** The signals a victim gets. */
export type KillSignal = "SIGKILL" | "SIGSTOP";

/** One failover. */
export interface FailoverSample {
  readonly signal: KillSignal;
  /** Signal to the first status showing every partition running elsewhere. */
  readonly statusMs: number;
  /** Signal to the coordinator's "member N failed" line. */
  readonly logMs: number;
  /** Status polls it took. */
  readonly polls: number;
  /** The coordinator's reason, as logged ("connection closed: ...", "no heartbeat for ..."). */
  readonly reason: string;
  /** Partitions the victim owned. */
  readonly partitionsMoved: number;
  /** Sum of the partitions' entity counts at the first good status (heartbeat figures). */
  readonly entitiesSeen: number;
}

/** What the rounds measured, with the checks. */
export interface FailoverResult {
  readonly samples: readonly FailoverSample[];
  readonly failureTimeoutMs: number;
  /** Ships the coordinator held after every member left: must equal `ships`. */
  readonly shipsCounted: number;
  /** "member N failed" lines for members that were not victims (a busy machine's false alarms). */
  readonly spuriousFailures: number;
  /** Failover lines that say the entity count was conserved, out of the rounds. */
  readonly conservedLines: number;
}

/** A member child process. */
export interface Member {
  readonly child: Child;
  /** Its id, once its "joined" line is out. */
  id(): number | undefined;
}

/**
 * Runs `2 * rounds` failovers (SIGKILL and SIGSTOP alternating) on one
 * cluster; kills every process it started before returning or throwing.
 *
 * @example
 * ```ts ignore
 * const result = await measureFailover({ rounds: 3, ships: 3000, partitions: 16,
 *   heartbeatMs: 100, checkpointEveryTicks: 30, secret, progress: console.error });
 * ```
 */
export async function measureFailover(options: FailoverOptions): Promise<FailoverResult> {
  const env = { STATICECS_SECRET: options.secret, STATICECS_SHIPS: String(options.ships) };
  const coordinator = startCoordinator([
    "--partitions",
    String(options.partitions),
    "--heartbeat-ms",
    String(options.heartbeatMs),
    "--checkpoint-every",
    String(options.checkpointEveryTicks),
  ], env);
  const members: Member[] = [];
  try {
    const port = await coordinator.port;
    const status = () => fetchStatus("127.0.0.1", port, options.secret, STATUS_TIMEOUT_MS);
    const join = () => {
      const member = startMember(port, env, `member ${members.length + 1}`);
      members.push(member);
      return member;
    };
    join();
    await settled(status, 1);
    join();
    join();
    const first = await settled(status, 3);
    const failureTimeoutMs = first.failureTimeoutMs;
    await sleep(1_000).promise; // crossings and checkpoints before the first kill
    const samples: FailoverSample[] = [];
    const victims = new Set<number>();
    for (let round = 0; round < 2 * options.rounds; round++) {
      const signal: KillSignal = round % 2 === 0 ? "SIGKILL" : "SIGSTOP";
      const sample = await failOne(signal, members, coordinator.child, status, victims);
      samples.push(sample);
      options.progress(
        `failover ${round + 1}/${2 * options.rounds} ${signal}: status ${
          sample.statusMs.toFixed(0)
        } ms, log ${sample.logMs} ms (${sample.reason})`,
      );
      join();
      await settled(status, 3);
      // Checkpoints of the new placement (checkpointEveryTicks at 60 Hz) before the next kill.
      await sleep(Math.max(300, (2 * options.checkpointEveryTicks * 1000) / 60)).promise;
    }
    const log = coordinator.child.stderr();
    const failed = [...log.matchAll(/coordinator: member (\d+) failed/g)].map((m) => Number(m[1]));
    const counted = await leaveAllAndCount(status, members);
    return {
      samples,
      failureTimeoutMs,
      shipsCounted: counted,
      spuriousFailures: failed.filter((id) => !victims.has(id)).length,
      conservedLines: [...log.matchAll(/entity count conserved/g)].length,
    };
  } catch (error) {
    const logs = [coordinator.child, ...members.map((m) => m.child)]
      .map((c) => `--- ${c.name}:\n${c.stderr().slice(-4000)}`).join("\n");
    throw new Error(`failover: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}

/**
 * Starts `staticecs cluster coordinator --listen 127.0.0.1:0` with `args`; `port` resolves once
 * it listens.
 *
 * @example
 * ```ts ignore
 * const coordinator = startCoordinator(["--partitions", "16"], { STATICECS_SECRET: secret });
 * const port = await coordinator.port;
 * ```
 */
export function startCoordinator(
  args: readonly string[],
  env: Record<string, string>,
): { child: Child; port: Promise<number> } {
  const child = spawnScript("coordinator", CLI, [
    "cluster",
    "coordinator",
    "--listen",
    "127.0.0.1:0",
    ...args,
  ], { cwd: ROOT, env });
  const port = until(
    "the coordinator to listen",
    () => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(child.stderr());
      return match === null ? undefined : Number(match[1]);
    },
    SETTLE_MS_MAX,
    20,
  );
  return { child, port };
}

/**
 * Starts `staticecs cluster join` on examples/cluster_sim.ts at 60 Hz.
 *
 * @example
 * ```ts ignore
 * const member = startMember(port, { STATICECS_SECRET: secret }, "member 1");
 * ```
 */
export function startMember(port: number, env: Record<string, string>, name: string): Member {
  const child = spawnScript(name, CLI, [
    "cluster",
    "join",
    `127.0.0.1:${port}`,
    "examples/cluster_sim.ts",
    "--hz",
    "60",
  ], { cwd: ROOT, env });
  return {
    child,
    id: () => Number(/member (\d+): joined/.exec(child.stderr())?.[1] ?? NaN) || undefined,
  };
}

/** Signals one member owning partitions and times the failover. */
async function failOne(
  signal: KillSignal,
  members: readonly Member[],
  coordinator: Child,
  status: () => Promise<ClusterStatus>,
  victims: Set<number>,
): Promise<FailoverSample> {
  const before = await status();
  const owners = new Set(before.partitions.map((p) => p.owner));
  // The oldest live member that owns partitions: every member is a victim in turn.
  const victim = members.find((m) => m.child.alive() && owners.has(m.id() ?? -1));
  if (victim === undefined) throw new Error("no live member owns a partition");
  const victimId = victim.id()!;
  victims.add(victimId);
  const partitionsMoved = before.partitions.filter((p) => p.owner === victimId).length;
  const signalWallMs = Date.now();
  const signalMs = performance.now();
  signalChild(victim.child, signal);
  let polls = 0;
  const after = await until(
    `partitions of member ${victimId} running elsewhere`,
    async () => {
      polls++;
      const s = await status();
      return movedOff(s, victimId) ? s : undefined;
    },
    FAILOVER_MS_MAX,
    POLL_MS,
  );
  const statusMs = performance.now() - signalMs;
  if (signal === "SIGSTOP") {
    signalChild(victim.child, "SIGKILL");
    signalChild(victim.child, "SIGCONT");
  }
  await until(
    `${victim.child.name} to exit`,
    async () => {
      const code = await Promise.race([victim.child.exited, sleep(100).promise.then(() => "wait")]);
      return code === "wait" ? undefined : true;
    },
    SETTLE_MS_MAX,
    0,
  );
  const line = new RegExp(`^(\\S+) coordinator: member ${victimId} failed \\((.*?)\\); `, "m");
  const logged = await until(
    `the coordinator's "member ${victimId} failed" line`,
    () => line.exec(coordinator.stderr()) ?? undefined,
    5_000,
    20,
  );
  return {
    signal,
    statusMs,
    logMs: Date.parse(logged[1]) - signalWallMs,
    polls,
    reason: logged[2],
    partitionsMoved,
    entitiesSeen: after.partitions.reduce((n, p) => n + p.entities, 0),
  };
}

/** Every partition running on a live member, none of them `victimId`. */
function movedOff(s: ClusterStatus, victimId: number): boolean {
  const live = new Set(
    s.members.filter((m) => m.id !== victimId && (m.state === "active" || m.state === "suspect"))
      .map((m) => m.id),
  );
  return s.partitions.every((p) => p.state === "running" && live.has(p.owner ?? -1));
}

/**
 * Waits until `count` live members run every partition, each some.
 *
 * @example
 * ```ts ignore
 * const s = await settled(() => fetchStatus("127.0.0.1", port, secret), 3);
 * ```
 */
export function settled(
  status: () => Promise<ClusterStatus>,
  count: number,
): Promise<ClusterStatus> {
  return until(
    `${count} members running every partition`,
    async () => {
      const s = await status();
      const live = s.members.filter((m) => m.state === "active" || m.state === "suspect");
      const ids = new Set(live.map((m) => m.id));
      const ok = live.length === count &&
        s.partitions.every((p) => p.state === "running" && ids.has(p.owner ?? -1)) &&
        live.every((m) => m.partitions.length > 0);
      return ok ? s : undefined;
    },
    SETTLE_MS_MAX,
    50,
  );
}

/**
 * Lets the live members go one by one (SIGTERM: a graceful leave each) and
 * returns the entities the coordinator then holds: with no member left,
 * every partition is parked there, so the count is exact.
 *
 * @example
 * ```ts ignore
 * const ships = await leaveAllAndCount(status, members);
 * ```
 */
export async function leaveAllAndCount(
  status: () => Promise<ClusterStatus>,
  members: readonly Member[],
): Promise<number> {
  for (const member of members) {
    if (!signalChild(member.child, "SIGTERM")) continue;
    await until(
      `${member.child.name} to leave`,
      async () => {
        const code = await Promise.race([
          member.child.exited,
          sleep(100).promise.then(() => "wait"),
        ]);
        return code === "wait" ? undefined : true;
      },
      SETTLE_MS_MAX,
      0,
    );
  }
  const parked = await until(
    "every partition parked",
    async () => {
      const s = await status();
      return s.partitions.every((p) => p.state === "parked") ? s : undefined;
    },
    SETTLE_MS_MAX,
    50,
  );
  return parked.partitions.reduce((n, p) => n + p.entities, 0);
}
