/**
 * Who runs each partition, and how partitions move: the coordinator's members and partitions,
 * and every change of owner. A partition is assigned with a state (its base), revoked from its
 * owner, handed over by it, and assigned on; a failed member's partitions restart elsewhere from
 * their base with its recovery log replayed over it; parked partitions go to the least loaded
 * member, and moves even the load out. Entities bound for a partition go to its owner, logged as
 * an arrival, or wait (held) while it has none. Each change is marked for the store (the
 * StateWriter of _coordinator_state.ts) before anything that reflects it is sent.
 *
 * The coordinator (coordinator.ts) owns the connections and the messages; it hands this the
 * transfers, checkpoints and leaves members send, and the failures it detects.
 *
 * @module
 */

import {
  batchCount,
  batchIds,
  emptyBatch,
  type EntityBatch,
  filterBatch,
  mergeBatches,
} from "./batch.ts";
import type { ClusterLimits } from "./limits.ts";
import { leastLoaded, planMoves } from "./_placement.ts";
import type { LogEntry } from "./recovery_log.ts";
import { CLOSE_GRACE_MS, withDeadline } from "./_closing.ts";
import {
  lossText,
  type Member,
  type Partition,
  partitionList,
  StateWriter,
} from "./_coordinator_state.ts";
import type { CoordinatorEvent } from "./coordinator_options.ts";
import type { ClusterSettings, CoordinatorMessage, MemberMessage } from "./protocol.ts";

/** Members that left or failed kept for status. */
const HISTORY_MAX = 64;

/** What ownership needs from its coordinator. */
export interface OwnershipHost {
  readonly settings: ClusterSettings;
  readonly limits: ClusterLimits;
  readonly writer: StateWriter;
  readonly log: (line: string) => void;
  readonly onEvent: ((event: CoordinatorEvent) => void) | undefined;
  /** Sends once what the message reflects is written; nothing to a member adrift. */
  post(member: Member, message: CoordinatorMessage): void;
  /** Marks the cluster-wide facts (seeded, failovers) changed. */
  markMeta(): void;
  /** Now on the coordinator's progress clock (its own stalls left out). */
  progressNow(): number;
  /** Hears that a member left or failed and is no longer one of `members`. */
  retired(member: Member): void;
}

/**
 * The members and partitions of one coordinator.
 *
 * @example
 * ```ts ignore
 * const ownership = new Ownership(host);
 * ownership.members.set(member.id, member);
 * ownership.rebalance(); // parked partitions assigned, the load evened out
 * ```
 */
export class Ownership {
  /** Members by id: active, suspect, leaving, or adrift (known, not connected). */
  readonly members: Map<number, Member> = new Map();
  /** Members that left or failed, newest first. */
  readonly history: Member[] = [];
  readonly parts: Partition[];
  /** Whether setup's entities exist in the cluster (the seeding member has checkpointed). */
  seeded = false;
  /** The member running setup, until its first checkpoint. */
  seeder: Member | undefined;
  transferredEntities = 0;
  transferFrames = 0;
  failovers = 0;
  readonly #host: OwnershipHost;

  constructor(host: OwnershipHost) {
    this.#host = host;
    this.parts = Array.from({ length: host.settings.partitions }, (_, id) => ({
      id,
      owner: undefined,
      moving: false,
      nextOwner: undefined,
      base: emptyBatch(),
      basePos: 0,
      held: [],
      entities: 0,
    }));
  }

  /** A member's transfer: entities crossing into `partition`, or its handoff. */
  transfer(member: Member, partition: number, state: EntityBatch, handoff: boolean): void {
    const part = this.parts[partition];
    if (handoff && !(part.moving && part.owner === member)) {
      return this.fail(
        member,
        `protocol error: handoff of partition ${partition}, which it was not asked for`,
      );
    }
    const entities = batchCount(state);
    if (entities === 0 && !handoff) return; // an empty crossing changes nothing
    const ids = batchIds(state);
    const entries: LogEntry[] = [{ kind: "depart", ids }];
    if (handoff) {
      // What the partition had at its base (or got since) and neither hands over nor sent away
      // moved inside the member to another of its partitions, whose base predates it: kept in
      // the log, it goes back to this partition if the member fails before its next checkpoint.
      const handed = new Set(ids);
      const kept = filterBatch(
        member.log.restore(partition, part.base, part.basePos),
        (id) => !handed.has(id),
      );
      if (batchCount(kept) > 0) entries.push({ kind: "kept", partition, state: kept });
    }
    // A sender failed for a full log keeps these entities: its partitions come back from its
    // checkpoint and log, which do not say they left. Taking them too would count them twice.
    if (!this.#record(member, entries)) return;
    this.transferredEntities += entities;
    this.transferFrames++;
    this.#host.onEvent?.({ kind: "transfer", partition, member: member.id, entities, handoff });
    if (handoff) return this.#handedOver(member, part, state);
    this.#route(part, state);
  }

  /** A member's checkpoint: the new base of each partition it owns, and its log cut. */
  checkpoint(member: Member, message: Extract<MemberMessage, { t: "checkpoint" }>): void {
    const writer = this.#host.writer;
    // Arrivals not yet applied at the cut come after it: replay them on restore.
    const cut = member.log.cut(message.appliedSeq);
    writer.log(member);
    member.checkpointTick = message.tick;
    writer.member(member);
    for (const { partition, state } of message.parts) {
      const part = this.parts[partition];
      if (part.owner !== member) continue; // stale: handed over or failed over meanwhile
      part.base = state;
      part.entities = batchCount(state);
    }
    for (const partition of member.partitions) {
      this.parts[partition].basePos = cut;
      writer.base(this.parts[partition]);
    }
    if (
      this.seeder === member && !this.seeded &&
      message.parts.length === this.#host.settings.partitions
    ) {
      this.seeded = true;
      this.seeder = undefined;
      this.#host.markMeta();
      this.#host.log(
        `setup done on member ${member.id}: ${
          message.parts.reduce((n, p) => n + batchCount(p.state), 0)
        } entities`,
      );
      this.rebalance();
    }
  }

  /** A member's graceful leave: every partition it owns revoked and handed on. */
  leave(member: Member): void {
    if (member.state === "leaving") return;
    member.state = "leaving";
    this.#host.log(
      `member ${member.id} leaves: handing over partitions ${partitionList(member.partitions)}`,
    );
    for (const partition of member.partitions) {
      const part = this.parts[partition];
      if (part.moving) continue;
      part.nextOwner = this.#leastLoaded(this.#liveMembers().filter((m) => m !== member));
      this.#revoke(part);
    }
    this.#finishLeaveIfDone(member);
  }

  /**
   * Gives parked partitions to the least loaded members, then moves
   * partitions until no member has more than one partition more than
   * another, as few as it can. Partitions on their way are not moved again;
   * it runs again when they arrive.
   */
  rebalance(): void {
    if (!this.seeded) {
      // The member running setup takes every partition, while it starts too: setup is its start.
      const seeder = this.seeder;
      if (seeder === undefined || !(this.#isLive(seeder) || seeder.state === "joining")) return;
      for (const part of this.parts) {
        if (part.owner === undefined && !part.moving) this.#assign(part, seeder);
      }
      return;
    }
    const live = this.#liveMembers();
    if (live.length === 0) return;
    for (const part of this.parts) {
      if (part.owner !== undefined || part.moving) continue;
      this.#assign(part, this.#leastLoaded(live)!);
    }
    const moves = planMoves(
      this.parts.map((p) => (p.moving ? p.nextOwner : p.owner)?.id ?? -1),
      this.parts.map((p) => !p.moving && p.owner !== undefined && this.#isLive(p.owner)),
      live.map((m) => m.id),
    );
    for (const [partition, to] of moves) {
      const part = this.parts[partition];
      part.nextOwner = this.members.get(to);
      this.#revoke(part);
      this.#host.log(
        `partition ${partition} moves from member ${part.owner!.id} to member ${to}`,
      );
    }
  }

  /**
   * Fails a member: its partitions restart from their base with its log replayed over it, on
   * the members meant to take them or the least loaded, or parked while there is none.
   */
  fail(member: Member, reason: string): void {
    if (member.state === "failed" || member.state === "left") return;
    const host = this.#host;
    const wasSeeder = this.seeder === member;
    member.state = "failed";
    this.#retire(member);
    member.connection?.close(reason);
    if (wasSeeder) this.seeder = undefined;
    const partitions = [...member.partitions];
    const kept = member.log.keptSince();
    if (partitions.length === 0 && kept.length === 0) {
      host.log(`member ${member.id} failed (${reason}); it owned no partitions`);
      return;
    }
    this.failovers++;
    host.markMeta();
    const resumed: string[] = [];
    for (const partition of partitions) {
      const part = this.parts[partition];
      part.held.unshift(member.log.restore(part.id, part.base, part.basePos));
      part.owner = undefined;
      part.moving = false;
      host.writer.held(part);
      host.writer.owner(part);
      // Before setup has checkpointed there is nothing to resume: park for the next seeder.
      const next = !this.seeded
        ? undefined
        : part.nextOwner !== undefined && this.#isLive(part.nextOwner)
        ? part.nextOwner
        : this.#leastLoaded(this.#liveMembers());
      part.nextOwner = undefined;
      if (next === undefined) {
        resumed.push(`${partition} parked`);
        continue;
      }
      this.#assign(part, next);
      resumed.push(`${partition} on member ${next.id}`);
    }
    const back: string[] = [];
    for (const { partition, state } of kept) {
      this.#route(this.parts[partition], state);
      const entities = batchCount(state);
      back.push(`${entities} ${entities === 1 ? "entity" : "entities"} to partition ${partition}`);
    }
    const lost = wasSeeder && !this.seeded
      ? "setup had not checkpointed: its entities are lost; the next member to join runs setup"
      : lossText(member, host.progressNow(), host.settings.heartbeatIntervalMs);
    const owned = resumed.length === 0
      ? "it owned no partitions"
      : `partitions ${resumed.join(", ")} ${lost}`;
    const keptText = back.length === 0
      ? ""
      : `; what it had moved out of partitions it handed over since goes back: ${back.join(", ")}`;
    host.log(`member ${member.id} failed (${reason}); ${owned}${keptText}`);
    host.onEvent?.({ kind: "failover", member: member.id, reason, partitions, loss: lost });
    this.rebalance();
  }

  /**
   * What a member coming back (rejoin) is owed from what it claims: the partitions whose revoke
   * it may not have had (it still runs them), and those whose assign it may not have had (it
   * neither runs nor hands them over). A partition it is handing over is on its way: its
   * handoff is among the transfers it sends again.
   */
  reconcile(
    member: Member,
    claimed: ReadonlySet<number>,
    handedOver: ReadonlySet<number>,
  ): { revokeAgain: number[]; assignAgain: Partition[] } {
    const revokeAgain: number[] = [];
    const assignAgain: Partition[] = [];
    for (const partition of member.partitions) {
      const part = this.parts[partition];
      if (claimed.has(partition)) {
        if (part.moving) revokeAgain.push(partition);
      } else if (handedOver.has(partition)) part.moving = true;
      else assignAgain.push(part);
    }
    return { revokeAgain, assignAgain };
  }

  /** True for a current member that runs partitions (active or suspect). */
  #isLive(member: Member): boolean {
    return this.members.get(member.id) === member &&
      (member.state === "active" || member.state === "suspect");
  }

  /** Sends entities to a partition's owner, or holds them while it has none. */
  #route(part: Partition, state: EntityBatch): void {
    const owner = part.owner;
    if (owner === undefined || part.moving || owner.state === "failed" || owner.state === "left") {
      part.held.push(state);
      this.#host.writer.held(part);
      return;
    }
    const arrival = { kind: "arrive", seq: owner.seq + 1, partition: part.id, state } as const;
    // An owner failed for a full log had its partitions restored without these entities and
    // given on (or parked): they go to whoever has the partition now.
    if (!this.#record(owner, [arrival])) return this.#route(part, state);
    owner.seq = arrival.seq;
    this.#host.writer.member(owner);
    // An adrift owner gets it from its log when it rejoins.
    this.#host.post(owner, { t: "transfer", partition: part.id, state, seq: owner.seq });
  }

  #handedOver(member: Member, part: Partition, state: EntityBatch): void {
    const writer = this.#host.writer;
    member.partitions.delete(part.id);
    part.moving = false;
    part.owner = undefined;
    part.held.unshift(state);
    writer.held(part);
    writer.owner(part);
    writer.member(member);
    const next = part.nextOwner !== undefined && this.#isLive(part.nextOwner)
      ? part.nextOwner
      : this.#leastLoaded(this.#liveMembers());
    part.nextOwner = undefined;
    if (next !== undefined) this.#assign(part, next);
    else this.#host.log(`partition ${part.id} parked in the coordinator: no member to run it`);
    if (member.state === "leaving") this.#finishLeaveIfDone(member);
    this.rebalance();
  }

  #finishLeaveIfDone(member: Member): void {
    if (member.partitions.size > 0) return;
    member.state = "left";
    this.#retire(member);
    this.#host.log(`member ${member.id} left; nothing lost`);
    const connection = member.connection;
    this.#host.post(member, { t: "shutdown", reason: "left the cluster" });
    void withDeadline(member.closed, CLOSE_GRACE_MS).then(() => connection?.close("left"));
    if (this.seeder === member) this.seeder = undefined;
  }

  #assign(part: Partition, member: Member): void {
    const writer = this.#host.writer;
    const state = mergeBatches([...part.held]);
    part.held = [];
    part.owner = member;
    part.moving = false;
    part.base = state;
    part.basePos = member.log.end;
    part.entities = batchCount(state);
    member.partitions.add(part.id);
    writer.held(part);
    writer.base(part);
    writer.member(member);
    this.#host.post(member, { t: "assign", partition: part.id, state });
  }

  #revoke(part: Partition): void {
    const to = part.nextOwner?.id ?? null;
    this.#host.onEvent?.({ kind: "revoke", partition: part.id, member: part.owner!.id, to });
    part.moving = true;
    this.#host.post(part.owner!, { t: "revoke", partition: part.id });
  }

  /**
   * Appends to a member's log. A log without room for them all fails the member instead, and
   * then the caller must not act on the entries: the member's partitions were restored without
   * them. False in that case.
   */
  #record(member: Member, entries: readonly LogEntry[]): boolean {
    if (member.log.full(entries.length)) {
      this.fail(
        member,
        `${member.log.entries.length} transfers since its last checkpoint (memberLogEntriesMax is ` +
          `${this.#host.limits.memberLogEntriesMax}); checkpoint more often ` +
          `(checkpointEveryTicks, --checkpoint-every)`,
      );
      return false;
    }
    for (const entry of entries) member.log.append(entry);
    this.#host.writer.log(member);
    return true;
  }

  #retire(member: Member): void {
    this.members.delete(member.id);
    this.#host.writer.drop(member);
    this.history.unshift(member);
    if (this.history.length > HISTORY_MAX) this.history.pop();
    this.#host.retired(member);
  }

  /** The live member with the fewest partitions, counting those on their way to it. */
  #leastLoaded(members: readonly Member[]): Member | undefined {
    const load = new Map<number, number>();
    for (const p of this.parts) {
      const to = p.moving ? p.nextOwner : p.owner;
      if (to !== undefined) load.set(to.id, (load.get(to.id) ?? 0) + 1);
    }
    const id = leastLoaded(members.map((m) => m.id), load);
    return members.find((m) => m.id === id);
  }

  #liveMembers(): Member[] {
    return [...this.members.values()].filter((m) => this.#isLive(m));
  }
}
