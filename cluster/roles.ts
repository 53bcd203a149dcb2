/**
 * The life of a coordinator process: standby until it wins the lease, then leader until it is
 * stopped or stands down, then standby again. One listener serves both roles (connections go
 * to the role of the moment), so a member or `cluster status` may reach any coordinator.
 *
 * As leader it renews the lease every third of `leaseMs`. If a renewal is refused (another
 * coordinator's epoch is newer: it was stopped or stalled past its lease and a standby took
 * over) or renewals have failed for a whole lease (the store out of reach), it stands down.
 * Its writes are fenced anyway (store.ts), so even a leader that has not noticed yet can
 * assign nothing. With the memory store there is no one to take
 * over, and the lease is not checked.
 *
 * @module
 */

import { Coordinator, type CoordinatorEvent, type CoordinatorOptions } from "./coordinator.ts";
import type { ClusterLimits } from "./limits.ts";
import { Standby } from "./standby.ts";
import type { ClusterStore } from "./store.ts";
import type { Connection } from "./transport.ts";

/** How often a standby asks for the lease, in leases: a fifth, so takeover comes soon after expiry. */
const CAMPAIGNS_PER_LEASE = 5;
/** Renewals per lease. */
const RENEWALS_PER_LEASE = 3;
/**
 * What `stopped` resolves with to simulate a crash in one process (tests): the coordinator's
 * connections drop and it neither hands over nor gives its lease back, as after SIGKILL.
 */
export const CRASH = "crash";

/**
 * A coordinator process's roles over one store.
 *
 * @example
 * ```ts ignore
 * const roles = new CoordinatorRoles({ ...limits, secret, log }, store);
 * await tcpTransport().listen(host, port, (c) => roles.accept(c));
 * const signal = await roles.run("127.0.0.1:7400", stopped);
 * ```
 */
export class CoordinatorRoles {
  readonly #options: CoordinatorOptions & ClusterLimits & { log: (line: string) => void };
  readonly #store: ClusterStore;
  #role: { accept(connection: Connection): void } | undefined;

  constructor(
    options: CoordinatorOptions & ClusterLimits & { log: (line: string) => void },
    store: ClusterStore,
  ) {
    this.#options = options;
    this.#store = store;
  }

  /** Hands a new connection to the role of the moment. */
  accept(connection: Connection): void {
    if (this.#role === undefined) return connection.close("the coordinator is starting");
    this.#role.accept(connection);
  }

  /**
   * Runs until `stopped` resolves (with a signal name, returned): standby, leader, standby...
   * `onLead` hears each coordinator it leads with.
   */
  async run(
    address: string,
    stopped: Promise<string>,
    onLead?: (coordinator: Coordinator) => Promise<void>,
    onEvent?: (event: CoordinatorEvent) => void,
  ): Promise<string> {
    let signal: string | undefined;
    void stopped.then((name) => signal = name);
    const { log } = this.#options;
    const store = this.#store;
    for (;;) {
      const standby = new Standby({ ...this.#options, limits: this.#options, store, address });
      this.#role = standby;
      const epoch = await this.#campaign(address, stopped, () => signal !== undefined);
      standby.close();
      if (epoch === undefined) return signal!;
      // Renewing from the moment it is won: loading a big state may take longer than a lease.
      const leading: { lost?: string; coordinator?: Coordinator } = {};
      const stopRenewing = store.shared
        ? this.#keepLease(epoch, address, (reason) => {
          leading.lost ??= reason;
          leading.coordinator?.standDown(reason);
        })
        : () => {};
      const restored = await store.load().catch((error: Error) => {
        log(`cannot read the store after winning epoch ${epoch}: ${error.message}; standby now`);
        return undefined;
      });
      if (restored === undefined) {
        stopRenewing();
        await store.resign(epoch, address).catch(() => {});
        continue;
      }
      let down!: (reason: string) => void;
      const stoodDown = new Promise<string>((resolve) => down = resolve);
      const coordinator = leading.coordinator = new Coordinator({
        ...this.#options,
        store,
        epoch,
        restored,
        address,
        onStandDown: down,
        onEvent,
      });
      this.#role = coordinator;
      if (leading.lost !== undefined) coordinator.standDown(leading.lost);
      else if (store.shared) log(`leads now (epoch ${epoch}, store ${store.name})`);
      await onLead?.(coordinator);
      const ticks = setInterval(
        () => coordinator.tick(),
        Math.max(5, this.#options.heartbeatIntervalMs / 4),
      );
      const outcome = await Promise.race([stopped, stoodDown.then(() => undefined)]);
      clearInterval(ticks);
      stopRenewing();
      if (outcome === CRASH) {
        // A crash simulated in one process (tests): connections drop, the lease is kept.
        coordinator.standDown(CRASH, false);
        return outcome;
      }
      if (outcome !== undefined) {
        log(`${outcome}: ${store.shared ? "handing the lead over" : "stopping every member"}`);
        await coordinator.close(`the coordinator stopped (${outcome})`, store.shared);
        await store.resign(epoch, address).catch(() => {});
        return outcome;
      }
      log(`epoch ${epoch} is over; standby now`);
    }
  }

  /** Asks for the lease until it is won (its epoch) or the process is stopped (undefined). */
  async #campaign(
    address: string,
    stopped: Promise<string>,
    isStopped: () => boolean,
  ): Promise<number | undefined> {
    const { leaseMs, log } = this.#options;
    let said = "";
    while (!isStopped()) {
      let line: string;
      try {
        const epoch = await this.#store.campaign(address, leaseMs);
        if (epoch !== undefined) return epoch;
        const leader = await this.#store.leader();
        line = leader === undefined
          ? "standby: the lease is free; asking for it"
          : `standby: ${leader.address} leads (epoch ${leader.epoch}); waiting for its lease`;
      } catch (error) {
        line = `standby: cannot reach the store: ${(error as Error).message}`;
      }
      if (line !== said) log(said = line);
      await Promise.race([
        stopped,
        new Promise((r) => setTimeout(r, leaseMs / CAMPAIGNS_PER_LEASE)),
      ]);
    }
    return undefined;
  }

  /**
   * Renews the lease while leading; stands the coordinator down when a renewal is refused (a
   * newer epoch exists), or when renewals have failed (the store out of reach) for a lease.
   * A renewal late because this process stalled is still tried: it succeeds exactly when no
   * other coordinator took the lease meanwhile (no newer epoch), and then this one still leads.
   */
  #keepLease(epoch: number, address: string, lose: (reason: string) => void): () => void {
    const { leaseMs } = this.#options;
    let renewedMs = performance.now();
    let over = false;
    const timer = setInterval(() => {
      if (over) return;
      const askedMs = performance.now();
      this.#store.renew(epoch, address, leaseMs).then((ok) => {
        if (ok) renewedMs = Math.max(renewedMs, askedMs);
        else {
          over = true;
          lose(`its lease was taken: epoch ${epoch} is fenced`);
        }
      }, (error: Error) => {
        const sinceMs = performance.now() - renewedMs;
        if (sinceMs <= leaseMs) return;
        over = true;
        lose(
          `no renewal of its lease for ${Math.round(sinceMs)} ms (leaseMs ${leaseMs}): ` +
            `${error.message}; another coordinator may lead`,
        );
      });
    }, leaseMs / RENEWALS_PER_LEASE);
    return () => clearInterval(timer);
  }
}
