/**
 * The cluster coordinator: membership, the map of P partitions to members,
 * failure detection from heartbeats, routing of entities between
 * partitions, and the state needed to bring a failed member's partitions
 * back elsewhere.
 *
 * What it keeps per partition is a base state (the last checkpoint, or the
 * state it was assigned with) and, per member, a log of what happened since
 * that member's last checkpoint: entities forwarded to it (arrivals, with a
 * sequence number) and ids of entities it sent away (departures). A member's
 * checkpoint is a consistent cut: every partition it owns at one tick, with
 * the last arrival it had applied. To restore a failed member's partition,
 * the coordinator replays the log over the base: arrivals into it added,
 * departures removed, so the entity count is conserved exactly and the
 * state of each entity is at most one checkpoint interval old. A graceful
 * leave (or a rebalance) hands over live state instead: revoke, the member
 * answers with the partition's entities, the coordinator assigns them on.
 * Entities bound for a partition that is being handed over, or that has no
 * member, wait in the coordinator (held) and go with the next assign.
 *
 * The coordinator trusts nothing it receives: every message is checked
 * (protocol.ts) and a bad one closes that connection only.
 *
 * This file is the side that faces connections: admission, joins and rejoins, messages, and
 * failure detection. Who owns each partition and how partitions move (assign, revoke, handoff,
 * rebalance, failover, routing) is _ownership.ts; the records it keeps and how they reach the
 * store are _coordinator_state.ts and _journal.ts.
 *
 * @module
 */

import { Admission } from "./_admission.ts";
import { checkSecret, PROTOCOL_VERSION } from "./auth.ts";
import { batchCount } from "./batch.ts";
import { ClusterError } from "./errors.ts";
import { type ClusterLimits, resolveClusterLimits } from "./limits.ts";
import { ProgressClock } from "./_progress_clock.ts";
import { Journal, send as trySend } from "./_journal.ts";
import { type ClusterStore, MemoryStore, type StoredCluster } from "./store.ts";
import type { CoordinatorEvent, CoordinatorOptions } from "./coordinator_options.ts";
import { CLOSE_GRACE_MS, closeWhenSent, withDeadline } from "./_closing.ts";
import { Ownership } from "./_ownership.ts";

export type { CoordinatorEvent, CoordinatorOptions };
import {
  measureRate,
  type Member,
  newMember,
  partitionList,
  restoreFromStore,
  StateWriter,
} from "./_coordinator_state.ts";
import {
  checkMemberMessage,
  type ClusterSettings,
  type ClusterStatus,
  type CoordinatorMessage,
  type MemberMessage,
  type MemberStatus,
  type RawMessage,
  SceneLayout,
} from "./protocol.ts";
import { type Connection, type Listener, type Transport, transportLimitsOf } from "./transport.ts";

/** What the coordinator sends: to members, and to status clients. */
type Outgoing =
  | CoordinatorMessage
  | { readonly t: "status"; readonly status: ClusterStatus }
  | { readonly t: "error"; readonly message: string };

/**
 * Runs the cluster's control plane over any transport.
 *
 * @example
 * ```ts
 * import { Coordinator } from "./coordinator.ts";
 * import { MemoryTransport } from "./memory_transport.ts";
 * const coordinator = new Coordinator({ partitions: 8, secret: "correct horse battery staple" });
 * // tcpTransport() and "127.0.0.1", 7400 between processes
 * await coordinator.listen(new MemoryTransport(), "memory", 0);
 * const ticks = setInterval(() => coordinator.tick(), 100); // failure detection
 * coordinator.status().partitions.length; // 8, parked until a member joins
 * clearInterval(ticks);
 * await coordinator.close();
 * ```
 */
export class Coordinator {
  readonly settings: ClusterSettings;
  readonly limits: ClusterLimits;
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  /** Time that counts against members' silence: the coordinator's own stalls left out. */
  private readonly progress: ProgressClock;
  private readonly admission: Admission;
  /** Its members and partitions, and how partitions move among them (_ownership.ts). */
  private readonly ownership: Ownership;
  private readonly startedMs: number;
  private nextMemberId = 1;
  /**
   * The cluster scene's components and field sizes: the first member's, settled once setup has
   * checkpointed. Until then a cluster left with no member forgets it.
   */
  private layout: SceneLayout | undefined;
  private listener: Listener | undefined;
  private closing = false;
  private readonly onEvent: ((event: CoordinatorEvent) => void) | undefined;
  /** The leader epoch its writes carry. */
  readonly epoch: number;
  readonly store: ClusterStore;
  private readonly journal: Journal;
  private readonly writer: StateWriter;
  private readonly onStandDown: ((reason: string) => void) | undefined;
  private readonly address: string | null;

  constructor(options: CoordinatorOptions) {
    this.limits = resolveClusterLimits(options);
    checkSecret(options.secret, "secret");
    this.settings = {
      partitions: this.limits.partitions,
      heartbeatIntervalMs: this.limits.heartbeatIntervalMs,
      checkpointEveryTicks: this.limits.checkpointEveryTicks,
      seed: options.seed ?? 0,
      // Members of a shared store look for another coordinator once this one is silent past
      // its lease and two heartbeats; with the memory store there is none to look for.
      coordinatorSilenceMs: options.store?.shared === true
        ? (options.leaseMs ?? this.limits.leaseMs) + 2 * this.limits.heartbeatIntervalMs
        : 0,
    };
    this.log = options.log ?? (() => {});
    this.clock = options.clock ?? (() => performance.now());
    this.onEvent = options.onEvent;
    this.startedMs = this.clock();
    // A tick comes every heartbeat / 4 or so: one a whole interval late means a stall.
    this.progress = new ProgressClock(this.startedMs, this.limits.heartbeatIntervalMs);
    this.admission = new Admission({
      secret: options.secret,
      limits: this.limits,
      log: this.log,
      onFirstMessage: (connection, raw) => this.firstMessage(connection, raw),
    });
    this.store = options.store ?? new MemoryStore();
    this.epoch = options.epoch ?? 0;
    this.onStandDown = options.onStandDown;
    this.address = options.address ?? null;
    this.journal = new Journal(this.store, this.epoch, (error) => this.standDown(error.message));
    this.writer = new StateWriter(this.journal, (m) => this.ownership.members.get(m.id) === m);
    this.ownership = new Ownership({
      settings: this.settings,
      limits: this.limits,
      writer: this.writer,
      log: this.log,
      onEvent: this.onEvent,
      post: (member, message) => this.post(member, message),
      markMeta: () => this.markMeta(),
      progressNow: () => this.progress.now(this.clock()),
      retired: () => this.forgetUnseededScene(),
    });
    if (options.restored?.meta !== undefined) this.adopt(options.restored);
    else this.markMeta();
  }

  /** Silence after which a member is failed (limits.failureTimeoutMs). */
  get failureTimeoutMs(): number {
    return this.limits.failureTimeoutMs;
  }

  /**
   * Listens on host:port with the limits' transport bounds; every connection must authenticate
   * and then speak first, each within handshakeTimeoutMs.
   */
  async listen(transport: Transport, host: string, port: number): Promise<Listener> {
    this.listener = await transport.listen(
      host,
      port,
      (connection) => this.accept(connection),
      transportLimitsOf(this.limits),
    );
    return this.listener;
  }

  /** Takes a new connection: authentication, then a join or a status request. */
  accept(connection: Connection): void {
    this.admission.admit(connection);
  }

  /**
   * Detects failed members; call it often (every heartbeat interval / 4 or so). Silence is
   * measured on the progress clock, so a stall of the coordinator itself (a tick a whole
   * interval late) is not held against anyone, and the tick that notices a stall judges no one:
   * what members sent meanwhile is read first.
   */
  tick(nowMs: number = this.clock()): void {
    const stalledMs = this.progress.tick(nowMs);
    if (stalledMs > 0) {
      if (stalledMs >= this.limits.heartbeatIntervalMs) {
        this.log(
          `the coordinator stalled for ${Math.round(stalledMs)} ms (its tick came late); that ` +
            `time is not counted as members' silence`,
        );
      }
      return;
    }
    const interval = this.settings.heartbeatIntervalMs;
    const progressMs = this.progress.now(nowMs);
    for (const member of [...this.ownership.members.values()]) {
      const silentMs = progressMs - member.lastHeartbeatMs;
      if (member.state === "joining") {
        // Its heartbeats start once its runtime is made: a long setup is not silence.
        if (silentMs > this.limits.startTimeoutMs) {
          this.ownership.fail(
            member,
            notStarted(silentMs, this.limits, this.ownership.seeder === member),
          );
        }
        continue;
      }
      if (silentMs > this.failureTimeoutMs) {
        this.ownership.fail(member, `no heartbeat for ${Math.round(silentMs)} ms`);
      } else if (silentMs > 2 * interval && member.state === "active") {
        member.state = "suspect";
        this.log(`member ${member.id} is suspect: no heartbeat for ${Math.round(silentMs)} ms`);
      }
    }
  }

  /** Members, partitions and counters, as `staticecs cluster status` prints them. */
  status(): ClusterStatus {
    const now = this.clock();
    const progressMs = this.progress.now(now);
    const { members, history, parts } = this.ownership;
    const describe = (m: Member): MemberStatus => ({
      id: m.id,
      address: m.address,
      state: m.state,
      partitions: [...m.partitions].sort((a, b) => a - b),
      tick: m.tick,
      tickMsMean: m.tickMsMean,
      entities: [...m.counts.values()].reduce((a, b) => a + b, 0),
      lastHeartbeatAgoMs: Math.round(progressMs - m.lastHeartbeatMs),
    });
    return {
      protocol: PROTOCOL_VERSION,
      members: [...members.values(), ...history].map(describe),
      partitions: parts.map((p) => ({
        id: p.id,
        owner: p.owner?.id ?? null,
        entities: p.owner === undefined
          ? p.held.reduce((n, b) => n + batchCount(b), 0)
          : p.entities,
        state: p.moving ? "moving" : p.owner === undefined ? "parked" : "running",
      })),
      uptimeMs: Math.round(now - this.startedMs),
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      failureTimeoutMs: this.failureTimeoutMs,
      checkpointEveryTicks: this.settings.checkpointEveryTicks,
      transfers: {
        entities: this.ownership.transferredEntities,
        frames: this.ownership.transferFrames,
      },
      failovers: this.ownership.failovers,
      role: "leader",
      leader: this.address,
      epoch: this.epoch,
      store: this.store.name,
    };
  }

  /**
   * Tells every member to stop, closes connections and the listener. With `handOver` (a shared
   * store), members are not stopped: their connections close and they find the next leader.
   */
  async close(reason = "the coordinator stopped", handOver = false): Promise<void> {
    if (handOver) return this.standDown(reason, false);
    this.closing = true;
    this.admission.close();
    const members = [...this.ownership.members.values()].filter((m) => m.connection !== undefined);
    const connections = members.map((m) => m.connection!);
    for (const connection of connections) trySend(connection, { t: "shutdown", reason });
    // Members close first, once they have read the shutdown (see Member.closed).
    await Promise.all(members.map((m) => withDeadline(m.closed, CLOSE_GRACE_MS)));
    for (const connection of connections) connection.close(reason);
    await this.listener?.close();
  }

  /**
   * Stops leading: a write was fenced (another coordinator leads), the store failed, or the
   * lease was lost. Members' connections close without a shutdown, so they keep running and
   * find the leader; nothing more is written or sent.
   */
  standDown(reason: string, logIt = true): void {
    if (this.closing) return;
    this.closing = true;
    this.admission.close();
    if (logIt) this.log(`stood down (epoch ${this.epoch}): ${reason}; it assigns nothing more`);
    for (const member of this.ownership.members.values()) {
      const connection = member.connection;
      if (connection === undefined) continue;
      connection.onClose = undefined;
      connection.onMessage = undefined;
      connection.close("the coordinator stood down");
    }
    this.onStandDown?.(reason);
  }

  /** True once it stopped leading (closed or stood down). */
  get stopped(): boolean {
    return this.closing;
  }

  private firstMessage(connection: Connection, raw: RawMessage): void {
    if (raw.t === "status?") {
      trySend(connection, { t: "status", status: this.status() });
      closeWhenSent(connection, "status sent");
      return;
    }
    let message: MemberMessage;
    try {
      message = checkMemberMessage(raw, this.settings.partitions);
      if (message.t !== "join" && message.t !== "rejoin") {
        throw new ClusterError(`expected join, rejoin or status?, got ${raw.t}`);
      }
    } catch (error) {
      this.refuse(connection, (error as Error).message);
      return;
    }
    const layout = new SceneLayout(message.components, message.fieldBytes);
    if (this.layout !== undefined && layout.key !== this.layout.key) {
      this.refuse(
        connection,
        `the joining scene "${message.scene}" has components [${message.components.join(", ")}] ` +
          `(${layout.key}), the cluster's scene has ${this.layout.key}; every member must run ` +
          `the same scene`,
      );
      return;
    }
    if (message.t === "rejoin") return this.rejoin(connection, message);
    if (this.layout === undefined) {
      this.layout = layout;
      this.markMeta();
      if (!this.ownership.seeded) {
        this.log(`the cluster's scene is ${message.scene} (${layout.key}) for now`);
      }
    }
    this.join(connection, message.scene);
  }

  private refuse(connection: Connection, why: string): void {
    this.log(`connection from ${connection.remote} closed: ${why}`);
    trySend(connection, { t: "error", message: why });
    // close() drops what is queued: let the error reach the peer first.
    closeWhenSent(connection, why);
  }

  private join(connection: Connection, scene: string): void {
    const id = this.nextMemberId++;
    const member = this.newMember(id, connection.remote);
    this.ownership.members.set(id, member);
    this.attach(member, connection);
    this.markMeta();
    this.writer.member(member);
    const runSetup = !this.ownership.seeded && this.ownership.seeder === undefined;
    if (runSetup) this.ownership.seeder = member;
    this.post(member, {
      t: "welcome",
      memberId: id,
      settings: this.settings,
      runSetup,
      idBase: id * 2 ** 32,
      outSeq: 0,
    });
    this.log(
      `member ${id} joined from ${member.address} (scene ${scene})${
        runSetup ? "; it runs setup" : ""
      }`,
    );
    // Before setup has checkpointed, every partition is parked: the seeder takes them all.
    this.ownership.rebalance();
  }

  /**
   * Takes a member back after it lost its connection (to this coordinator, or to the leader
   * before this one): same id, same partitions, the arrivals it has not applied sent again, and
   * it resends its own transfers after `outSeq`. A partition the store gives it that it no
   * longer claims was handed over: its handoff is among the transfers it resends.
   */
  private rejoin(connection: Connection, message: Extract<MemberMessage, { t: "rejoin" }>): void {
    const member = this.ownership.members.get(message.memberId);
    const claimed = new Set(message.partitions);
    const foreign = member === undefined
      ? []
      : [...claimed].filter((p) => !member.partitions.has(p));
    if (member === undefined || member.state === "left" || foreign.length > 0) {
      return this.refuse(
        connection,
        `member ${message.memberId} is not a member of this cluster any more (${
          member === undefined
            ? "it was failed over, or this coordinator started without its state"
            : `partitions ${foreign.join(", ")} are not its own`
        }); restart it to join afresh`,
      );
    }
    if (member.connection !== undefined) {
      member.connection.onClose = undefined;
      member.connection.onMessage = undefined;
      member.connection.close("replaced by the member's new connection");
    }
    this.attach(member, connection);
    member.state = member.state === "leaving" ? "leaving" : "active";
    member.lastHeartbeatMs = this.progress.now(this.clock());
    member.tick = message.tick;
    // What was sent on its old connection may never have arrived: a revoke is sent again, and
    // a partition it neither claims nor hands over is one whose assign was lost: sent again.
    const { revokeAgain, assignAgain } = this.ownership.reconcile(
      member,
      claimed,
      new Set(message.handedOver),
    );
    this.post(member, {
      t: "welcome",
      memberId: member.id,
      settings: this.settings,
      runSetup: false,
      idBase: member.id * 2 ** 32,
      outSeq: member.outSeq,
    });
    for (const partition of revokeAgain) this.post(member, { t: "revoke", partition });
    for (const part of assignAgain) {
      part.moving = false;
      this.post(member, { t: "assign", partition: part.id, state: part.base });
    }
    const missed = member.log.arrivalsAfter(message.appliedSeq);
    for (const entry of missed) {
      this.post(member, {
        t: "transfer",
        partition: entry.partition,
        state: entry.state,
        seq: entry.seq,
      });
    }
    this.log(
      `member ${member.id} rejoined from ${connection.remote} with partitions ` +
        `${partitionList(claimed)}; ${missed.length} arrivals sent again`,
    );
    this.ownership.rebalance();
  }

  private newMember(id: number, address: string): Member {
    const nowMs = this.clock();
    return newMember(id, address, {
      nowMs,
      progressMs: this.progress.now(nowMs),
      logEntriesMax: this.limits.memberLogEntriesMax,
    });
  }

  /** Makes `connection` the member's. Its close fails the member, or (shared store) sets it adrift. */
  private attach(member: Member, connection: Connection): void {
    let closedNow!: () => void;
    member.closed = new Promise((resolve) => closedNow = resolve);
    member.connection = connection;
    connection.onMessage = (raw) => this.onMemberMessage(member, raw);
    connection.onClose = (reason) => {
      closedNow();
      if (member.connection !== connection) return;
      member.connection = undefined;
      if (this.closing || member.state === "left" || member.state === "failed") return;
      if (!this.store.shared) return this.ownership.fail(member, `connection closed: ${reason}`);
      // With standbys a member may drop a coordinator it thinks silent and come back: it has
      // the failure timeout to do so, as after a change of leader.
      member.state = "adrift";
      this.log(
        `member ${member.id} lost its connection (${reason}); it has ` +
          `${this.failureTimeoutMs} ms to rejoin`,
      );
    };
  }

  /** Sends to a member once what the message reflects is written; nothing while it is adrift. */
  private post(member: Member, message: Outgoing): void {
    if (member.connection !== undefined) this.journal.post(member.connection, message);
  }

  private onMemberMessage(member: Member, raw: RawMessage): void {
    if (member.state === "failed" || member.state === "left") return;
    let message: MemberMessage;
    try {
      message = checkMemberMessage(raw, this.settings.partitions);
    } catch (error) {
      this.ownership.fail(member, `protocol error: ${(error as Error).message}`);
      return;
    }
    const wrong = this.badBatch(message);
    if (wrong !== undefined) {
      return this.ownership.fail(member, `protocol error: ${message.t}: ${wrong}`);
    }
    switch (message.t) {
      case "join":
      case "rejoin":
        return this.ownership.fail(member, `protocol error: ${message.t} on a joined connection`);
      case "heartbeat":
        return this.onHeartbeat(member, message);
      case "transfer":
        // Sent again after a rejoin, and already taken (by this leader or the one before).
        if (message.seq !== 0 && message.seq <= member.outSeq) return;
        if (message.seq !== 0) member.outSeq = message.seq;
        this.writer.member(member);
        return this.ownership.transfer(member, message.partition, message.state, message.handoff);
      case "checkpoint":
        return this.ownership.checkpoint(member, message);
      case "leave":
        return this.ownership.leave(member);
    }
  }

  /** What is wrong with a message's entity batches for the cluster's scene, if anything. */
  private badBatch(message: MemberMessage): string | undefined {
    if (message.t === "transfer") return this.layout!.check(message.state);
    if (message.t !== "checkpoint") return undefined;
    for (const part of message.parts) {
      const wrong = this.layout!.check(part.state);
      if (wrong !== undefined) return `partition ${part.partition}: ${wrong}`;
    }
    return undefined;
  }

  private onHeartbeat(member: Member, message: Extract<MemberMessage, { t: "heartbeat" }>): void {
    measureRate(member, message.tick, this.clock(), this.settings.heartbeatIntervalMs);
    member.lastHeartbeatMs = this.progress.now(this.clock());
    const started = member.state === "joining";
    if (started) member.state = "active";
    if (member.state === "suspect") {
      member.state = "active";
      this.log(`member ${member.id} is back (heartbeat)`);
    }
    member.tick = message.tick;
    member.tickMsMean = message.tickMsMean;
    // Its transfers up to outSeq are written once this goes out: it may drop them. Sent when
    // there is something new to acknowledge, and with standbys often enough that the member
    // can tell a live coordinator from a stopped one; an idle member of a memory store gets none.
    const nowMs = this.clock();
    const silenceMs = this.settings.coordinatorSilenceMs;
    if (
      member.outSeq > member.ackedSeq || (silenceMs > 0 && nowMs - member.ackedMs >= silenceMs / 4)
    ) {
      member.ackedSeq = member.outSeq;
      member.ackedMs = nowMs;
      this.post(member, { t: "ack", seq: member.outSeq });
    }
    member.counts.clear();
    for (const [partition, entities] of message.counts) {
      member.counts.set(partition, entities);
      const part = this.ownership.parts[partition];
      if (part.owner === member) part.entities = entities;
    }
    if (started) this.ownership.rebalance(); // partitions go to members that run the scene
  }

  /** Continues from what the store held when this coordinator took over. */
  private adopt(stored: StoredCluster): void {
    const meta = stored.meta!;
    if (meta.partitions !== this.settings.partitions) {
      throw new ClusterError(
        `the store (${this.store.name}) holds a cluster of ${meta.partitions} partitions and ` +
          `this coordinator has ${this.settings.partitions} (partitions): give it ` +
          `${meta.partitions}, or another store`,
      );
    }
    this.ownership.seeded = meta.seeded;
    this.layout = meta.layout === null
      ? undefined
      : new SceneLayout(meta.layout.components, meta.layout.fieldBytes);
    this.nextMemberId = meta.nextMemberId;
    this.ownership.failovers = meta.failovers;
    const { members, parts } = this.ownership;
    restoreFromStore(stored, members, parts, (id, address) => this.newMember(id, address));
    // A leader that died during setup: the member that ran it still holds every partition.
    if (!this.ownership.seeded) {
      this.ownership.seeder = [...members.values()].find((m) => m.partitions.size > 0);
    }
    this.log(
      `continues from the store (${this.store.name}, epoch ${this.epoch}): ` +
        `${members.size} members have ${this.failureTimeoutMs} ms to rejoin`,
    );
  }

  private markMeta(): void {
    this.writer.meta(() => ({
      partitions: this.settings.partitions,
      seeded: this.ownership.seeded,
      layout: this.layout === undefined
        ? null
        : { components: this.layout.components, fieldBytes: this.layout.fieldBytes },
      nextMemberId: this.nextMemberId,
      failovers: this.ownership.failovers,
    }));
  }

  /** Setup never finished and no member holds the scene: it was never the cluster's. */
  private forgetUnseededScene(): void {
    if (!this.ownership.seeded && this.ownership.members.size === 0 && this.layout !== undefined) {
      this.layout = undefined;
      this.log(
        "no member left and setup has not finished: the next member to join, with any scene, " +
          "runs setup",
      );
    }
  }
}

/** Why a member that joined and never sent a heartbeat is failed. */
function notStarted(silentMs: number, limits: ClusterLimits, runsSetup: boolean): string {
  return `not started ${Math.round(silentMs)} ms after it joined (startTimeoutMs is ` +
    `${limits.startTimeoutMs}, --start-timeout-ms): making its runtime${
      runsSetup ? " and running the scene's setup" : ""
    } took longer, or it hung`;
}
