/**
 * An in-memory Transport for tests: listeners live in one MemoryTransport instance, and a
 * connection's two ends pass real frames (encodeFrame, FrameDecoder) to each other on
 * microtasks, in order, so size limits, malformed frames and delivery order behave as over TCP.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";
import { FramedConnection, WRITE_COALESCE_BYTES } from "./_framed_connection.ts";
import {
  type Connection,
  formatHostPort,
  type Listener,
  resolveLimits,
  type Transport,
  type TransportLimits,
} from "./transport.ts";

/** Where port 0 starts counting in a MemoryTransport (an arbitrary, recognisable range). */
const FIRST_PICKED_PORT = 40_000;

interface MemoryListenerEntry {
  readonly onConnection: (connection: Connection) => void;
  readonly limits: TransportLimits;
}

class MemoryConnection extends FramedConnection {
  peer: MemoryConnection | undefined = undefined;
  #flushScheduled = false;

  protected startWriting(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  protected closeSocket(): void {
    const peer = this.peer;
    // After the bytes already handed over, like a FIN behind the data on a socket.
    if (peer !== undefined) queueMicrotask(() => peer.lost("the peer closed the connection"));
  }

  /** Bytes from the peer, as if read from a socket. */
  deliver(bytes: Uint8Array): void {
    this.received(bytes);
  }

  lost(reason: string): void {
    this.socketClosed(reason);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const peer = this.peer!;
    for (let chunk = this.nextWriteChunk(); chunk !== undefined; chunk = this.nextWriteChunk()) {
      // A chunk up to the coalescing size may be the reused scratch buffer: hand over a copy.
      peer.deliver(chunk.length > WRITE_COALESCE_BYTES ? chunk : chunk.slice());
      this.wrote(chunk.length);
    }
  }
}

/**
 * A Transport whose "network" is this instance: `listen` registers host:port (port 0 picks
 * one), `connect` pairs two connection ends.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./memory_transport.ts";
 * const transport = new MemoryTransport();
 * const listener = await transport.listen("a", 0, (server) => {
 *   server.onMessage = (message) => server.send({ t: "echo", of: message.t });
 * });
 * const client = await transport.connect("a", listener.port);
 * client.onMessage = (message) => console.log(message.t); // "echo"
 * client.send({ t: "ping" });
 * ```
 */
export class MemoryTransport implements Transport {
  readonly name = "memory";
  readonly #listeners = new Map<string, MemoryListenerEntry>();
  #nextPort = FIRST_PICKED_PORT;
  #nextClientPort = 1;

  listen(
    host: string,
    port: number,
    onConnection: (connection: Connection) => void,
    limits?: Partial<TransportLimits>,
  ): Promise<Listener> {
    return new Promise((resolve) => {
      const resolved = resolveLimits(limits);
      const picked = port === 0 ? this.#pickPort(host) : port;
      const address = formatHostPort(host, picked);
      if (this.#listeners.has(address)) {
        throw new ClusterError(
          `listen on ${address} failed: this MemoryTransport already listens there; close that ` +
            `listener first or use port 0`,
        );
      }
      this.#listeners.set(address, { onConnection, limits: resolved });
      resolve({
        host,
        port: picked,
        close: () => {
          this.#listeners.delete(address);
          return Promise.resolve();
        },
      });
    });
  }

  connect(host: string, port: number, limits?: Partial<TransportLimits>): Promise<Connection> {
    return new Promise((resolve) => {
      const address = formatHostPort(host, port);
      const listening = this.#listeners.get(address);
      if (listening === undefined) {
        throw new ClusterError(
          `connect to ${address} failed: nothing listens there on this MemoryTransport; ` +
            `listen first, on the same instance`,
        );
      }
      const client = new MemoryConnection(address, resolveLimits(limits));
      const clientAddress = formatHostPort("memory-client", this.#nextClientPort++);
      const server = new MemoryConnection(clientAddress, listening.limits);
      client.peer = server;
      server.peer = client;
      try {
        listening.onConnection(server);
      } catch (error) {
        server.close(`onConnection threw: ${(error as Error).message}`);
      }
      resolve(client);
    });
  }

  #pickPort(host: string): number {
    while (this.#listeners.has(formatHostPort(host, this.#nextPort))) this.#nextPort++;
    return this.#nextPort++;
  }
}
