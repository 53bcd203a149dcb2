/**
 * The world checksum: a 64-bit digest, as 16 hex digits, of every live
 * entity handle, every component value (by its bits) and every resource. Two
 * worlds that ran the same scene with the same seed on different backends
 * have the same checksum.
 *
 * @module
 */

import type { Column } from "./schema.ts";
import { mix32 } from "./random.ts";
import type { World } from "./world.ts";
import { archetypeList, entityTable, resourceStores, sparseStores } from "./_world_internal.ts";

/** Running two-lane hash over 32-bit words. */
export class Digest {
  private low = 0x811c9dc5;
  private high = 0x01000193;
  private words = 0;

  /** Adds one 32-bit word. */
  word(value: number): void {
    this.low = mix32(this.low, value);
    this.high = mix32(this.high ^ 0x27d4eb2f, value ^ this.words++);
  }

  /** Adds the first `count` elements of a column, by their bits. */
  column(column: Column, count: number): void {
    const bytes = count * column.BYTES_PER_ELEMENT;
    if (column.BYTES_PER_ELEMENT >= 4) {
      const words = new Uint32Array(column.buffer, column.byteOffset, bytes >>> 2);
      for (let i = 0; i < words.length; i++) this.word(words[i]);
    } else {
      for (let i = 0; i < count; i++) this.word(column[i]);
    }
  }

  /** Adds every byte of `bytes`. */
  bytes(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.word(bytes[i]);
  }

  /** The digest as 16 hex digits. */
  hex(): string {
    return this.high.toString(16).padStart(8, "0") + this.low.toString(16).padStart(8, "0");
  }
}

/**
 * Digests the live state of a world.
 *
 * @example
 * ```ts
 * import { World, worldChecksum } from "staticecs";
 * const sum = worldChecksum(new World());
 * ```
 */
export function worldChecksum(world: World): string {
  const digest = new Digest();
  digest.word(world.entityCount);
  for (const archetype of world[archetypeList]) {
    if (archetype.count === 0) continue;
    digest.word(archetype.componentIndices.length);
    for (const index of archetype.componentIndices) digest.word(index);
    digest.word(archetype.count);
    for (const chunk of archetype.chunks) {
      if (chunk.count === 0) break;
      digest.column(chunk.entities, chunk.count);
      for (const field of archetype.fields) digest.column(chunk.byField[field.id]!, chunk.count);
    }
  }
  if (world[sparseStores].length > 0) digestSparse(world, digest);
  for (const store of world[resourceStores].values()) digest.bytes(store.bytes());
  return digest.hex();
}

/** Each live entity's sparse components, in archetype then row order: a bit, then values. */
function digestSparse(world: World, digest: Digest): void {
  const table = world[entityTable];
  for (const archetype of world[archetypeList]) {
    for (const chunk of archetype.chunks) {
      for (let i = 0; i < chunk.count; i++) {
        const index = table.indexOf(chunk.entities[i]);
        for (const store of world[sparseStores]) {
          const has = store.has(index);
          digest.word(has ? 1 : 0);
          if (!has) continue;
          for (const column of store.columns) digest.word(bitsOf(column, index));
        }
      }
    }
  }
}

const PUN = new Float64Array(1);
const PUN_WORDS = new Uint32Array(PUN.buffer);

/** A value's bits as one word (floats folded, so -0 and 0 differ). */
function bitsOf(column: Column, index: number): number {
  if (column instanceof Float32Array || column instanceof Float64Array) {
    PUN[0] = column[index];
    return PUN_WORDS[0] ^ PUN_WORDS[1];
  }
  return column[index] >>> 0;
}
