/**
 * What a member's heartbeats cost: bytes per frame, and coordinator CPU.
 *
 * Bytes: a heartbeat encoded as member.ts sends it (`encodeFrame`, length
 * prefix and MAC included; TCP/IP headers not), for a member of a 16-partition
 * cluster of three running cluster_sim's 20,000 ships an hour in.
 *
 * CPU: a coordinator child process (this script with `--coordinator`: the
 * Coordinator class on `tcpTransport()`, ticked every heartbeat / 4 as the
 * CLI does, its log discarded) reports `process.cpuUsage()` (user +
 * system, all its threads) on request. In the same child, windows of equal
 * length alternate: no member connected, then N members that do nothing
 * but heartbeat every 100 ms over their own authenticated TCP connections
 * (they live in this process, so their own cost is not counted). The
 * difference per second, divided by N, is what an idle member costs the
 * coordinator: heartbeat decoding, checking and bookkeeping, and its share
 * of failure detection. Members join and leave outside the windows.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { fetchStatus } from "../../cli/cluster.ts";
import { authenticate } from "../../cluster/auth.ts";
import { emptyBatch } from "../../cluster/batch.ts";
import { Coordinator } from "../../cluster/coordinator.ts";
import { encodeFrame, FRAME_HEADER_BYTES } from "../../cluster/_frame.ts";
import { FrameSession, MAC_BYTES } from "../../cluster/_session.ts";
import { tcpTransport } from "../../cluster/tcp.ts";
import { type Connection, DEFAULT_LIMITS } from "../../cluster/transport.ts";
import { sleep, spawnScript, until } from "./_cluster_child.ts";
import { median } from "./_harness.ts";

/** Prefix of the coordinator child's answers on stdout. */
const ANSWER = "@bench ";
const ANSWER_TIMEOUT_MS = 30_000;

/**
 * Bytes of one heartbeat frame of a member owning `owned` partitions with
 * `entitiesPerPartition` each, at `tick`, as member.ts builds it.
 *
 * @example
 * ```ts
 * import { heartbeatFrameBytes } from "./_cluster_heartbeat.ts";
 * heartbeatFrameBytes(5, 1250, 216_000) > 20; // true
 * ```
 */
export function heartbeatFrameBytes(
  owned: number,
  entitiesPerPartition: number,
  tick: number,
): number {
  return encodeFrame(
    heartbeatMessage(owned, entitiesPerPartition, tick),
    DEFAULT_LIMITS.frameBytesMax,
    MAC_BYTES,
  ).length;
}

/** A heartbeat as member.ts builds it (see heartbeatFrameBytes). */
function heartbeatMessage(owned: number, entitiesPerPartition: number, tick: number) {
  const counts: [number, number][] = [];
  for (let k = 0; k < owned; k++) counts.push([3 * k, entitiesPerPartition]);
  // A mean of real tick times: a double, never a small integer.
  return { t: "heartbeat", tick, counts, tickMsMean: 0.3712 };
}

/** What authenticating every frame costs, measured in this process. */
export interface MacCost {
  /** Sealing one heartbeat frame and opening it (both ends' work), per frame. */
  readonly heartbeatUs: number;
  /** Bytes sealed and opened per second, in frames the size of a 62,500-entity transfer. */
  readonly bulkMbPerS: number;
}

/**
 * Times FrameSession.seal and open (HMAC-SHA256 of the sequence number and payload) over a
 * heartbeat frame of a member owning 5 of 16 partitions, and over 2.5 MB transfer-sized frames;
 * the medians of `rounds` rounds.
 *
 * @example
 * ```ts ignore
 * const cost = measureMacCost(5); // { heartbeatUs: 4.1, bulkMbPerS: 900 }
 * ```
 */
export function measureMacCost(rounds: number): MacCost {
  const key = new Uint8Array(32).fill(7);
  const sender = new FrameSession({ send: key, receive: key });
  const receiver = new FrameSession({ send: key, receive: key });
  const roundTrip = (frame: Uint8Array, times: number) => {
    const started = performance.now();
    for (let i = 0; i < times; i++) {
      sender.seal(frame);
      receiver.open(frame.subarray(FRAME_HEADER_BYTES), "bench");
    }
    return performance.now() - started;
  };
  const heartbeat = encodeFrame(heartbeatMessage(5, 1250, 216_000), 1024, MAC_BYTES);
  const bulk = new Uint8Array(FRAME_HEADER_BYTES + 2_500_000 + MAC_BYTES);
  roundTrip(heartbeat, 2_000); // warm-up
  const heartbeatUs: number[] = [], bulkMbPerS: number[] = [];
  for (let round = 0; round < rounds; round++) {
    heartbeatUs.push((roundTrip(heartbeat, 20_000) * 1000) / 20_000);
    bulkMbPerS.push((bulk.length * 20) / 1e6 / (roundTrip(bulk, 20) / 1000));
  }
  return { heartbeatUs: median(heartbeatUs), bulkMbPerS: median(bulkMbPerS) };
}

/** How to measure coordinator CPU. */
export interface HeartbeatOptions {
  readonly members: number;
  readonly partitions: number;
  readonly heartbeatMs: number;
  readonly windowMs: number;
  readonly rounds: number;
  readonly script: string;
  readonly secret: string;
  readonly progress: (line: string) => void;
}

/** Coordinator CPU in windows without and with members. */
export interface HeartbeatResult {
  /** CPU ms per second of wall time, per window. */
  readonly idleCpuMsPerS: readonly number[];
  readonly membersCpuMsPerS: readonly number[];
  /** Heartbeats sent per second during each members window. */
  readonly heartbeatsPerS: readonly number[];
  /** Heartbeats the coordinator's status shows it took, over those sent (the last one may be in flight). */
  readonly heartbeatsSeen: number;
  readonly heartbeatsSent: number;
}

/**
 * Runs `rounds` pairs of windows (idle, then `members` heartbeating) on one
 * coordinator child; kills it before returning or throwing.
 *
 * @example
 * ```ts ignore
 * const result = await measureHeartbeatCpu({ members: 32, partitions: 64, heartbeatMs: 100,
 *   windowMs: 2000, rounds: 3, script, secret, progress: console.error });
 * ```
 */
export async function measureHeartbeatCpu(options: HeartbeatOptions): Promise<HeartbeatResult> {
  const child = spawnScript("heartbeat coordinator", options.script, [
    "--coordinator",
    "--partitions",
    String(options.partitions),
    "--heartbeat-ms",
    String(options.heartbeatMs),
  ], { env: { STATICECS_SECRET: options.secret } });
  const ask = async (command: string) => {
    child.process.stdin!.write(command + "\n");
    return JSON.parse(await child.nextLine(ANSWER, ANSWER_TIMEOUT_MS));
  };
  const cpuMs = async () => {
    const usage = await ask("cpu") as { user: number; system: number };
    return (usage.user + usage.system) / 1000;
  };
  const window = async () => {
    const cpuBefore = await cpuMs(), started = performance.now();
    await sleep(options.windowMs).promise;
    const cpuAfter = await cpuMs();
    return ((cpuAfter - cpuBefore) * 1000) / (performance.now() - started);
  };
  try {
    const port = Number(await child.nextLine(ANSWER + "port ", 60_000));
    const idle: number[] = [], busy: number[] = [], rates: number[] = [];
    let seen = 0, sent = 0;
    // Round 0 warms the coordinator up (JIT, its first joins and failovers) and is not kept.
    for (let round = 0; round <= options.rounds; round++) {
      const measured = await windowPair(options, port, window);
      if (round === 0) continue;
      idle.push(measured.idle);
      busy.push(measured.busy);
      rates.push(measured.heartbeatsPerS);
      seen += measured.seen;
      sent += measured.sent;
      options.progress(
        `heartbeat round ${round}/${options.rounds}: idle ${measured.idle.toFixed(2)} ms/s, ` +
          `${options.members} members ${measured.busy.toFixed(2)} ms/s`,
      );
    }
    return {
      idleCpuMsPerS: idle,
      membersCpuMsPerS: busy,
      heartbeatsPerS: rates,
      heartbeatsSeen: seen,
      heartbeatsSent: sent,
    };
  } finally {
    if (child.alive()) child.process.stdin!.end("quit\n");
    await Promise.race([child.exited, sleep(5_000).promise]);
  }
}

/** One idle window, then one with members heartbeating; members join and leave outside both. */
async function windowPair(
  options: HeartbeatOptions,
  port: number,
  window: () => Promise<number>,
): Promise<{ idle: number; busy: number; heartbeatsPerS: number; seen: number; sent: number }> {
  const idle = await window();
  const members = await joinIdleMembers(options, port);
  const sentBefore = members.reduce((n, m) => n + m.heartbeats, 0);
  const started = performance.now();
  const busy = await window();
  const sentInWindow = members.reduce((n, m) => n + m.heartbeats, 0) - sentBefore;
  const heartbeatsPerS = (sentInWindow * 1000) / (performance.now() - started);
  const status = await fetchStatus("127.0.0.1", port, options.secret);
  let seen = 0, sent = 0;
  for (const member of members) {
    seen += status.members.find((m) => m.id === member.id)?.tick ?? 0;
    sent += member.heartbeats;
    member.close();
  }
  // Their connections close: the coordinator fails them, outside the next window.
  await until(
    "the members to be gone",
    async () => {
      const s = await fetchStatus("127.0.0.1", port, options.secret);
      return s.members.every((m) => m.state === "failed" || m.state === "left") || undefined;
    },
    10_000,
    50,
  );
  return { idle, busy, heartbeatsPerS, seen, sent };
}

/**
 * A member that only heartbeats: it answers assign and revoke as a member
 * does (revoke with an empty handoff), and seeds the cluster with an empty
 * checkpoint if it is asked to run setup. Its heartbeat's tick counts the
 * heartbeats it sent, so the coordinator's status shows how many it took.
 */
class IdleMember {
  id = 0;
  heartbeats = 0;
  readonly #connection: Connection;
  readonly #owned = new Set<number>();
  readonly #partitions: number;
  #seeding = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(connection: Connection, partitions: number) {
    this.#connection = connection;
    this.#partitions = partitions;
  }

  start(heartbeatMs: number): void {
    this.#connection.onMessage = (message) => this.#onMessage(message);
    this.#connection.onClose = () => clearInterval(this.#timer);
    this.#connection.send({ t: "join", scene: "bench_idle", components: [], fieldBytes: [] });
    this.#timer = setInterval(() => this.#heartbeat(), heartbeatMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#connection.close("benchmark window over");
  }

  #heartbeat(): void {
    if (this.#connection.closed || this.id === 0) return;
    const counts = [...this.#owned].map((p) => [p, 1250]);
    this.heartbeats++;
    this.#connection.send({ t: "heartbeat", tick: this.heartbeats, counts, tickMsMean: 0.3712 });
  }

  #onMessage(message: { readonly t: string; readonly [key: string]: unknown }): void {
    if (message.t === "welcome") {
      this.id = message.memberId as number;
      this.#seeding = message.runSetup === true;
    } else if (message.t === "assign") {
      this.#owned.add(message.partition as number);
      if (this.#seeding && this.#owned.size === this.#partitions) {
        this.#seeding = false;
        const parts = [...this.#owned].map((partition) => ({ partition, state: emptyBatch() }));
        this.#connection.send({ t: "checkpoint", tick: 0, appliedSeq: 0, parts });
      }
    } else if (message.t === "revoke") {
      const partition = message.partition as number;
      this.#owned.delete(partition);
      this.#connection.send({ t: "transfer", partition, state: emptyBatch(), handoff: true });
    }
  }
}

async function joinIdleMembers(options: HeartbeatOptions, port: number): Promise<IdleMember[]> {
  const members: IdleMember[] = [];
  for (let i = 0; i < options.members; i++) {
    const connection = await tcpTransport().connect("127.0.0.1", port);
    await authenticate(connection, { secret: options.secret });
    const member = new IdleMember(connection, options.partitions);
    member.start(options.heartbeatMs);
    members.push(member);
  }
  await until(
    `${options.members} members running every partition`,
    async () => {
      const s = await fetchStatus("127.0.0.1", port, options.secret);
      const live = s.members.filter((m) => m.state === "active").length;
      return live === options.members && s.partitions.every((p) => p.state === "running") ||
        undefined;
    },
    20_000,
    50,
  );
  // Joins and rebalancing done; the next window sees heartbeats only.
  await sleep(2 * options.heartbeatMs).promise;
  return members;
}

/**
 * The coordinator child: a Coordinator on TCP as `staticecs cluster
 * coordinator` runs it (log discarded), answering `cpu` with its
 * process.cpuUsage() and stopping on `quit` or the end of stdin.
 *
 * @example
 * ```ts ignore
 * await serveCoordinator(64, 100, secret);
 * ```
 */
export async function serveCoordinator(
  partitions: number,
  heartbeatMs: number,
  secret: string,
): Promise<void> {
  const coordinator = new Coordinator({ partitions, secret, heartbeatIntervalMs: heartbeatMs });
  const listener = await coordinator.listen(tcpTransport(), "127.0.0.1", 0);
  const timer = setInterval(() => coordinator.tick(), Math.max(5, heartbeatMs / 4));
  const answer = (value: unknown) => console.log(ANSWER + JSON.stringify(value));
  console.log(`${ANSWER}port ${listener.port}`);
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (line === "cpu") answer(process.cpuUsage());
      else if (line === "quit") break;
    }
  } finally {
    clearInterval(timer);
    await coordinator.close("benchmark over");
  }
}
