/**
 * The cluster protocol, version 1: the messages a coordinator, its members
 * and status clients exchange after authentication (cluster/auth.ts), and
 * the checks every received message passes before anything acts on it.
 *
 * Every message is an object with a string `t`. A message that fails its
 * check is a protocol error: the receiver closes that connection (and, for
 * a member, treats it as failed), nothing else.
 *
 * | t          | from        | what it says                                                    |
 * | ---------- | ----------- | --------------------------------------------------------------- |
 * | join       | member      | run `scene` for partitions of this cluster                      |
 * | welcome    | coordinator | your id, the cluster's settings, whether you run setup          |
 * | heartbeat  | member      | alive at `tick`, with entities per owned partition              |
 * | assign     | coordinator | you own `partition` now; insert `state`                          |
 * | revoke     | coordinator | hand `partition` over: send its live entities                   |
 * | transfer   | both        | entities for `partition` (a crossing, or a handoff)             |
 * | checkpoint | member      | every owned partition's entities at one tick (a consistent cut) |
 * | leave      | member      | hand everything over, then let me go                            |
 * | rejoin     | member      | take me back: same id, these partitions, applied up to `seq`    |
 * | ack        | coordinator | your transfers up to `seq` are written: drop them               |
 * | shutdown   | coordinator | stop now (after a leave, or when the coordinator stops)         |
 * | status?    | client      | asks for `status`                                               |
 * | status     | coordinator | members and partitions                                          |
 * | error      | both        | why the sender is about to close the connection                 |
 *
 * @module
 */

import { checkBatch, type EntityBatch } from "./batch.ts";
import { ClusterError } from "./errors.ts";
import { checkClusterLimit, type ClusterLimitKey } from "./limits.ts";
import { SEED_MAX } from "../core/runtime.ts";

/** Settings the coordinator gives every member in `welcome`. */
export interface ClusterSettings {
  readonly partitions: number;
  readonly heartbeatIntervalMs: number;
  readonly checkpointEveryTicks: number;
  readonly seed: number;
  /**
   * Silence from the coordinator after which a member drops it and looks for another (a
   * standby that took over); 0 means never (the memory store: there is no other).
   */
  readonly coordinatorSilenceMs: number;
}

/** A member's state, as the coordinator sees it. */
export type MemberState =
  /** Joined, its runtime being made (setup running, on the first member): no heartbeat yet. */
  | "joining"
  | "active"
  | "suspect"
  /** Known from the store after a change of leader, not yet reconnected. */
  | "adrift"
  | "leaving"
  | "left"
  | "failed";

/** One member in a status answer. */
export interface MemberStatus {
  readonly id: number;
  readonly address: string;
  readonly state: MemberState;
  readonly partitions: readonly number[];
  readonly tick: number;
  /** Mean tick time its last heartbeat reported. */
  readonly tickMsMean: number;
  readonly entities: number;
  /** Silence since its last heartbeat, the coordinator's own stalls left out. */
  readonly lastHeartbeatAgoMs: number;
}

/** One partition in a status answer; `owner` is a member id or null. */
export interface PartitionStatus {
  readonly id: number;
  readonly owner: number | null;
  readonly entities: number;
  /** "running", "moving" (being handed over) or "parked" (held by the coordinator: no member). */
  readonly state: "running" | "moving" | "parked";
}

/** What `staticecs cluster status` prints. */
export interface ClusterStatus {
  readonly protocol: number;
  readonly partitions: readonly PartitionStatus[];
  readonly members: readonly MemberStatus[];
  readonly uptimeMs: number;
  readonly heartbeatIntervalMs: number;
  readonly failureTimeoutMs: number;
  readonly checkpointEveryTicks: number;
  readonly transfers: { readonly entities: number; readonly frames: number };
  readonly failovers: number;
  /** "leader", or "standby" (then members and partitions are the store's view). */
  readonly role?: "leader" | "standby";
  /** The leader's address for members, if one holds the lease. */
  readonly leader?: string | null;
  /** The leader's epoch. */
  readonly epoch?: number;
  /** "memory" or the Redis URL (without its password). */
  readonly store?: string;
}

/** Member to coordinator. */
export type MemberMessage =
  | {
    readonly t: "join";
    readonly scene: string;
    readonly components: readonly string[];
    /** Per component (same order), the byte size of each of its fields. */
    readonly fieldBytes: readonly (readonly number[])[];
  }
  | {
    readonly t: "heartbeat";
    readonly tick: number;
    /** Pairs [partition, entities] for each owned partition. */
    readonly counts: readonly (readonly [number, number])[];
    readonly tickMsMean: number;
  }
  | {
    readonly t: "transfer";
    readonly partition: number;
    readonly state: EntityBatch;
    /** True when this is a revoked partition's live state. */
    readonly handoff: boolean;
    /** The member's outbound sequence number (1, 2, ...); 0 for an unnumbered transfer. */
    readonly seq: number;
  }
  | {
    readonly t: "checkpoint";
    readonly tick: number;
    /** The last transfer sequence number this member applied before the cut. */
    readonly appliedSeq: number;
    readonly parts: readonly { readonly partition: number; readonly state: EntityBatch }[];
  }
  | { readonly t: "leave" }
  | {
    /** A member that lost its coordinator, back (to it, or to the leader that replaced it). */
    readonly t: "rejoin";
    readonly memberId: number;
    readonly scene: string;
    readonly components: readonly string[];
    readonly fieldBytes: readonly (readonly number[])[];
    readonly partitions: readonly number[];
    /** Partitions whose handoff it holds unacknowledged (it sends them again after). */
    readonly handedOver: readonly number[];
    /** The last arrival it applied. */
    readonly appliedSeq: number;
    readonly tick: number;
  };

/** Coordinator to member. */
export type CoordinatorMessage =
  | {
    readonly t: "welcome";
    readonly memberId: number;
    readonly settings: ClusterSettings;
    /** The first member runs the scene's setup, once for the whole cluster. */
    readonly runSetup: boolean;
    /** Cluster ids this member gives start above this (member serial times 2^32). */
    readonly idBase: number;
    /** For a rejoin: the last of the member's transfers the coordinator holds (resend the rest). */
    readonly outSeq: number;
  }
  | {
    readonly t: "assign";
    readonly partition: number;
    readonly state: EntityBatch;
  }
  | { readonly t: "revoke"; readonly partition: number }
  | {
    readonly t: "transfer";
    readonly partition: number;
    readonly state: EntityBatch;
    readonly seq: number;
  }
  | { readonly t: "shutdown"; readonly reason: string }
  /** The answer to a heartbeat: the member's transfers up to `seq` are written; drop them. */
  | { readonly t: "ack"; readonly seq: number };

/** A message as decoded from a frame, before its check. */
export type RawMessage = { readonly t: string; readonly [key: string]: unknown };

/**
 * Checks a message from a member; throws ClusterError naming the field.
 *
 * @example
 * ```ts
 * import { checkMemberMessage } from "./protocol.ts";
 * checkMemberMessage({ t: "leave" }, 8); // { t: "leave" }
 * ```
 */
export function checkMemberMessage(raw: RawMessage, partitions: number): MemberMessage {
  switch (raw.t) {
    case "join": {
      const components = strings(raw, "components", 4096);
      return {
        t: "join",
        scene: text(raw, "scene", 256),
        components,
        fieldBytes: fieldSizes(raw, components.length),
      };
    }
    case "heartbeat":
      return {
        t: "heartbeat",
        tick: count(raw, "tick"),
        counts: pairs(raw, "counts", partitions),
        tickMsMean: finite(raw, "tickMsMean"),
      };
    case "transfer":
      return {
        t: "transfer",
        partition: partitionOfField(raw, "partition", partitions),
        state: batch(raw, "state"),
        handoff: raw.handoff === true,
        seq: raw.seq === undefined ? 0 : count(raw, "seq"),
      };
    case "checkpoint":
      return {
        t: "checkpoint",
        tick: count(raw, "tick"),
        appliedSeq: count(raw, "appliedSeq"),
        parts: checkpointParts(raw, partitions),
      };
    case "leave":
      return { t: "leave" };
    case "rejoin": {
      const components = strings(raw, "components", 4096);
      return {
        t: "rejoin",
        memberId: count(raw, "memberId"),
        scene: text(raw, "scene", 256),
        components,
        fieldBytes: fieldSizes(raw, components.length),
        partitions: partitionsOf(raw, "partitions", partitions),
        handedOver: partitionsOf(raw, "handedOver", partitions),
        appliedSeq: count(raw, "appliedSeq"),
        tick: count(raw, "tick"),
      };
    }
    default:
      throw new ClusterError(`unknown message "${String(raw.t).slice(0, 40)}" from a member`);
  }
}

/**
 * Checks a message from the coordinator; throws ClusterError naming the field.
 *
 * @example
 * ```ts
 * import { checkCoordinatorMessage } from "./protocol.ts";
 * checkCoordinatorMessage({ t: "revoke", partition: 3 }, 8); // { t: "revoke", partition: 3 }
 * ```
 */
export function checkCoordinatorMessage(raw: RawMessage, partitions: number): CoordinatorMessage {
  switch (raw.t) {
    case "welcome": {
      const settings = raw.settings as Record<string, unknown> | undefined;
      if (settings === null || typeof settings !== "object") {
        throw new ClusterError(`welcome: settings must be an object`);
      }
      const withT = { t: "welcome", ...settings };
      return {
        t: "welcome",
        memberId: count(raw, "memberId"),
        settings: {
          partitions: setting(settings, "partitions"),
          heartbeatIntervalMs: setting(settings, "heartbeatIntervalMs"),
          checkpointEveryTicks: setting(settings, "checkpointEveryTicks"),
          seed: bounded(withT, "seed", 0, SEED_MAX),
          coordinatorSilenceMs: settings.coordinatorSilenceMs === undefined
            ? 0
            : bounded(withT, "coordinatorSilenceMs", 0, 2 ** 31),
        },
        runSetup: raw.runSetup === true,
        idBase: count(raw, "idBase"),
        outSeq: raw.outSeq === undefined ? 0 : count(raw, "outSeq"),
      };
    }
    case "assign":
      return {
        t: "assign",
        partition: partitionOfField(raw, "partition", partitions),
        state: batch(raw, "state"),
      };
    case "revoke":
      return { t: "revoke", partition: partitionOfField(raw, "partition", partitions) };
    case "transfer":
      return {
        t: "transfer",
        partition: partitionOfField(raw, "partition", partitions),
        state: batch(raw, "state"),
        seq: count(raw, "seq"),
      };
    case "shutdown":
      return { t: "shutdown", reason: text(raw, "reason", 1024) };
    case "ack":
      return { t: "ack", seq: count(raw, "seq") };
    default:
      throw new ClusterError(
        `unknown message "${String(raw.t).slice(0, 40)}" from the coordinator`,
      );
  }
}

/** A setting of the welcome, checked against its range in limits.ts. */
function setting(settings: Record<string, unknown>, key: ClusterLimitKey): number {
  try {
    return checkClusterLimit(key, settings[key]);
  } catch (error) {
    throw new ClusterError(`welcome: field settings.${(error as Error).message}`);
  }
}

function field(raw: RawMessage, name: string): unknown {
  return raw[name];
}

function fail(raw: RawMessage, name: string, want: string): never {
  throw new ClusterError(`${raw.t}: field ${name} must be ${want}`);
}

function text(raw: RawMessage, name: string, maxLength: number): string {
  const value = field(raw, name);
  if (typeof value !== "string" || value.length > maxLength) {
    fail(raw, name, `a string of at most ${maxLength} characters`);
  }
  return value;
}

function strings(raw: RawMessage, name: string, maxItems: number): string[] {
  const value = field(raw, name);
  if (
    !Array.isArray(value) || value.length > maxItems || value.some((s) => typeof s !== "string")
  ) {
    fail(raw, name, `an array of at most ${maxItems} strings`);
  }
  return value as string[];
}

function bounded(raw: RawMessage, name: string, min: number, max: number): number {
  const value = field(raw, name);
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(raw, name, `an integer from ${min} to ${max}`);
  }
  return value;
}

function count(raw: RawMessage, name: string): number {
  return bounded(raw, name, 0, Number.MAX_SAFE_INTEGER);
}

function finite(raw: RawMessage, name: string): number {
  const value = field(raw, name);
  if (typeof value !== "number" || !Number.isFinite(value)) fail(raw, name, "a finite number");
  return value;
}

function partitionsOf(raw: RawMessage, name: string, partitions: number): number[] {
  const value = field(raw, name) ?? [];
  if (
    !Array.isArray(value) || value.length > partitions ||
    value.some((p) => !Number.isInteger(p) || p < 0 || p >= partitions)
  ) {
    fail(raw, name, `an array of at most ${partitions} partitions`);
  }
  return value as number[];
}

function partitionOfField(raw: RawMessage, name: string, partitions: number): number {
  return bounded(raw, name, 0, partitions - 1);
}

function batch(raw: RawMessage, name: string): EntityBatch {
  try {
    return checkBatch(field(raw, name));
  } catch (error) {
    throw new ClusterError(`${raw.t}: field ${name}: ${(error as Error).message}`);
  }
}

function pairs(raw: RawMessage, name: string, partitions: number): [number, number][] {
  const value = field(raw, name);
  if (!Array.isArray(value) || value.length > partitions) {
    fail(raw, name, `an array of at most ${partitions} [partition, entities] pairs`);
  }
  return value.map((pair) => {
    const ok = Array.isArray(pair) && pair.length === 2 && Number.isInteger(pair[0]) &&
      pair[0] >= 0 && pair[0] < partitions && Number.isInteger(pair[1]) && pair[1] >= 0;
    if (!ok) fail(raw, name, `[partition, entities] pairs with partition below ${partitions}`);
    return [pair[0], pair[1]] as [number, number];
  });
}

function fieldSizes(raw: RawMessage, components: number): number[][] {
  const value = field(raw, "fieldBytes");
  const ok = Array.isArray(value) && value.length === components &&
    value.every((sizes) =>
      Array.isArray(sizes) && sizes.length <= 1024 &&
      sizes.every((n) => n === 1 || n === 2 || n === 4 || n === 8)
    );
  if (!ok) fail(raw, "fieldBytes", "one list of field sizes (1, 2, 4 or 8) per component");
  return value as number[][];
}

/**
 * The component layout of a cluster's scene, as its first member declared
 * it: the coordinator checks every batch against it before storing or
 * forwarding one, so a forged or mismatched batch fails its sender and never
 * reaches a member that would have to refuse it.
 *
 * @example
 * ```ts
 * import { SceneLayout } from "./protocol.ts";
 * const layout = new SceneLayout(["Cell", "ClusterId"], [[4], [8]]);
 * layout.check({ groups: [] }); // undefined: nothing wrong
 * ```
 */
export class SceneLayout {
  readonly key: string;
  readonly components: readonly string[];
  readonly fieldBytes: readonly (readonly number[])[];
  private readonly sizes: Map<string, readonly number[]>;

  constructor(components: readonly string[], fieldBytes: readonly (readonly number[])[]) {
    this.components = components;
    this.fieldBytes = fieldBytes;
    this.sizes = new Map(components.map((name, i) => [name, fieldBytes[i]]));
    this.key = components.map((name, i) => `${name}:${fieldBytes[i].join(".")}`).join(",");
  }

  /** What is wrong with `batch` for this scene, or undefined. */
  check(batch: EntityBatch): string | undefined {
    for (const [g, group] of batch.groups.entries()) {
      const expected: number[] = [];
      for (const name of group.components) {
        const sizes = this.sizes.get(name);
        if (sizes === undefined) return `groups[${g}] names component ${name}, not in the scene`;
        if (name !== "ClusterId") expected.push(...sizes);
      }
      if (group.columns.length !== expected.length) {
        return `groups[${g}] has ${group.columns.length} columns; its components have ` +
          `${expected.length} fields`;
      }
      for (const [c, column] of group.columns.entries()) {
        if (column.byteLength !== group.count * expected[c]) {
          return `groups[${g}].columns[${c}] has ${column.byteLength} bytes; ${group.count} ` +
            `values of ${expected[c]} bytes are ${group.count * expected[c]}`;
        }
      }
    }
    return undefined;
  }
}

function checkpointParts(
  raw: RawMessage,
  partitions: number,
): { partition: number; state: EntityBatch }[] {
  const value = field(raw, "parts");
  if (!Array.isArray(value) || value.length > partitions) {
    fail(raw, "parts", `an array of at most ${partitions} { partition, state }`);
  }
  const seen = new Set<number>();
  return value.map((part) => {
    const record = { t: raw.t, ...(part as Record<string, unknown>) };
    const partition = partitionOfField(record, "partition", partitions);
    if (seen.has(partition)) fail(raw, "parts", "a list naming each partition once");
    seen.add(partition);
    return { partition, state: batch(record, "state") };
  });
}
