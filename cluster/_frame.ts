/**
 * The cluster wire format: a frame is a 4-byte big-endian unsigned payload length followed by
 * that many bytes of MessagePack (msgpackr), and every payload is a plain object with a string
 * `t` field naming the message type.
 *
 * Peers are not trusted until they authenticate, and even then a bug in one must not take down
 * another, so decoding is bounded: the declared length is checked before the body is buffered,
 * the body's buffer grows with what arrives, the payload's structure (values, nesting, lengths)
 * is checked in one bounded pass before msgpackr builds anything, and msgpackr runs with options
 * that share no state between peers or messages. Once a connection has authenticated, its frames
 * also carry a MAC (see _session.ts).
 *
 * @module
 */

import { Packr, Unpackr } from "msgpackr";
import { ClusterError } from "./errors.ts";
import { checkClusterLimit, DEFAULT_CLUSTER_LIMITS } from "./limits.ts";

/** Bytes of the length prefix in front of every payload. */
export const FRAME_HEADER_BYTES = 4;

/** Nesting of maps and arrays one frame may have; the protocol's deepest (a checkpoint) has 7. */
export const FRAME_DEPTH_MAX = 32;

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
 * Encodes one message as a frame: the length prefix, the msgpackr payload, and `trailerBytes`
 * of zeros at the end for the caller to fill (an authenticated frame's MAC; the length counts
 * them). Throws ClusterError if payload and trailer are larger than `frameBytesMax`, naming both
 * sizes.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./_frame.ts";
 * const frame = encodeFrame({ t: "ping", n: 1 }, 1024);
 * frame.length > 4; // true
 * ```
 */
export function encodeFrame(message: unknown, frameBytesMax: number, trailerBytes = 0): Uint8Array {
  checkClusterLimit("frameBytesMax", frameBytesMax);
  const payload = packr.pack(message);
  const length = payload.length + trailerBytes;
  if (length > frameBytesMax) {
    throw new ClusterError(
      `frame too large: the message encodes to ${length} bytes, over frameBytesMax ` +
        `(${frameBytesMax}); send smaller messages (split the data) or raise frameBytesMax on ` +
        `both peers`,
    );
  }
  // One copy, so the caller gets a single buffer it owns (msgpackr's may be a view into its own).
  const frame = new Uint8Array(FRAME_HEADER_BYTES + length);
  new DataView(frame.buffer).setUint32(0, length, false);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Turns a byte stream back into frames, whatever the chunking (a frame split over many chunks,
 * or many frames in one chunk), and frames into messages.
 *
 * Splitting (`split`) checks each declared length against `frameBytesMax` before buffering any
 * of that body, and grows a split frame's buffer with what arrives rather than allocating the
 * declared size up front. A frame inside one chunk is handed on in place. Opening (`open`)
 * checks the payload's structure first, in one pass over its bytes that stops at the first
 * problem: valid MessagePack, no extension types, at most `frameElementsMax` values and
 * FRAME_DEPTH_MAX levels. Only then does msgpackr decode it, so decoding any frame is bounded
 * work, whatever its size.
 *
 * The decoder may keep views into the chunks given to it (bodies and decoded bin values can
 * point into them), so a caller must not reuse a chunk's memory after giving it. After `split`
 * throws, the stream is out of step and the decoder must not be used again.
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
  readonly frameElementsMax: number;
  // One Unpackr per stream: nothing a peer sends can change how another peer is decoded.
  readonly #unpackr = new Unpackr(MSGPACK_OPTIONS);
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #frameBytesMax: number;
  #headerFilledBytes = 0;
  #body: Uint8Array | undefined = undefined;
  #bodyBytes = 0;
  #bodyFilledBytes = 0;

  /** A decoder refusing frames over `frameBytesMax` and payloads over `frameElementsMax` values. */
  constructor(
    frameBytesMax: number,
    frameElementsMax: number = DEFAULT_CLUSTER_LIMITS.frameElementsMax,
  ) {
    this.#frameBytesMax = checkClusterLimit("frameBytesMax", frameBytesMax);
    this.frameElementsMax = checkClusterLimit("frameElementsMax", frameElementsMax);
  }

  /** The largest frame body `split` accepts; raised once a peer has authenticated. */
  get frameBytesMax(): number {
    return this.#frameBytesMax;
  }

  set frameBytesMax(bytes: number) {
    this.#frameBytesMax = checkClusterLimit("frameBytesMax", bytes);
  }

  /** Splits and opens: the messages one chunk completes, in order. Throws on any bad frame. */
  push(bytes: Uint8Array): FrameMessage[] {
    const bodies: Uint8Array[] = [];
    this.split(bytes, (body) => void bodies.push(body));
    return bodies.map((body) => this.open(body));
  }

  /**
   * Consumes one chunk and hands each frame body it completes to `onBody`, in order, as soon as
   * it is complete (so the frames before a bad header in the same chunk are not lost when it
   * throws). Throws ClusterError on a declared length over `frameBytesMax`.
   */
  split(bytes: Uint8Array, onBody: (body: Uint8Array) => void): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#body !== undefined) {
        offset = this.#fillBody(bytes, offset, onBody);
        continue;
      }
      const available = bytes.length - offset;
      if (this.#headerFilledBytes === 0 && available >= FRAME_HEADER_BYTES) {
        const length = readLength(bytes, offset);
        offset = this.#startBody(length, bytes, offset + FRAME_HEADER_BYTES, onBody);
        continue;
      }
      const headerBytes = Math.min(FRAME_HEADER_BYTES - this.#headerFilledBytes, available);
      this.#header.set(bytes.subarray(offset, offset + headerBytes), this.#headerFilledBytes);
      this.#headerFilledBytes += headerBytes;
      offset += headerBytes;
      if (this.#headerFilledBytes === FRAME_HEADER_BYTES) {
        this.#headerFilledBytes = 0;
        offset = this.#startBody(readLength(this.#header, 0), bytes, offset, onBody);
      }
    }
  }

  /**
   * Decodes one payload into a message; throws ClusterError, before decoding anything, if it is
   * not valid MessagePack, uses an extension type, holds more than `frameElementsMax` values or
   * nests deeper than FRAME_DEPTH_MAX, and after decoding if it is not an object with a string
   * `t`.
   */
  open(payload: Uint8Array): FrameMessage {
    checkStructure(payload, this.frameElementsMax);
    let value: unknown;
    try {
      value = this.#unpackr.unpack(payload);
    } catch (error) {
      throw malformed(payload, (error as Error).message);
    }
    if (!isMessage(value)) {
      throw new ClusterError(
        `malformed frame: the payload decodes to ${describe(value)}, not an object with a ` +
          `string "t" field; the peer is not speaking this protocol`,
      );
    }
    return value;
  }

  /** Bytes held for a frame not yet complete (a partial header or body). */
  get bufferedBytes(): number {
    return this.#headerFilledBytes + this.#bodyFilledBytes;
  }

  #startBody(length: number, bytes: Uint8Array, offset: number, onBody: OnBody): number {
    if (length > this.#frameBytesMax) {
      throw new ClusterError(
        `frame too large: the peer declared a ${length}-byte frame, over frameBytesMax ` +
          `(${this.#frameBytesMax}); the peer sent a message too large, has not authenticated ` +
          `yet, or is not speaking this protocol`,
      );
    }
    if (bytes.length - offset >= length) {
      // The whole body is in this chunk: hand it on in place, no copy.
      onBody(bytes.subarray(offset, offset + length));
      return offset + length;
    }
    // Sized by what has come, not by what the header claims: a peer declaring a large frame and
    // sending it slowly (or never) holds only the memory of what it sent.
    this.#body = new Uint8Array(Math.min(length, Math.max(BODY_START_BYTES, bytes.length)));
    this.#bodyBytes = length;
    this.#bodyFilledBytes = 0;
    return this.#fillBody(bytes, offset, onBody);
  }

  #fillBody(bytes: Uint8Array, offset: number, onBody: OnBody): number {
    const copied = Math.min(this.#bodyBytes - this.#bodyFilledBytes, bytes.length - offset);
    const needed = this.#bodyFilledBytes + copied;
    if (needed > this.#body!.length) {
      const grown = new Uint8Array(
        Math.min(this.#bodyBytes, Math.max(needed, 2 * this.#body!.length)),
      );
      grown.set(this.#body!.subarray(0, this.#bodyFilledBytes));
      this.#body = grown;
    }
    const body = this.#body!;
    body.set(bytes.subarray(offset, offset + copied), this.#bodyFilledBytes);
    this.#bodyFilledBytes = needed;
    if (this.#bodyFilledBytes === this.#bodyBytes) {
      this.#body = undefined;
      this.#bodyFilledBytes = 0;
      onBody(body);
    }
    return offset + copied;
  }
}

type OnBody = (body: Uint8Array) => void;

/** The first buffer of a frame split over chunks; it doubles as more arrives. */
const BODY_START_BYTES = 64 * 1024;

function readLength(bytes: Uint8Array, offset: number): number {
  // Multiplying keeps the top byte unsigned (a << 24 would go negative).
  return bytes[offset] * 0x100_0000 + ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]);
}

function malformed(payload: Uint8Array, why: string): ClusterError {
  return new ClusterError(
    `malformed frame: the ${payload.length}-byte payload is not valid MessagePack (${why}); ` +
      `the peer is not speaking this protocol`,
  );
}

// Values still to read at each open level of nesting: one pass is one frame, and JavaScript
// runs one at a time, so one array serves every decoder.
const openValues = new Float64Array(FRAME_DEPTH_MAX + 1);

/**
 * One pass over a MessagePack payload that checks what msgpackr would otherwise find out only
 * by building it: that it is one whole value with nothing after it, that every length stays
 * inside the payload, that no extension type appears (this protocol sends none but msgpackr's
 * `undefined`, fixext 1 of type 0), and that it holds at most `elementsMax` values, map keys
 * included, nested at most FRAME_DEPTH_MAX deep. Stops at the first problem, so its work is
 * bounded by `elementsMax`, whatever the payload's size.
 */
function checkStructure(payload: Uint8Array, elementsMax: number): void {
  const end = payload.length;
  let offset = 0, depth = 0, elements = 0;
  openValues[0] = 1;
  for (;;) {
    while (openValues[depth] === 0 && depth > 0) depth--;
    if (openValues[depth] === 0) break;
    openValues[depth]--;
    if (++elements > elementsMax) {
      throw new ClusterError(
        `frame too complex: the ${end}-byte payload holds more than ${elementsMax} values ` +
          `(frameElementsMax); send smaller messages, or raise frameElementsMax on both peers`,
      );
    }
    if (offset >= end) throw malformed(payload, "it ends inside a value");
    const head = payload[offset++];
    const [skipBytes, children] = valueShape(payload, offset, head);
    offset += skipBytes;
    if (offset > end) throw malformed(payload, "a length runs past its end");
    if (children === 0) continue;
    if (depth === FRAME_DEPTH_MAX) {
      throw malformed(payload, `maps and arrays nest deeper than ${FRAME_DEPTH_MAX}`);
    }
    openValues[++depth] = children;
  }
  if (offset !== end) throw malformed(payload, `${end - offset} bytes follow the value`);
}

// valueShape's answer, reused: [bytes after the head byte to skip, values nested inside].
const shape: [number, number] = [0, 0];

/** What follows a value's head byte at `offset`: bytes to skip (lengths included) and children. */
function valueShape(payload: Uint8Array, offset: number, head: number): [number, number] {
  shape[0] = 0;
  shape[1] = 0;
  if (head <= 0x7f || head >= 0xe0) return shape; // fixint
  if (head <= 0x8f) return (shape[1] = 2 * (head & 0x0f), shape); // fixmap
  if (head <= 0x9f) return (shape[1] = head & 0x0f, shape); // fixarray
  if (head <= 0xbf) return (shape[0] = head & 0x1f, shape); // fixstr
  const size = FIXED_BYTES[head - 0xc0];
  if (size >= 0) return (shape[0] = size, shape);
  switch (head) {
    case 0xc4: // bin 8, str 8
    case 0xd9:
      return (shape[0] = 1 + readUint(payload, offset, 1), shape);
    case 0xc5: // bin 16, str 16
    case 0xda:
      return (shape[0] = 2 + readUint(payload, offset, 2), shape);
    case 0xc6: // bin 32, str 32
    case 0xdb:
      return (shape[0] = 4 + readUint(payload, offset, 4), shape);
    case 0xdc:
      return (shape[0] = 2, shape[1] = readUint(payload, offset, 2), shape);
    case 0xdd:
      return (shape[0] = 4, shape[1] = readUint(payload, offset, 4), shape);
    case 0xde:
      return (shape[0] = 2, shape[1] = 2 * readUint(payload, offset, 2), shape);
    case 0xdf:
      return (shape[0] = 4, shape[1] = 2 * readUint(payload, offset, 4), shape);
    case 0xd4: // fixext 1: only msgpackr's undefined (type 0, data 0)
      if (payload[offset] === 0 && payload[offset + 1] === 0) return (shape[0] = 2, shape);
  }
  throw malformed(
    payload,
    head === 0xc1
      ? `byte 0xc1 at ${offset - 1} is never used`
      : `extension type 0x${head.toString(16)} at ${offset - 1}; this protocol uses none`,
  );
}

/**
 * Bytes after the head byte of the values with no length field, from 0xc0 to 0xdf; -1 where
 * a length field follows, or the byte is refused.
 */
// deno-fmt-ignore
const FIXED_BYTES = new Int8Array([
  0, -1, 0, 0, -1, -1, -1, -1, -1, -1, 4, 8, 1, 2, 4, 8, // c0-cf: nil, (c1), false, true, bin, ext, float, uint
  1, 2, 4, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, // d0-df: int, fixext, str, array, map
]);

/** A big-endian unsigned integer of `bytes` bytes at `offset`; past the end counts as huge. */
function readUint(payload: Uint8Array, offset: number, bytes: number): number {
  if (offset + bytes > payload.length) return Number.MAX_SAFE_INTEGER;
  let value = 0;
  for (let i = 0; i < bytes; i++) value = value * 256 + payload[offset + i];
  return value;
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
