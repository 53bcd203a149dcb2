/**
 * Authenticated frames: once both sides of a connection have proved the shared secret
 * (auth.ts), every frame carries an HMAC-SHA256 tag over its sequence number and its payload,
 * under a key for its direction that only this connection's two ends know. The sequence number
 * is not sent: each side counts the frames it sends and receives, so a frame injected, dropped,
 * replayed (on this connection or another) or reordered fails the check, and so does any change
 * to a byte. The payload is not encrypted: see the README's threat model.
 *
 * Wire form of an authenticated frame: the 4-byte length (payload + tag), the payload, then the
 * MAC_BYTES tag.
 *
 * @module
 */

import { createHash, type Hash, timingSafeEqual } from "node:crypto";
import { ClusterError } from "./errors.ts";
import { FRAME_HEADER_BYTES } from "./_frame.ts";

/** Bytes of the tag at the end of every authenticated frame (HMAC-SHA256, untruncated). */
export const MAC_BYTES = 32;

/** The two directions' keys of one connection, as this side sees them. */
export interface SessionKeys {
  /** Tags the frames this side sends. */
  readonly send: Uint8Array;
  /** Checks the frames this side receives. */
  readonly receive: Uint8Array;
}

/**
 * One connection's authenticated framing: seals frames going out, opens frames coming in.
 *
 * @example
 * ```ts
 * import { FrameSession, MAC_BYTES } from "./_session.ts";
 * import { encodeFrame } from "./_frame.ts";
 * const key = new Uint8Array(32).fill(7);
 * const sender = new FrameSession({ send: key, receive: key });
 * const receiver = new FrameSession({ send: key, receive: key });
 * const frame = encodeFrame({ t: "ping" }, 1024, MAC_BYTES);
 * sender.seal(frame);
 * receiver.open(frame.subarray(4), "peer").length; // the payload's length
 * ```
 */
export class FrameSession {
  readonly #send: KeyedHash;
  readonly #receive: KeyedHash;
  readonly #sequence = new Uint8Array(8);
  #sentFrames = 0;
  #receivedFrames = 0;

  constructor(keys: SessionKeys) {
    this.#send = keyedHash(keys.send);
    this.#receive = keyedHash(keys.receive);
  }

  /**
   * Writes the tag into the last MAC_BYTES of `frame` (a whole frame from encodeFrame with room
   * for it) and counts the frame as sent.
   */
  seal(frame: Uint8Array): void {
    const macAt = frame.length - MAC_BYTES;
    const tag = this.#tag(
      this.#send,
      this.#sentFrames++,
      frame.subarray(FRAME_HEADER_BYTES, macAt),
    );
    frame.set(tag, macAt);
  }

  /**
   * Checks a received frame body (payload and tag) against the next sequence number and returns
   * the payload; throws ClusterError if the tag does not match.
   */
  open(body: Uint8Array, remote: string): Uint8Array {
    const sequence = this.#receivedFrames++;
    const payload = body.subarray(0, Math.max(0, body.length - MAC_BYTES));
    const tag = body.subarray(payload.length);
    const expected = this.#tag(this.#receive, sequence, payload);
    if (tag.length !== MAC_BYTES || !timingSafeEqual(expected, tag)) {
      throw new ClusterError(
        `frame authentication failed: frame ${sequence} of the session from ${remote} carries ` +
          `a wrong MAC (it was injected, replayed, reordered or altered on the way); the ` +
          `connection is closed`,
      );
    }
    return payload;
  }

  /** HMAC-SHA256(key, sequence || payload), from the key's hashes prepared once (RFC 2104). */
  #tag(key: KeyedHash, sequence: number, payload: Uint8Array): Uint8Array {
    new DataView(this.#sequence.buffer).setBigUint64(0, BigInt(sequence), false);
    const inner = key.inner.copy().update(this.#sequence).update(payload).digest();
    return key.outer.copy().update(inner).digest();
  }
}

/** SHA-256 states that have taken in the key XOR ipad, and the key XOR opad. */
interface KeyedHash {
  readonly inner: Hash;
  readonly outer: Hash;
}

/** SHA-256's block, the size HMAC pads its key to. */
const SHA256_BLOCK_BYTES = 64;

// Copying a hash that has taken in the padded key costs less than keying an HMAC for every frame
// (40% less on Deno 2.9, where each node:crypto call carries a fixed cost).
function keyedHash(key: Uint8Array): KeyedHash {
  if (key.length > SHA256_BLOCK_BYTES) throw new Error("a session key is at most 64 bytes");
  const inner = new Uint8Array(SHA256_BLOCK_BYTES).fill(0x36);
  const outer = new Uint8Array(SHA256_BLOCK_BYTES).fill(0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i] ^= key[i];
    outer[i] ^= key[i];
  }
  return {
    inner: createHash("sha256").update(inner),
    outer: createHash("sha256").update(outer),
  };
}
