/**
 * Applying a stage's command records, in order, to the world: each record's
 * change is what it says, and runs of records that change consecutive rows
 * of one archetype the same way (add or remove one component, despawn)
 * apply as one block move, with the same result (see _row_moves.ts).
 *
 * @module
 */

import { NULL_ENTITY } from "./entities.ts";
import type { EventQueue } from "./events.ts";
import type { World } from "./world.ts";
import type { Archetype } from "./archetype.ts";
import type { EntityTable } from "./entities.ts";
import type { SparseFilter, SparseStore } from "./sparse.ts";
import { BoundError, StaleEntityError } from "./errors.ts";
import { type CommandBuffer, eventOverflow } from "./commands.ts";
import {
  ADD,
  ADD_EACH,
  DESPAWN,
  DESPAWN_EACH,
  EACH_ROWS,
  EMIT,
  EVENT_FIELD,
  PER_RECORD,
  REMOVE,
  REMOVE_EACH,
  SEGMENT,
  SET,
  SPAWN,
  SPAWN_EACH,
  WORDS,
} from "./_command_records.ts";
import { moveRun } from "./_row_moves.ts";
import { kernelsOf } from "./_column_kernels.ts";
import {
  addNow,
  archetypeList,
  componentOfOrdinal,
  despawnNow,
  entityTable,
  fieldsByOrdinal,
  removeNow,
  root,
  sceneComponents,
  sparseByIndex,
  spawnIn,
  withComponent,
  withoutComponent,
} from "./_world_internal.ts";

/** An error met while applying a command, attributed to the system that recorded it. */
export interface CommandError {
  readonly system: string;
  readonly error: unknown;
  /**
   * For a failed spawn: the commands skipped because they named its pending handle (as their
   * entity, or as the value of an entity field), folded into this one error instead of each
   * failing on the null entity. 0 for other errors.
   */
  skippedCommands: number;
}

/**
 * What a failed spawn's error message ends with: the commands skipped on its pending handle,
 * or nothing.
 *
 * @example
 * ```ts
 * import { skippedOnSpawn } from "./_apply_commands.ts";
 * skippedOnSpawn(2); // "; 2 commands on this spawn skipped"
 * skippedOnSpawn(0); // ""
 * ```
 */
export function skippedOnSpawn(skippedCommands: number): string {
  if (skippedCommands === 0) return "";
  return `; ${skippedCommands} command${skippedCommands === 1 ? "" : "s"} on this spawn skipped`;
}

/**
 * Applies a buffer's records in order. An error in one record (an entity
 * despawned earlier in the stage, say) is reported with its system's name and
 * does not stop the rest. The records that name a failed spawn's pending
 * handle are skipped and counted in that spawn's error: they would only fail
 * again on the null entity and hide the cause.
 */
export function applyCommands(
  world: World,
  buffer: CommandBuffer,
  systemNames: readonly string[],
  errors: CommandError[],
  filters: readonly (SparseFilter | undefined)[] = [],
): void {
  copyDisturbedRows(world, buffer, filters);
  const at = cursor;
  at.record = 0;
  at.system = "";
  at.systemIndex = 0;
  at.emitQueue = buffer.queues[0];
  at.emitRow = -1;
  at.failedSpawns = undefined;
  // The records apply in a function of their own, outside this try block: on V8, code inlined
  // into a try region kept its loops' values for the handler and ran them about 2x slower.
  while (at.record < buffer.count) {
    try {
      applyRecords(world, buffer, systemNames, filters, at);
    } catch (error) {
      const words = buffer.words, kind = words[at.first * WORDS];
      const a = words[at.first * WORDS + 1], b = words[at.first * WORDS + 2];
      const failure = { system: at.system, error, skippedCommands: 0 };
      errors.push(failure);
      if (kind === SPAWN) (at.failedSpawns ??= new Map()).set(a, failure);
      if (kind === SPAWN_EACH) {
        // The batch's spawns past those placed failed: commands on them are skipped too.
        at.failedSpawns ??= new Map();
        for (let o = b + spawnEachPlaced; o < b + a; o++) at.failedSpawns.set(o, failure);
      }
      at.record++;
    }
  }
  at.emitQueue = undefined;
  at.failedSpawns = undefined;
  buffer.clear();
}

/** Where applyCommands is, and what it carries from record to record (one: one thread applies). */
const cursor = {
  /** The next record to apply; after a throw, the last record the failing command used. */
  record: 0,
  /** The first record of the command being applied (what a failure is reported for). */
  first: 0,
  system: "",
  systemIndex: 0,
  emitQueue: undefined as EventQueue | undefined,
  emitRow: -1,
  /** The error of each failed spawn, by pending ordinal; made at the first failure only. */
  failedSpawns: undefined as Map<number, CommandError> | undefined,
};

/** Applies records from `at.record` to the end; throws on a failing command, `at` saying which. */
function applyRecords(
  world: World,
  buffer: CommandBuffer,
  systemNames: readonly string[],
  filters: readonly (SparseFilter | undefined)[],
  at: typeof cursor,
): void {
  const words = buffer.words, queues = buffer.queues, pending = buffer.resolved;
  for (let r = at.record; r < buffer.count; r++) {
    at.first = at.record = r;
    const w = r * WORDS;
    const kind = words[w];
    const a = words[w + 1];
    const b = words[w + 2];
    const c = words[w + 3];
    // Records naming a failed spawn are skipped; until a spawn fails, nothing is checked.
    const failed = at.failedSpawns === undefined
      ? -1
      : failedSpawnOf(world, kind, a, b, c, pending, at.emitQueue!);
    if (failed >= 0) {
      if (kind === EVENT_FIELD) {
        if (at.emitRow < 0) continue; // the event is already dropped (or overflowed)
        // An event naming a failed spawn is not sent: its row, the last one pushed, goes.
        at.emitQueue!.current.count--;
        at.emitRow = -1;
      }
      at.failedSpawns!.get(failed)!.skippedCommands++;
      continue;
    }
    if (kind === SEGMENT) {
      at.system = systemNames[a];
      at.systemIndex = a;
    } else if (kind === EACH_ROWS) {
      at.record = r + 1;
      const stale = applyRows(world, buffer, r, filters[at.systemIndex]);
      r++;
      if (stale > 0) throw staleInEach(world, a, b, words[r * WORDS + 2], stale);
    } else if (a >= 0 && (kind === ADD || kind === REMOVE || kind === DESPAWN)) {
      r = at.record = applyRun(world, buffer, r);
    } else if (kind === ADD_EACH || kind === REMOVE_EACH || kind === DESPAWN_EACH) {
      at.record = r + Math.ceil(b / (WORDS - 1));
      const stale = applyEach(world, buffer, r);
      r = at.record;
      if (stale > 0) throw staleInEach(world, kind, a, b, stale);
    } else if (kind === SPAWN) {
      r = at.record = applySpawnRun(world, buffer, r);
    } else if (kind === SPAWN_EACH) {
      at.record = spawnEachEnd(world, buffer, r);
      const placed = applySpawnEach(world, buffer, r);
      r = at.record;
      if (placed < a) throw spawnEachShort(world, a, placed);
    } else if (kind === EMIT) {
      const queue = at.emitQueue = queues[a];
      at.emitRow = queue.current.count < queue.capacity ? queue.push() : -1;
      if (at.emitRow < 0) throw eventOverflow(queue);
    } else if (kind === EVENT_FIELD) {
      const queue = at.emitQueue!;
      const pendingValue = b < 0 && queue.owner.fields[a].type === "entity";
      if (at.emitRow >= 0) {
        queue.current.columns[a][at.emitRow] = pendingValue ? pending[-b - 1] : b;
      }
    } else {
      applyEntityRecord(world, kind, a < 0 ? pending[-a - 1] : a, b, c, pending);
    }
  }
  at.record = buffer.count;
}

/**
 * The pending ordinal of the failed spawn a record names (as its entity, or as the value of an
 * entity field), or -1. A failed spawn leaves its ordinal resolved to the null entity.
 */
function failedSpawnOf(
  world: World,
  kind: number,
  a: number,
  b: number,
  c: number,
  pending: Uint32Array,
  emitQueue: EventQueue,
): number {
  // Only entity records carry a negative `a` (a pending handle); SET and EVENT_FIELD may carry
  // one as a value, which for any other field type is just a negative number.
  if (a < 0) return pending[-a - 1] === NULL_ENTITY ? -a - 1 : -1;
  if (kind === SET) {
    if (c >= 0 || world[fieldsByOrdinal][b].type !== "entity") return -1;
    return pending[-c - 1] === NULL_ENTITY ? -c - 1 : -1;
  }
  if (kind === EVENT_FIELD) {
    if (b >= 0 || emitQueue.owner.fields[a].type !== "entity") return -1;
    return pending[-b - 1] === NULL_ENTITY ? -b - 1 : -1;
  }
  return -1;
}

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
function applySpawnRun(world: World, buffer: CommandBuffer, record: number): number {
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
      archetype.chunks[row >>> archetype.chunkShift].byField[field.id]![row & mask] = resolved;
    }
  }
}

/**
 * Applies the ADD, REMOVE or DESPAWN record `record` and the records after it
 * that do the same to the following rows of the same archetype, as one block
 * move (see _row_moves.ts); returns the last record consumed. A record that
 * cannot join a run (a stale entity, a no-op add) is applied alone.
 */
function applyRun(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words;
  const at = record * WORDS;
  const kind = words[at], component = words[at + 2];
  const table = world[entityTable];
  const entity = words[at + 1];
  if (kind !== DESPAWN && world[sparseByIndex][component] !== undefined) {
    return applySparseRun(world, buffer, record);
  }
  if (!table.isAlive(entity)) {
    applyEntityRecord(world, kind, entity, component, 0, buffer.resolved);
    return record;
  }
  const index = table.indexOf(entity);
  const from = world[archetypeList][table.archetype[index]];
  const to = kind === DESPAWN
    ? null
    : kind === ADD
    ? world[withComponent](from, component)
    : world[withoutComponent](from, component);
  if (to === from) return record; // adding a component it has, removing one it lacks
  const first = table.row[index];
  let last = record;
  for (let next = record + 1; next < buffer.count; next++) {
    const n = next * WORDS;
    if (words[n] !== kind || (kind !== DESPAWN && words[n + 2] !== component)) break;
    const other = words[n + 1];
    if (other < 0 || !table.isAlive(other)) break;
    const otherIndex = table.indexOf(other);
    if (table.archetype[otherIndex] !== from.id) break;
    if (table.row[otherIndex] !== first + (next - record)) break;
    last = next;
  }
  moveRun(world, from, first, last - record + 1, to);
  return last;
}

/**
 * Applies the ADD or REMOVE of a sparse component at `record` and the same
 * change to the same component by the records right after it: a bit each,
 * no row moved. A stale entity ends the run (its record then applies alone,
 * and fails). Returns the last record consumed.
 */
function applySparseRun(world: World, buffer: CommandBuffer, record: number): number {
  const words = buffer.words, table = world[entityTable];
  const kind = words[record * WORDS], component = words[record * WORDS + 2];
  const store = world[sparseByIndex][component]!;
  let next = record;
  for (; next < buffer.count; next++) {
    const at = next * WORDS;
    const entity = words[at + 1];
    if (words[at] !== kind || words[at + 2] !== component || !table.isAlive(entity)) break;
    if (kind === ADD) store.add(table.indexOf(entity));
    else store.remove(table.indexOf(entity));
  }
  if (next > record) return next - 1;
  applyEntityRecord(world, kind, words[record * WORDS + 1], component, 0, buffer.resolved);
  return record;
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
 * them. Their fields are left for the caller to write.
 */
function placeSpawnRun(
  table: EntityTable,
  archetype: Archetype,
  first: number,
  count: number,
): void {
  const mask = archetype.chunkRows - 1;
  for (let row = first; row < first + count;) {
    const chunk = archetype.chunks[row >>> archetype.chunkShift], local = row & mask;
    const n = Math.min(first + count - row, archetype.chunkRows - local);
    table.allocateRun(chunk.entities, local, n, archetype.id, row);
    row += n;
  }
}

/** Copies the handles of rows `[first, first + count)` of `archetype` to `into[at...]`. */
function copyHandles(
  archetype: Archetype,
  first: number,
  count: number,
  into: Uint32Array,
  at: number,
): void {
  const mask = archetype.chunkRows - 1;
  for (let row = first; row < first + count;) {
    const chunk = archetype.chunks[row >>> archetype.chunkShift], local = row & mask;
    const n = Math.min(first + count - row, archetype.chunkRows - local);
    const entities = chunk.entities, to = at + row - first;
    for (let k = 0; k < n; k++) into[to + k] = entities[local + k];
    row += n;
  }
}

/** The last record of the SPAWN_EACH at `record`: its COMPONENTS, then its VALUES. */
function spawnEachEnd(world: World, buffer: CommandBuffer, record: number): number {
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
function applySpawnEach(world: World, buffer: CommandBuffer, record: number): number {
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
  placeSpawnRun(table, archetype, base, placed);
  copyHandles(archetype, base, placed, buffer.resolved, firstOrdinal);
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
        for (let i = 0, at = firstWord; i < placed; i++, at++) {
          if ((at & (WORDS - 1)) === 0) at++; // past the next VALUES record's kind
          const recorded = words[at];
          const value = field.type === "entity" && recorded < 0
            ? buffer.resolved[-recorded - 1]
            : recorded;
          if (store === undefined) {
            const row = base + i;
            archetype.chunks[row >>> archetype.chunkShift].byField[field.id]![row & mask] = value;
          } else {
            const ordinal = words[record * WORDS + 2] + i;
            store.columns[field.index][table.indexOf(buffer.resolved[ordinal])] = value;
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

function spawnEachShort(world: World, count: number, placed: number): BoundError {
  const limit = world.config.maxEntities;
  return new BoundError(
    "maxEntities",
    limit,
    `spawnEach: ${count - placed} of ${count} spawns failed: entity limit reached ` +
      `(${world[entityTable].alive} alive of maxEntities ${limit}); raise config.maxEntities or ` +
      `despawn entities first`,
  );
}

/**
 * Applies the `_EACH` record at `record` to the entities listed after it:
 * where they are consecutive rows of one archetype in order (a chunk's rows,
 * as recorded), as one block move; otherwise one at a time. Returns how many
 * were no longer alive (despawned earlier in the stage), which are skipped.
 */
function applyEach(world: World, buffer: CommandBuffer, record: number): number {
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
function copyDisturbedRows(
  world: World,
  buffer: CommandBuffer,
  filters: readonly (SparseFilter | undefined)[],
): void {
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
function applyRows(
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

function staleInEach(
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

function applyEntityRecord(
  world: World,
  kind: number,
  entity: number,
  b: number,
  c: number,
  pending: Uint32Array,
): void {
  if (kind === DESPAWN) world[despawnNow](entity);
  else if (kind === ADD) world[addNow](entity, b);
  else if (kind === REMOVE) world[removeNow](entity, b);
  else if (kind === SET) {
    const field = world[fieldsByOrdinal][b];
    world.setField(entity, field, field.type === "entity" && c < 0 ? pending[-c - 1] : c);
  }
}
