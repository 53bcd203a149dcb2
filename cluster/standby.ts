/**
 * A coordinator that does not lead: it shares the store with the leader and waits for the
 * lease. Meanwhile it answers on its address like any coordinator: connections authenticate
 * (the same admission as the leader's), `status` gets the store's view with the leader's
 * address, and a join or rejoin is refused with the leader's address and a note to try again,
 * so a member given every coordinator address moves on until the leader takes it.
 *
 * @module
 */

import { Admission } from "./_admission.ts";
import { PROTOCOL_VERSION } from "./auth.ts";
import { batchCount } from "./batch.ts";
import type { ClusterLimits } from "./limits.ts";
import type { ClusterStatus, RawMessage } from "./protocol.ts";
import type { ClusterStore } from "./store.ts";
import type { Connection } from "./transport.ts";
import { send } from "./_journal.ts";
import { closeWhenSent } from "./_closing.ts";

/** What a standby needs. */
export interface StandbyOptions {
  readonly secret: string;
  readonly limits: ClusterLimits;
  readonly store: ClusterStore;
  /** Its own address for members. */
  readonly address: string;
  readonly log: (line: string) => void;
}

/**
 * The standby role of a coordinator process.
 *
 * @example
 * ```ts ignore
 * const standby = new Standby({ secret, limits, store, address: "127.0.0.1:7401", log });
 * await transport.listen(host, port, (connection) => standby.accept(connection));
 * ```
 */
export class Standby {
  readonly #options: StandbyOptions;
  readonly #admission: Admission;
  readonly #startedMs = performance.now();

  constructor(options: StandbyOptions) {
    this.#options = options;
    this.#admission = new Admission({
      secret: options.secret,
      limits: options.limits,
      log: options.log,
      onFirstMessage: (connection, raw) => void this.#firstMessage(connection, raw),
    });
  }

  /** Takes a new connection: authentication, then its first message. */
  accept(connection: Connection): void {
    this.#admission.admit(connection);
  }

  /** Stops taking connections (this process leads now, or stops). */
  close(): void {
    this.#admission.close();
  }

  /** The store's view: members and partitions as the leader last wrote them. */
  async status(): Promise<ClusterStatus> {
    const { store, limits, address } = this.#options;
    const [leader, stored] = await Promise.all([store.leader(), store.load()]);
    return {
      protocol: PROTOCOL_VERSION,
      role: "standby",
      leader: leader?.address ?? null,
      epoch: leader?.epoch ?? 0,
      store: `${store.name} (seen from the standby at ${address})`,
      members: [...stored.members.values()].map(({ member }) => ({
        id: member.id,
        address: member.address,
        state: "active",
        partitions: member.partitions,
        tick: member.tick,
        tickMsMean: 0,
        entities: 0,
        lastHeartbeatAgoMs: 0,
      })),
      partitions: [...stored.partitions.entries()].map(([id, p]) => ({
        id,
        owner: p.owner,
        entities: batchCount(p.base) + p.held.reduce((n, b) => n + batchCount(b), 0),
        state: p.owner === null ? "parked" : "running",
      })),
      uptimeMs: Math.round(performance.now() - this.#startedMs),
      heartbeatIntervalMs: limits.heartbeatIntervalMs,
      failureTimeoutMs: limits.failureTimeoutMs,
      checkpointEveryTicks: limits.checkpointEveryTicks,
      transfers: { entities: 0, frames: 0 },
      failovers: stored.meta?.failovers ?? 0,
    };
  }

  async #firstMessage(connection: Connection, raw: RawMessage): Promise<void> {
    try {
      if (raw.t === "status?") {
        send(connection, { t: "status", status: await this.status() });
      } else {
        const leader = await this.#options.store.leader();
        send(connection, {
          t: "error",
          message: `${this.#options.address} is a standby coordinator; the leader is ` +
            `${leader === undefined ? "being chosen" : `at ${leader.address}`}: try again`,
          retry: true,
          leader: leader?.address ?? null,
        });
      }
    } catch (error) {
      send(connection, {
        t: "error",
        message: `the standby cannot read the store: ${(error as Error).message}`,
        retry: true,
      });
    }
    closeWhenSent(connection, "answered");
  }
}
