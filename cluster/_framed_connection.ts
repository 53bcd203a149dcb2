/**
 * The part of a Connection every transport shares: the bounded send queue, the bounded inbox
 * that holds frames until a handler is attached, the handshake's bounds, the session's MACs and
 * flow control, frame decoding, and the once-only close. A transport subclass moves bytes: it
 * writes what `nextWriteChunk` gives and reports it with `wrote`, feeds what it reads to
 * `received`, and reports a dead socket with `socketClosed`.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, type FrameMessage } from "./_frame.ts";
import { FrameSession, MAC_BYTES, type SessionKeys } from "./_session.ts";
import { ACK_MESSAGE, AckCounter, SendWindow } from "./_flow.ts";
import type { Connection, TransportLimits } from "./transport.ts";
import { assert } from "../core/_assert.ts";

/** Small frames queued behind each other are copied into one write up to this size. */
export const WRITE_COALESCE_BYTES = 64 * 1024;

/**
 * A Connection minus the socket: subclasses implement `startWriting` and `closeSocket`.
 *
 * @example
 * ```ts ignore
 * class LoopConnection extends FramedConnection {
 *   protected startWriting(): void {
 *     const chunk = this.nextWriteChunk();
 *     if (chunk !== undefined) { this.received(chunk.slice()); this.wrote(chunk.length); }
 *   }
 *   protected closeSocket(): void {}
 * }
 * ```
 */
export abstract class FramedConnection implements Connection {
  readonly remote: string;
  readonly limits: TransportLimits;
  readonly #decoder: FrameDecoder;
  // Allocated on the first coalesced write: a connection that only sends big frames needs none.
  #scratch: Uint8Array | undefined = undefined;
  // Send queue: whole frames, the first one written up to #headOffsetBytes.
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #headOffsetBytes = 0;
  #queuedBytes = 0;
  #drainWaiters: (() => void)[] = [];
  // Inbox: frame bodies not yet checked, decoded and handed to onMessage.
  #inbox: Uint8Array[] = [];
  #inboxHead = 0;
  #inboxBytes = 0;
  #delivering = false;
  #session: FrameSession | undefined = undefined;
  /** In a session, the client's window, or the server's acknowledgements (see _flow.ts). */
  #window: SendWindow | undefined = undefined;
  #acks: AckCounter | undefined = undefined;
  /** Bytes received before the session started. */
  #handshakeBytes = 0;
  #closed = false;
  #closeReason = "";
  #closeDelivered = false;
  #onMessage: Connection["onMessage"] = undefined;
  #onClose: Connection["onClose"] = undefined;

  constructor(remote: string, limits: TransportLimits) {
    this.remote = remote;
    this.limits = limits;
    this.#decoder = new FrameDecoder(
      Math.min(limits.handshakeFrameBytesMax, limits.frameBytesMax),
      limits.frameElementsMax,
    );
  }

  /** Writes (or starts writing) what is queued; called after send queues a frame. */
  protected abstract startWriting(): void;
  /** Releases the socket; called once, on the first close. */
  protected abstract closeSocket(): void;

  get closed(): boolean {
    return this.#closed;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get authenticated(): boolean {
    return this.#session !== undefined;
  }

  startSession(keys: SessionKeys, side: "client" | "server"): void {
    assert(this.#session === undefined, "FramedConnection: startSession called twice");
    this.#session = new FrameSession(keys);
    this.#decoder.frameBytesMax = this.limits.frameBytesMax;
    if (side === "client") this.#window = new SendWindow();
    else this.#acks = new AckCounter();
  }

  get onMessage(): Connection["onMessage"] {
    return this.#onMessage;
  }

  set onMessage(handler: Connection["onMessage"]) {
    this.#onMessage = handler;
    // A microtask, so the messages already buffered never run inside the assignment.
    if (handler !== undefined) queueMicrotask(() => this.#deliver());
  }

  get onClose(): Connection["onClose"] {
    return this.#onClose;
  }

  set onClose(handler: Connection["onClose"]) {
    this.#onClose = handler;
    if (handler !== undefined && this.#closed) queueMicrotask(() => this.#deliver());
  }

  send(message: { readonly t: string; readonly [key: string]: unknown }): void {
    if (this.#closed) {
      throw new ClusterError(
        `send to ${this.remote}: the connection is closed (${this.#closeReason}); reconnect first`,
      );
    }
    const session = this.#session;
    const frame = encodeFrame(
      message,
      this.limits.frameBytesMax,
      session === undefined ? 0 : MAC_BYTES,
    );
    if (this.#queuedBytes + frame.length > this.limits.queuedBytesMax) {
      throw new ClusterError(
        `send to ${this.remote}: ${this.#queuedBytes} bytes are queued and this ` +
          `${frame.length}-byte frame would pass queuedBytesMax (${this.limits.queuedBytesMax}); ` +
          `await drained() before sending more, or raise queuedBytesMax`,
      );
    }
    // Sealed once it is sure to be queued: the sequence number counts frames that go out.
    session?.seal(frame);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    this.startWriting();
  }

  drained(): Promise<void> {
    if (this.#queuedBytes === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  close(reason = "closed by this side"): void {
    this.terminate(reason, false);
  }

  /**
   * The next bytes to write, or undefined when nothing is queued. Small frames are copied
   * together into one chunk of up to WRITE_COALESCE_BYTES, so a burst of small messages costs
   * one write, not one per frame. The chunk is valid until the next call.
   */
  protected nextWriteChunk(): Uint8Array | undefined {
    if (this.#queueHead === this.#queue.length) return undefined;
    const allowed = this.#window?.openBytes() ?? Infinity;
    if (allowed <= 0) {
      this.#window!.limited();
      return undefined; // an acknowledgement starts writing again
    }
    const whole = this.#queue[this.#queueHead].subarray(this.#headOffsetBytes);
    const head = whole.subarray(0, Math.min(whole.length, allowed));
    if (head.length < whole.length) this.#window!.limited();
    const last = this.#queueHead + 1 === this.#queue.length;
    if (last || head.length >= WRITE_COALESCE_BYTES / 2 || head.length < whole.length) {
      this.#window?.writing(head.length);
      return head;
    }
    const scratch = this.#scratch ??= new Uint8Array(WRITE_COALESCE_BYTES);
    const room = Math.min(scratch.length, allowed);
    let filled = 0;
    for (let i = this.#queueHead; i < this.#queue.length && filled < room; i++) {
      const frame = i === this.#queueHead ? head : this.#queue[i];
      const copied = Math.min(frame.length, room - filled);
      scratch.set(frame.subarray(0, copied), filled);
      filled += copied;
    }
    if (filled === allowed) this.#window!.limited();
    this.#window?.writing(filled);
    return scratch.subarray(0, filled);
  }

  /** Records that the socket took `bytes` of what nextWriteChunk gave. */
  protected wrote(bytes: number): void {
    if (this.#closed) return;
    assert(
      bytes >= 0 && bytes <= this.#queuedBytes,
      "FramedConnection: wrote more than was queued",
    );
    this.#queuedBytes -= bytes;
    this.#window?.wrote(bytes);
    let left = bytes;
    while (left > 0) {
      const frame = this.#queue[this.#queueHead];
      const rest = frame.length - this.#headOffsetBytes;
      if (left < rest) {
        this.#headOffsetBytes += left;
        break;
      }
      left -= rest;
      this.#headOffsetBytes = 0;
      this.#queueHead++;
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
    if (this.#queuedBytes === 0) this.#resolveDrained();
  }

  /**
   * Splits bytes read from the socket into frames for the inbox; a frame over the bound, or a
   * peer past the handshake's byte budget, closes this connection with the reason.
   */
  protected received(bytes: Uint8Array): void {
    if (this.#closed) return;
    try {
      // Before the session only the handshake's budget is split: its frames' headers are
      // checked first (a stranger's oversized frame is named as such), and no more is looked at.
      const budget = this.#session === undefined
        ? this.limits.handshakeBytesMax - this.#handshakeBytes
        : bytes.length;
      this.#decoder.split(bytes.subarray(0, budget), (body) => this.#enqueue(body));
      if (this.#session === undefined) this.#countHandshakeBytes(bytes.length);
      const acknowledged = this.#acks?.read(bytes.length);
      if (acknowledged !== undefined) this.send({ t: ACK_MESSAGE, bytes: acknowledged });
    } catch (error) {
      const reason = error instanceof ClusterError ? error.message : String(error);
      this.terminate(`${reason} (from ${this.remote})`, true);
      return;
    }
    this.#deliver();
  }

  /** The socket ended or failed: close, still delivering the messages received before. */
  protected socketClosed(reason: string): void {
    this.terminate(reason, true);
  }

  /** The one close path. `keepInbox` keeps received messages deliverable after the close. */
  protected terminate(reason: string, keepInbox: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#queue = [];
    this.#queueHead = 0;
    this.#headOffsetBytes = 0;
    this.#queuedBytes = 0;
    this.#resolveDrained();
    if (!keepInbox) this.#clearInbox();
    try {
      this.closeSocket();
    } finally {
      this.#deliver();
    }
  }

  #countHandshakeBytes(bytes: number): void {
    this.#handshakeBytes += bytes;
    if (this.#handshakeBytes > this.limits.handshakeBytesMax) {
      throw new ClusterError(
        `handshake too long: the peer sent ${this.#handshakeBytes} bytes without ` +
          `authenticating, over handshakeBytesMax (${this.limits.handshakeBytesMax}); it is ` +
          `not a StaticECS peer, or does not know the secret`,
      );
    }
  }

  #enqueue(body: Uint8Array): void {
    if (this.#closed) return;
    const frameBytes = body.length + FRAME_HEADER_BYTES;
    if (this.#inboxBytes + frameBytes > this.limits.queuedBytesMax) {
      throw new ClusterError(
        `inbox full: ${this.#inboxBytes} bytes of received frames wait for an onMessage ` +
          `handler, and queuedBytesMax is ${this.limits.queuedBytesMax}; set onMessage sooner`,
      );
    }
    this.#inbox.push(body);
    this.#inboxBytes += frameBytes;
  }

  /** Takes the server's acknowledgement and writes on; false if this side sends none. */
  #takeAck(message: FrameMessage): boolean {
    if (this.#window === undefined) return false;
    this.#window.acknowledged(message.bytes, this.remote);
    this.startWriting();
    return true;
  }

  /** A frame body as a message: its MAC checked (in a session), then decoded. */
  #open(body: Uint8Array): FrameMessage {
    const payload = this.#session === undefined ? body : this.#session.open(body, this.remote);
    return this.#decoder.open(payload);
  }

  #deliver(): void {
    // A handler may send, close or swap handlers; the outer loop sees the result.
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      this.#deliverMessages();
      const inboxEmpty = this.#inboxHead === this.#inbox.length;
      if (this.#closed && !this.#closeDelivered && this.#onClose !== undefined) {
        if (inboxEmpty || this.#onMessage === undefined) {
          this.#closeDelivered = true;
          this.#onClose(this.#closeReason);
        }
      }
    } finally {
      this.#delivering = false;
    }
  }

  #deliverMessages(): void {
    while (this.#inboxHead < this.#inbox.length) {
      const handler = this.#onMessage;
      if (handler === undefined) return;
      const body = this.#inbox[this.#inboxHead];
      this.#inboxBytes -= body.length + FRAME_HEADER_BYTES;
      this.#inboxHead++;
      let message: FrameMessage;
      try {
        message = this.#open(body);
        if (message.t === ACK_MESSAGE && this.#takeAck(message)) continue;
      } catch (error) {
        const reason = error instanceof ClusterError ? error.message : String(error);
        this.terminate(`${reason} (from ${this.remote})`, false);
        return;
      }
      try {
        handler(message);
      } catch (error) {
        this.terminate(`onMessage handler threw: ${(error as Error)?.message ?? error}`, false);
        return;
      }
    }
    this.#clearInbox();
  }

  #clearInbox(): void {
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#inboxBytes = 0;
  }

  #resolveDrained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
