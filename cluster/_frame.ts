/**
 * The cluster wire format: a frame is a 4-byte big-endian unsigned payload length followed by
 * that many bytes of MessagePack (msgpackr), and every payload is a plain object with a string
 * `t` field naming the message type.
 *
 * Peers are not trusted until they authenticate, and even then a bug in one must not take down
 * another, so decoding is bounded (the declared length is checked before the body is buffered)
 * and msgpackr runs with options that share no state between peers or messages.
 *
 * @module
 */

import { Packr, Unpackr } from "msgpackr";
import { ClusterError } from "./errors.ts";

/** Bytes of the length prefix in front of every payload. */
export const FRAME_HEADER_BYTES = 4;

/** The largest payload a 4-byte length can declare. */
export const FRAME_PAYLOAD_BYTES_LIMIT = 0xffff_ffff;

// useRecords: false - no record structures, which a peer could otherwise define and make another
//   message depend on; mapsAsObjects: true - maps decode to plain objects (msgpackr renames a
//   `__proto__` key so it cannot reach the prototype); structuredClone: false - refuse the
//   reference/pointer extensions, which could build cycles; moreTypes stays false, so a
//   Uint8Array is written as bin (it decodes as a Uint8Array, a Buffer where Buffer exists).
const MSGPACK_OPTIONS = { useRecords: false, mapsAsObjects: true, structuredClone: false } as const;

// One Packr for every encoder: without records it keeps no per-peer state between messages.
const packr = new Packr(MSGPACK_OPTIONS);

/** A decoded frame: a plain object whose `t` names the message type. */
export type FrameMessage = { readonly t: string; readonly [key: string]: unknown };

/**
 * Checks a frame bound: a whole number of bytes from 1 to 2^32 - 1 (what the prefix can say).
 *
 * @example
 * ```ts
 * import { assertFrameBytes } from "./_frame.ts";
 * assertFrameBytes(64 * 1024 * 1024, "maxFrameBytes");
 * ```
 */
export function assertFrameBytes(bytes: number, name: string): void {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > FRAME_PAYLOAD_BYTES_LIMIT) {
    throw new ClusterError(
      `${name} must be a whole number of bytes from 1 to ${FRAME_PAYLOAD_BYTES_LIMIT}; got ${bytes}`,
    );
  }
}

/**
 * Encodes one message as a frame (length prefix and msgpackr payload); throws ClusterError if
 * the payload is larger than `maxFrameBytes`, naming both sizes.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./_frame.ts";
 * const frame = encodeFrame({ t: "ping", n: 1 }, 1024);
 * frame.length > 4; // true
 * ```
 */
export function encodeFrame(message: unknown, maxFrameBytes: number): Uint8Array {
  assertFrameBytes(maxFrameBytes, "maxFrameBytes");
  const payload = packr.pack(message);
  if (payload.length > maxFrameBytes) {
    throw new ClusterError(
      `frame too large: the message encodes to ${payload.length} bytes, over maxFrameBytes ` +
        `(${maxFrameBytes}); send smaller messages (split the data) or raise maxFrameBytes on ` +
        `both peers`,
    );
  }
  // One copy, so the caller gets a single buffer it owns (msgpackr's may be a view into its own).
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length, false);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Turns a byte stream back into messages, whatever the chunking: a frame split over many chunks,
 * or many frames in one chunk. A frame inside one chunk is decoded in place; only a frame split
 * over chunks is copied, once, into a buffer of its declared size.
 *
 * The decoder may keep views into the chunks given to `push` (decoded bin values can point into
 * them), so a caller must not reuse a chunk's memory after pushing it.
 *
 * After `push` throws, the stream is out of step and the decoder must not be used again.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./_frame.ts";
 * const frame = encodeFrame({ t: "ping" }, 1024);
 * const decoder = new FrameDecoder(1024);
 * decoder.push(frame.subarray(0, 3)); // []
 * decoder.push(frame.subarray(3)); // [{ t: "ping" }]
 * ```
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  // One Unpackr per stream: nothing a peer sends can change how another peer is decoded.
  readonly #unpackr = new Unpackr(MSGPACK_OPTIONS);
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFilledBytes = 0;
  #body: Uint8Array | undefined = undefined;
  #bodyFilledBytes = 0;

  /** A decoder refusing any frame whose declared payload is over `maxFrameBytes`. */
  constructor(maxFrameBytes: number) {
    assertFrameBytes(maxFrameBytes, "maxFrameBytes");
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Consumes one chunk and returns the messages it completes, in order. Throws ClusterError on
   * a declared length over the bound (before buffering any of that body) or a malformed payload.
   */
  push(bytes: Uint8Array): FrameMessage[] {
    const messages: FrameMessage[] = [];
    this.decode(bytes, (message) => void messages.push(message));
    return messages;
  }

  /**
   * Like `push`, but hands each message to `onFrame` (with its payload size) as soon as it is
   * decoded, so the messages before a bad frame in the same chunk are not lost when it throws.
   */
  decode(bytes: Uint8Array, onFrame: (message: FrameMessage, payloadBytes: number) => void): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#body !== undefined) {
        offset = this.#fillBody(bytes, offset, onFrame);
        continue;
      }
      const available = bytes.length - offset;
      if (this.#headerFilledBytes === 0 && available >= FRAME_HEADER_BYTES) {
        const length = readLength(bytes, offset);
        offset = this.#startBody(length, bytes, offset + FRAME_HEADER_BYTES, onFrame);
        continue;
      }
      const headerBytes = Math.min(FRAME_HEADER_BYTES - this.#headerFilledBytes, available);
      this.#header.set(bytes.subarray(offset, offset + headerBytes), this.#headerFilledBytes);
      this.#headerFilledBytes += headerBytes;
      offset += headerBytes;
      if (this.#headerFilledBytes === FRAME_HEADER_BYTES) {
        this.#headerFilledBytes = 0;
        offset = this.#startBody(readLength(this.#header, 0), bytes, offset, onFrame);
      }
    }
  }

  /** Bytes held for a frame not yet complete (a partial header or body). */
  get bufferedBytes(): number {
    return this.#headerFilledBytes + this.#bodyFilledBytes;
  }

  #startBody(length: number, bytes: Uint8Array, offset: number, onFrame: OnFrame): number {
    if (length > this.maxFrameBytes) {
      throw new ClusterError(
        `frame too large: the peer declared a ${length}-byte frame, over maxFrameBytes ` +
          `(${this.maxFrameBytes}); the peer sent a message too large or is not speaking this ` +
          `protocol`,
      );
    }
    if (bytes.length - offset >= length) {
      // The whole body is in this chunk: decode it in place, no copy.
      onFrame(this.#decode(bytes.subarray(offset, offset + length)), length);
      return offset + length;
    }
    this.#body = new Uint8Array(length);
    this.#bodyFilledBytes = 0;
    return this.#fillBody(bytes, offset, onFrame);
  }

  #fillBody(bytes: Uint8Array, offset: number, onFrame: OnFrame): number {
    const body = this.#body!;
    const copied = Math.min(body.length - this.#bodyFilledBytes, bytes.length - offset);
    body.set(bytes.subarray(offset, offset + copied), this.#bodyFilledBytes);
    this.#bodyFilledBytes += copied;
    if (this.#bodyFilledBytes === body.length) {
      this.#body = undefined;
      this.#bodyFilledBytes = 0;
      onFrame(this.#decode(body), body.length);
    }
    return offset + copied;
  }

  #decode(payload: Uint8Array): FrameMessage {
    let value: unknown;
    try {
      value = this.#unpackr.unpack(payload);
    } catch (error) {
      throw new ClusterError(
        `malformed frame: the ${payload.length}-byte payload is not valid MessagePack ` +
          `(${(error as Error).message}); the peer is not speaking this protocol`,
        { cause: error },
      );
    }
    if (!isMessage(value)) {
      throw new ClusterError(
        `malformed frame: the payload decodes to ${describe(value)}, not an object with a ` +
          `string "t" field; the peer is not speaking this protocol`,
      );
    }
    return value;
  }
}

type OnFrame = (message: FrameMessage, payloadBytes: number) => void;

function readLength(bytes: Uint8Array, offset: number): number {
  // Multiplying keeps the top byte unsigned (a << 24 would go negative).
  return bytes[offset] * 0x100_0000 + ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]);
}

function isMessage(value: unknown): value is FrameMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return typeof (value as { t?: unknown }).t === "string";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value !== "object") return `a ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)
    ?.constructor?.name;
  if (name !== undefined && name !== "Object") return `a ${name}`;
  return 'an object without a string "t" field';
}
