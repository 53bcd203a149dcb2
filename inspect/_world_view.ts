/**
 * Read-only views of a world for the inspector: its archetypes, resources
 * and event queues; one entity with its components' values (or why a
 * handle names none); a page of a query's entities. Everything is read
 * between ticks on the calling thread, so it sees a whole frame; nothing is
 * written. Ad-hoc queries are matched here against the archetypes rather
 * than made into world queries, which the world would keep and update for
 * good.
 *
 * @module
 */

import type { World } from "../core/world.ts";
import type { Schedule } from "../core/schedule.ts";
import type { Archetype } from "../core/archetype.ts";
import type { EntityAnswer, QueryAnswer, RunWorld } from "./messages.ts";
import {
  archetypeList,
  entityTable,
  eventQueues,
  resourceStores,
  sceneComponents,
} from "../core/_world_internal.ts";

/** Elements of an array resource field sent to the page (the rest only counted). */
export const RESOURCE_VALUES_MAX = 64;
/** Entities in one page of a query. */
export const QUERY_PAGE_MAX = 200;

/** A request the world cannot answer (an unknown component, a bad handle): a 400. */
export class ViewError extends Error {
  override name = "ViewError";
}

/**
 * The world message: non-empty archetypes, resources and event queues.
 *
 * @example
 * ```ts ignore
 * const message = worldMessage(runtime.world, runtime.ticks);
 * ```
 */
export function worldMessage(world: World, tick: number): RunWorld {
  const archetypes = world[archetypeList].filter((a) => a.count > 0).map((a) => ({
    id: a.id,
    components: a.components.map((c) => c.name),
    entities: a.count,
    chunks: a.chunks.length,
    bytes: a.chunks.length * a.chunkBytes,
  }));
  const resources = [...world[resourceStores].values()].map((store) => ({
    name: store.owner.name,
    fields: store.owner.fields.map((field) => {
      const column = store.columns[field.index];
      return {
        name: field.name,
        type: field.type,
        values: Array.from(column.subarray(0, RESOURCE_VALUES_MAX), Number),
        length: column.length,
      };
    }),
  }));
  const events = [...world[eventQueues].values()].map((queue) => ({
    name: queue.owner.name,
    capacity: queue.capacity,
    lastFrame: queue.current.count,
    frameBefore: queue.previous.count,
    total: queue.endSeq,
  }));
  return {
    type: "world",
    tick,
    entities: world.entityCount,
    emptyArchetypes: world[archetypeList].length - archetypes.length,
    archetypes,
    resources,
    events,
  };
}

/**
 * Parses a handle as the page writes it: digits, optionally after `#`.
 *
 * @example
 * ```ts
 * import { parseHandle } from "./_world_view.ts";
 * parseHandle("#258"); // 258
 * ```
 */
export function parseHandle(text: string | null): number {
  const match = /^\s*#?(\d{1,10})\s*$/.exec(text ?? "");
  const handle = match === null ? NaN : Number(match[1]);
  if (!(handle <= 0xffffffff)) {
    throw new ViewError(
      `handle must be an entity handle, a whole number such as 258 or #258; got ${
        JSON.stringify(text)
      }`,
    );
  }
  return handle;
}

/**
 * One entity: its archetype and every component's values; for a handle of no
 * live entity, why (null, never used, despawned, reused).
 *
 * @example
 * ```ts ignore
 * const answer = describeEntity(runtime.world, 258);
 * ```
 */
export function describeEntity(world: World, handle: number): EntityAnswer {
  const table = world[entityTable];
  const index = handle & table.indexMask;
  const generation = handle >>> table.indexBits;
  const base = { handle, index, generation };
  if (!world.isAlive(handle)) {
    return {
      ...base,
      alive: false,
      why: whyNotAlive(world, handle),
      archetype: null,
      components: [],
    };
  }
  const archetype = world[archetypeList][table.archetype[index]];
  const components = archetype.components.map((owner) => {
    const values: Record<string, number> = {};
    for (const field of owner.fields) values[field.name] = world.get(handle, field);
    return { name: owner.name, values };
  });
  return { ...base, alive: true, why: null, archetype: archetype.id, components };
}

function whyNotAlive(world: World, handle: number): string {
  const table = world[entityTable];
  const index = handle & table.indexMask;
  const generation = handle >>> table.indexBits;
  if (handle === 0) return "0 is the null handle: it never names an entity";
  if (index > table.maxEntities) {
    return `index ${index} is beyond maxEntities (${table.maxEntities}): not a handle of this world`;
  }
  if (index >= table.nextFresh) return `no entity has had index ${index} yet`;
  const now = table.generation[index];
  if (table.archetype[index] < 0) {
    return `stale: the entity at index ${index} was despawned (the index is free, at ` +
      `generation ${now}; this handle has generation ${generation})`;
  }
  const current = ((now << table.indexBits) | index) >>> 0;
  return `stale: index ${index} now holds another entity, #${current} (generation ${now}; ` +
    `this handle has generation ${generation})`;
}

/**
 * A page of the entities a query matches: a system's (`system=name`) or
 * components' (`all=A,B&none=C`), from `offset`, at most `limit`
 * (QUERY_PAGE_MAX).
 *
 * @example
 * ```ts ignore
 * const page = queryPage(world, schedule, new URLSearchParams("system=move&limit=20"));
 * ```
 */
export function queryPage(world: World, schedule: Schedule, params: URLSearchParams): QueryAnswer {
  const offset = pageNumber(params.get("offset"), "offset", 0, Number.MAX_SAFE_INTEGER);
  const limit = pageNumber(params.get("limit"), "limit", 50, QUERY_PAGE_MAX);
  const { archetypes, query } = matching(world, schedule, params);
  const entities: number[] = [];
  let total = 0;
  for (const archetype of archetypes) {
    for (const chunk of archetype.chunks) {
      for (let row = 0; row < chunk.count; row++, total++) {
        if (total >= offset && entities.length < limit) entities.push(chunk.entities[row]);
      }
    }
  }
  return { query, total, offset, entities };
}

function matching(
  world: World,
  schedule: Schedule,
  params: URLSearchParams,
): { archetypes: readonly Archetype[]; query: string } {
  const systemName = params.get("system");
  if (systemName !== null) {
    const entry = schedule.systems.find((s) => s.system.name === systemName);
    const names = schedule.systems.map((s) => s.system.name).join(", ");
    if (entry === undefined) throw new ViewError(`no system ${systemName}; systems: ${names}`);
    const spec = entry.system.query;
    if (spec === undefined) throw new ViewError(`system ${systemName} has no query (a run system)`);
    return { archetypes: world.query(spec).archetypes, query: `the query of ${systemName}` };
  }
  const all = componentIndices(world, params.get("all"));
  const none = componentIndices(world, params.get("none"));
  if (all.length === 0) {
    throw new ViewError("a query needs system=<name> or all=<Component>[,<Component>...]");
  }
  const archetypes = world[archetypeList].filter((a) =>
    all.every((c) => a.hasIndex(c)) && !none.some((c) => a.hasIndex(c))
  );
  const names = (list: number[]) => list.map((c) => world[sceneComponents][c].name).join(", ");
  const without = none.length === 0 ? "" : ` without ${names(none)}`;
  return { archetypes, query: `entities with ${names(all)}${without}` };
}

function componentIndices(world: World, text: string | null): number[] {
  if (text === null || text.trim() === "") return [];
  return text.split(",").map((name) => {
    const index = world[sceneComponents].findIndex((c) => c.name === name.trim());
    if (index < 0) {
      const known = world[sceneComponents].map((c) => c.name).join(", ");
      throw new ViewError(`no component ${name.trim()} in this scene; components: ${known}`);
    }
    return index;
  });
}

function pageNumber(text: string | null, name: string, fallback: number, max: number): number {
  if (text === null) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) {
    throw new ViewError(`${name} must be a whole number up to ${max}; got ${text}`);
  }
  return value;
}
