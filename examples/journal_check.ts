/**
 * Reads a journal written by `journal.ts` and verifies it: whole records,
 * consecutive ticks, the same entities every frame, and each entity's x
 * following the motion rule exactly (x' = f32(x + vx * dt), dt = 1/60).
 * Prints one line and exits 0 if the journal is good, 1 with the first bad
 * record otherwise.
 *
 * `npx bun examples/journal_check.ts [journal.bin] [--entities N]`
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { ENTITIES, RECORD_BYTES } from "./journal.ts";

/** What a verified journal holds. */
export interface JournalSummary {
  readonly frames: number;
  readonly records: number;
}

/** Verifies journal bytes; throws naming the first bad record. */
export function verifyJournal(bytes: Uint8Array, entities: number, dt = 1 / 60): JournalSummary {
  if (bytes.length % RECORD_BYTES !== 0) {
    throw new Error(`journal has ${bytes.length} bytes, not whole ${RECORD_BYTES}-byte records`);
  }
  const records = bytes.length / RECORD_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (records % entities !== 0) {
    throw new Error(`journal has ${records} records, not whole frames of ${entities}`);
  }
  const lastX = new Map<number, number>();
  for (let r = 0; r < records; r++) {
    const at = r * RECORD_BYTES;
    const tick = view.getUint32(at, true), entity = view.getUint32(at + 4, true);
    const x = view.getFloat32(at + 8, true), vx = view.getFloat32(at + 12, true);
    const frame = Math.floor(r / entities);
    if (tick !== frame) throw new Error(`record ${r}: tick ${tick}, expected ${frame}`);
    const before = lastX.get(entity);
    if (frame > 0 && before === undefined) {
      throw new Error(`record ${r}: entity ${entity} is new in frame ${frame}`);
    }
    if (before !== undefined && Math.fround(before + vx * dt) !== x) {
      throw new Error(`record ${r}: entity ${entity} at x ${x}, expected ${before} + ${vx} dt`);
    }
    lastX.set(entity, x);
  }
  return { frames: records / entities, records };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { entities: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const file = positionals[0] ?? process.env.STATICECS_JOURNAL ?? "journal.bin";
  const entities = Number(values.entities ?? ENTITIES);
  try {
    const summary = verifyJournal(readFileSync(file), entities);
    console.log(`${file}: ${summary.frames} frames, ${summary.records} records, all verified`);
  } catch (error) {
    console.error(`${file}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
