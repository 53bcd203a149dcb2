/**
 * Flow control from client to server within a session: the client (a member, a status client)
 * has at most a window of bytes written and not yet acknowledged (32 KB, more in a bulk
 * transfer), and the server acknowledges what it has read every ACK_EVERY_BYTES, in a frame the
 * transport keeps to itself.
 *
 * Why, when TCP has flow control of its own: over loopback the MSS is 64 KB, while a server
 * that reads small frames keeps a receive window under that (57 KB measured). When the server
 * stops reading for a while (stopped by a signal, busy in one long task), the client's kernel
 * coalesces what it queued into 64 KB segments, none of which fits the window any more, and
 * sends only on its zero-window probe timer, which backs off exponentially: members' bytes
 * arrived 20 to 35 s after a 5 s stop of the coordinator, and they were failed for silence.
 * With no more than 32 KB outstanding, no segment is larger than the window.
 *
 * A window that small would cap a bulk transfer at 32 KB per round trip, so the window grows
 * (doubling, up to SEND_WINDOW_BYTES_MAX) while the client keeps filling it and the server keeps
 * acknowledging, as in a handoff, whose steady flow also lets the server's kernel grow its own
 * receive window; and it falls back to SEND_WINDOW_BYTES_MIN after a second in which the client
 * did not fill it, as between a member's checkpoints.
 *
 * Only the client's side is held: the server's acknowledgements are never held back, so the
 * two sides cannot wait for each other.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";

/** The window of a client that sends little: at most this much written and unacknowledged. */
export const SEND_WINDOW_BYTES_MIN = 32 * 1024;
/** The window of a client in a bulk transfer, at most. */
export const SEND_WINDOW_BYTES_MAX = 4 * 1024 * 1024;
/** How long a window stays grown without being filled. */
const SEND_WINDOW_IDLE_MS = 1_000;
/** A server acknowledges after reading this many bytes since its last acknowledgement. */
export const ACK_EVERY_BYTES = 8 * 1024;
/** The `t` of an acknowledgement: `{ t: ACK_MESSAGE, bytes }`, bytes read in all. */
export const ACK_MESSAGE = "ack~";

/**
 * The client's count of what it may still write.
 *
 * @example
 * ```ts
 * import { SEND_WINDOW_BYTES_MIN, SendWindow } from "./_flow.ts";
 * const window = new SendWindow();
 * window.wrote(SEND_WINDOW_BYTES_MIN);
 * window.openBytes(); // 0
 * window.limited();
 * window.acknowledged(8192, "peer");
 * window.openBytes(); // 40960: the window doubled while it was full
 * ```
 */
export class SendWindow {
  #windowBytes = SEND_WINDOW_BYTES_MIN;
  #writtenBytes = 0;
  /** Handed to the socket and not yet reported written (a write in progress). */
  #writingBytes = 0;
  #ackedBytes = 0;
  /** Whether writing stopped at the window since the last acknowledgement, and when last. */
  #limited = false;
  #limitedMs = -Infinity;

  /** Bytes that may be written now (0 or less: none). */
  openBytes(): number {
    if (this.#windowBytes > SEND_WINDOW_BYTES_MIN) {
      if (performance.now() - this.#limitedMs > SEND_WINDOW_IDLE_MS) {
        this.#windowBytes = SEND_WINDOW_BYTES_MIN;
      }
    }
    return this.#windowBytes - (this.#writtenBytes + this.#writingBytes - this.#ackedBytes);
  }

  /** Says that `bytes` were handed to the socket to write. */
  writing(bytes: number): void {
    this.#writingBytes = bytes;
  }

  /** Says that the socket took `bytes` (the rest of what was handed to it comes again). */
  wrote(bytes: number): void {
    this.#writtenBytes += bytes;
    this.#writingBytes = 0;
  }

  /** Says that writing stopped at the window with more to write. */
  limited(): void {
    this.#limited = true;
    this.#limitedMs = performance.now();
  }

  /** Takes an acknowledgement of `bytes` read in all; throws ClusterError if it cannot be. */
  acknowledged(bytes: unknown, remote: string): void {
    // A write still in progress counts: the server may read it, and say so, before the write
    // is reported done (Deno resolves a write after the bytes are in the kernel).
    const written = this.#writtenBytes + this.#writingBytes;
    if (
      typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < this.#ackedBytes ||
      bytes > written
    ) {
      throw new ClusterError(
        `protocol error: ${remote} acknowledged ${String(bytes)} bytes; ${this.#ackedBytes} ` +
          `were acknowledged before and ${written} written`,
      );
    }
    this.#ackedBytes = bytes;
    if (this.#limited) {
      // The server keeps up with a client that has more to send: let more be in flight.
      this.#windowBytes = Math.min(SEND_WINDOW_BYTES_MAX, 2 * this.#windowBytes);
      this.#limited = false;
    }
  }
}

/**
 * The server's count of what it has read and not yet acknowledged.
 *
 * @example
 * ```ts
 * import { AckCounter } from "./_flow.ts";
 * const acks = new AckCounter();
 * acks.read(100); // undefined: not due yet
 * acks.read(8192); // 8292: acknowledge everything read
 * ```
 */
export class AckCounter {
  #readBytes = 0;
  #ackedBytes = 0;

  /** Counts `bytes` read; returns the total to acknowledge when one is due, else undefined. */
  read(bytes: number): number | undefined {
    this.#readBytes += bytes;
    if (this.#readBytes - this.#ackedBytes < ACK_EVERY_BYTES) return undefined;
    this.#ackedBytes = this.#readBytes;
    return this.#readBytes;
  }
}
