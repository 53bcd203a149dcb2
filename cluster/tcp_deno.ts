/**
 * The TCP transport on Deno: Deno.listen / Deno.connect with TCP_NODELAY, one writer loop and
 * one reader loop per connection. Only Deno loads this file (see `tcp.ts`).
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

/** Bytes asked of one read: a socket receive buffer's worth. */
const READ_CHUNK_BYTES = 64 * 1024;

class DenoConnection extends FramedConnection {
  readonly #conn: Deno.TcpConn;
  readonly #readBuffer = new Uint8Array(READ_CHUNK_BYTES);
  #writing = false;

  constructor(conn: Deno.TcpConn, remote: string, limits: TransportLimits) {
    super(remote, limits);
    this.#conn = conn;
    conn.setNoDelay(true);
    void this.#readLoop();
  }

  protected startWriting(): void {
    if (!this.#writing) void this.#writeLoop();
  }

  protected closeSocket(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after a failed read or write: nothing left to release.
    }
  }

  // Writes frames in order; conn.write may take part of a chunk, the rest is offered again.
  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      let chunk = this.nextWriteChunk();
      while (chunk !== undefined && !this.closed) {
        this.wrote(await this.#conn.write(chunk));
        chunk = this.nextWriteChunk();
      }
    } catch (error) {
      this.socketClosed(`connection lost while writing: ${(error as Error).message}`);
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    try {
      while (!this.closed) {
        const bytes = await this.#conn.read(this.#readBuffer);
        if (bytes === null) {
          this.socketClosed("the peer closed the connection");
          return;
        }
        // A copy: the decoder may keep views into what it is given, and the read buffer is reused.
        this.received(this.#readBuffer.slice(0, bytes));
      }
    } catch (error) {
      this.socketClosed(`connection lost while reading: ${(error as Error).message}`);
    }
  }
}

function remoteOf(conn: Deno.TcpConn): string {
  return formatHostPort(conn.remoteAddr.hostname, conn.remoteAddr.port);
}

async function acceptLoop(
  listener: Deno.TcpListener,
  onConnection: (connection: Connection) => void,
  limits: TransportLimits,
): Promise<void> {
  try {
    for await (const conn of listener) {
      const connection = new DenoConnection(conn, remoteOf(conn), limits);
      try {
        onConnection(connection);
      } catch (error) {
        connection.close(`onConnection threw: ${(error as Error).message}`);
      }
    }
  } catch {
    // listener.close() ends a pending accept with an error: that is how the loop stops.
  }
}

function listenNow(
  host: string,
  port: number,
  onConnection: (connection: Connection) => void,
  limits: TransportLimits,
): Listener {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: host, port, transport: "tcp" });
  } catch (error) {
    throw listenError(host, port, error);
  }
  const accepting = acceptLoop(listener, onConnection, limits);
  return {
    host: listener.addr.hostname,
    port: listener.addr.port,
    async close() {
      try {
        listener.close();
      } catch {
        // Closed before: close() is idempotent.
      }
      await accepting;
    },
  };
}

/**
 * The TCP transport on Deno.
 *
 * @example
 * ```ts ignore
 * import { denoTcpTransport } from "./tcp_deno.ts";
 * const transport = denoTcpTransport();
 * const listener = await transport.listen("127.0.0.1", 0, (connection) => connection.close());
 * await listener.close();
 * ```
 */
export function denoTcpTransport(): Transport {
  return {
    name: "tcp-deno",
    // The executor turns a synchronous throw of Deno.listen into a rejection.
    listen: (host, port, onConnection, limits) =>
      new Promise((resolve) => resolve(listenNow(host, port, onConnection, resolveLimits(limits)))),
    async connect(host, port, limits) {
      const resolved = resolveLimits(limits);
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
      try {
        const conn = await Deno.connect({ hostname: host, port, signal: abort.signal });
        return new DenoConnection(conn, formatHostPort(host, port), resolved);
      } catch (error) {
        throw connectError(host, port, error);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
