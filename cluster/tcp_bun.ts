/**
 * The TCP transport on Bun: Bun.listen / Bun.connect with Uint8Array data. Only Bun loads this
 * file (see `tcp.ts`).
 *
 * A Bun socket's `write` takes what the kernel accepts at once and returns that count (measured
 * on Bun 1.4.5: 3.9 MB of a 16 MiB write on loopback, then 0 until `drain`); Bun keeps
 * nothing, so the rest stays in this connection's queue and goes out from the `drain` handler.
 *
 * @module
 */

import { FramedConnection } from "./_framed_connection.ts";
import {
  CONNECT_TIMEOUT_MS,
  connectError,
  type Connection,
  formatHostPort,
  type Listener,
  listenError,
  resolveLimits,
  type Transport,
  type TransportLimits,
} from "./transport.ts";

// The part of Bun's socket API used here, declared because `deno check` has no Bun types.

/** A Bun TCP socket carrying this transport's per-socket data. */
interface BunSocket {
  data: BunConnection | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes the kernel took (possibly fewer than given), or -1 if the socket is closed. */
  write(data: Uint8Array): number;
  setNoDelay(enabled: boolean): boolean;
  end(): void;
}

interface BunSocketHandlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunSocketOptions {
  hostname: string;
  port: number;
  binaryType: "uint8array";
  socket: BunSocketHandlers;
}

interface BunTcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

interface BunTcpApi {
  listen(options: BunSocketOptions): BunTcpListener;
  connect(options: BunSocketOptions): Promise<BunSocket>;
}

function bun(): BunTcpApi {
  return (globalThis as unknown as { Bun: BunTcpApi }).Bun;
}

class BunConnection extends FramedConnection {
  readonly #socket: BunSocket;
  #waitingForDrain = false;
  #flushScheduled = false;
  /** Writes the kernel took only in part (a measure of backpressure). */
  partialWrites = 0;

  constructor(socket: BunSocket, remote: string, limits: TransportLimits) {
    super(remote, limits);
    this.#socket = socket;
    // Bun enables TCP_NODELAY by default; set it anyway, small frames must not wait.
    socket.setNoDelay(true);
  }

  protected startWriting(): void {
    // On a microtask: the sends of one turn go out together, in writes of up to 64 KiB, not one
    // write (syscall) per message.
    if (this.#waitingForDrain || this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      if (!this.#waitingForDrain && !this.closed) this.flush();
    });
  }

  protected closeSocket(): void {
    this.#socket.end();
  }

  /** Writes queued bytes until the queue is empty or the kernel takes only part of a chunk. */
  flush(): void {
    this.#waitingForDrain = false;
    for (let chunk = this.nextWriteChunk(); chunk !== undefined; chunk = this.nextWriteChunk()) {
      const written = this.#socket.write(chunk);
      if (written < 0) {
        this.socketClosed("connection lost while writing: the socket is closed");
        return;
      }
      this.wrote(written);
      if (written < chunk.length) {
        this.partialWrites++;
        this.#waitingForDrain = true;
        return;
      }
    }
  }

  /** Bytes read from the socket; Bun gives each read its own buffer, so no copy is needed. */
  receive(bytes: Uint8Array): void {
    this.received(bytes);
  }

  lost(reason: string): void {
    this.socketClosed(reason);
  }
}

function handlers(
  limits: TransportLimits,
  onOpen: (connection: BunConnection) => void,
): BunSocketHandlers {
  return {
    open(socket) {
      const remote = formatHostPort(socket.remoteAddress, socket.remotePort);
      const connection = new BunConnection(socket, remote, limits);
      socket.data = connection;
      onOpen(connection);
    },
    data: (socket, data) => socket.data?.receive(data),
    drain: (socket) => socket.data?.flush(),
    close: (socket, error) =>
      socket.data?.lost(
        error === undefined
          ? "the peer closed the connection"
          : `connection lost: ${error.message}`,
      ),
    error: (socket, error) => socket.data?.lost(`connection lost: ${error.message}`),
  };
}

function listenNow(
  host: string,
  port: number,
  onConnection: (connection: Connection) => void,
  limits: TransportLimits,
): Listener {
  const accept = (connection: BunConnection) => {
    try {
      onConnection(connection);
    } catch (error) {
      connection.close(`onConnection threw: ${(error as Error).message}`);
    }
  };
  let listener: BunTcpListener;
  try {
    listener = bun().listen({
      hostname: host,
      port,
      binaryType: "uint8array",
      socket: handlers(limits, accept),
    });
  } catch (error) {
    throw listenError(host, port, error);
  }
  return {
    host: listener.hostname,
    port: listener.port,
    close() {
      // false: stop accepting, leave accepted connections to their owners.
      listener.stop(false);
      return Promise.resolve();
    },
  };
}

async function connectNow(
  host: string,
  port: number,
  limitsGiven: Partial<TransportLimits> | undefined,
): Promise<Connection> {
  const limits = resolveLimits(limitsGiven);
  let opened: BunConnection | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
  });
  const connecting = bun().connect({
    hostname: host,
    port,
    binaryType: "uint8array",
    socket: handlers(limits, (connection) => opened = connection),
  });
  try {
    const socket = await Promise.race([connecting, timeout]);
    // `open` ran before connect resolved, so bytes that came with it are already buffered.
    return socket.data ?? opened!;
  } catch (error) {
    // A socket that opens after the timeout is closed at once.
    void connecting.then((socket) => socket.end(), () => {});
    throw connectError(host, port, error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The TCP transport on Bun.
 *
 * @example
 * ```ts ignore
 * import { bunTcpTransport } from "./tcp_bun.ts";
 * const transport = bunTcpTransport();
 * const listener = await transport.listen("127.0.0.1", 0, (connection) => connection.close());
 * await listener.close();
 * ```
 */
export function bunTcpTransport(): Transport {
  return {
    name: "tcp-bun",
    // The executor turns a synchronous throw of Bun.listen into a rejection.
    listen: (host, port, onConnection, limits) =>
      new Promise((resolve) => resolve(listenNow(host, port, onConnection, resolveLimits(limits)))),
    connect: connectNow,
  };
}
