/**
 * A cluster member: joins a coordinator, runs the scene for the partitions
 * it is assigned, and keeps the coordinator able to bring those partitions
 * back if it dies.
 *
 * After each tick it moves out every entity whose partition key now maps to
 * a partition it does not own (a transfer; the coordinator routes it to the
 * owner). Every `checkpointEveryTicks` ticks it sends a checkpoint: all its
 * partitions at that tick, with the last transfer it applied. Heartbeats go
 * out on a timer of their own, with the tick and entities per partition.
 * Messages from the coordinator are handled between ticks, never during
 * one: an assign or transfer inserts entities, a revoke moves a partition's
 * entities out and hands them over.
 *
 * A member outlives its coordinator. Transfers it sends carry its own sequence numbers and stay
 * in an outbox until the coordinator acknowledges them (on its answer to a heartbeat, once they
 * are written to the store). When the connection closes, or the coordinator stays silent past
 * `coordinatorSilenceMs` (standbys exist), the member keeps simulating, holds what it would
 * send, and tries every coordinator address it knows for `coordinatorGraceMs` (_reach.ts): the
 * leader takes it back (rejoin: same id, same partitions), it resends what was not acknowledged
 * and gets the arrivals it had not applied. Past the grace it stops with a line that says so.
 *
 * @module
 */

import type { Runtime } from "../core/runtime.ts";
import type { Scene } from "../core/scene.ts";
import { FIELD_TYPES, ownerOf } from "../core/schema.ts";
import { checkSecret } from "./auth.ts";
import { batchCount, emptyBatch, type EntityBatch } from "./batch.ts";
import { PartitionMap } from "./partition_map.ts";
import { DEFAULT_CLUSTER_LIMITS } from "./limits.ts";
import { reachCoordinator } from "./_reach.ts";
import {
  checkCoordinatorMessage,
  type ClusterSettings,
  type CoordinatorMessage,
  type MemberMessage,
  type RawMessage,
} from "./protocol.ts";
import type { Connection, Transport, TransportLimits } from "./transport.ts";

/**
 * How to join.
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene, Runtime } from "../mod.ts";
 * import type { MemberOptions } from "./member.ts";
 * import { MemoryTransport } from "./memory_transport.ts";
 * const Cell = defineComponent("Cell", { key: "u32" });
 * const scene = defineScene({ components: [Cell], systems: [], cluster: { key: Cell.key } });
 * const options: MemberOptions = {
 *   transport: new MemoryTransport(), // tcpTransport() between processes
 *   host: "127.0.0.1",
 *   port: 7400,
 *   alternates: [{ host: "127.0.0.1", port: 7401 }], // a standby coordinator
 *   coordinatorGraceMs: 10_000,
 *   secret: "correct horse battery staple",
 *   scene,
 *   createRuntime: (runtimeOptions) => Runtime.create(scene, runtimeOptions),
 * };
 * // ClusterMember.join(options) connects, joins and starts ticking.
 * ```
 */
export interface MemberOptions {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
  /** More coordinators (standbys) to try, after host:port, when it is lost. */
  readonly alternates?: readonly { readonly host: string; readonly port: number }[];
  /** How long to keep looking for a coordinator (limits.ts coordinatorGraceMs if omitted). */
  readonly coordinatorGraceMs?: number;
  /** The shared secret: at least 16 bytes that are not whitespace. */
  readonly secret: string;
  readonly scene: Scene;
  /** Creates the runtime once the welcome says the seed and whether setup runs here. */
  readonly createRuntime: (options: { seed: number; skipSetup: boolean }) => Promise<Runtime>;
  /** Ticks per second of wall time (the runtime's own hz if omitted). */
  readonly ticksPerSecond?: number;
  readonly log?: (line: string) => void;
  /** Longest wait for the welcome (10,000 ms). */
  readonly joinTimeoutMs?: number;
  /** The connection's bounds (limits.ts's defaults if omitted). */
  readonly limits?: Partial<TransportLimits>;
}

/**
 * What a member has done, for its summary (`member.stats()`).
 *
 * @example
 * ```ts
 * import type { MemberStats } from "./member.ts";
 * const summary = (s: MemberStats) =>
 *   `member ${s.memberId}: ${s.entities} entities on partitions ${s.partitions.join(", ")}`;
 * summary({
 *   memberId: 2,
 *   ticks: 600,
 *   entities: 5_000,
 *   partitions: [1, 4],
 *   sentEntities: 120,
 *   receivedEntities: 95,
 *   checkpoints: 10,
 *   systemErrors: 0,
 * }); // "member 2: 5000 entities on partitions 1, 4"
 * ```
 */
export interface MemberStats {
  readonly memberId: number;
  readonly ticks: number;
  readonly entities: number;
  readonly partitions: readonly number[];
  readonly sentEntities: number;
  readonly receivedEntities: number;
  readonly checkpoints: number;
  readonly systemErrors: number;
}

/** Ticks run back to back at most when the member falls behind its rate. */
const CATCH_UP_TICKS_MAX = 4;

/**
 * A running member.
 *
 * @example
 * ```ts ignore
 * import { ClusterMember } from "./member.ts";
 * const member = await ClusterMember.join({ transport, host: "127.0.0.1", port: 7400,
 *   secret, scene, createRuntime: (o) => Runtime.create(scene, o) });
 * console.log(await member.done); // why it stopped
 * ```
 */
export class ClusterMember {
  readonly memberId: number;
  readonly settings: ClusterSettings;
  readonly runtime: Runtime;
  /** Resolves with the reason when the member stops (shutdown, leave done, connection lost). */
  readonly done: Promise<string>;
  /** True if the member stopped because something failed (not a shutdown or a finished leave). */
  failed = false;
  private connection: Connection | undefined;
  private readonly options: MemberOptions;
  /** Transfers sent and not yet acknowledged, oldest first; resent after a rejoin. */
  private outbox: Extract<MemberMessage, { t: "transfer" }>[] = [];
  private outSeq = 0;
  /** When the coordinator was last heard from (performance.now). */
  private heardMs = 0;
  private readonly coordinatorSilenceMs: number;
  private readonly map: PartitionMap;
  private readonly owned: Uint8Array;
  private readonly log: (line: string) => void;
  private readonly tickIntervalMs: number;
  private readonly counts: Float64Array;
  private nextId: number;
  private appliedSeq = 0;
  private ticks = 0;
  private tickMsTotal = 0;
  private tickMsRuns = 0;
  private sentEntities = 0;
  private receivedEntities = 0;
  private checkpoints = 0;
  private systemErrors = 0;
  private stopped = false;
  private leaving = false;
  /** Set on the member that ran setup until its first checkpoint (all partitions) is sent. */
  private seeding = false;
  private startedMs = 0;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private resolveDone!: (reason: string) => void;

  private constructor(
    connection: Connection,
    welcome: Extract<CoordinatorMessage, { t: "welcome" }>,
    runtime: Runtime,
    options: MemberOptions,
  ) {
    this.connection = connection;
    this.options = options;
    this.coordinatorSilenceMs = welcome.settings.coordinatorSilenceMs;
    this.memberId = welcome.memberId;
    this.settings = welcome.settings;
    this.runtime = runtime;
    this.log = options.log ?? (() => {});
    this.map = new PartitionMap(runtime.world, options.scene, this.settings.partitions);
    this.owned = new Uint8Array(this.settings.partitions);
    this.counts = new Float64Array(this.settings.partitions);
    this.nextId = welcome.idBase + 1;
    const hz = options.ticksPerSecond ?? runtime.hz;
    this.tickIntervalMs = 1000 / hz;
    this.done = new Promise((resolve) => this.resolveDone = resolve);
  }

  /** Connects, authenticates, joins and starts ticking. */
  static async join(options: MemberOptions): Promise<ClusterMember> {
    checkSecret(options.secret, "secret");
    const early: RawMessage[] = [];
    const { connection, welcome } = await reachCoordinator(
      options,
      () => joinMessage(options.scene),
      early,
      options.alternates === undefined || options.alternates.length === 0
        ? 0
        : options.coordinatorGraceMs ?? DEFAULT_CLUSTER_LIMITS.coordinatorGraceMs,
    );
    try {
      const runtime = await options.createRuntime({
        seed: (welcome.settings.seed + welcome.memberId) >>> 0,
        skipSetup: !welcome.runSetup,
      });
      const member = new ClusterMember(connection, welcome, runtime, options);
      member.start(early, welcome.runSetup);
      return member;
    } catch (error) {
      connection.close(`join failed: ${(error as Error).message}`);
      throw error;
    }
  }

  /** Hands every partition over, then stops; resolves when the coordinator lets it go. */
  leave(): Promise<string> {
    if (!this.stopped && !this.leaving) {
      this.leaving = true;
      this.log(`member ${this.memberId}: leaving, handing partitions over`);
      this.send({ t: "leave" }); // or after it rejoins, if it is looking for a coordinator
    }
    return this.done;
  }

  /** Stops at once: no leave (the coordinator fails this member over from its checkpoint). */
  stop(reason = "stopped"): void {
    this.finish(reason, false);
  }

  stats(): MemberStats {
    const partitions: number[] = [];
    this.owned.forEach((o, p) => o === 1 && partitions.push(p));
    return {
      memberId: this.memberId,
      ticks: this.ticks,
      entities: this.runtime.world.entityCount,
      partitions,
      sentEntities: this.sentEntities,
      receivedEntities: this.receivedEntities,
      checkpoints: this.checkpoints,
      systemErrors: this.systemErrors,
    };
  }

  private start(early: readonly RawMessage[], runSetup: boolean): void {
    this.attach(this.connection!);
    this.map.assignIds(() => this.nextId++);
    this.seeding = runSetup;
    for (const raw of early) this.onMessage(raw);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.settings.heartbeatIntervalMs);
    this.heartbeat();
    this.startedMs = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const dueMs = this.startedMs + (this.ticks + 1) * this.tickIntervalMs;
    this.tickTimer = setTimeout(() => this.step(), Math.max(0, dueMs - performance.now()));
  }

  private step(): void {
    if (this.stopped) return;
    // The member that ran setup waits for its partitions: a tick before them would send
    // every entity away as a crossing.
    if (this.seeding) {
      this.startedMs = performance.now();
      return this.schedule();
    }
    const behind = Math.floor((performance.now() - this.startedMs) / this.tickIntervalMs) -
      this.ticks;
    const run = Math.max(1, Math.min(CATCH_UP_TICKS_MAX, behind));
    for (let k = 0; k < run && !this.stopped; k++) this.tickOnce();
    // Far behind (a slow machine or a long pause): drop the backlog rather than spiral.
    if (behind > CATCH_UP_TICKS_MAX) {
      this.startedMs = performance.now() - this.ticks * this.tickIntervalMs;
    }
    this.schedule();
  }

  private tickOnce(): void {
    const started = performance.now();
    const result = this.runtime.tick();
    this.tickMsTotal += performance.now() - started;
    this.tickMsRuns++;
    this.ticks++;
    if (!result.ok) {
      this.systemErrors += result.errors.length;
      if (this.systemErrors === result.errors.length) {
        this.log(`member ${this.memberId}: system error: ${result.errors[0].message}`);
      }
    }
    this.map.assignIds(() => this.nextId++);
    this.sendCrossings();
    if (this.ticks % this.settings.checkpointEveryTicks === 0) this.checkpoint();
  }

  /** Moves out the entities whose partition is not this member's. */
  private sendCrossings(): void {
    const out = this.map.collect((p) => this.owned[p] === 0, true);
    for (const [partition, state] of out) {
      const entities = batchCount(state);
      if (entities === 0) continue; // nothing crossed: no frame, no log entry, no store write
      this.sentEntities += entities;
      this.sendTransfer(partition, state, false);
    }
  }

  /** Numbers a transfer, keeps it until acknowledged, and sends it if connected. */
  private sendTransfer(partition: number, state: EntityBatch, handoff: boolean): void {
    const message = { t: "transfer", partition, state, handoff, seq: ++this.outSeq } as const;
    if (this.outbox.length >= DEFAULT_CLUSTER_LIMITS.memberLogEntriesMax) {
      return this.finish(
        `${this.outbox.length} transfers unacknowledged by the coordinator ` +
          `(memberLogEntriesMax); stopping rather than growing without bound`,
        true,
      );
    }
    this.outbox.push(message);
    if (this.connection !== undefined) this.send(message);
  }

  private checkpoint(): void {
    if (this.connection === undefined) return; // adrift: the next leader keeps the last one
    const cut = this.map.collect((p) => this.owned[p] === 1, false);
    const parts: { partition: number; state: EntityBatch }[] = [];
    this.owned.forEach((o, partition) => {
      if (o === 1) parts.push({ partition, state: cut.get(partition) ?? emptyBatch() });
    });
    this.checkpoints++;
    this.send({ t: "checkpoint", tick: this.ticks, appliedSeq: this.appliedSeq, parts });
  }

  private heartbeat(): void {
    if (this.stopped || this.connection === undefined) return;
    const silentMs = performance.now() - this.heardMs;
    if (this.coordinatorSilenceMs > 0 && silentMs > this.coordinatorSilenceMs) {
      return this.lose(
        `the coordinator has been silent for ${Math.round(silentMs)} ms (coordinatorSilenceMs ` +
          `${this.coordinatorSilenceMs})`,
      );
    }
    this.map.countByPartition(this.counts);
    const counts: [number, number][] = [];
    this.owned.forEach((o, p) => o === 1 && counts.push([p, this.counts[p]]));
    const tickMsMean = this.tickMsRuns === 0 ? 0 : this.tickMsTotal / this.tickMsRuns;
    this.tickMsTotal = this.tickMsRuns = 0;
    this.send({ t: "heartbeat", tick: this.ticks, counts, tickMsMean });
  }

  private onMessage(raw: RawMessage): void {
    if (this.stopped) return;
    this.heardMs = performance.now();
    let message: CoordinatorMessage;
    try {
      message = checkCoordinatorMessage(raw, this.settings.partitions);
    } catch (error) {
      if (raw.t === "error") {
        return this.finish(`the coordinator refused: ${String(raw.message).slice(0, 300)}`, true);
      }
      return this.finish(`protocol error: ${(error as Error).message}`, true);
    }
    switch (message.t) {
      case "assign":
        this.owned[message.partition] = 1;
        this.receivedEntities += this.map.insert(message.state);
        if (this.seeding && this.owned.every((o) => o === 1)) {
          // Setup's entities, checkpointed once the member owns every partition.
          this.seeding = false;
          this.checkpoint();
        }
        return;
      case "transfer":
        this.receivedEntities += this.map.insert(message.state);
        this.appliedSeq = message.seq;
        return;
      case "revoke":
        return this.handOver(message.partition);
      case "shutdown":
        return this.finish(message.reason, false);
      case "ack":
        return this.acknowledged(message.seq);
      case "welcome":
        return this.finish("protocol error: a second welcome", true);
    }
  }

  private handOver(partition: number): void {
    this.owned[partition] = 0;
    const state = this.map.collect((p) => p === partition, true).get(partition) ?? emptyBatch();
    this.sentEntities += batchCount(state);
    this.sendTransfer(partition, state, true);
  }

  /** Drops transfers up to `seq` from the outbox: the coordinator has written them. */
  private acknowledged(seq: number): void {
    let k = 0;
    while (k < this.outbox.length && this.outbox[k].seq <= seq) k++;
    if (k > 0) this.outbox.splice(0, k);
  }

  private attach(connection: Connection): void {
    this.connection = connection;
    this.heardMs = performance.now();
    connection.onMessage = (raw) => this.onMessage(raw);
    connection.onClose = (reason) => {
      if (this.connection === connection) this.lose(`connection closed: ${reason}`);
    };
  }

  /**
   * The coordinator is gone (or silent): keep simulating, hold what would be sent, and look for
   * a coordinator (this one back, or the leader after it) for coordinatorGraceMs.
   */
  private lose(why: string): void {
    if (this.stopped || this.connection === undefined) return;
    const connection = this.connection;
    this.connection = undefined;
    connection.onClose = undefined;
    connection.onMessage = undefined;
    connection.close(why);
    const graceMs = this.options.coordinatorGraceMs ?? DEFAULT_CLUSTER_LIMITS.coordinatorGraceMs;
    this.log(
      `member ${this.memberId}: lost the coordinator at tick ${this.ticks} (${why}); still ` +
        `running, holding ` +
        `transfers, looking for a coordinator for up to ${graceMs} ms`,
    );
    const early: RawMessage[] = [];
    reachCoordinator(this.options, () => this.rejoinMessage(), early, graceMs, () => this.stopped)
      .then(({ connection, welcome }) => this.rejoined(connection, welcome, early))
      .catch((error) => this.finish((error as Error).message, true));
  }

  private rejoinMessage(): Extract<MemberMessage, { t: "rejoin" }> {
    const partitions: number[] = [];
    this.owned.forEach((o, p) => o === 1 && partitions.push(p));
    return {
      ...joinMessage(this.options.scene),
      t: "rejoin",
      memberId: this.memberId,
      partitions,
      // A partition handed over, given back and handed over again is one partition on its way.
      handedOver: [...new Set(this.outbox.filter((m) => m.handoff).map((m) => m.partition))],
      appliedSeq: this.appliedSeq,
      tick: this.ticks,
    };
  }

  private rejoined(
    connection: Connection,
    welcome: Extract<CoordinatorMessage, { t: "welcome" }>,
    early: readonly RawMessage[],
  ): void {
    if (this.stopped) return connection.close("the member stopped");
    if (welcome.memberId !== this.memberId) {
      connection.close("welcomed as another member");
      return this.finish(
        `the coordinator took member ${this.memberId} back as member ${welcome.memberId}`,
        true,
      );
    }
    this.attach(connection);
    this.acknowledged(welcome.outSeq);
    for (const message of this.outbox) this.send(message);
    this.log(
      `member ${this.memberId}: rejoined the coordinator at ${connection.remote}; ` +
        `${this.outbox.length} held transfers sent again`,
    );
    for (const raw of early) this.onMessage(raw);
    if (this.leaving) this.send({ t: "leave" });
    this.heartbeat();
  }

  private send(message: MemberMessage): void {
    if (this.stopped || this.connection === undefined) return;
    try {
      this.connection.send(message);
    } catch (error) {
      this.lose(`cannot send to the coordinator: ${(error as Error).message}`);
    }
  }

  private finish(reason: string, failed: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failed = failed;
    clearTimeout(this.tickTimer);
    clearInterval(this.heartbeatTimer);
    const connection = this.connection;
    if (connection !== undefined) {
      connection.onClose = undefined;
      void connection.drained().then(() => connection.close(reason));
    }
    this.resolveDone(reason);
  }
}

/**
 * The join a member sends for `scene`: its name, and its components with their field sizes
 * (the layout the coordinator holds every member's batches to).
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene } from "../mod.ts";
 * import { joinMessage } from "./member.ts";
 * const Cell = defineComponent("Cell", { key: "u32" });
 * const scene = defineScene({ name: "cells", components: [Cell], systems: [], cluster: { key: Cell.key } });
 * joinMessage(scene).fieldBytes; // [[4], [8]]: Cell, then ClusterId
 * ```
 */
export function joinMessage(scene: Scene): Extract<MemberMessage, { t: "join" }> {
  return {
    t: "join",
    scene: scene.name ?? "scene",
    components: scene.components.map((c) => ownerOf(c).name),
    fieldBytes: scene.components.map((c) =>
      ownerOf(c).fields.map((f) => FIELD_TYPES[f.type].BYTES_PER_ELEMENT)
    ),
  };
}
