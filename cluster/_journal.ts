/**
 * How a leading coordinator writes its state to the store (store.ts) and keeps one rule: a
 * member is sent nothing before the state that message reflects is written. So a coordinator
 * that crashes leaves a store a successor can continue from (a member never holds a partition,
 * an arrival or an acknowledgement the store does not know of), and a deposed one, whose writes
 * are fenced, sends nothing at all: it can never assign.
 *
 * Changes are marked dirty under a key (one per record: a member, a partition's owner, its base,
 * its held entities, a log) and written together at the end of the current turn of the event
 * loop, each key once with its value then, in one fenced write. Messages posted meanwhile wait
 * for that write; writes complete in order, so messages keep their order too.
 *
 * @module
 */

import type { ClusterStore, StoreWrite } from "./store.ts";
import type { Connection } from "./transport.ts";

type Message = { readonly t: string; readonly [key: string]: unknown };

/**
 * The write-then-send queue of one leader.
 *
 * @example
 * ```ts ignore
 * const journal = new Journal(store, epoch, (error) => coordinator.standDown(error.message));
 * journal.mark("meta", () => [{ op: "meta", meta }]);
 * journal.post(connection, { t: "welcome", ... }); // sent once the meta is written
 * ```
 */
export class Journal {
  readonly #store: ClusterStore;
  readonly #epoch: number;
  readonly #onFailure: (error: Error) => void;
  readonly #dirty = new Map<string, () => readonly StoreWrite[]>();
  /** Messages waiting for the writes marked before them. */
  #waiting: [Connection, Message][] = [];
  #scheduled = false;
  /** Writes issued and not yet complete. */
  #inFlight = 0;
  /** Writes issued in all: the store applies each only after the one before (store.ts). */
  #issued = 0;
  #failed = false;

  constructor(store: ClusterStore, epoch: number, onFailure: (error: Error) => void) {
    this.#store = store;
    this.#epoch = epoch;
    this.#onFailure = onFailure;
  }

  /** True once a write failed (fenced, or the store lost): nothing is written or sent after. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Marks `key` changed; `writes` gives its value when the turn's write is made. */
  mark(key: string, writes: () => readonly StoreWrite[]): void {
    if (this.#failed) return;
    this.#dirty.set(key, writes);
    this.#schedule();
  }

  /** Forgets changes under keys starting with `prefix` (a member dropped: its log is gone). */
  forget(prefix: string): void {
    for (const key of this.#dirty.keys()) if (key.startsWith(prefix)) this.#dirty.delete(key);
  }

  /** Sends `message` once everything marked so far is written (at once if nothing is). */
  post(connection: Connection, message: Message): void {
    if (this.#failed) return;
    if (this.#dirty.size === 0 && this.#inFlight === 0 && this.#waiting.length === 0) {
      return send(connection, message);
    }
    this.#waiting.push([connection, message]);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#failed) return;
    const writes: StoreWrite[] = [];
    for (const make of this.#dirty.values()) writes.push(...make());
    this.#dirty.clear();
    const waiting = this.#waiting;
    this.#waiting = [];
    if (writes.length === 0 && this.#inFlight === 0) {
      for (const [connection, message] of waiting) send(connection, message);
      return;
    }
    this.#inFlight++;
    this.#store.write(this.#epoch, ++this.#issued, writes).then(() => {
      this.#inFlight--;
      if (this.#failed) return;
      for (const [connection, message] of waiting) send(connection, message);
    }, (error: Error) => {
      this.#inFlight--;
      if (this.#failed) return;
      this.#failed = true;
      this.#dirty.clear();
      this.#waiting = [];
      this.#onFailure(error);
    });
  }
}

/** Sends unless the connection is closed or its queue is full (then it closes: the peer is too slow). */
export function send(connection: Connection, message: Message): void {
  if (connection.closed) return;
  try {
    connection.send(message);
  } catch (error) {
    connection.close(`send failed: ${(error as Error).message}`);
  }
}
