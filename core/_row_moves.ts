/**
 * Structural changes by the block: a run of rows `[first, first + count)` of
 * one archetype moved to another (an add or remove of one component on each)
 * or dropped (despawned), with the result that applying the same moves one
 * row at a time, in row order, would give, bit for bit.
 *
 * One at a time, each move appends the row to the target archetype and
 * fills its hole in the source with the source's last row. Over a run taken
 * in row order that comes to: the target gains the run's rows in order; the
 * source keeps its other rows, and the holes the run leaves below the new
 * count (`count` rows fewer) are filled, lowest hole first, with the rows
 * above the new count that are not in the run, highest first. (A brute-force
 * comparison over every run of every table up to 40 rows agrees.) So each
 * column is copied once per row, in long runs, and no row is moved twice.
 *
 * @module
 */

import type { Archetype } from "./archetype.ts";
import type { EntityTable } from "./entities.ts";
import type { World } from "./world.ts";
import { entityTable, sparseStores } from "./_world_internal.ts";

/**
 * Moves rows `[first, first + count)` of `from` to the end of `to`, in
 * order, with their values for `to`'s fields (fields `from` lacks are
 * zeroed); with `to` null, the rows' entities are freed (and leave every
 * sparse store). The entity table follows every row that moves.
 *
 * @example
 * ```ts ignore
 * moveRun(world, world.archetypes[1], 0, 1000, world.archetypes[2]);
 * ```
 */
export function moveRun(
  world: World,
  from: Archetype,
  first: number,
  count: number,
  to: Archetype | null,
): void {
  if (to === null) freeRun(world, from, first, count);
  else appendRun(world[entityTable], from, first, count, to);
  fillHoles(world[entityTable], from, first, count);
}

/** Copies the run to the end of `to` (which grows first, so a full arena changes nothing). */
function appendRun(
  entities: EntityTable,
  from: Archetype,
  first: number,
  count: number,
  to: Archetype,
): void {
  const base = to.growBy(count);
  const fromMask = from.chunkRows - 1, toMask = to.chunkRows - 1;
  const ids = to.fieldIds, kernels = to.kernels;
  for (let i = 0; i < count;) {
    const source = first + i, target = base + i;
    const sourceLocal = source & fromMask, targetLocal = target & toMask;
    const n = Math.min(count - i, from.chunkRows - sourceLocal, to.chunkRows - targetLocal);
    const sourceChunk = from.chunks[source >>> from.chunkShift];
    const targetChunk = to.chunks[target >>> to.chunkShift];
    for (let f = 0; f < ids.length; f++) {
      const into = targetChunk.byField[ids[f]]!;
      const out = sourceChunk.byField[ids[f]];
      if (out === undefined) kernels[f].zero(into, targetLocal, n);
      else kernels[f].copy(into, targetLocal, out, sourceLocal, n);
    }
    const handles = sourceChunk.entities, into = targetChunk.entities;
    for (let k = 0; k < n; k++) {
      const entity = handles[sourceLocal + k];
      into[targetLocal + k] = entity;
      const index = entities.indexOf(entity);
      entities.archetype[index] = to.id;
      entities.row[index] = target + k;
    }
    i += n;
  }
}

function freeRun(world: World, from: Archetype, first: number, count: number): void {
  const mask = from.chunkRows - 1, stores = world[sparseStores], table = world[entityTable];
  for (let row = first; row < first + count;) {
    const entities = from.chunks[row >>> from.chunkShift].entities, local = row & mask;
    const n = Math.min(first + count - row, from.chunkRows - local);
    // Out of every sparse store first, as world.freeIndex does.
    for (let s = 0; s < stores.length; s++) {
      for (let k = local; k < local + n; k++) stores[s].remove(entities[k] & table.indexMask);
    }
    table.freeAll(entities, local, local + n);
    row += n;
  }
}

/** Closes the run's holes in `from` as one-at-a-time swap-removes would, and shrinks it. */
function fillHoles(entities: EntityTable, from: Archetype, first: number, count: number): void {
  const final = from.count - count;
  const mask = from.chunkRows - 1;
  const ids = from.fieldIds, kernels = from.kernels;
  let source = from.count - 1;
  for (let hole = first; hole < first + count && hole < final; hole++) {
    while (source >= first && source < first + count) source--;
    const into = from.chunks[hole >>> from.chunkShift],
      out = from.chunks[source >>> from.chunkShift];
    const holeLocal = hole & mask, sourceLocal = source & mask;
    for (let f = 0; f < ids.length; f++) {
      kernels[f].copy(into.byField[ids[f]]!, holeLocal, out.byField[ids[f]]!, sourceLocal, 1);
    }
    const entity = out.entities[sourceLocal];
    into.entities[holeLocal] = entity;
    entities.row[entities.indexOf(entity)] = hole;
    source--;
  }
  from.setCount(final);
}
