/**
 * Entity transfer throughput over loopback, end to end as the cluster moves
 * entities: in this process, world A's `PartitionMap.collect(wanted, true)`
 * takes entities out, `connection.send({ t: "transfer", ... })` encodes
 * them (msgpackr) onto a `tcpTransport()` connection authenticated with
 * the shared secret; in a receiver child process (its own event loop and
 * core), `onMessage` → `checkBatch` → world B's `PartitionMap.insert`.
 * The clock runs from the first collect to the receiver's "ack", which it
 * sends once the last batch is inserted (so the figure includes one
 * loopback trip, well under a millisecond).
 *
 * Entities carry 32 bytes of component data (Position and Velocity, three
 * f32 each, Cell.key u32, Mass.kg f32), plus the ClusterId (f64) every
 * clustered entity gets: 40 bytes per entity on the wire, before
 * msgpackr's few bytes per column and per frame.
 *
 * The baseline sends the same bytes, frame for frame (the sizes the
 * transfer frames had), as `{ t: "raw", data: Uint8Array }` over the same
 * kind of connection, and the receiver only counts them: msgpackr then
 * copies one bin, so the ratio is what collect, structured encoding,
 * decoding, checking and insert cost on top of the framed socket.
 *
 * Both sides stop sending past SEND_HIGH_WATER_BYTES queued until the
 * socket drains, which also lets the sender's event loop write between
 * batches.
 *
 * @module
 */

import { ClusterId, defineComponent, defineScene, World } from "staticecs";
import { acceptAuthenticated, authenticate } from "../../cluster/auth.ts";
import { checkBatch, type EntityBatch } from "../../cluster/batch.ts";
import { PartitionMap } from "../../cluster/partition_map.ts";
import { encodeFrame, FRAME_HEADER_BYTES } from "../../cluster/_frame.ts";
import { tcpTransport } from "../../cluster/tcp.ts";
import { type Connection, DEFAULT_LIMITS } from "../../cluster/transport.ts";
import { type Child, spawnScript } from "./_cluster_child.ts";
import { archetypeList, indexOfComponent } from "../../core/_world_internal.ts";

export const Position = defineComponent("Position", { x: "f32", y: "f32", z: "f32" });
export const Velocity = defineComponent("Velocity", { x: "f32", y: "f32", z: "f32" });
export const Cell = defineComponent("Cell", { key: "u32" });
export const Mass = defineComponent("Mass", { kg: "f32" });

/** Component data per entity, ClusterId excluded. */
export const ENTITY_DATA_BYTES = 32;
/** Per entity on the wire: the component data and the ClusterId. */
export const ENTITY_WIRE_BYTES = ENTITY_DATA_BYTES + 8;
/** Keys run from 0 to KEYS - 1, so a map of up to KEYS partitions has every one filled. */
const KEYS = 1024;
/** The partitions a cluster of the batches' shape has (the `partition` field sent). */
const CLUSTER_PARTITIONS = 16;
/** Past this many bytes queued, a sender waits for the socket to drain. */
const SEND_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Longest wait for the receiver's ack or verification. */
const REPLY_TIMEOUT_MS = 60_000;
/** What `{ t: "raw", data }` adds to its data, at most: prefix, map, keys, bin header. */
const RAW_FRAME_OVERHEAD_BYTES_MAX = FRAME_HEADER_BYTES + 12 + 5;
/** Prefix of the receiver's one stdout line, saying its port. */
const PORT_LINE = "@bench port ";

const scene = defineScene({
  name: "bench_cluster_transfer",
  components: [Position, Velocity, Cell, Mass],
  systems: [],
  cluster: { key: Cell.key },
  config: { maxEntities: 1 << 20, chunkRows: 1024 },
});

/** How a million entities are cut into batches. */
export interface TransferShape {
  readonly name: string;
  /** Partitions of the sender's PartitionMap. */
  readonly mapPartitions: number;
  /** Partitions collected per tick: one batch (frame) each. */
  readonly partitionsPerTick: number;
}

/**
 * The shapes measured: a whole partition per batch, as a handoff or a
 * failover moves it, and small batches, 16 per tick, as crossings go.
 */
export const SHAPES: readonly TransferShape[] = [
  { name: "16 batches of 62,500 (handoffs)", mapPartitions: 16, partitionsPerTick: 1 },
  { name: "1,024 batches of 977 (64 ticks x 16)", mapPartitions: 1024, partitionsPerTick: 16 },
];

/** Sums of integer-valued fields: exact in f64 whatever the order they are added in. */
export interface Sums {
  readonly x: number;
  readonly vz: number;
  readonly key: number;
  readonly kg: number;
  readonly id: number;
}

/** One timed run of one subject. */
export interface TransferRun {
  readonly ms: number;
  /** First collect (or send) to the last send returning. */
  readonly sendMs: number;
  readonly frames: number;
  /** Frame bytes sent, length prefixes included. */
  readonly bytes: number;
  /** Receiver's time in checkBatch + insert (transfer) or counting (raw). */
  readonly receiveMs: number;
}

/**
 * The source batch: `count` entities in one group, with integer-valued
 * fields (so sums are exact), keys cycling over KEYS, ClusterIds 1 to count.
 */
function sourceBatch(count: number): { batch: EntityBatch; sums: Sums } {
  const f32 = () => new Float32Array(count);
  const [x, y, z, vx, vy, vz, kg] = [f32(), f32(), f32(), f32(), f32(), f32(), f32()];
  const key = new Uint32Array(count), ids = new Float64Array(count);
  let sumX = 0, sumVz = 0, sumKey = 0, sumKg = 0, sumId = 0;
  for (let i = 0; i < count; i++) {
    x[i] = i % 1000;
    y[i] = (i >>> 10) % 1000;
    z[i] = i % 7;
    vx[i] = (i % 13) - 6;
    vy[i] = (i % 17) - 8;
    vz[i] = (i % 19) - 9;
    key[i] = i % KEYS;
    kg[i] = 1 + (i % 3);
    ids[i] = i + 1;
    sumX += x[i];
    sumVz += vz[i];
    sumKey += key[i];
    sumKg += kg[i];
    sumId += ids[i];
  }
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const batch: EntityBatch = {
    groups: [{
      components: ["Position", "Velocity", "Cell", "Mass", "ClusterId"],
      count,
      ids: bytes(ids),
      columns: [x, y, z, vx, vy, vz, key, kg].map(bytes),
    }],
  };
  return { batch, sums: { x: sumX, vz: sumVz, key: sumKey, kg: sumKg, id: sumId } };
}

/** The sums over every entity of `world`. */
function sumsOf(world: World): Sums {
  let x = 0, vz = 0, key = 0, kg = 0, id = 0;
  const need = [Position, Velocity, Cell, Mass].map((c) => world[indexOfComponent](c));
  for (const archetype of world[archetypeList]) {
    if (archetype.count === 0) continue;
    if (!need.every((i) => archetype.hasIndex(i))) {
      throw new Error(`an archetype of ${archetype.count} entities lacks a benchmark component`);
    }
    for (const chunk of archetype.chunks) {
      const cx = chunk.column(Position.x), cvz = chunk.column(Velocity.z);
      const ck = chunk.column(Cell.key), ckg = chunk.column(Mass.kg);
      const cid = chunk.column(ClusterId.id);
      for (let i = 0; i < chunk.count; i++) {
        x += cx[i];
        vz += cvz[i];
        key += ck[i];
        kg += ckg[i];
        id += cid[i];
      }
    }
  }
  return { x, vz, key, kg, id };
}

/** Reads replies of a connection in order: `next(t)` waits for the next one, which must be `t`. */
class Replies {
  #inbox: { readonly t: string; readonly [key: string]: unknown }[] = [];
  #waiter: (() => void) | undefined = undefined;
  #closed: string | undefined = undefined;

  constructor(connection: Connection) {
    connection.onMessage = (message) => {
      this.#inbox.push(message);
      this.#waiter?.();
    };
    connection.onClose = (reason) => {
      this.#closed = reason;
      this.#waiter?.();
    };
  }

  async next(t: string): Promise<Record<string, unknown>> {
    const deadline = performance.now() + REPLY_TIMEOUT_MS;
    while (this.#inbox.length === 0) {
      if (this.#closed !== undefined) throw new Error(`receiver closed: ${this.#closed}`);
      if (performance.now() > deadline) throw new Error(`no "${t}" from the receiver`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REPLY_TIMEOUT_MS);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    const message = this.#inbox.shift()!;
    if (message.t !== t) throw new Error(`expected "${t}" from the receiver, got ${message.t}`);
    return message;
  }
}

/** The sending side: world A, its partition maps, and the connection to the receiver. */
export class TransferSender {
  readonly count: number;
  readonly expected: Sums;
  readonly #world: World;
  readonly #maps: Map<TransferShape, PartitionMap>;
  readonly #source: EntityBatch;
  readonly #connection: Connection;
  readonly #replies: Replies;
  readonly #receiver: Child;
  /** Payload bytes of each transfer frame of a shape, from its warm-up run. */
  readonly #frameSizes = new Map<TransferShape, number[]>();
  #pool = new Uint8Array(0);

  private constructor(count: number, connection: Connection, receiver: Child) {
    this.count = count;
    this.#world = new World(scene);
    this.#maps = new Map(
      SHAPES.map((s) => [s, new PartitionMap(this.#world, scene, s.mapPartitions)]),
    );
    const { batch, sums } = sourceBatch(count);
    this.#source = batch;
    this.expected = sums;
    this.#connection = connection;
    this.#replies = new Replies(connection);
    this.#receiver = receiver;
  }

  /** Starts the receiver (`script --receiver`), connects and authenticates. */
  static async start(
    count: number,
    script: string,
    secret: string,
  ): Promise<TransferSender> {
    const receiver = spawnScript("transfer receiver", script, ["--receiver"], {
      env: { STATICECS_SECRET: secret },
    });
    const port = Number(await receiver.nextLine(PORT_LINE, 60_000));
    const connection = await tcpTransport().connect("127.0.0.1", port);
    await authenticate(connection, { secret });
    return new TransferSender(count, connection, receiver);
  }

  /** Moves every entity of world A to world B in batches of `shape`, and checks B got them all. */
  async runTransfer(shape: TransferShape, record: boolean): Promise<TransferRun> {
    const map = this.#maps.get(shape)!;
    if (this.#world.entityCount !== 0) throw new Error("world A should be empty between runs");
    map.insert(this.#source);
    const sizes: number[] = [];
    const ticks = shape.mapPartitions / shape.partitionsPerTick;
    let frames = 0;
    const started = performance.now();
    for (let tick = 0; tick < ticks; tick++) {
      const low = tick * shape.partitionsPerTick, high = low + shape.partitionsPerTick;
      for (const [partition, state] of map.collect((p) => p >= low && p < high, true)) {
        const message = {
          t: "transfer",
          partition: partition % CLUSTER_PARTITIONS,
          state,
          handoff: false,
        };
        if (record) sizes.push(encodeFrame(message, DEFAULT_LIMITS.frameBytesMax).length);
        this.#connection.send(message);
        frames++;
      }
      await this.#throttle();
    }
    if (record) this.#frameSizes.set(shape, sizes);
    const bytes = (this.#frameSizes.get(shape) ?? sizes).reduce((a, b) => a + b, 0);
    return await this.#finish(started, frames, bytes, 0);
  }

  /** Sends the frames of `shape`'s transfer run as raw bytes of the same sizes. */
  async runRaw(shape: TransferShape): Promise<TransferRun> {
    const sizes = this.#frameSizes.get(shape);
    if (sizes === undefined) throw new Error("runRaw before a recording runTransfer");
    const largest = Math.max(...sizes);
    if (this.#pool.length < largest) {
      this.#pool = new Uint8Array(largest);
      for (let i = 0; i < largest; i++) this.#pool[i] = (i * 131) & 0xff;
    }
    let frames = 0, bytes = 0, dataBytes = 0;
    const started = performance.now();
    for (const size of sizes) {
      const data = this.#pool.subarray(0, Math.max(0, size - RAW_FRAME_OVERHEAD_BYTES_MAX));
      this.#connection.send({ t: "raw", data });
      frames++;
      dataBytes += data.length;
      bytes += rawFrameBytes(data.length);
      await this.#throttle();
    }
    return await this.#finish(started, frames, bytes, dataBytes);
  }

  async #throttle(): Promise<void> {
    if (this.#connection.queuedBytes > SEND_HIGH_WATER_BYTES) await this.#connection.drained();
  }

  async #finish(
    started: number,
    frames: number,
    bytes: number,
    rawDataBytes: number,
  ): Promise<TransferRun> {
    const sendMs = performance.now() - started;
    this.#connection.send({ t: "end" });
    const ack = await this.#replies.next("ack");
    const ms = performance.now() - started;
    const verified = await this.#replies.next("verified");
    if (ack.frames !== frames) throw new Error(`receiver got ${ack.frames} of ${frames} frames`);
    if (rawDataBytes === 0) this.#checkTransfer(ack, verified);
    else if (ack.rawDataBytes !== rawDataBytes) {
      throw new Error(`receiver counted ${ack.rawDataBytes} of ${rawDataBytes} raw bytes`);
    }
    return { ms, sendMs, frames, bytes, receiveMs: ack.receiveMs as number };
  }

  #checkTransfer(ack: Record<string, unknown>, verified: Record<string, unknown>): void {
    if (this.#world.entityCount !== 0) {
      throw new Error(`world A kept ${this.#world.entityCount} entities after collecting all`);
    }
    if (ack.entities !== this.count || verified.alive !== this.count) {
      throw new Error(
        `world B inserted ${ack.entities} and holds ${verified.alive}, not ${this.count}`,
      );
    }
    const sums = verified.sums as Sums;
    for (const name of Object.keys(this.expected) as (keyof Sums)[]) {
      if (sums[name] !== this.expected[name]) {
        throw new Error(`world B's sum of ${name} is ${sums[name]}, not ${this.expected[name]}`);
      }
    }
  }

  /** Tells the receiver to quit and waits for it (killAll reaps it otherwise). */
  async close(): Promise<void> {
    if (!this.#connection.closed) {
      this.#connection.send({ t: "quit" });
      await this.#connection.drained();
      this.#connection.close("done");
    }
    await Promise.race([this.#receiver.exited, new Promise((r) => setTimeout(r, 5_000))]);
  }
}

/**
 * The receiver child: listens on 127.0.0.1:0, prints its port, accepts one
 * authenticated connection and inserts what it is sent into world B until
 * told to quit.
 *
 * @example
 * ```ts ignore
 * await serveReceiver(process.env.STATICECS_SECRET!);
 * ```
 */
export async function serveReceiver(secret: string): Promise<void> {
  const world = new World(scene);
  const map = new PartitionMap(world, scene, CLUSTER_PARTITIONS);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const listener = await tcpTransport().listen("127.0.0.1", 0, (connection) => {
    void acceptAuthenticated(connection, { secret, log: (line) => console.error(line) })
      .then((authenticated) => {
        if (authenticated === undefined) return finish();
        receive(authenticated, map, finish);
      });
  });
  console.log(`${PORT_LINE}${listener.port}`);
  await finished;
  await listener.close();
}

function receive(connection: Connection, map: PartitionMap, finish: () => void): void {
  let entities = 0, frames = 0, rawDataBytes = 0, receiveMs = 0;
  connection.onClose = () => finish();
  connection.onMessage = (message) => {
    const started = performance.now();
    switch (message.t) {
      case "transfer":
        // As a member does: the message's batch checked, then inserted (which checks it again).
        entities += map.insert(checkBatch(message.state));
        frames++;
        receiveMs += performance.now() - started;
        return;
      case "raw": {
        const data = message.data as Uint8Array;
        rawDataBytes += data.byteLength;
        frames++;
        receiveMs += performance.now() - started;
        return;
      }
      case "end": {
        connection.send({ t: "ack", entities, frames, rawDataBytes, receiveMs });
        const alive = map.world.entityCount;
        const sums = sumsOf(map.world);
        map.collect(() => true, true);
        connection.send({ t: "verified", alive, sums });
        entities =
          frames =
          rawDataBytes =
          receiveMs =
            0;
        return;
      }
      case "quit":
        void connection.drained().then(() => connection.close("quit"));
        return finish();
      default:
        throw new Error(`unknown message ${message.t}`);
    }
  };
}

/** Frame bytes of `{ t: "raw", data }` with `dataBytes` of data (msgpack bin8/16/32 header). */
function rawFrameBytes(dataBytes: number): number {
  const binHeader = dataBytes < 0x100 ? 2 : dataBytes < 0x1_0000 ? 3 : 5;
  return FRAME_HEADER_BYTES + 12 + binHeader + dataBytes;
}
