/**
 * Applying spawn records: a SPAWN with the ADD and SET records on it (alone,
 * or with the spawns after it that land in the same archetype, as one block
 * of rows and handles), and a SPAWN_EACH (a block of rows and handles, its
 * values from the VALUES records after it). Part of _apply_commands.ts.
 *
 * @module
 */

import { NULL_ENTITY } from "./entities.ts";
import type { World } from "./world.ts";
import type { Archetype } from "./archetype.ts";
import type { EntityTable } from "./entities.ts";
import { BoundError } from "./errors.ts";
import type { CommandBuffer } from "./commands.ts";
import { ADD, PER_RECORD, SET, SPAWN, WORDS } from "./_command_records.ts";
import { kernelsOf } from "./_column_kernels.ts";
import {
  componentOfOrdinal,
  entityTable,
  fieldsByOrdinal,
  root,
  sceneComponents,
  sparseByIndex,
  spawnIn,
  withComponent,
} from "./_world_internal.ts";

/**
 * Spawns straight into the archetype that the ADD records right after the
 * SPAWN lead to, so a spawn with components moves no rows. Returns the last
 * record consumed.
 */
function applySpawn(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words;
  const ordinal = words[record * WORDS + 1];
  const handle = -(ordinal + 1);
  // If the spawn fails, later records on its pending handle are skipped (see failedSpawnOf),
  // not sent to the entity an earlier segment's spawn of the same ordinal resolved to.
  buffer.resolved[ordinal] = NULL_ENTITY;
  let archetype = world[root];
  let next = record + 1;
  while (
    next < buffer.count && words[next * WORDS] === ADD && words[next * WORDS + 1] === handle
  ) {
    const component = words[next * WORDS + 2];
    if (world[sparseByIndex][component] === undefined) {
      archetype = world[withComponent](archetype, component);
    }
    next++;
  }
  const entity = world[spawnIn](archetype);
  buffer.resolved[ordinal] = entity;
  for (let r = record + 1; r < next; r++) {
    world[sparseByIndex][words[r * WORDS + 2]]?.add(world[entityTable].indexOf(entity));
  }
  return next - 1;
}

/**
 * Applies the spawn at `record` and the spawns right after it that are
 * placed in the same archetype, each followed only by SET records on itself
 * (its values), as one block: a block of rows, then a block of handles in
 * the order one-at-a-time spawns would take them, then the values. Returns
 * the last record consumed. Where the spawns cannot all succeed (too few
 * handles or too little memory left), they apply one at a time, so each
 * failure falls where it would.
 */
export function applySpawnRun(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words;
  const firstEnd = spawnGroupEnd(world, buffer, record, -1, 0);
  if (firstEnd < 0) return applySpawn(world, buffer, record);
  const archetype = scannedArchetype!;
  const adds = scannedAdds;
  let groups = 1, end = firstEnd;
  while (end < buffer.count && words[end * WORDS] === SPAWN) {
    const next = spawnGroupEnd(world, buffer, end, record + 1, adds);
    if (next < 0) break;
    groups++;
    end = next;
  }
  if (groups < 2 || world[entityTable].available < groups) return applySpawn(world, buffer, record);
  let base: number;
  try {
    base = archetype.growBy(groups);
  } catch {
    return applySpawn(world, buffer, record);
  }
  placeSpawns(world, buffer, record, end, archetype, base);
  return end - 1;
}

/** What the last spawnGroupEnd found (fields, so that scanning a group allocates nothing). */
let scannedArchetype: Archetype | undefined;
let scannedAdds = 0;

/**
 * The record after the spawn group at `record` (SPAWN, its ADDs, then SETs
 * on it of fields its archetype has, whose entity values name no later
 * spawn), or -1 if it has no ADDs. Given `likeAdd` (the first ADD record of
 * an earlier group) and `likeAdds`, the group must add the same components
 * in the same order, and is -1 otherwise; it then lands in `scannedArchetype`
 * too.
 */
function spawnGroupEnd(
  world: World,
  buffer: CommandBuffer,
  record: number,
  likeAdd: number,
  likeAdds: number,
): number {
  const words = buffer.words;
  const ordinal = words[record * WORDS + 1];
  const handle = -(ordinal + 1);
  let archetype = likeAdd < 0 ? world[root] : scannedArchetype!;
  let next = record + 1;
  while (next < buffer.count && words[next * WORDS] === ADD && words[next * WORDS + 1] === handle) {
    const component = words[next * WORDS + 2];
    const k = next - record - 1;
    // A spawn with a sparse component takes the one-at-a-time path, which sets its bit.
    if (world[sparseByIndex][component] !== undefined) return -1;
    if (likeAdd < 0) archetype = world[withComponent](archetype, component);
    else if (k >= likeAdds || words[(likeAdd + k) * WORDS + 2] !== component) return -1;
    next++;
  }
  const adds = next - record - 1;
  if (adds === 0 || (likeAdd >= 0 && adds !== likeAdds)) return -1;
  while (next < buffer.count && words[next * WORDS] === SET && words[next * WORDS + 1] === handle) {
    const fieldOrdinal = words[next * WORDS + 2], value = words[next * WORDS + 3];
    if (!archetype.hasIndex(world[componentOfOrdinal][fieldOrdinal])) break;
    // An entity value naming a later spawn: one at a time, it would not be resolved yet.
    const entityField = world[fieldsByOrdinal][fieldOrdinal].type === "entity";
    if (entityField && value < 0 && -value - 1 > ordinal) break;
    next++;
  }
  scannedArchetype = archetype;
  scannedAdds = adds;
  return next;
}

/**
 * Fills the rows from `base` (just grown) with the spawns of records
 * `[start, end)`: zeroed fields, a handle each in record order, the values.
 */
function placeSpawns(
  world: World,
  buffer: CommandBuffer,
  start: number,
  end: number,
  archetype: Archetype,
  base: number,
): void {
  const words = buffer.words, table = world[entityTable], mask = archetype.chunkRows - 1;
  let row = base - 1;
  for (let r = start; r < end; r++) {
    const at = r * WORDS, kind = words[at];
    if (kind === SPAWN) {
      row++;
      buffer.resolved[words[at + 1]] = placeSpawn(table, archetype, row);
    } else if (kind === SET) {
      const field = world[fieldsByOrdinal][words[at + 2]];
      const value = words[at + 3];
      const resolved = field.type === "entity" && value < 0 ? buffer.resolved[-value - 1] : value;
      const column = archetype.chunks[row >>> archetype.chunkShift].byField[field.id]!;
      kernelsOf(field.type).put(column, row & mask, resolved);
    }
  }
}

/**
 * Fills `row` (just grown) of `archetype` with a new entity: zeroed fields, a
 * handle taken as a one-at-a-time spawn would take it. Returns the handle.
 */
function placeSpawn(table: EntityTable, archetype: Archetype, row: number): number {
  const chunk = archetype.chunks[row >>> archetype.chunkShift];
  const local = row & (archetype.chunkRows - 1), ids = archetype.fieldIds;
  const kernels = archetype.kernels;
  for (let f = 0; f < ids.length; f++) kernels[f].zero(chunk.byField[ids[f]]!, local, 1);
  const entity = table.allocate();
  chunk.entities[local] = entity;
  const index = table.indexOf(entity);
  table.archetype[index] = archetype.id;
  table.row[index] = row;
  return entity;
}

/**
 * Fills rows `[first, first + count)` (just grown) of `archetype` with new
 * entities, chunk by chunk: handles taken as one-at-a-time spawns would take
 * them, and copied to `into[at...]` too. Their fields are left for the
 * caller to write.
 */
function placeSpawnRun(
  table: EntityTable,
  archetype: Archetype,
  first: number,
  count: number,
  into: Uint32Array,
  at: number,
): void {
  const mask = archetype.chunkRows - 1, copy = kernelsOf("u32").copy;
  for (let row = first; row < first + count;) {
    const chunk = archetype.chunks[row >>> archetype.chunkShift], local = row & mask;
    const n = Math.min(first + count - row, archetype.chunkRows - local);
    table.allocateRun(chunk.entities, local, n, archetype.id, row);
    copy(into, at + row - first, chunk.entities, local, n);
    row += n;
  }
}

/** The last record of the SPAWN_EACH at `record`: its COMPONENTS, then its VALUES. */
export function spawnEachEnd(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words, at = record * WORDS;
  const count = words[at + 1], components = words[at + 3];
  let fields = 0;
  for (let c = 0; c < components; c++) {
    fields += world[sceneComponents][componentOfList(words, record, c)].fields.length;
  }
  return record + Math.ceil(components / PER_RECORD) + fields * Math.ceil(count / PER_RECORD);
}

/** The `c`-th component index listed after the SPAWN_EACH at `record`. */
function componentOfList(words: Float64Array, record: number, c: number): number {
  const list = (c / PER_RECORD) | 0;
  return words[(record + 1 + list) * WORDS + 1 + c - list * PER_RECORD];
}

/** Spawns the SPAWN_EACH placed, for the failure message (a field: nothing allocated). */
let spawnEachPlaced = 0;

/**
 * Spawns the SPAWN_EACH at `record` as one block: rows in its archetype,
 * handles in order (as one spawn at a time would take them), zeroed fields,
 * then the values recorded, sparse components' bits and values too. Spawns
 * as many as maxEntities allows; returns how many.
 */
export function applySpawnEach(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words, at = record * WORDS, table = world[entityTable];
  const count = words[at + 1] | 0, firstOrdinal = words[at + 2] | 0, components = words[at + 3] | 0;
  let archetype = world[root];
  for (let c = 0; c < components; c++) {
    const index = componentOfList(words, record, c);
    if (world[sparseByIndex][index] === undefined) {
      archetype = world[withComponent](archetype, index);
    }
  }
  spawnEachPlaced = 0;
  const placed = Math.min(count, table.available);
  buffer.resolved.fill(NULL_ENTITY, firstOrdinal + placed, firstOrdinal + count);
  if (placed === 0) return 0;
  const base = archetype.growBy(placed);
  // No fields zeroed: the batch has a value (0 unless set) for every field of its components.
  placeSpawnRun(table, archetype, base, placed, buffer.resolved, firstOrdinal);
  spawnEachPlaced = placed;
  writeSpawnEachValues(world, buffer, record, archetype, base, placed);
  return placed;
}

/** Copies a SPAWN_EACH's values into its rows (table fields) or its entities' sparse slots. */
function writeSpawnEachValues(
  world: World,
  buffer: CommandBuffer,
  record: number,
  archetype: Archetype,
  base: number,
  placed: number,
): void {
  const words = buffer.words, table = world[entityTable];
  const count = words[record * WORDS + 1] | 0, components = words[record * WORDS + 3] | 0;
  const perField = Math.ceil(count / PER_RECORD), mask = archetype.chunkRows - 1;
  let valueRecord = record + 1 + Math.ceil(components / PER_RECORD);
  for (let c = 0; c < components; c++) {
    const index = componentOfList(words, record, c);
    const store = world[sparseByIndex][index];
    if (store !== undefined) {
      for (let i = 0; i < placed; i++) {
        store.add(table.indexOf(buffer.resolved[words[record * WORDS + 2] + i]));
      }
    }
    const fields = world[sceneComponents][index].fields;
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f];
      const firstWord = valueRecord * WORDS + 1;
      if (store !== undefined || field.type === "entity") {
        const put = kernelsOf(field.type).put;
        for (let i = 0, at = firstWord; i < placed; i++, at++) {
          if ((at & (WORDS - 1)) === 0) at++; // past the next VALUES record's kind
          const recorded = words[at];
          const value = field.type === "entity" && recorded < 0
            ? buffer.resolved[-recorded - 1]
            : recorded;
          if (store === undefined) {
            const row = base + i;
            put(
              archetype.chunks[row >>> archetype.chunkShift].byField[field.id]!,
              row & mask,
              value,
            );
          } else {
            const ordinal = words[record * WORDS + 2] + i;
            put(store.columns[field.index], table.indexOf(buffer.resolved[ordinal]), value);
          }
        }
      } else {
        // A chunk at a time, so that each column is one typed array in one loop.
        for (let i = 0; i < placed;) {
          const row = base + i, local = row & mask;
          const n = Math.min(placed - i, archetype.chunkRows - local);
          const column = archetype.chunks[row >>> archetype.chunkShift].byField[field.id]!;
          kernelsOf(field.type).fromRecords(column, local, words, firstWord, i, n);
          i += n;
        }
      }
      valueRecord += perField;
    }
  }
}

export function spawnEachShort(world: World, count: number, placed: number): BoundError {
  const limit = world.config.maxEntities;
  return new BoundError(
    "maxEntities",
    limit,
    `spawnEach: ${count - placed} of ${count} spawns failed: entity limit reached ` +
      `(${world[entityTable].alive} alive of maxEntities ${limit}); raise config.maxEntities or ` +
      `despawn entities first`,
  );
}

/** How many entities the last SPAWN_EACH applied placed (for its failure). */
export function placedByLastSpawnEach(): number {
  return spawnEachPlaced;
}
