/**
 * The cluster inspector: `staticecs cluster coordinator --inspect
 * [HOST:PORT]` serves a page of the cluster: its members (state, last
 * heartbeat, tick rate, load), its partitions as a grid coloured by owner
 * with entity counts, and a log of failovers, handoffs and transfers with
 * their timings.
 *
 * The model. Everything comes from the coordinator, which knows it anyway:
 * `status()` (what `staticecs cluster status` prints), read a few times a
 * second on a timer, and its `onEvent` hook, which hears each revoke,
 * transfer and failover as it happens. A handoff's time is from the revoke
 * to the arrival of the partition's entities; transfers between partitions
 * are summed per second; joins, leaves and state changes are read off
 * consecutive status samples. The page is read-only: there is nothing to
 * control. Who may read it follows the run inspector's rule (`_guard.ts`):
 * anyone on the machine over loopback, only the token's holders otherwise.
 *
 * @module
 */

import type { Coordinator, CoordinatorEvent } from "../cluster/coordinator.ts";
import type { ClusterStatus } from "../cluster/protocol.ts";
import { formatHostPort } from "../cluster/transport.ts";
import { Guard, newToken } from "./_guard.ts";
import { type HttpServer, serveHttp } from "./http.ts";
import type { ClusterHello, ClusterState, LogEntry } from "./messages.ts";
import { CLUSTER_PAGE_ASSETS } from "./page/cluster_page.ts";
import { siteHandler } from "./_site.ts";
import { LiveStream } from "./_stream.ts";

/** Where `cluster coordinator --inspect` listens when given no address. */
export const DEFAULT_CLUSTER_INSPECT_ADDRESS = "127.0.0.1:7478";
/** Milliseconds between two cluster samples (about 4 a second). */
export const CLUSTER_SAMPLE_INTERVAL_MS = 250;
/** Log entries kept for pages that open later (the newest). */
export const LOG_KEPT_MAX = 500;
/** Milliseconds of transfers summed into one log entry. */
export const TRANSFER_SUMMARY_MS = 1000;
/** Milliseconds over which a member's tick rate is measured. */
export const RATE_WINDOW_MS = 1000;

/**
 * A running cluster inspector.
 *
 * @example
 * ```ts ignore
 * const log = new ClusterLog();
 * const coordinator = new Coordinator({ partitions: 16, secret, onEvent: log.onEvent });
 * const inspector = await ClusterInspector.start({ host: "127.0.0.1", port: 7478, coordinator, log });
 * ```
 */
export class ClusterInspector {
  readonly token: string;
  readonly server: HttpServer;
  private readonly stream: LiveStream;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    token: string,
    server: HttpServer,
    stream: LiveStream,
    timer: ReturnType<typeof setInterval>,
  ) {
    this.token = token;
    this.server = server;
    this.stream = stream;
    this.timer = timer;
  }

  /** Starts listening and sampling; rejects if the address cannot be bound. */
  static async start(options: {
    readonly host: string;
    readonly port: number;
    readonly coordinator: Coordinator;
    readonly log: ClusterLog;
    readonly token?: string;
  }): Promise<ClusterInspector> {
    const token = options.token ?? newToken();
    const guard = new Guard(options.host, token);
    const { coordinator, log } = options;
    const stream = new LiveStream(() => hello(coordinator, log, guard.loopback));
    const site = { assets: CLUSTER_PAGE_ASSETS, stream, routes: {}, isBadRequest: () => false };
    const server = await serveHttp(options.host, options.port, siteHandler(site, guard));
    const sampler = new ClusterSampler(coordinator, log);
    log.onEntries = (entries) => stream.send({ type: "log", entries });
    const timer = setInterval(() => {
      const state = sampler.sample();
      stream.send(state);
    }, CLUSTER_SAMPLE_INTERVAL_MS);
    return new ClusterInspector(token, server, stream, timer);
  }

  /** The page's address. */
  get url(): string {
    return `http://${formatHostPort(this.server.host, this.server.port)}/`;
  }

  /** The line to print at start. */
  banner(): string {
    return `inspector on ${this.url} (read-only; from another machine, open ` +
      `${this.url}#token=${this.token})`;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.stream.closeAll();
    await this.server.close();
  }
}

function hello(coordinator: Coordinator, log: ClusterLog, loopback: boolean): ClusterHello {
  const status = coordinator.status();
  return {
    type: "hello",
    kind: "cluster",
    partitions: coordinator.settings.partitions,
    heartbeatIntervalMs: status.heartbeatIntervalMs,
    failureTimeoutMs: status.failureTimeoutMs,
    checkpointEveryTicks: status.checkpointEveryTicks,
    readNeedsToken: !loopback,
    log: [...log.entries],
  };
}

/**
 * The cluster's log: handoffs with their times, failovers, transfers summed
 * per second, and what status samples show changed. Bounded (LOG_KEPT_MAX).
 *
 * @example
 * ```ts
 * import { ClusterLog } from "./cluster_inspector.ts";
 * const log = new ClusterLog();
 * log.onEvent({ kind: "revoke", partition: 3, member: 1, to: 2 });
 * log.onEvent({ kind: "transfer", partition: 3, member: 1, entities: 40, handoff: true });
 * log.entries[0].text; // "partition 3: handed over by member 1 for member 2 (40 entities)"
 * ```
 */
export class ClusterLog {
  readonly entries: LogEntry[] = [];
  /** Where new entries go once the inspector runs. */
  onEntries: (entries: readonly LogEntry[]) => void = () => {};
  /** Per partition being handed over: when, and to whom. */
  private readonly revoked = new Map<number, { atMs: number; to: number | null }>();
  private transferEntities = 0;
  private transferFrames = 0;
  private transferPartitions = new Set<number>();
  private transferSince = performance.now();

  /** The coordinator's `onEvent` hook. */
  readonly onEvent = (event: CoordinatorEvent): void => {
    const nowMs = performance.now();
    if (event.kind === "revoke") {
      this.revoked.set(event.partition, { atMs: nowMs, to: event.to });
    } else if (event.kind === "transfer" && event.handoff) {
      const revoke = this.revoked.get(event.partition);
      this.revoked.delete(event.partition);
      const to = revoke?.to === null || revoke === undefined ? "" : ` for member ${revoke.to}`;
      this.add(
        "handoff",
        `partition ${event.partition}: handed over by member ${event.member}${to} ` +
          `(${event.entities} entities)`,
        revoke === undefined ? null : nowMs - revoke.atMs,
      );
    } else if (event.kind === "transfer") {
      this.transferEntities += event.entities;
      this.transferFrames++;
      this.transferPartitions.add(event.partition);
    } else {
      const parts = event.partitions.length === 0 ? "none" : event.partitions.join(", ");
      this.add(
        "failover",
        `member ${event.member} failed (${event.reason}); its partitions ${parts} restart ` +
          `elsewhere ${event.loss}`,
        null,
      );
    }
  };

  /** Adds what changed between two status samples, and the transfers of the last second. */
  observe(before: ClusterStatus | undefined, after: ClusterStatus): void {
    const nowMs = performance.now();
    if (nowMs - this.transferSince >= TRANSFER_SUMMARY_MS && this.transferFrames > 0) {
      const into = [...this.transferPartitions].sort((a, b) => a - b).join(", ");
      this.add(
        "transfer",
        `${this.transferEntities} entities crossed between members in ${this.transferFrames} ` +
          `frames (into partitions ${into})`,
        nowMs - this.transferSince,
      );
      this.transferEntities = 0;
      this.transferFrames = 0;
      this.transferPartitions = new Set();
      this.transferSince = nowMs;
    } else if (this.transferFrames === 0) {
      this.transferSince = nowMs;
    }
    const old = new Map((before?.members ?? []).map((m) => [m.id, m]));
    for (const member of after.members) {
      const was = old.get(member.id);
      if (was === undefined && before !== undefined && member.state !== "failed") {
        this.add("info", `member ${member.id} joined from ${member.address}`, null);
      } else if (was !== undefined && was.state !== member.state && member.state !== "failed") {
        this.add("info", `member ${member.id}: ${was.state} -> ${member.state}`, null);
      }
    }
  }

  private add(kind: string, text: string, ms: number | null): void {
    const entry = {
      atMs: Date.now(),
      kind,
      text,
      ms: ms === null ? null : Math.round(ms * 10) / 10,
    };
    this.entries.push(entry);
    if (this.entries.length > LOG_KEPT_MAX) this.entries.shift();
    this.onEntries([entry]);
  }
}

/** Turns status samples into the cluster message: tick rates and loads per member. */
class ClusterSampler {
  private readonly coordinator: Coordinator;
  private readonly log: ClusterLog;
  private readonly startedMs = performance.now();
  private last: ClusterStatus | undefined;
  /** Per member: a (time, tick) at least RATE_WINDOW_MS old, and the newest. */
  private readonly rates = new Map<number, { atMs: number; tick: number; rate: number }>();

  constructor(coordinator: Coordinator, log: ClusterLog) {
    this.coordinator = coordinator;
    this.log = log;
  }

  sample(): ClusterState {
    const status = this.coordinator.status();
    this.log.observe(this.last, status);
    const transfersBefore = this.last?.transfers.entities ?? 0;
    this.last = status;
    const nowMs = performance.now();
    for (const id of this.rates.keys()) {
      if (!status.members.some((m) => m.id === id)) this.rates.delete(id);
    }
    const members = status.members.map((m) => {
      const ticksPerSecond = this.rate(m.id, m.tick, nowMs);
      const load = Math.round(m.tickMsMean * ticksPerSecond / 10) / 100;
      return { ...m, ticksPerSecond, load };
    });
    return {
      type: "cluster",
      tMs: nowMs - this.startedMs,
      uptimeMs: status.uptimeMs,
      members,
      partitions: status.partitions,
      transfers: {
        ...status.transfers,
        entitiesPerSecond: Math.round(
          (status.transfers.entities - transfersBefore) * 1000 / CLUSTER_SAMPLE_INTERVAL_MS,
        ),
      },
      failovers: status.failovers,
    };
  }

  private rate(member: number, tick: number, nowMs: number): number {
    const seen = this.rates.get(member);
    if (seen === undefined) {
      this.rates.set(member, { atMs: nowMs, tick, rate: 0 });
      return 0;
    }
    if (nowMs - seen.atMs < RATE_WINDOW_MS) return seen.rate;
    const rate = Math.round((tick - seen.tick) * 10000 / (nowMs - seen.atMs)) / 10;
    this.rates.set(member, { atMs: nowMs, tick, rate: Math.max(0, rate) });
    return Math.max(0, rate);
  }
}
