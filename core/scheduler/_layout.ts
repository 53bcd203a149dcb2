/**
 * Keeping worker threads' view of the world's layout up to date. Archetypes
 * and chunks are created only on the main thread, between stages; before a
 * stage runs in parallel, the main thread posts what is new (memory
 * segments, archetypes by component indices, chunks by segment and offset)
 * to every worker as one message, counts it in the pool's layout version,
 * and publishes every archetype's row count in shared memory.
 *
 * @module
 */

import type { World } from "../world.ts";
import { CONTROL, type PoolMemory } from "./_pool_memory.ts";
import { archetypeFor, archetypeList, arena } from "../_world_internal.ts";

/** What a worker must add to its view: everything new since the last message. */
export interface LayoutDelta {
  readonly kind: "layout";
  /** Layout version this message brings the worker to. */
  readonly version: number;
  readonly segments: readonly SharedArrayBuffer[];
  /** Component indices of each new archetype, in creation order. */
  readonly archetypes: readonly (readonly number[])[];
  /** New chunks as [archetype id, segment, byte offset], in creation order per archetype. */
  readonly chunks: readonly (readonly [number, number, number])[];
}

/** The main thread's record of what the workers have been told. */
export class LayoutPublisher {
  private segments = 0;
  /** The root archetype exists on every thread from the start. */
  private archetypes = 1;
  private readonly chunksPosted: number[] = [];
  private version = 0;
  /** The arena's chunkLayoutVersion when the last delta was made (-1: make one). */
  private chunkLayoutSeen = -1;

  /** Posts what is new (if anything) and publishes row counts. */
  publish(world: World, pool: PoolMemory, post: (delta: LayoutDelta) => void): void {
    const delta = this.delta(world);
    if (delta !== undefined) {
      post(delta);
      Atomics.store(pool.control, CONTROL.layoutVersion, delta.version);
    }
    const rows = pool.archetypeRows;
    const archetypes = world[archetypeList];
    for (let a = 0; a < archetypes.length; a++) rows[a] = archetypes[a].count;
    Atomics.store(pool.control, CONTROL.archetypes, archetypes.length);
  }

  /** Forgets everything posted (after the world was cleared for a restore). */
  reset(): void {
    this.segments = 0;
    this.archetypes = 1;
    this.chunksPosted.length = 0;
    this.chunkLayoutSeen = -1;
  }

  private delta(world: World): LayoutDelta | undefined {
    // Nothing attached or added since the last look (most stages): no arrays made to find out.
    if (
      world[arena].chunkLayoutVersion === this.chunkLayoutSeen &&
      world[arena].segments.length === this.segments &&
      world[archetypeList].length === this.archetypes
    ) {
      return undefined;
    }
    this.chunkLayoutSeen = world[arena].chunkLayoutVersion;
    const segments = world[arena].segments.slice(this.segments);
    const archetypes = world[archetypeList].slice(this.archetypes).map((a) => a.componentIndices);
    const chunks: [number, number, number][] = [];
    for (const archetype of world[archetypeList]) {
      const posted = this.chunksPosted[archetype.id] ?? 0;
      for (let c = posted; c < archetype.chunks.length; c++) {
        const chunk = archetype.chunks[c];
        chunks.push([archetype.id, chunk.segment, chunk.byteOffset]);
      }
      this.chunksPosted[archetype.id] = archetype.chunks.length;
    }
    if (segments.length === 0 && archetypes.length === 0 && chunks.length === 0) return undefined;
    this.segments += segments.length;
    this.archetypes += archetypes.length;
    return { kind: "layout", version: ++this.version, segments, archetypes, chunks };
  }
}

/** A worker's side: applies layout messages to its view of the world. */
export class LayoutFollower {
  /** Version of the last message applied. */
  version = 0;
  private readonly segments: SharedArrayBuffer[] = [];

  /** Adds the message's segments, archetypes and chunks to `world`. */
  apply(world: World, delta: LayoutDelta): void {
    if (delta.version !== this.version + 1) {
      throw new Error(`layout message ${delta.version} arrived after ${this.version}`);
    }
    this.segments.push(...delta.segments);
    for (const indices of delta.archetypes) {
      const before = world[archetypeList].length;
      const archetype = world[archetypeFor](indices);
      if (archetype.id !== before) throw new Error(`archetype [${indices}] already in the view`);
    }
    for (const [id, segment, byteOffset] of delta.chunks) {
      world[archetypeList][id].attachChunk({ buffer: this.segments[segment], segment, byteOffset });
    }
    this.version = delta.version;
  }

  /** Sets every archetype's row count from the shared counts. */
  syncRows(world: World, pool: PoolMemory): void {
    const rows = pool.archetypeRows;
    const archetypes = world[archetypeList];
    for (let a = 0; a < archetypes.length; a++) archetypes[a].setCount(rows[a]);
  }
}
