/**
 * mixed, for the adaptive benchmark: three parts a frame, each best served
 * by a different backend. In pre_update, six small systems over 100
 * entities each (too little to wake a pool: inline wins); in update,
 * heavy_compute's matrix inversions over 1,000 entities (parallel wins); in
 * network, one system writes 16 blocks of 4 KiB to a scratch file each
 * frame with O_DIRECT, as a store that bypasses the page cache does
 * (batched wins: io_uring keeps the 16 writes in flight at the device at
 * once, where one write call at a time waits for each in turn).
 *
 * Buffered writes would not tell the modes apart the same way: on this
 * kernel (6.18) io_uring punts every buffered write to a worker thread and
 * loses to pwrite (see scripts/bench/io.ts). Where the scratch folder's
 * filesystem refuses O_DIRECT (tmpfs), or liburing cannot give buffer
 * addresses for the alignment, or `STATICECS_MIXED_IO=buffered`, the scene
 * writes buffered and `ioMode` says why.
 *
 * The scratch file is `STATICECS_MIXED_FILE`, or staticecs-mixed-<pid>.bin
 * in the temporary folder; setup fills it to 1 MiB (so O_DIRECT writes
 * never extend it) and the writes wrap within it.
 *
 * @module
 */

import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import {
  defineComponent,
  defineResource,
  defineScene,
  defineSystem,
  O_FLAGS,
  type System,
} from "staticecs";
import { alignedBuffers, filesystemOf, O_DIRECT, openAddressSource } from "../_io_direct.ts";
import { invert, Position, Transform } from "./heavy_compute.ts";

/** Matrix entities of the heavy part. */
export const MATRICES = 1_000;
/** Blocks written per frame, and their size. */
export const BLOCKS = 16;
export const BLOCK_BYTES = 4096;
/** Blocks the scratch file holds before writes wrap to its start. */
const FILE_BLOCKS = 256;

const NAMES = ["A", "B", "C", "D", "E", "F"];
const SMALL = NAMES.map((name) => defineComponent(`Small${name}`, { value: "f32" }));

const SMALL_SYSTEMS: System[] = SMALL.map((component, k) =>
  defineSystem({
    name: `small_${NAMES[k]}`,
    phase: "pre_update",
    query: { all: [component] },
    writes: [component],
    runChunk(chunk) {
      const value = chunk.write(component.value);
      for (let i = 0; i < chunk.count; i++) value[i] = value[i] * 2 % 1000;
    },
  })
);

/** The scratch file's handle (0 until its open completes) and the next block to write. */
export const Scratch = defineResource("Scratch", { file: "u32", block: "u32", failures: "u32" });

/** One frame's bytes; written many times, never changed while a write is in flight. */
let block: Uint8Array = new Uint8Array(BLOCK_BYTES).fill(0x5a);
/** Flags the writer opens the scratch file with. */
let openFlags: number = O_FLAGS.wronly;

/** How the network phase writes: "O_DIRECT", or "buffered (why)"; set by setup. */
export let ioMode = "not set up";

/** Where the scratch file goes. */
export function scratchPath(): string {
  return process.env.STATICECS_MIXED_FILE ?? join(tmpdir(), `staticecs-mixed-${process.pid}.bin`);
}

const writer = defineSystem({
  name: "write_blocks",
  phase: "network",
  io: true,
  writes: [Scratch],
  run(ctx) {
    const scratch = ctx.resource(Scratch);
    if (ctx.tick === 0) {
      ctx.io.open(scratchPath(), openFlags, 0o644);
      return;
    }
    if (scratch.file === 0) return;
    for (let b = 0; b < BLOCKS; b++) {
      ctx.io.write(scratch.file, block, scratch.block * BLOCK_BYTES);
      scratch.block = (scratch.block + 1) % FILE_BLOCKS;
    }
  },
  onIo(completion, ctx) {
    const scratch = ctx.resource(Scratch);
    if (completion.failed) scratch.failures++;
    else if (completion.op === "open") scratch.file = completion.result;
  },
});

export default defineScene({
  name: "mixed",
  components: [...SMALL, Transform, Position],
  resources: [Scratch],
  systems: [...SMALL_SYSTEMS, invert, writer],
  config: { chunkRows: 64 },
  async setup(world, { random }) {
    await prepareScratch();
    for (const component of SMALL) {
      for (let i = 0; i < 100; i++) world.spawn([component, { value: i + 1 }]);
    }
    for (let e = 0; e < MATRICES; e++) {
      const values: Record<string, number> = {};
      for (let k = 0; k < 16; k++) {
        values[`m${k}`] = k % 5 === 0 ? 2 + random.next() : random.next();
      }
      world.spawn([Transform, values], [Position, { x: 0, y: 0, z: 0 }]);
    }
  },
});

/** Fills the scratch file and picks O_DIRECT with an aligned block, or buffered with the reason. */
async function prepareScratch(): Promise<void> {
  const file = scratchPath();
  const fd = openSync(file, "w", 0o644);
  try {
    for (let b = 0; b < FILE_BLOCKS; b++) writeSync(fd, block, 0, BLOCK_BYTES, b * BLOCK_BYTES);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const filesystem = filesystemOf(dirname(file));
  const refused = process.env.STATICECS_MIXED_IO === "buffered"
    ? "STATICECS_MIXED_IO=buffered"
    : filesystem === "tmpfs" || filesystem === "ramfs"
    ? `${filesystem} has no device for O_DIRECT`
    : undefined;
  if (refused !== undefined) {
    ioMode = `buffered (${refused})`;
    return;
  }
  const source = await openAddressSource();
  if (typeof source === "string") {
    ioMode = `buffered (${source})`;
    return;
  }
  try {
    block = alignedBuffers(1, BLOCK_BYTES, source.addressOf)[0];
  } finally {
    source.close();
  }
  openFlags = O_FLAGS.wronly | O_DIRECT;
  ioMode = "O_DIRECT";
}
