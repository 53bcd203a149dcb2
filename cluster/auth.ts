/**
 * Mutual authentication with a shared secret, before any other frame is processed, and the
 * session keys that authenticate every frame after it.
 *
 * HMAC-SHA256 challenge-response: the server sends `{ t: "hello", v, nonce }` (32 random
 * bytes); the client answers `{ t: "auth", v, nonce, proof }` with its own 32 bytes and
 * `HMAC(secret, "staticecs-cluster/2/client" + serverNonce + clientNonce)`; the server checks
 * the version and the proof (in constant time) and answers `{ t: "auth_ok", proof }` with
 * `HMAC(secret, "staticecs-cluster/2/server" + serverNonce + clientNonce)`, which the client
 * checks. Fresh nonces on both sides mean a recorded exchange cannot be replayed to either.
 * The secret itself never crosses the wire.
 *
 * Right after auth_ok both sides start the connection's session (`Connection.startSession`):
 * from `HMAC(secret, "staticecs-cluster/2/session" + serverNonce + clientNonce)` each derives
 * one key per direction, and every later frame carries an HMAC of its sequence number and
 * payload under its direction's key (_session.ts). Someone on the network path who does not
 * know the secret can then neither inject, replay, reorder nor alter a frame unnoticed.
 *
 * A side that refuses sends `{ t: "auth_error", reason }` (so the other side can say why),
 * then closes. The server never throws or rejects on what a peer sends: it logs the refusal
 * with the peer's address and resolves `undefined`.
 *
 * @module
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ClusterBusyError, ClusterError } from "./errors.ts";
import { DEFAULT_CLUSTER_LIMITS } from "./limits.ts";
import type { Connection, Transport, TransportLimits } from "./transport.ts";

/** The wire protocol version both sides must speak; part of the authenticated exchange. */
export const PROTOCOL_VERSION = 2;

/**
 * The fewest bytes of a secret that are not whitespace.
 *
 * @example
 * ```ts
 * import { generateSecret, SECRET_BYTES_MIN } from "./auth.ts";
 * SECRET_BYTES_MIN; // 16
 * new TextEncoder().encode(generateSecret()).length >= SECRET_BYTES_MIN; // true
 * ```
 */
export const SECRET_BYTES_MIN = 16;

/** Bytes of randomness in a secret from generateSecret (printed as twice as many hex digits). */
const GENERATED_SECRET_BYTES = 32;

/** Bytes of each side's nonce, and of an HMAC-SHA256 proof. */
const NONCE_BYTES = 32;
const PROOF_BYTES = 32;

/** How long a refusing side waits for its auth_error to be written before it closes. */
const REFUSAL_FLUSH_MS = 1_000;

/** The longest refusal reason sent: an auth_error must fit the peer's handshake frame bound. */
const REFUSAL_REASON_CHARS_MAX = 512;

const WRONG_SECRET = "wrong secret (the peer's proof does not match; give both sides the same " +
  "secret)";

/** How a timed-out handshake ends its message: the secret may differ. */
const SAME_SECRET_QUESTION = "is this a StaticECS cluster port, with the same secret?";

/**
 * True if `message` (an error, or a peer's refusal read off the wire) says the two sides may
 * not share a secret: the CLI then says where the secret is given.
 *
 * @example
 * ```ts
 * import { saysSecretMismatch } from "./auth.ts";
 * saysSecretMismatch("no status within 2000 ms"); // false
 * ```
 */
export function saysSecretMismatch(message: string): boolean {
  return message.includes(WRONG_SECRET) || message.includes(SAME_SECRET_QUESTION);
}

type Message = { readonly t: string; readonly [key: string]: unknown };

/** What the server side of authentication needs. */
export interface AcceptOptions {
  readonly secret: string;
  /** How long the client has to answer hello; default limits.ts's handshakeTimeoutMs. */
  readonly timeoutMs?: number;
  /** Receives one line per refused connection, naming the peer and the reason. */
  readonly log?: (line: string) => void;
  /**
   * Aborting it refuses the connection with the abort's reason, telling the peer that the
   * server is busy and that it may try again (an eviction under a flood).
   */
  readonly signal?: AbortSignal;
}

/** What the client side of authentication needs. */
export interface AuthenticateOptions {
  readonly secret: string;
  /** How long to wait for each of hello and auth_ok; default limits.ts's handshakeTimeoutMs. */
  readonly timeoutMs?: number;
}

/**
 * Authenticates a connection a listener accepted. Resolves the connection once the client
 * proved it knows the secret (auth_ok is sent; onMessage and onClose are unset and free for
 * the caller, and every later message waits for the caller's handler), or `undefined` after
 * refusing it: another frame first, a bad frame, a wrong version or proof, or no answer within
 * `timeoutMs`. Never rejects.
 *
 * @example
 * ```ts ignore
 * import { acceptAuthenticated } from "./auth.ts";
 * const listener = await transport.listen("127.0.0.1", 7000, async (connection) => {
 *   const member = await acceptAuthenticated(connection, { secret, log: console.error });
 *   if (member !== undefined) member.onMessage = (message) => console.log(message.t);
 * });
 * ```
 */
export function acceptAuthenticated(
  connection: Connection,
  options: AcceptOptions,
): Promise<Connection | undefined> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLUSTER_LIMITS.handshakeTimeoutMs;
  const serverNonce = new Uint8Array(randomBytes(NONCE_BYTES));
  let settled = false;
  return new Promise((resolve) => {
    const finish = (refusal: string | undefined, busy = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      connection.onMessage = undefined;
      connection.onClose = undefined;
      if (refusal === undefined) return resolve(connection);
      options.log?.(`cluster: refused connection from ${connection.remote}: ${refusal}`);
      refuse(connection, refusal, true, busy);
      resolve(undefined);
    };
    const onAbort = () => finish(String(options.signal!.reason), true);
    options.signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(
      () => finish(`authentication timed out: no auth frame within ${timeoutMs} ms`),
      timeoutMs,
    );
    connection.onClose = (reason) => finish(`closed before authenticating: ${reason}`);
    connection.onMessage = (message) => {
      const refusal = checkAuth(message, options.secret, serverNonce);
      if (refusal !== undefined) return finish(refusal);
      const clientNonce = message.nonce as Uint8Array;
      const proof = handshakeMac(options.secret, "server", serverNonce, clientNonce);
      const failure = trySend(connection, { t: "auth_ok", proof });
      if (failure === undefined) {
        const keys = sessionKeysOf(options.secret, serverNonce, clientNonce);
        connection.startSession(
          { send: keys.serverToClient, receive: keys.clientToServer },
          "server",
        );
      }
      finish(failure);
    };
    const sendFailure = trySend(connection, {
      t: "hello",
      v: PROTOCOL_VERSION,
      nonce: serverNonce,
    });
    if (sendFailure !== undefined) finish(sendFailure);
  });
}

/** Why a client's first frame is refused, or undefined if it proves the secret. */
function checkAuth(message: Message, secret: string, serverNonce: Uint8Array): string | undefined {
  if (message.t === "auth_error") {
    return `authentication failed: the peer refused: ${String(message.reason).slice(0, 500)}`;
  }
  if (message.t !== "auth") {
    return `authentication failed: expected an "auth" frame first, got ${
      JSON.stringify(message.t.slice(0, 64))
    } (the peer must authenticate before sending anything else)`;
  }
  const versionRefusal = checkVersion(message.v);
  if (versionRefusal !== undefined) return versionRefusal;
  if (!isBytes(message.nonce, NONCE_BYTES) || !isBytes(message.proof, PROOF_BYTES)) {
    return `authentication failed: malformed auth frame (nonce and proof must be ` +
      `${NONCE_BYTES}-byte binaries)`;
  }
  const expected = handshakeMac(secret, "client", serverNonce, message.nonce);
  if (!timingSafeEqual(expected, message.proof)) return `authentication failed: ${WRONG_SECRET}`;
  return undefined;
}

/**
 * Authenticates a connection this side opened. Resolves the connection once both sides proved
 * they know the secret (onMessage and onClose are unset and free for the caller; messages that
 * follow auth_ok wait for its handler). Rejects with a ClusterError naming the cause, after
 * closing the connection, on a wrong secret on either side, a version mismatch, an unexpected
 * frame, or no answer within `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { authenticate } from "./auth.ts";
 * const connection = await authenticate(await transport.connect("127.0.0.1", 7000), { secret });
 * connection.onMessage = (message) => console.log(message.t);
 * ```
 */
export function authenticate(
  connection: Connection,
  options: AuthenticateOptions,
): Promise<Connection> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLUSTER_LIMITS.handshakeTimeoutMs;
  const clientNonce = new Uint8Array(randomBytes(NONCE_BYTES));
  let serverNonce: Uint8Array | undefined;
  let settled = false;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (failure: string | undefined, busy = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.onMessage = undefined;
      connection.onClose = undefined;
      if (failure === undefined) return resolve(connection);
      // Before auth is sent the server still waits and can log why; after, it has moved on.
      refuse(connection, failure, serverNonce === undefined && !busy);
      const message = `${failure} (server ${connection.remote})`;
      reject(busy ? new ClusterBusyError(message) : new ClusterError(message));
    };
    const wait = (what: string) => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            `authentication timed out: no ${what} within ${timeoutMs} ms; ${SAME_SECRET_QUESTION}`,
          ),
        timeoutMs,
      );
    };
    connection.onClose = (reason) => finish(`authentication failed: connection closed: ${reason}`);
    connection.onMessage = (message) => {
      if (message.t === "auth_error" && message.busy === true) {
        const reason = String(message.reason).slice(0, REFUSAL_REASON_CHARS_MAX);
        return finish(`authentication failed: the server is busy: ${reason}; try again`, true);
      }
      if (serverNonce === undefined) {
        const failure = checkHello(message);
        if (failure !== undefined) return finish(failure);
        serverNonce = message.nonce as Uint8Array;
        const proof = handshakeMac(options.secret, "client", serverNonce, clientNonce);
        wait("auth_ok");
        const sendFailure = trySend(connection, {
          t: "auth",
          v: PROTOCOL_VERSION,
          nonce: clientNonce,
          proof,
        });
        if (sendFailure !== undefined) finish(sendFailure);
        return;
      }
      const failure = checkAuthOk(message, options.secret, serverNonce, clientNonce);
      if (failure === undefined) {
        const keys = sessionKeysOf(options.secret, serverNonce, clientNonce);
        connection.startSession(
          { send: keys.clientToServer, receive: keys.serverToClient },
          "client",
        );
      }
      finish(failure);
    };
    wait("hello");
  });
}

function checkHello(message: Message): string | undefined {
  if (message.t === "auth_error") {
    return `authentication failed: the server refused: ${String(message.reason).slice(0, 500)}`;
  }
  if (message.t !== "hello") {
    return `authentication failed: expected "hello" first, got ${
      JSON.stringify(message.t.slice(0, 64))
    }; is this a StaticECS cluster port?`;
  }
  const versionRefusal = checkVersion(message.v);
  if (versionRefusal !== undefined) return versionRefusal;
  if (!isBytes(message.nonce, NONCE_BYTES)) {
    return `authentication failed: malformed hello (the nonce must be a ${NONCE_BYTES}-byte binary)`;
  }
  return undefined;
}

function checkAuthOk(
  message: Message,
  secret: string,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): string | undefined {
  if (message.t === "auth_error") {
    return `authentication failed: the server refused: ${String(message.reason).slice(0, 500)}`;
  }
  if (message.t !== "auth_ok") {
    return `authentication failed: expected "auth_ok", got ${
      JSON.stringify(message.t.slice(0, 64))
    }`;
  }
  if (!isBytes(message.proof, PROOF_BYTES)) {
    return `authentication failed: malformed auth_ok (the proof must be a ${PROOF_BYTES}-byte binary)`;
  }
  const expected = handshakeMac(secret, "server", serverNonce, clientNonce);
  // The server knowing the secret matters as much: a member must not join an impostor.
  if (!timingSafeEqual(expected, message.proof)) return `authentication failed: ${WRONG_SECRET}`;
  return undefined;
}

function checkVersion(version: unknown): string | undefined {
  if (version === PROTOCOL_VERSION) return undefined;
  return `authentication failed: the peer speaks protocol version ${
    JSON.stringify(version)?.slice(0, 32)
  }, this side speaks ${PROTOCOL_VERSION}; run the same StaticECS version on every node`;
}

/** Attempts connectAuthenticated makes while the server says it is busy. */
const BUSY_ATTEMPTS_MAX = 8;
/** Wait before the first new attempt; it doubles each time, up to BUSY_RETRY_MS_MAX. */
const BUSY_RETRY_MS = 50;
const BUSY_RETRY_MS_MAX = 400;

/**
 * Connects to host:port and authenticates, trying again (up to BUSY_ATTEMPTS_MAX times, after
 * 50, 100, 200, then 400 ms each) while the server turns the connection away as busy: under a flood of
 * connections it evicts the oldest ones still authenticating, and a new attempt is the newest.
 * Rejects with the last error otherwise; the connection is closed then.
 *
 * @example
 * ```ts ignore
 * import { connectAuthenticated } from "./auth.ts";
 * const connection = await connectAuthenticated(tcpTransport(), "127.0.0.1", 7000, { secret });
 * ```
 */
export async function connectAuthenticated(
  transport: Transport,
  host: string,
  port: number,
  options: AuthenticateOptions & { readonly limits?: Partial<TransportLimits> },
): Promise<Connection> {
  for (let attempt = 1;; attempt++) {
    const connection = await transport.connect(host, port, options.limits);
    try {
      return await authenticate(connection, options);
    } catch (error) {
      connection.close(`authentication failed: ${(error as Error).message}`);
      if (!(error instanceof ClusterBusyError) || attempt === BUSY_ATTEMPTS_MAX) throw error;
    }
    const waitMs = Math.min(BUSY_RETRY_MS_MAX, BUSY_RETRY_MS * 2 ** (attempt - 1));
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/**
 * Both directions' frame keys of the session the two nonces name. Exported for clients that
 * speak the protocol byte by byte (the hostile-peer tests).
 *
 * @example
 * ```ts
 * import { sessionKeysOf } from "./auth.ts";
 * const nonce = new Uint8Array(32);
 * sessionKeysOf("0123456789abcdef", nonce, nonce).clientToServer.length; // 32
 * ```
 */
export function sessionKeysOf(
  secret: string,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): { clientToServer: Uint8Array; serverToClient: Uint8Array } {
  const session = handshakeMac(secret, "session", serverNonce, clientNonce);
  const derive = (direction: string) =>
    new Uint8Array(createHmac("sha256", session).update(direction).digest());
  return { clientToServer: derive("client to server"), serverToClient: derive("server to client") };
}

/**
 * The handshake's HMAC for one purpose: the client's proof, the server's, or the session's
 * root key. Exported for clients that speak the protocol byte by byte (the hostile-peer tests).
 *
 * @example
 * ```ts
 * import { handshakeMac } from "./auth.ts";
 * handshakeMac("0123456789abcdef", "client", new Uint8Array(32), new Uint8Array(32)).length; // 32
 * ```
 */
export function handshakeMac(
  secret: string,
  purpose: "client" | "server" | "session",
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Uint8Array {
  const mac = createHmac("sha256", secret);
  mac.update(`staticecs-cluster/${PROTOCOL_VERSION}/${purpose}`);
  mac.update(serverNonce);
  mac.update(clientNonce);
  return new Uint8Array(mac.digest());
}

function isBytes(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

/** Sends, or returns why it could not (the connection closed meanwhile). */
function trySend(connection: Connection, message: Message): string | undefined {
  try {
    connection.send(message);
    return undefined;
  } catch (error) {
    return `authentication failed: could not send ${message.t}: ${(error as Error).message}`;
  }
}

/** Closes, first telling the peer why if asked (best effort, bounded by REFUSAL_FLUSH_MS). */
function refuse(connection: Connection, reason: string, tellPeer: boolean, busy = false): void {
  if (connection.closed) return;
  const refusal = { t: "auth_error", reason: reason.slice(0, REFUSAL_REASON_CHARS_MAX), busy };
  if (!tellPeer || trySend(connection, refusal) !== undefined) {
    return connection.close(reason);
  }
  // Drop whatever else the peer sends while the refusal is written out.
  connection.onMessage = () => {};
  const timer = setTimeout(() => connection.close(reason), REFUSAL_FLUSH_MS);
  void connection.drained().then(() => {
    clearTimeout(timer);
    connection.close(reason);
  });
}

/**
 * Checks that a secret has at least SECRET_BYTES_MIN bytes (UTF-8) that are not whitespace, and
 * returns it; throws ClusterError naming `source` (an option key or a flag) otherwise.
 *
 * @example
 * ```ts
 * import { checkSecret } from "./auth.ts";
 * checkSecret("0123456789abcdef", "secret"); // "0123456789abcdef"
 * ```
 */
export function checkSecret(secret: string, source: string): string {
  const bytes = typeof secret === "string"
    ? new TextEncoder().encode(secret.replace(/\s/gu, "")).length
    : 0;
  if (bytes < SECRET_BYTES_MIN) {
    throw new ClusterError(
      `cluster secret too weak: ${source} has ${bytes} bytes that are not whitespace, at ` +
        `least ${SECRET_BYTES_MIN} are needed; generate one with \`staticecs cluster secret\``,
    );
  }
  return secret;
}

/**
 * A new random secret: GENERATED_SECRET_BYTES random bytes as lowercase hex.
 *
 * @example
 * ```ts
 * import { generateSecret } from "./auth.ts";
 * generateSecret().length; // 64
 * ```
 */
export function generateSecret(): string {
  return randomBytes(GENERATED_SECRET_BYTES).toString("hex");
}
