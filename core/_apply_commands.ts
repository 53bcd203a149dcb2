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
import type { SparseFilter } from "./sparse.ts";
import { type CommandBuffer, eventOverflow } from "./commands.ts";
import {
  ADD,
  ADD_EACH,
  DESPAWN,
  DESPAWN_EACH,
  EACH_ROWS,
  EMIT,
  EVENT_FIELD,
  REMOVE,
  REMOVE_EACH,
  SEGMENT,
  SET,
  SPAWN,
  SPAWN_EACH,
  WORDS,
} from "./_command_records.ts";
import { moveRun } from "./_row_moves.ts";
import {
  addNow,
  archetypeList,
  despawnNow,
  entityTable,
  fieldsByOrdinal,
  removeNow,
  sparseByIndex,
  withComponent,
  withoutComponent,
} from "./_world_internal.ts";
import {
  applySpawnEach,
  applySpawnRun,
  placedByLastSpawnEach,
  spawnEachEnd,
  spawnEachShort,
} from "./_apply_spawns.ts";
import { applyEach, applyRows, copyDisturbedRows, staleInEach } from "./_apply_each.ts";

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
        for (let o = b + placedByLastSpawnEach(); o < b + a; o++) at.failedSpawns.set(o, failure);
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
