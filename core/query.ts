/**
 * Queries: which archetypes a system iterates. A query matches an archetype
 * that has every `all` component and no `none` component; `optional`
 * components are read where present. Matches are computed when a query is
 * first used and updated as archetypes appear, never per frame.
 *
 * @module
 */

import type { Archetype, Chunk } from "./archetype.ts";
import type { Component } from "./schema.ts";

/** What a query asks for. */
export interface QuerySpec {
  readonly all?: readonly Component[];
  readonly none?: readonly Component[];
  readonly optional?: readonly Component[];
}

/** A query resolved against one world: bitsets and the matching archetypes. */
export class Query {
  readonly spec: QuerySpec;
  readonly allMask: Uint32Array;
  readonly noneMask: Uint32Array;
  /** Matching archetypes in creation order. */
  readonly archetypes: Archetype[] = [];

  constructor(spec: QuerySpec, allIndices: number[], noneIndices: number[], maskWords: number) {
    this.spec = spec;
    this.allMask = new Uint32Array(maskWords);
    this.noneMask = new Uint32Array(maskWords);
    for (const i of allIndices) this.allMask[i >>> 5] |= 1 << (i & 31);
    for (const i of noneIndices) this.noneMask[i >>> 5] |= 1 << (i & 31);
  }

  /** True if `archetype` has every `all` component and no `none` component. */
  matches(archetype: Archetype): boolean {
    const mask = archetype.mask;
    for (let w = 0; w < mask.length; w++) {
      if ((mask[w] & this.allMask[w]) !== this.allMask[w]) return false;
      if ((mask[w] & this.noneMask[w]) !== 0) return false;
    }
    return true;
  }

  /** Entities matched now. */
  count(): number {
    let total = 0;
    for (const archetype of this.archetypes) total += archetype.count;
    return total;
  }

  /** Calls `fn` for each non-empty matching chunk, in archetype then chunk order. */
  forEachChunk(fn: (chunk: Chunk) => void): void {
    for (const archetype of this.archetypes) {
      const chunks = archetype.chunks;
      for (let c = 0; c < chunks.length; c++) {
        if (chunks[c].count > 0) fn(chunks[c]);
      }
    }
  }
}
