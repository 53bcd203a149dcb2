/**
 * A journal: entities drift, and every frame the scene appends each one's
 * state (tick, entity handle, x, vx) to a journal file, fsyncing every
 * FSYNC_EVERY frames. `journal_check.ts` reads the file back and verifies
 * every record against the motion rule.
 *
 * The I/O goes through `ctx.io`: `stage` (a chunk system) packs the frame's
 * records into a staging array in a resource, and `flush` (an I/O system)
 * writes them with one intent at the journal's end. With
 * `--backend io-uring` each phase's intents go to the kernel in one
 * io_uring_enter; on other backends (or where io_uring is refused) the same
 * intents run through node:fs, writing the same bytes.
 *
 * The Journal resource keeps the file's handle (1, the first file this
 * runtime opened), not an OS descriptor, so the world, and its checksum,
 * is the same on every backend.
 *
 * The file is `journal.bin` in the working directory, or $STATICECS_JOURNAL.
 *
 * @module
 */

import process from "node:process";
import { defineComponent, defineResource, defineScene, defineSystem, O_FLAGS } from "staticecs";

/** Entities written each frame. */
export const ENTITIES = 2_000;
/** Bytes per record: tick u32, entity u32, x f32, vx f32. */
export const RECORD_BYTES = 16;
/** Frames between fsyncs. */
export const FSYNC_EVERY = 30;

export const Position = defineComponent("Position", { x: "f32" });
export const Velocity = defineComponent("Velocity", { x: "f32" });

/**
 * The journal's state: its file handle (0 until the open completes), where the next frame goes,
 * and the frame's staged records.
 */
export const Journal = defineResource("Journal", {
  file: "u32",
  fileBytes: "f64",
  stagedBytes: "u32",
  writes: "u32",
  fsyncs: "u32",
  failures: "u32",
  staging: ["u32", (ENTITIES * RECORD_BYTES) / 4],
});

/**
 * Converts an f32 to its bits. A scratch pair used within one call only (no
 * state carries between calls), so it is safe on any thread.
 */
const FLOAT = new Float32Array(1);
const BITS = new Uint32Array(FLOAT.buffer);
function bitsOf(value: number): number {
  FLOAT[0] = value;
  return BITS[0];
}

/** The journal's path. */
export function journalPath(): string {
  return process.env.STATICECS_JOURNAL ?? "journal.bin";
}

const open = defineSystem({
  name: "open_journal",
  phase: "pre_update",
  io: true,
  writes: [Journal],
  run(ctx) {
    if (ctx.tick === 0) {
      ctx.io.open(journalPath(), O_FLAGS.wronly | O_FLAGS.creat | O_FLAGS.trunc, 0o644);
    }
  },
  onIo(completion, ctx) {
    if (completion.failed) {
      throw new Error(`cannot open ${completion.path}: errno ${-completion.result}`);
    }
    ctx.resource(Journal).file = completion.result;
  },
});

const move = defineSystem({
  name: "move",
  query: { all: [Position, Velocity] },
  reads: [Velocity],
  writes: [Position],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), vx = chunk.read(Velocity.x);
    for (let i = 0; i < chunk.count; i++) x[i] += vx[i] * ctx.dt;
  },
});

const stage = defineSystem({
  name: "stage",
  phase: "post_update",
  query: { all: [Position, Velocity] },
  reads: [Position, Velocity],
  writes: [Journal],
  runChunk(chunk, ctx) {
    const journal = ctx.resource(Journal);
    const words = journal.staging;
    const x = chunk.read(Position.x), vx = chunk.read(Velocity.x);
    let word = journal.stagedBytes >>> 2;
    for (let i = 0; i < chunk.count; i++, word += 4) {
      words[word] = ctx.tick;
      words[word + 1] = chunk.entities[i];
      words[word + 2] = bitsOf(x[i]);
      words[word + 3] = bitsOf(vx[i]);
    }
    journal.stagedBytes = word << 2;
  },
});

const flush = defineSystem({
  name: "flush",
  phase: "network",
  io: true,
  writes: [Journal],
  run(ctx) {
    const journal = ctx.resource(Journal);
    const bytes = journal.stagedBytes;
    if (journal.file === 0 || bytes === 0) return;
    const staged = new Uint8Array(journal.staging.buffer, journal.staging.byteOffset, bytes);
    ctx.io.write(journal.file, staged, journal.fileBytes);
    journal.fileBytes += bytes;
    journal.stagedBytes = 0;
    if ((ctx.tick + 1) % FSYNC_EVERY === 0) ctx.io.fsync(journal.file);
  },
  onIo(completion, ctx) {
    const journal = ctx.resource(Journal);
    if (completion.failed) journal.failures++;
    else if (completion.op === "write") journal.writes++;
    else if (completion.op === "fsync") journal.fsyncs++;
  },
});

export default defineScene({
  name: "journal",
  components: [Position, Velocity],
  resources: [Journal],
  systems: [open, move, stage, flush],
  config: { maxEntities: ENTITIES },
  setup(world, { random }) {
    for (let i = 0; i < ENTITIES; i++) {
      world.spawn([Position, { x: random.range(-100, 100) }], [Velocity, {
        x: random.range(-5, 5),
      }]);
    }
  },
});
