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
 * @module
 */

import type { Runtime } from "../core/runtime.ts";
import type { Scene } from "../core/scene.ts";
import { FIELD_TYPES, ownerOf } from "../core/schema.ts";
import { checkSecret, connectAuthenticated } from "./auth.ts";
import { batchCount, emptyBatch, type EntityBatch } from "./batch.ts";
import { PartitionMap } from "./partition_map.ts";
import { ClusterError } from "./errors.ts";
import {
  checkCoordinatorMessage,
  type ClusterSettings,
  type CoordinatorMessage,
  type MemberMessage,
  type RawMessage,
} from "./protocol.ts";
import type { Connection, Transport, TransportLimits } from "./transport.ts";

/** How to join. */
export interface MemberOptions {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
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

/** What a member has done, for its summary. */
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
  private readonly connection: Connection;
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
    const connection = await connectAuthenticated(options.transport, options.host, options.port, {
      secret: options.secret,
      limits: options.limits,
    });
    try {
      const early: RawMessage[] = [];
      const welcomed = awaitWelcome(connection, early, options.joinTimeoutMs ?? 10_000);
      connection.send(joinMessage(options.scene));
      const welcome = await welcomed;
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
      this.send({ t: "leave" });
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
    this.connection.onMessage = (raw) => this.onMessage(raw);
    this.connection.onClose = (reason) =>
      this.finish(`connection to the coordinator closed: ${reason}`, true);
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
      this.sentEntities += batchCount(state);
      this.send({ t: "transfer", partition, state, handoff: false });
    }
  }

  private checkpoint(): void {
    const cut = this.map.collect((p) => this.owned[p] === 1, false);
    const parts: { partition: number; state: EntityBatch }[] = [];
    this.owned.forEach((o, partition) => {
      if (o === 1) parts.push({ partition, state: cut.get(partition) ?? emptyBatch() });
    });
    this.checkpoints++;
    this.send({ t: "checkpoint", tick: this.ticks, appliedSeq: this.appliedSeq, parts });
  }

  private heartbeat(): void {
    if (this.stopped) return;
    this.map.countByPartition(this.counts);
    const counts: [number, number][] = [];
    this.owned.forEach((o, p) => o === 1 && counts.push([p, this.counts[p]]));
    const tickMsMean = this.tickMsRuns === 0 ? 0 : this.tickMsTotal / this.tickMsRuns;
    this.tickMsTotal = this.tickMsRuns = 0;
    this.send({ t: "heartbeat", tick: this.ticks, counts, tickMsMean });
  }

  private onMessage(raw: RawMessage): void {
    if (this.stopped) return;
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
      case "welcome":
        return this.finish("protocol error: a second welcome", true);
    }
  }

  private handOver(partition: number): void {
    this.owned[partition] = 0;
    const state = this.map.collect((p) => p === partition, true).get(partition) ?? emptyBatch();
    this.sentEntities += batchCount(state);
    this.send({ t: "transfer", partition, state, handoff: true });
  }

  private send(message: MemberMessage): void {
    if (this.stopped) return;
    try {
      this.connection.send(message);
    } catch (error) {
      this.finish(`cannot send to the coordinator: ${(error as Error).message}`, true);
    }
  }

  private finish(reason: string, failed: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failed = failed;
    clearTimeout(this.tickTimer);
    clearInterval(this.heartbeatTimer);
    void this.connection.drained().then(() => this.connection.close(reason));
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

/** Waits for the welcome, keeping what follows it (assigns) for after the runtime exists. */
function awaitWelcome(
  connection: Connection,
  early: RawMessage[],
  timeoutMs: number,
): Promise<Extract<CoordinatorMessage, { t: "welcome" }>> {
  return new Promise((resolve, reject) => {
    let welcomed = false;
    const timer = setTimeout(() => {
      reject(new ClusterError(`no welcome from the coordinator within ${timeoutMs} ms`));
    }, timeoutMs);
    connection.onClose = (reason) => {
      clearTimeout(timer);
      reject(new ClusterError(`the coordinator closed the connection: ${reason}`));
    };
    connection.onMessage = (raw) => {
      if (welcomed) return void early.push(raw);
      clearTimeout(timer);
      if (raw.t === "error") {
        return reject(
          new ClusterError(`the coordinator refused: ${String(raw.message).slice(0, 300)}`),
        );
      }
      try {
        const message = checkCoordinatorMessage(raw, 1);
        if (message.t !== "welcome") throw new ClusterError(`expected welcome, got ${raw.t}`);
        welcomed = true;
        resolve(message);
      } catch (error) {
        reject(error);
      }
    };
  });
}
