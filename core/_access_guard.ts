/**
 * The thorough, opt-in access check (`checkAccess`): around each chunk of a
 * query system, and around each call of a `run` system, it hashes every
 * column and resource field the system declares only as read (and the
 * chunk's entity handles), and after the body names the first one that
 * changed. Only what the system declares is hashed: a column it does not
 * declare may be written by another system of the same stage, and reaching
 * it at all is refused by the always-on gate. A write through `chunk.read()`'s column
 * or a read-only resource's array field passes the always-on gate (a typed
 * array cannot refuse a store); this finds it.
 *
 * Hashing reads 32-bit words straight out of the shared segments: chunk
 * columns start on 4-byte boundaries (`chunkRows` is a power of two of at
 * least 16, and blocks are 16-aligned), and resource fields take 8 bytes per
 * element. One word view per segment is made the first time it is seen.
 *
 * @module
 */

import { ACCESS_READ } from "./access.ts";
import type { Chunk } from "./archetype.ts";
import type { SystemContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import { type ResourceStore, Time } from "./resources.ts";
import type { Column, Field } from "./schema.ts";
import type { AccessSet } from "./system.ts";
import type { World } from "./world.ts";
import { archetypeList, fieldOrdinals, fieldsById, resourceStores } from "./_world_internal.ts";

/** Stands for a chunk's entity handles where a field id is expected. */
const NO_FIELD = -1;

/** Folds `hash` into slot `slot`, so a slot can cover one column over many chunks. */
function fold(into: Float64Array, slot: number, hash: number): void {
  into[slot] = Math.imul((into[slot] ^ hash) + 0x9e3779b9, 0x01000193) >>> 0;
}

/** Hashes what one system may not write, before and after it runs. */
export class AccessGuard {
  private readonly world: World;
  private readonly system: string;
  private readonly table: Uint8Array;
  /** Resources the system declares only in reads. */
  private readonly resources: readonly ResourceStore[];
  /** Hashes before and after the body, by field id; the last slot is the entity handles'. */
  private readonly before: Float64Array;
  private readonly after: Float64Array;
  private readonly words: Map<ArrayBufferLike, Uint32Array> = new Map();

  constructor(world: World, system: string, table: Uint8Array, access: AccessSet) {
    this.world = world;
    this.system = system;
    this.table = table;
    this.resources = [...world[resourceStores].values()].filter((store) =>
      access.reads.has(store.owner) && !access.writes.has(store.owner)
    );
    this.before = new Float64Array(world[fieldOrdinals].length + 1);
    this.after = new Float64Array(world[fieldOrdinals].length + 1);
  }

  /** `body` with its chunk's read-only columns hashed around it. */
  wrapChunk(
    body: (chunk: Chunk, ctx: SystemContext) => void,
  ): (chunk: Chunk, ctx: SystemContext) => void {
    return (chunk, ctx) => {
      this.hashChunk(chunk, this.before.fill(0));
      this.hashResources(this.before);
      body(chunk, ctx);
      this.hashChunk(chunk, this.after.fill(0));
      this.hashResources(this.after);
      this.compare();
    };
  }

  /** `body` with every read-only column of the world hashed around it. */
  wrapRun(body: (ctx: SystemContext) => void): (ctx: SystemContext) => void {
    return (ctx) => {
      this.hashWorld(this.before.fill(0));
      this.hashResources(this.before);
      body(ctx);
      this.hashWorld(this.after.fill(0));
      this.hashResources(this.after);
      this.compare();
    };
  }

  private hashWorld(into: Float64Array): void {
    for (const archetype of this.world[archetypeList]) {
      for (const chunk of archetype.chunks) {
        if (chunk.count > 0) this.hashChunk(chunk, into);
      }
    }
  }

  private hashChunk(chunk: Chunk, into: Float64Array): void {
    fold(into, into.length - 1, this.hash(chunk.entities, chunk.count));
    const ids = chunk.archetype.fieldIds;
    for (let f = 0; f < ids.length; f++) {
      if (this.table[ids[f]] !== ACCESS_READ) continue;
      fold(into, ids[f], this.hash(chunk.byField[ids[f]]!, chunk.count));
    }
  }

  private hashResources(into: Float64Array): void {
    for (const store of this.resources) {
      for (const field of store.owner.fields) {
        fold(into, field.id, this.hash(store.columns[field.index], field.length));
      }
    }
  }

  /** Throws naming the first slot whose hash changed. */
  private compare(): void {
    const before = this.before, after = this.after;
    for (let slot = 0; slot < before.length; slot++) {
      if (before[slot] !== after[slot]) {
        throw this.violation(slot === before.length - 1 ? NO_FIELD : slot);
      }
    }
  }

  private hash(column: Column, count: number): number {
    let words = this.words.get(column.buffer);
    if (words === undefined) {
      words = new Uint32Array(column.buffer);
      this.words.set(column.buffer, words);
    }
    const from = column.byteOffset >>> 2;
    const to = (column.byteOffset + count * column.BYTES_PER_ELEMENT + 3) >>> 2;
    let hash = 0x811c9dc5;
    for (let i = from; i < to; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
    return hash >>> 0;
  }

  private violation(id: number): UsageError {
    const tick = this.world.resource(Time).tick;
    if (id === NO_FIELD) {
      return new UsageError(
        `system ${this.system} wrote chunk.entities (tick ${tick}); entity handles are ` +
          `read-only: change structure through ctx.commands`,
      );
    }
    const field = this.world[fieldsById].get(id) as Field;
    const owner = field.owner.name;
    return new UsageError(
      `system ${this.system} wrote ${owner}.${field.name} without declaring it (tick ${tick}); ` +
        `add ${owner} to its writes`,
    );
  }
}
