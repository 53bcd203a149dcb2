/**
 * Entity batches: how entities move between the members of a cluster.
 *
 * A cluster splits the world into P partitions by a key field the scene
 * declares (`defineScene({ cluster: { key: Cell.id } })`). A batch carries
 * entities column by column, one group per archetype, as raw little-endian
 * bytes: plain data that msgpackr encodes without a per-entity object, and
 * that `PartitionMap.insert` (partition_map.ts) copies straight into chunk memory. Entity
 * handles never cross: an entity is named by its ClusterId, and fields of
 * type "entity" arrive as the null entity. Sparse components (which live
 * beside the tables) travel in every group of a world that has any: for each,
 * a presence column (one byte a row, 1 where the entity has it), then its
 * fields' columns.
 *
 * Every copy here is a typed-array copy, column by column: moving a million
 * entities a second leaves no room for an object or a closure per entity.
 *
 * @module
 */

import { EcsError } from "../core/errors.ts";

// Batches are raw column bytes, read and written as little-endian; a big-endian
// member would silently scramble every value it received.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("cluster/batch.ts: entity batches need a little-endian machine");
}

/**
 * Entities of one archetype, column by column; plain data, msgpackr-friendly
 * (only strings, numbers, arrays and Uint8Array).
 *
 * @example
 * ```ts
 * import type { EntityGroup } from "./batch.ts";
 * const group: EntityGroup = {
 *   components: ["Cell", "ClusterId"],
 *   count: 1,
 *   ids: new Uint8Array(new Float64Array([7]).buffer),
 *   columns: [new Uint8Array(new Uint32Array([3]).buffer)],
 * };
 * ```
 */
export interface EntityGroup {
  /**
   * Component names of the archetype, then every sparse component of the
   * world, in the world's component order (ClusterId included).
   */
  readonly components: readonly string[];
  readonly count: number;
  /** ClusterId per row: the bytes of a little-endian Float64Array of `count`. */
  readonly ids: Uint8Array;
  /**
   * One per field of those components (component order, then field order,
   * ClusterId's own field excluded), a sparse component's presence column
   * before its fields: the raw little-endian bytes of `count` values of the
   * field's type (a presence value is one byte).
   */
  readonly columns: readonly Uint8Array[];
}

/**
 * Entities of any archetypes, as groups.
 *
 * @example
 * ```ts
 * import { batchCount, type EntityBatch } from "./batch.ts";
 * const batch: EntityBatch = { groups: [] };
 * batchCount(batch); // 0
 * ```
 */
export interface EntityBatch {
  readonly groups: readonly EntityGroup[];
}

/**
 * A batch that is malformed or does not fit the world it is given to.
 *
 * @example
 * ```ts
 * import { BatchError, checkBatch } from "./batch.ts";
 * try {
 *   checkBatch({ groups: 1 });
 * } catch (error) {
 *   if (!(error instanceof BatchError)) throw error;
 * }
 * ```
 */
export class BatchError extends EcsError {
  constructor(message: string) {
    super("BATCH", message);
    this.name = "BatchError";
  }
}

/** Most groups one batch may hold: a world has at most 65,536 archetypes. */
export const BATCH_GROUPS_MAX = 1 << 16;
/** Most entities one group may hold: a world has at most 16,777,215 entities. */
export const GROUP_COUNT_MAX = (1 << 24) - 1;

/**
 * Entities in a batch.
 *
 * @example
 * ```ts
 * import { batchCount, emptyBatch } from "./batch.ts";
 * batchCount(emptyBatch()); // 0
 * ```
 */
export function batchCount(batch: EntityBatch): number {
  let count = 0;
  for (const group of batch.groups) count += group.count;
  return count;
}

/**
 * The ClusterIds of a batch, group by group.
 *
 * @example
 * ```ts
 * import { batchIds, emptyBatch } from "./batch.ts";
 * batchIds(emptyBatch()).length; // 0
 * ```
 */
export function batchIds(batch: EntityBatch): Float64Array {
  const ids = new Float64Array(batchCount(batch));
  const bytes = new Uint8Array(ids.buffer);
  let offset = 0;
  // Byte copies: a decoded group's ids may sit at any offset of the frame, unaligned for f64.
  for (const group of batch.groups) {
    bytes.set(group.ids.subarray(0, group.count * 8), offset * 8);
    offset += group.count;
  }
  return ids;
}

/**
 * A batch with no entities.
 *
 * @example
 * ```ts
 * import { emptyBatch } from "./batch.ts";
 * emptyBatch().groups.length; // 0
 * ```
 */
export function emptyBatch(): EntityBatch {
  return { groups: [] };
}

/**
 * One batch holding the entities of all: groups with the same component list
 * are concatenated, in the order they come.
 *
 * @example
 * ```ts
 * import { emptyBatch, mergeBatches } from "./batch.ts";
 * mergeBatches([emptyBatch(), emptyBatch()]).groups.length; // 0
 * ```
 */
export function mergeBatches(batches: readonly EntityBatch[]): EntityBatch {
  const byKey = new Map<string, EntityGroup[]>();
  for (const batch of batches) {
    for (const group of batch.groups) {
      if (group.count === 0) continue;
      const key = group.components.join(",");
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [group]);
      else list.push(group);
    }
  }
  return { groups: [...byKey.values()].map(concatGroups) };
}

function concatGroups(groups: readonly EntityGroup[]): EntityGroup {
  if (groups.length === 1) return groups[0];
  const first = groups[0];
  for (const group of groups) {
    const sameShape = group.columns.length === first.columns.length &&
      group.columns.every((column, c) =>
        column.byteLength * first.count === first.columns[c].byteLength * group.count
      );
    if (!sameShape) {
      throw new BatchError(
        `mergeBatches: two groups of [${first.components}] have columns of different numbers ` +
          `or sizes; they come from members running different scenes`,
      );
    }
  }
  const count = groups.reduce((sum, group) => sum + group.count, 0);
  const columns = first.columns.map((_, c) => concatBytes(groups.map((g) => g.columns[c])));
  return {
    components: first.components,
    count,
    ids: concatBytes(groups.map((g) => g.ids)),
    columns,
  };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * The entities of a batch whose ClusterId passes `keep`, as a new batch; the
 * input is not changed, and a group kept whole is shared, not copied.
 *
 * @example
 * ```ts
 * import { emptyBatch, filterBatch } from "./batch.ts";
 * filterBatch(emptyBatch(), (id) => id > 10).groups.length; // 0
 * ```
 */
export function filterBatch(batch: EntityBatch, keep: (id: number) => boolean): EntityBatch {
  const groups: EntityGroup[] = [];
  for (const group of batch.groups) {
    const idBytes = aligned(group.ids);
    const ids = new Float64Array(idBytes.buffer, idBytes.byteOffset, group.count);
    const keepRow = new Int32Array(group.count);
    let kept = 0;
    for (let row = 0; row < group.count; row++) keepRow[row] = keep(ids[row]) ? kept++ : -1;
    if (kept === 0) continue;
    if (kept === group.count) {
      groups.push(group);
      continue;
    }
    groups.push({
      components: group.components,
      count: kept,
      ids: gatherBytes(group.ids, 8, keepRow, kept),
      columns: group.columns.map((c) => gatherBytes(c, c.byteLength / group.count, keepRow, kept)),
    });
  }
  return { groups };
}

/** `bytes` itself if it sits at an offset a Float64Array may view, else a copy that does. */
export function aligned(bytes: Uint8Array): Uint8Array {
  // A copy at offset 0. Not bytes.slice(): msgpackr hands out Buffers, whose slice is a view.
  return bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
}

/** The values at rows with `target[row] >= 0`, each to position `target[row]`. */
function gatherBytes(
  bytes: Uint8Array,
  valueBytes: number,
  target: Int32Array,
  kept: number,
): Uint8Array {
  const source = aligned(bytes);
  const out = new ArrayBuffer(kept * valueBytes);
  const rows = target.length;
  scatterWords(
    wordView(source.buffer, source.byteOffset, rows, valueBytes),
    wordView(out, 0, kept, valueBytes),
    target,
    0,
    rows,
    valueBytes > 4 ? 2 : 1,
  );
  return new Uint8Array(out);
}

/** Unsigned word views: copying through them keeps every bit (floats' NaN payloads too). */
export type WordView = Uint8Array | Uint16Array | Uint32Array;

/** `values` values of `valueBytes` each at `byteOffset`, as words of up to 4 bytes. */
export function wordView(
  buffer: ArrayBufferLike,
  byteOffset: number,
  values: number,
  valueBytes: number,
): WordView {
  if (valueBytes === 1) return new Uint8Array(buffer, byteOffset, values);
  if (valueBytes === 2) return new Uint16Array(buffer, byteOffset, values);
  return new Uint32Array(buffer, byteOffset, values * (valueBytes >>> 2));
}

/**
 * Copies value `i` of `source` (rows `base + i`) to value `target[base + i]`
 * of `out`, for rows whose target is not negative; `words` is 1, or 2 for
 * 8-byte values.
 */
function scatterWords(
  source: WordView,
  out: WordView,
  target: Int32Array,
  base: number,
  values: number,
  words: number,
): void {
  if (words === 1) {
    for (let i = 0; i < values; i++) {
      const to = target[base + i];
      if (to >= 0) out[to] = source[i];
    }
    return;
  }
  for (let i = 0; i < values; i++) {
    const to = target[base + i];
    if (to >= 0) {
      out[2 * to] = source[2 * i];
      out[2 * to + 1] = source[2 * i + 1];
    }
  }
}

/**
 * A checked view of a batch decoded from the network: throws a BatchError
 * naming what is wrong (a group's lengths do not match its count, ids is not
 * a Uint8Array, ...). Accepts Buffer (a Uint8Array subclass) from msgpackr.
 * Whether the columns fit a world's fields is `PartitionMap.insert`'s check.
 *
 * @example
 * ```ts
 * import { checkBatch } from "./batch.ts";
 * checkBatch({ groups: [] }).groups.length; // 0
 * ```
 */
export function checkBatch(value: unknown): EntityBatch {
  const groups = (value as { groups?: unknown } | null)?.groups;
  if (value === null || typeof value !== "object" || !Array.isArray(groups)) {
    throw new BatchError(`batch: expected an object { groups: [...] }; got ${describe(value)}`);
  }
  if (groups.length > BATCH_GROUPS_MAX) {
    throw new BatchError(`batch: ${groups.length} groups; at most ${BATCH_GROUPS_MAX} allowed`);
  }
  return { groups: groups.map(checkGroup) };
}

function checkGroup(value: unknown, index: number): EntityGroup {
  const where = `batch: groups[${index}]`;
  if (value === null || typeof value !== "object") {
    throw new BatchError(`${where} must be an object; got ${describe(value)}`);
  }
  const { components, count, ids, columns } = value as Record<string, unknown>;
  if (
    !Array.isArray(components) ||
    !components.every((name) => typeof name === "string" && name !== "") ||
    new Set(components).size !== components.length
  ) {
    throw new BatchError(`${where}.components must be distinct component names`);
  }
  if (
    typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > GROUP_COUNT_MAX
  ) {
    throw new BatchError(
      `${where}.count must be an integer from 0 to ${GROUP_COUNT_MAX}; got ${describe(count)}`,
    );
  }
  if (!(ids instanceof Uint8Array) || ids.byteLength !== count * 8) {
    throw new BatchError(
      `${where}.ids must be a Uint8Array of count * 8 = ${count * 8} bytes; got ${describe(ids)}`,
    );
  }
  if (!Array.isArray(columns)) {
    throw new BatchError(`${where}.columns must be an array; got ${describe(columns)}`);
  }
  columns.forEach((column, c) => checkColumn(`${where}.columns[${c}]`, column, count));
  return { components: [...components], count, ids, columns: [...columns] };
}

function checkColumn(where: string, column: unknown, count: number): void {
  if (!(column instanceof Uint8Array)) {
    throw new BatchError(`${where} must be a Uint8Array; got ${describe(column)}`);
  }
  const valueBytes = count === 0 ? 0 : column.byteLength / count;
  const fits = count === 0
    ? column.byteLength === 0
    : valueBytes === 1 || valueBytes === 2 || valueBytes === 4 || valueBytes === 8;
  if (!fits) {
    throw new BatchError(
      `${where} has ${column.byteLength} bytes for count ${count}; a column holds count ` +
        `values of 1, 2, 4 or 8 bytes`,
    );
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? "null" : typeof value === "object" ? "an object" : String(value);
}
