/**
 * Applying the `_EACH` records (addEach, removeEach, despawnEach of a whole
 * chunk): by position (EACH_ROWS, a chunk's rows) or by a list of handles,
 * as one block move where the rows are still consecutive, else one entity
 * at a time; and, before a stage's records apply, copying the handles of
 * rows an earlier record may move. Part of _apply_commands.ts.
 *
 * @module
 */

import type { World } from "./world.ts";
import type { Archetype } from "./archetype.ts";
import type { SparseFilter, SparseStore } from "./sparse.ts";
import { StaleEntityError } from "./errors.ts";
import type { CommandBuffer } from "./commands.ts";
import {
  ADD,
  ADD_EACH,
  DESPAWN,
  DESPAWN_EACH,
  EACH_ROWS,
  PER_RECORD,
  REMOVE,
  REMOVE_EACH,
  SEGMENT,
  SPAWN_EACH,
  WORDS,
} from "./_command_records.ts";
import { moveRun } from "./_row_moves.ts";
import {
  addNow,
  archetypeList,
  despawnNow,
  entityTable,
  removeNow,
  sceneComponents,
  sparseByIndex,
  withComponent,
  withoutComponent,
} from "./_world_internal.ts";
import { spawnEachEnd } from "./_apply_spawns.ts";

/**
 * Applies the `_EACH` record at `record` to the entities listed after it:
 * where they are consecutive rows of one archetype in order (a chunk's rows,
 * as recorded), as one block move; otherwise one at a time. Returns how many
 * were no longer alive (despawned earlier in the stage), which are skipped.
 */
export function applyEach(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words, table = world[entityTable];
  const kind = words[record * WORDS], component = words[record * WORDS + 1];
  const rows = words[record * WORDS + 2] | 0;
  const store = kind === DESPAWN_EACH ? undefined : world[sparseByIndex][component];
  if (store === undefined && eachIsOneRun(world, buffer, record, rows)) {
    const index = table.indexOf(words[handleWord(record, 0)]);
    const from = world[archetypeList][table.archetype[index]];
    const to = eachTarget(world, from, kind, component);
    if (to !== from) moveRun(world, from, table.row[index], rows, to);
    return 0;
  }
  let stale = 0;
  for (let k = 0, at = (record + 1) * WORDS + 1; k < rows; k++, at++) {
    if ((at & (WORDS - 1)) === 0) at++; // past the next list record's kind
    if (!applyOneOfEach(world, kind, component, store, words[at])) stale++;
  }
  return stale;
}

/** Where an `_EACH` of `kind` moves rows of `from`: with or without `component`, or null (gone). */
function eachTarget(
  world: World,
  from: Archetype,
  kind: number,
  component: number,
): Archetype | null {
  return kind === DESPAWN_EACH
    ? null
    : kind === ADD_EACH
    ? world[withComponent](from, component)
    : world[withoutComponent](from, component);
}

/**
 * Applies an `_EACH` of `kind` to one entity (a sparse component's presence
 * where `store` is given); false if the entity was no longer alive.
 */
function applyOneOfEach(
  world: World,
  kind: number,
  component: number,
  store: SparseStore | undefined,
  entity: number,
): boolean {
  const table = world[entityTable];
  if (!table.isAlive(entity)) return false;
  if (store !== undefined) {
    if (kind === ADD_EACH) store.add(entity & table.indexMask);
    else store.remove(entity & table.indexMask);
  } else if (kind === DESPAWN_EACH) world[despawnNow](entity);
  else if (kind === ADD_EACH) world[addNow](entity, component);
  else world[removeNow](entity, component);
  return true;
}

/** True if the listed entities are all alive, in one archetype, at consecutive rows in order. */
function eachIsOneRun(
  world: World,
  buffer: CommandBuffer,
  record: number,
  rows: number,
): boolean {
  const words = buffer.words, table = world[entityTable];
  const first = words[handleWord(record, 0)];
  if (!table.isAlive(first)) return false;
  const firstIndex = table.indexOf(first);
  const archetype = table.archetype[firstIndex], row = table.row[firstIndex];
  for (let k = 1, at = (record + 1) * WORDS + 2; k < rows; k++, at++) {
    if ((at & (WORDS - 1)) === 0) at++; // past the next list record's kind
    const entity = words[at];
    if (!table.isAlive(entity)) return false;
    const index = table.indexOf(entity);
    if (table.archetype[index] !== archetype || table.row[index] !== row + k) return false;
  }
  return true;
}

/** The word of the `k`-th handle listed after the `_EACH` record `record`. */
function handleWord(record: number, k: number): number {
  const list = (k / (WORDS - 1)) | 0;
  return (record + 1 + list) * WORDS + 1 + k - list * (WORDS - 1);
}

/**
 * Before anything of a stage applies, copies the handles of each EACH_ROWS
 * record that an earlier record of the stage may disturb: one that may move
 * rows (a despawn, or an add or remove of a table component), or, for a
 * record filtered on sparse terms, one that may change sparse membership
 * too. Spawns only append rows, which moves none. The world is still as the
 * systems saw it, so the copied handles are the ones they meant.
 */
export function copyDisturbedRows(
  world: World,
  buffer: CommandBuffer,
  filters: readonly (SparseFilter | undefined)[],
): void {
  if (buffer.eachRows === 0) return;
  const words = buffer.words, sparse = world[sparseByIndex];
  let moved = false, flipped = false, system = 0, used = 0;
  for (let r = 0; r < buffer.count; r++) {
    const at = r * WORDS, kind = words[at];
    if (kind === SEGMENT) system = words[at + 1];
    else if (kind === DESPAWN) moved = true;
    else if (kind === DESPAWN_EACH) {
      moved = true;
      r += Math.ceil(words[at + 2] / PER_RECORD); // past its list
    } else if (kind === ADD || kind === REMOVE) {
      if (sparse[words[at + 2]] === undefined) moved = true;
      else flipped = true;
    } else if (kind === ADD_EACH || kind === REMOVE_EACH) {
      if (sparse[words[at + 1]] === undefined) moved = true;
      else flipped = true;
      r += Math.ceil(words[at + 2] / PER_RECORD); // past its list
    } else if (kind === SPAWN_EACH) {
      r = spawnEachEnd(world, buffer, r); // past its lists
    } else if (kind === EACH_ROWS) {
      const store = words[at + 1] === DESPAWN_EACH ? undefined : sparse[words[at + 2]];
      const filter = store === undefined ? undefined : filters[system];
      r++;
      if (moved || (flipped && filter !== undefined)) {
        words[r * WORDS + 3] = used + 1;
        used = copyRows(world, buffer, r, filter, used);
      } else {
        words[r * WORDS + 3] = 0;
      }
      if (store === undefined) moved = true;
      else flipped = true;
    }
  }
}

/** Copies the handles of the ROWS record at `record` (those passing `filter`) at `used`. */
function copyRows(
  world: World,
  buffer: CommandBuffer,
  record: number,
  filter: SparseFilter | undefined,
  used: number,
): number {
  const words = buffer.words;
  const archetype = world[archetypeList][words[(record - 1) * WORDS + 3]];
  const first = words[record * WORDS + 1] | 0, rows = words[record * WORDS + 2] | 0;
  if (buffer.copiedRows.length < used + 1 + rows) {
    const grown = new Uint32Array(Math.max(2 * buffer.copiedRows.length, used + 1 + rows));
    grown.set(buffer.copiedRows.subarray(0, used));
    buffer.copiedRows = grown;
  }
  const into = buffer.copiedRows;
  const entities = archetype.chunkOf(first).entities, local = first & (archetype.chunkRows - 1);
  let n = 0;
  for (let i = local; i < local + rows; i++) {
    if (filter === undefined || filter.matches(entities[i])) into[used + 1 + n++] = entities[i];
  }
  into[used] = n;
  return used + 1 + n;
}

/**
 * Applies the EACH_ROWS record at `record`: in place (the rows hold what the
 * system saw), a sparse component's bits flipped row by row, or the rows
 * moved as one block; or, from the handles copied before, one at a time.
 * Returns how many copied handles were no longer alive.
 */
export function applyRows(
  world: World,
  buffer: CommandBuffer,
  record: number,
  filter: SparseFilter | undefined,
): number {
  const words = buffer.words, at = record * WORDS;
  const each = words[at + 1], component = words[at + 2];
  const archetype = world[archetypeList][words[at + 3]];
  // Int32 from here: words are float64, and a float index costs a conversion per access.
  const first = words[at + WORDS + 1] | 0, rows = words[at + WORDS + 2] | 0;
  const copied = words[at + WORDS + 3] | 0;
  const store = each === DESPAWN_EACH ? undefined : world[sparseByIndex][component];
  if (copied > 0) return applyCopied(world, buffer.copiedRows, copied - 1, each, component, store);
  if (store !== undefined) {
    const local = first & (archetype.chunkRows - 1);
    const entities = archetype.chunkOf(first).entities;
    flipRows(
      entities,
      local,
      local + rows,
      store,
      filter,
      world[entityTable].indexMask,
      each === ADD_EACH,
    );
    return 0;
  }
  const to = eachTarget(world, archetype, each, component);
  if (to !== archetype) moveRun(world, archetype, first, rows, to);
  return 0;
}

/** Adds (or removes) a sparse component for `entities[from, to)` passing `filter`. */
function flipRows(
  entities: Uint32Array,
  from: number,
  to: number,
  store: SparseStore,
  filter: SparseFilter | undefined,
  mask: number,
  add: boolean,
): void {
  const present = store.present, zeroFields = add && store.columns.length > 0;
  // A filter on this component alone (add to those without it, remove from those with it)
  // selects no entity the flip would change: it need not be tested.
  if (filter !== undefined && filter.all.length + filter.none.length === 1) {
    if (filter.all[0] === store || filter.none[0] === store) filter = undefined;
  }
  if (filter === undefined && !zeroFields) {
    const value = add ? 1 : 0;
    for (let i = from; i < to; i++) present[entities[i] & mask] = value;
    return;
  }
  for (let i = from; i < to; i++) {
    const entity = entities[i];
    if (filter !== undefined && !filter.matches(entity)) continue;
    if (add) store.add(entity & mask);
    else store.remove(entity & mask);
  }
}

/** Applies an `_EACH` to handles copied at `at` (a count, then the handles), one at a time. */
function applyCopied(
  world: World,
  copied: Uint32Array,
  at: number,
  each: number,
  component: number,
  store: SparseStore | undefined,
): number {
  let stale = 0;
  for (let k = at + 1; k <= at + copied[at]; k++) {
    if (!applyOneOfEach(world, each, component, store, copied[k])) stale++;
  }
  return stale;
}

export function staleInEach(
  world: World,
  kind: number,
  component: number,
  rows: number,
  stale: number,
): StaleEntityError {
  const op = kind === DESPAWN_EACH
    ? "despawnEach"
    : `${kind === ADD_EACH ? "addEach" : "removeEach"} ${world[sceneComponents][component].name}`;
  const error = new StaleEntityError(0, op);
  error.message = `${op}: ${stale} of ${rows} entities were no longer alive (despawned earlier ` +
    `in this stage) and were skipped`;
  return error;
}
