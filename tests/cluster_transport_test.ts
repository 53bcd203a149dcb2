/**
 * The cluster transport layer: the frame codec (chunking, bounds, malformed input), the memory
 * transport, TCP on this runtime over 127.0.0.1 (order, a 16 MiB message through partial writes,
 * the send-queue bound, a bad peer closing only its own connection) and the shared-secret
 * authentication (success, wrong secret on either side, a frame before auth, timeouts).
 * Every await is bounded by `within`, and every listener and connection is closed.
 */

import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import { encodeFrame, FRAME_DEPTH_MAX, FrameDecoder } from "../cluster/_frame.ts";
import {
  ACK_EVERY_BYTES,
  AckCounter,
  SEND_WINDOW_BYTES_MIN,
  SendWindow,
} from "../cluster/_flow.ts";
import { FrameSession, MAC_BYTES } from "../cluster/_session.ts";
import { ClusterError } from "../cluster/errors.ts";
import { MemoryTransport } from "../cluster/memory_transport.ts";
import { tcpTransport } from "../cluster/tcp.ts";
import { acceptAuthenticated, authenticate, PROTOCOL_VERSION } from "../cluster/auth.ts";
import { resolveSecret } from "../cli/cluster.ts";
import {
  type Connection,
  type Listener,
  parseHostPort,
  type Transport,
  type TransportLimits,
  UNAUTHENTICATED_LIMITS,
} from "../cluster/transport.ts";
import { hostRuntime } from "../core/_host.ts";
import { until } from "./fixtures/until.ts";

const SECRET = "correct horse battery staple";
const STEP_MS = 3_000; // under bun test's 5 s default, so a hang fails naming its step
const MIB = 1024 * 1024;

type Message = { readonly t: string; readonly [key: string]: unknown };

/** Rejects if `promise` takes longer than `ms`, naming what was awaited. */
async function within<T>(promise: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// What each test opened, closed after it whatever happened.
const opened: { connections: Connection[]; listeners: Listener[]; sockets: net.Socket[] } = {
  connections: [],
  listeners: [],
  sockets: [],
};

afterEach(async () => {
  for (const connection of opened.connections.splice(0)) connection.close("test over");
  for (const socket of opened.sockets.splice(0)) socket.destroy();
  for (const listener of opened.listeners.splice(0)) await within(listener.close(), "close");
});

function track(connection: Connection): Connection {
  opened.connections.push(connection);
  return connection;
}

/** Collects messages and the close reason of a connection. */
function collect(connection: Connection) {
  const messages: Message[] = [];
  let closedWith: (reason: string) => void = () => {};
  const closed = new Promise<string>((resolve) => closedWith = resolve);
  let notify: () => void = () => {};
  connection.onMessage = (message) => {
    messages.push(message);
    notify();
  };
  connection.onClose = (reason) => closedWith(reason);
  const count = (n: number, what: string) =>
    within(
      new Promise<void>((resolve) => {
        notify = () => messages.length >= n && resolve();
        notify();
      }),
      what,
    );
  return { messages, closed, count };
}

/** Listens on 127.0.0.1:0; each accepted connection goes to `onConnection`, and is tracked. */
async function listen(
  transport: Transport,
  onConnection: (connection: Connection) => void,
  limits?: Partial<TransportLimits>,
): Promise<Listener> {
  const listener = await within(
    transport.listen("127.0.0.1", 0, (c) => onConnection(track(c)), limits),
    "listen",
  );
  opened.listeners.push(listener);
  return listener;
}

async function connect(
  transport: Transport,
  listener: Listener,
  limits?: Partial<TransportLimits>,
): Promise<Connection> {
  return track(await within(transport.connect(listener.host, listener.port, limits), "connect"));
}

/** A server that authenticates every connection, echoes each message, and logs refusals. */
async function echoServer(transport: Transport, limits?: Partial<TransportLimits>) {
  const log: string[] = [];
  const listener = await listen(transport, async (connection) => {
    const member = await acceptAuthenticated(connection, {
      secret: SECRET,
      log: (line) => log.push(line),
    });
    if (member !== undefined) {
      member.onMessage = (message) => member.send({ ...message, t: "echo" });
    }
  }, limits);
  return { listener, log };
}

function rawSocket(listener: Listener): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect(listener.port, listener.host, () => resolve(socket));
      socket.resume(); // read and drop the server's frames, or "end" (and "close") never come
      socket.on("error", reject);
      opened.sockets.push(socket);
    }),
    "raw connect",
  );
}

/** Polls `condition` every 5 ms until it holds, for at most STEP_MS. */
function waitFor(condition: () => boolean, what: string): Promise<true> {
  return until(what, () => condition() || undefined, STEP_MS, 5);
}

describe("frame codec", () => {
  const values: Message[] = [
    { t: "a" },
    { t: "numbers", int: 7, negative: -3, float: 1.5, big: 2 ** 40 },
    { t: "nested", list: [1, "two", { three: [3] }], none: null, yes: true },
    { t: "bytes", data: new Uint8Array([0, 1, 2, 254, 255]) },
    { t: "unicode", text: "héllo wörld ✓" },
  ];

  test("round trip, whole, in 1-byte chunks, and all frames in one chunk", () => {
    const frames = values.map((value) => encodeFrame(value, MIB));
    const whole = new FrameDecoder(MIB);
    const decoded = frames.flatMap((frame) => whole.push(frame));
    assertMessages(decoded, values);

    const bytewise = new FrameDecoder(MIB);
    const fromBytes: unknown[] = [];
    for (const frame of frames) {
      for (let i = 0; i < frame.length; i++) {
        fromBytes.push(...bytewise.push(frame.subarray(i, i + 1)));
      }
    }
    assertMessages(fromBytes, values);
    assert.equal(bytewise.bufferedBytes, 0);

    const joined = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0) * 100);
    let offset = 0;
    for (let copy = 0; copy < 100; copy++) {
      for (const frame of frames) {
        joined.set(frame, offset);
        offset += frame.length;
      }
    }
    const batch = new FrameDecoder(MIB).push(joined);
    assert.equal(batch.length, values.length * 100);
    assertMessages(batch.slice(-values.length), values);
  });

  test("a payload over frameBytesMax is refused on encode, naming both sizes", () => {
    assert.throws(
      () => encodeFrame({ t: "big", data: new Uint8Array(2000) }, 1000),
      (error: Error) =>
        error instanceof ClusterError &&
        /\d+ bytes, over frameBytesMax \(1000\)/.test(error.message),
    );
  });

  test("a declared length over the bound is refused from the 4 header bytes alone", () => {
    const decoder = new FrameDecoder(1024);
    assert.deepEqual(decoder.push(new Uint8Array([0xff, 0xff])), []);
    assert.throws(
      () => decoder.push(new Uint8Array([0xff, 0xff])),
      /frame too large: the peer declared a 4294967295-byte frame, over frameBytesMax \(1024\)/,
    );
    assert.equal(decoder.bufferedBytes, 0, "nothing of the forged body was buffered");
  });

  test("malformed payloads: not MessagePack, not an object, no string t", () => {
    const frame = (payload: number[]) => new Uint8Array([0, 0, 0, payload.length, ...payload]);
    const cases: [number[], RegExp][] = [
      [[0x92, 1], /malformed frame: the 2-byte payload is not valid MessagePack/],
      [[0xc1], /malformed frame: .*not valid MessagePack \(byte 0xc1 at 0 is never used\)/],
      [[0x93, 1, 2, 3], /malformed frame: the payload decodes to an array/],
      [[0x2a], /malformed frame: the payload decodes to a number/],
      [[0x81, 0xa1, 0x78, 1], /malformed frame: .*string "t" field/],
      [[0x81, 0xa1, 0x74, 1], /malformed frame: .*string "t" field/],
      [[0x81, 0xa1, 0x74, 0xa1, 0x61, 0xc0], /malformed frame: .*not valid MessagePack/],
      [[], /malformed frame/],
    ];
    for (const [payload, expected] of cases) {
      assert.throws(() => new FrameDecoder(1024).push(frame(payload)), expected, `${payload}`);
    }
  });
});

describe("bounded decoding", () => {
  const frame = (payload: Uint8Array) => {
    const out = new Uint8Array(4 + payload.length);
    new DataView(out.buffer).setUint32(0, payload.length, false);
    out.set(payload, 4);
    return out;
  };

  test("a payload holding more values than frameElementsMax is refused before decoding", () => {
    // An array of 2,000 empty maps: 2,001 values in 2,004 bytes.
    const payload = new Uint8Array(2004).fill(0x80);
    payload[0] = 0xdc;
    new DataView(payload.buffer).setUint16(1, 2001, false);
    payload[3] = 0x80;
    assert.throws(
      () => new FrameDecoder(MIB, 1000).push(frame(payload.subarray(0, 2004))),
      /frame too complex: the 2004-byte payload holds more than 1000 values \(frameElementsMax\)/,
    );
  });

  test("nesting past FRAME_DEPTH_MAX, extension types and lengths past the end are refused", () => {
    const deep = new Uint8Array(FRAME_DEPTH_MAX + 2).fill(0x91); // [[[[...]]]]
    deep[deep.length - 1] = 0xc0;
    const cases: [number[] | Uint8Array, RegExp][] = [
      [deep, new RegExp(`nest deeper than ${FRAME_DEPTH_MAX}`)],
      [[0xc7, 1, 5, 0], /extension type 0xc7 at 0; this protocol uses none/],
      [[0xd6, 0xff, 0, 0, 0, 0], /extension type 0xd6/],
      [[0xdf, 0xff, 0xff, 0xff, 0xff], /ends inside a value/], // a map32 of 4 billion pairs
      [[0xc6, 0, 0x10, 0, 0, 1], /a length runs past its end/], // bin32 of 1 MiB, 1 byte
      [[0xdb, 0xff, 0xff, 0xff, 0xff], /a length runs past its end/],
    ];
    for (const [payload, expected] of cases) {
      assert.throws(
        () => new FrameDecoder(MIB).push(frame(new Uint8Array(payload))),
        expected,
        String(payload),
      );
    }
    // msgpackr's undefined (fixext 1 of type 0) is the one extension it sends itself.
    const withUndefined = encodeFrame({ t: "x", u: undefined }, 1024);
    assert.equal(new FrameDecoder(1024).push(withUndefined)[0].t, "x");
  });

  test("a frame declared large but sent slowly holds only what has come", () => {
    const decoder = new FrameDecoder(64 * MIB);
    const head = new Uint8Array([0x03, 0xff, 0xff, 0xff, 0xdd, 0, 0, 0, 1]); // ~64 MiB declared
    assert.deepEqual(decoder.push(head), []);
    assert.equal(decoder.bufferedBytes, 5);
  });
});

describe("handshake bounds and authenticated frames", () => {
  test("before authenticating, a frame over 1 KiB and more than 4 KiB in all are refused", async () => {
    const transport = new MemoryTransport();
    const reasons: string[] = [];
    const listener = await listen(transport, (server) => {
      server.onClose = (reason) => reasons.push(reason);
      server.onMessage = () => {};
    });
    const big = await connect(transport, listener);
    big.send({ t: "big", data: new Uint8Array(2000) });
    const chatty = await connect(transport, listener);
    for (let n = 0; n < 50; n++) chatty.send({ t: "chat", data: new Uint8Array(100) });
    await waitFor(() => reasons.length === 2, "both refused");
    assert.ok(reasons.some((r) => /frame too large: .* over frameBytesMax \(1024\)/.test(r)));
    assert.ok(reasons.some((r) => /handshake too long: .* handshakeBytesMax \(4096\)/.test(r)));
  });

  test("after the handshake every frame carries a MAC: a changed byte closes the connection", async () => {
    // A transport whose "network" changes one byte of the tenth frame the client writes.
    const transport = new MemoryTransport();
    const server = { reasons: [] as string[], messages: [] as Message[] };
    const listener = await listen(transport, async (connection) => {
      const peer = await acceptAuthenticated(connection, { secret: SECRET });
      if (peer === undefined) return;
      peer.onClose = (reason) => server.reasons.push(reason);
      peer.onMessage = (message) => server.messages.push(message);
    });
    const client = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    assert.ok(client.authenticated);
    client.send({ t: "one", n: 1 });
    await waitFor(() => server.messages.length === 1, "the first frame");
    tamperNextFrame(client);
    client.send({ t: "two", n: 2 });
    await waitFor(() => server.reasons.length === 1, "the tampered frame refused");
    assert.match(server.reasons[0], /frame authentication failed: frame \d+ of the session/);
    assert.deepEqual(server.messages.map((m) => m.t), ["one"]);
  });

  test("a bulk transfer from a client flows through its window, every byte in order", async () => {
    const transport = tcpTransport();
    const received: number[] = [];
    const listener = await listen(transport, async (connection) => {
      const peer = await acceptAuthenticated(connection, { secret: SECRET });
      if (peer !== undefined) peer.onMessage = (message) => received.push(message.n as number);
    });
    const client = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    collect(client); // a handler, so the server's acknowledgements are read
    const data = new Uint8Array(256 * 1024);
    for (let n = 0; n < 64; n++) client.send({ t: "chunk", n, data });
    await within(client.drained(), "16 MiB through the window", 20_000);
    await waitFor(() => received.length === 64, "every chunk");
    assert.deepEqual(received, Array.from({ length: 64 }, (_, n) => n));
  });
});

describe("frame MAC", () => {
  test("the tag is HMAC-SHA256 of the 8-byte sequence number and the payload", () => {
    const key = new Uint8Array(32).map((_, i) => i * 7);
    const session = new FrameSession({ send: key, receive: key });
    for (let sequence = 0; sequence < 3; sequence++) {
      const frame = encodeFrame({ t: "tagged", sequence }, 1024, MAC_BYTES);
      session.seal(frame);
      const payload = frame.subarray(4, frame.length - MAC_BYTES);
      const number = new Uint8Array(8);
      new DataView(number.buffer).setBigUint64(0, BigInt(sequence), false);
      const expected = createHmac("sha256", key).update(number).update(payload).digest();
      assert.ok(Buffer.from(frame.subarray(frame.length - MAC_BYTES)).equals(expected));
    }
  });
});

describe("flow control", () => {
  test("the window opens with acknowledgements, grows while filled, and refuses a bad one", () => {
    const window = new SendWindow();
    window.wrote(SEND_WINDOW_BYTES_MIN);
    assert.equal(window.openBytes(), 0);
    window.limited();
    window.acknowledged(SEND_WINDOW_BYTES_MIN, "peer");
    assert.equal(window.openBytes(), 2 * SEND_WINDOW_BYTES_MIN);
    assert.throws(() => window.acknowledged(1, "peer"), /acknowledged 1 bytes; 32768 were/);
    assert.throws(() => window.acknowledged(10 ** 9, "peer"), /acknowledged 1000000000 bytes/);
    const acks = new AckCounter();
    assert.equal(acks.read(ACK_EVERY_BYTES - 1), undefined);
    assert.equal(acks.read(1), ACK_EVERY_BYTES);
  });
});

describe("parseHostPort and resolveSecret", () => {
  test("host:port forms, and a clear error otherwise", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:7000"), { host: "127.0.0.1", port: 7000 });
    assert.deepEqual(parseHostPort("[::1]:7000"), { host: "::1", port: 7000 });
    assert.deepEqual(parseHostPort("localhost:0"), { host: "localhost", port: 0 });
    for (const bad of ["localhost", "::1:7000", "host:70000", "host:", ":7000", "a b:1"]) {
      assert.throws(() => parseHostPort(bad), /expected host:port/, bad);
    }
  });

  test("--secret wins over STATICECS_SECRET; none or a short one is refused", () => {
    const flag = "flag-secret-0123456789", env = "env-secret-0123456789";
    assert.equal(resolveSecret(flag, { STATICECS_SECRET: env }), flag);
    assert.equal(resolveSecret(undefined, { STATICECS_SECRET: env }), env);
    assert.throws(
      () => resolveSecret(undefined, {}),
      /no cluster secret: pass --secret or set STATICECS_SECRET/,
    );
    assert.throws(
      () => resolveSecret("short", {}),
      /too weak: --secret has 5 bytes that are not whitespace, at least 16 .*staticecs cluster secret/,
    );
    assert.throws(
      () => resolveSecret(undefined, { STATICECS_SECRET: " ".repeat(40) }),
      /too weak: STATICECS_SECRET has 0 bytes that are not whitespace/,
    );
  });
});

describe("memory transport", () => {
  test("round trip in order, a late handler loses nothing, close reaches the peer", async () => {
    const transport = new MemoryTransport();
    let echoed = 0;
    const listener = await listen(transport, (server) => {
      server.onMessage = (message) => {
        server.send({ t: "echo", n: message.n });
        echoed++;
      };
    });
    const client = await connect(transport, listener);
    for (let n = 0; n < 100; n++) client.send({ t: "ping", n });
    await waitFor(() => echoed === 100, "100 echoes sent before the client has a handler");
    const { messages, closed, count } = collect(client);
    await count(100, "100 echoes");
    assert.deepEqual(messages.map((m) => m.n), Array.from({ length: 100 }, (_, n) => n));
    client.close("bye");
    assert.equal(await within(closed, "close"), "bye");
  });

  test("a frame over the receiver's bound closes that connection with the reason", async () => {
    const transport = new MemoryTransport();
    let serverClosed: Promise<string> | undefined;
    const listener = await listen(transport, (server) => {
      serverClosed = collect(server).closed;
    }, { ...UNAUTHENTICATED_LIMITS, frameBytesMax: 1024 });
    const client = await connect(transport, listener, { frameBytesMax: MIB });
    const { closed } = collect(client);
    client.send({ t: "big", data: new Uint8Array(4096) });
    assert.match(await within(serverClosed!, "server close"), /frame too large/);
    assert.equal(await within(closed, "client close"), "the peer closed the connection");
  });
});

describe(`TCP transport (${hostRuntime().name})`, () => {
  const transport = tcpTransport();

  test("1,000 messages round trip in order", async () => {
    const { listener } = await echoServer(transport);
    const client = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    const { messages, count } = collect(client);
    for (let n = 0; n < 1000; n++) client.send({ t: "ping", n, text: `message ${n}` });
    await count(1000, "1,000 echoes");
    assert.deepEqual(messages.map((m) => m.n), Array.from({ length: 1000 }, (_, n) => n));
    assert.equal(messages[999].text, "message 999");
  });

  test("a 16 MiB binary message arrives intact (partial writes, backpressure)", async () => {
    const { listener } = await echoServer(transport);
    const client = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    const data = new Uint8Array(16 * MIB);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
    data[data.length - 1] = 0x5a;
    const { messages, count } = collect(client);
    client.send({ t: "big", data });
    // More than a socket buffer takes at once: part of the frame waits in the queue, then drains.
    assert.ok(client.queuedBytes > 0, "16 MiB queued behind the kernel's buffer");
    await within(client.drained(), "drained");
    assert.equal(client.queuedBytes, 0);
    await count(1, "16 MiB echo");
    const echoed = messages[0].data as Uint8Array;
    assert.ok(echoed instanceof Uint8Array);
    assert.equal(echoed.length, data.length);
    assert.ok(Buffer.from(echoed).equals(Buffer.from(data)), "bytes differ");
  });

  test("send past queuedBytesMax throws, and everything accepted arrives", async () => {
    const received: number[] = [];
    const listener = await listen(transport, (server) => {
      server.onMessage = (message) => received.push(message.n as number);
    }, UNAUTHENTICATED_LIMITS);
    const client = await connect(transport, listener, { queuedBytesMax: 2 * MIB });
    const chunk = new Uint8Array(256 * 1024);
    let accepted = 0;
    let refused: Error | undefined;
    // Synchronous, so the peer reads nothing meanwhile: kernel buffers fill, then the queue.
    for (let n = 0; n < 400 && refused === undefined; n++) {
      const before = client.queuedBytes;
      try {
        client.send({ t: "fill", n, chunk });
        accepted++;
      } catch (error) {
        refused = error as Error;
        assert.equal(client.queuedBytes, before, "a refused send queues nothing");
      }
    }
    assert.ok(refused instanceof ClusterError, `no refusal after ${accepted} sends`);
    assert.match(refused.message, /would pass queuedBytesMax \(2097152\); await drained\(\)/);
    await within(client.drained(), "drained");
    assert.equal(client.queuedBytes, 0);
    await waitFor(() => received.length === accepted, `${accepted} messages received`);
    assert.deepEqual(received, Array.from({ length: accepted }, (_, n) => n));
  });

  test("garbage from a raw socket closes only that connection", async () => {
    const { listener, log } = await echoServer(transport);
    const good = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    const { messages, count } = collect(good);
    const http = await rawSocket(listener);
    const httpClosed = new Promise((resolve) => http.on("close", resolve));
    http.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const junk = await rawSocket(listener);
    const junkClosed = new Promise((resolve) => junk.on("close", resolve));
    junk.write(new Uint8Array([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    await within(Promise.all([httpClosed, junkClosed]), "raw sockets closed by the server");
    await waitFor(() => log.length === 2, "two refusals logged");
    assert.ok(log.some((line) => /127\.0\.0\.1:\d+: .*frame too large/.test(line)), log.join("\n"));
    assert.ok(log.some((line) => /127\.0\.0\.1:\d+: .*malformed frame/.test(line)), log.join("\n"));
    good.send({ t: "still", n: 1 });
    await count(1, "echo on the good connection");
    assert.equal(messages[0].n, 1);
  });

  test("an oversized frame from an authenticated peer closes only that connection", async () => {
    const serverReasons: string[] = [];
    const listener = await listen(transport, async (connection) => {
      const member = await acceptAuthenticated(connection, { secret: SECRET });
      if (member === undefined) return;
      member.onMessage = (message) => member.send({ ...message, t: "echo" });
      member.onClose = (reason) => serverReasons.push(reason);
    }, { frameBytesMax: 64 * 1024 });
    const limits = { frameBytesMax: 4 * MIB };
    const big = await within(
      authenticate(await connect(transport, listener, limits), { secret: SECRET }),
      "auth",
    );
    const small = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    const bigSide = collect(big);
    const smallSide = collect(small);
    big.send({ t: "big", data: new Uint8Array(MIB) });
    // A close with the rest of the frame unread makes the kernel send RST: either is fine.
    assert.match(
      await within(bigSide.closed, "big closed"),
      /the peer closed the connection|connection lost/,
    );
    assert.match(serverReasons[0], /frame too large: the peer declared a \d+-byte frame/);
    small.send({ t: "small", n: 2 });
    await smallSide.count(1, "echo on the other connection");
    assert.equal(smallSide.messages[0].n, 2);
    assert.equal(small.closed, false);
  });

  test("auth: messages sent right after auth_ok reach a handler attached later", async () => {
    let welcomed = false;
    const listener = await listen(transport, async (connection) => {
      const member = await acceptAuthenticated(connection, { secret: SECRET });
      // In the same turn as auth_ok: these may share a TCP segment with it.
      for (let n = 0; n < 5; n++) member?.send({ t: "welcome", n });
      welcomed = member !== undefined;
    });
    const client = await within(
      authenticate(await connect(transport, listener), { secret: SECRET }),
      "auth",
    );
    await waitFor(() => welcomed, "5 welcomes sent before the client has a handler");
    const { messages, count } = collect(client);
    await count(5, "5 welcomes");
    assert.deepEqual(messages.map((m) => m.n), [0, 1, 2, 3, 4]);
  });

  test("auth: a wrong secret is refused on both sides, with the reason and a log line", async () => {
    const { listener, log } = await echoServer(transport);
    const connection = await connect(transport, listener);
    const closed = waitFor(() => connection.closed, "client closed");
    await assert.rejects(
      within(authenticate(connection, { secret: "not the right one" }), "auth"),
      (error: Error) =>
        error instanceof ClusterError && /server refused: .*wrong secret/.test(error.message) &&
        /give both sides the same secret/.test(error.message),
    );
    await closed;
    await waitFor(() => log.length === 1, "refusal logged");
    assert.match(log[0], /refused connection from 127\.0\.0\.1:\d+: .*wrong secret/);
  });

  test("auth: a server that does not know the secret is refused by the client", async () => {
    const listener = await listen(transport, (connection) => {
      connection.onMessage = (message) => {
        // An impostor: accepts any proof, answers with one it cannot compute.
        if (message.t === "auth") connection.send({ t: "auth_ok", proof: new Uint8Array(32) });
      };
      connection.send({ t: "hello", v: PROTOCOL_VERSION, nonce: new Uint8Array(32) });
    });
    await assert.rejects(
      within(authenticate(await connect(transport, listener), { secret: SECRET }), "auth"),
      /authentication failed: wrong secret \(the peer's proof does not match/,
    );
  });

  test("auth: a frame other than auth first is refused", async () => {
    const { listener, log } = await echoServer(transport);
    const client = await connect(transport, listener);
    const { messages, closed } = collect(client);
    client.send({ t: "join", scene: "x" });
    await within(closed, "refused");
    assert.equal(messages[0].t, "hello");
    assert.equal(messages[1].t, "auth_error");
    assert.match(String(messages[1].reason), /expected an "auth" frame first, got "join"/);
    await waitFor(() => log.length === 1, "refusal logged");
    assert.match(log[0], /expected an "auth" frame first/);
  });

  test("auth: timeouts on the server and on the client", async () => {
    const log: string[] = [];
    const listener = await listen(transport, (connection) => {
      void acceptAuthenticated(connection, {
        secret: SECRET,
        timeoutMs: 100,
        log: (l) => log.push(l),
      });
    });
    const silent = await connect(transport, listener);
    const silentSide = collect(silent);
    await within(silentSide.closed, "silent client dropped");
    assert.match(
      String(silentSide.messages.at(-1)?.reason),
      /timed out: no auth frame within 100 ms/,
    );
    assert.match(log[0], /refused connection from 127\.0\.0\.1:\d+: .*timed out/);

    const mute = await listen(transport, () => {});
    await assert.rejects(
      within(authenticate(await connect(transport, mute), { secret: SECRET, timeoutMs: 100 }), "a"),
      /authentication timed out: no hello within 100 ms/,
    );
  });
});

function assertMessages(actual: unknown[], expected: Message[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const got = actual[i] as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected[i])) {
      if (value instanceof Uint8Array) {
        assert.ok(got[key] instanceof Uint8Array, `${key} decodes as a Uint8Array`);
        assert.deepEqual([...(got[key] as Uint8Array)], [...value]);
      } else assert.deepEqual(got[key], value);
    }
  }
}

/**
 * Makes the next frame `connection` writes arrive with one byte changed: the memory transport's
 * write path (a subclass method) is wrapped once, as a man in the middle would change a packet.
 */
function tamperNextFrame(connection: Connection): void {
  const writer = connection as unknown as { peer: { deliver(bytes: Uint8Array): void } };
  const peer = writer.peer;
  const deliver = peer.deliver.bind(peer);
  peer.deliver = (bytes: Uint8Array) => {
    const changed = bytes.slice();
    changed[changed.length - 40] ^= 1; // in the payload, before the 32-byte MAC
    peer.deliver = deliver;
    deliver(changed);
  };
}
