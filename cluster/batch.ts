/**
 * Entity batches: how entities move between the members of a cluster.
 *
 * A cluster splits the world into P partitions by a key field the scene
 * declares (`defineScene({ cluster: { key: Cell.id } })`). A batch carries
 * entities column by column, one group per archetype, as raw little-endian
 * bytes: plain data that msgpackr encodes without a per-entity object, and
 * that `PartitionMap.insert` copies straight into chunk memory. Entity
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

import type { Archetype } from "../core/archetype.ts";
import { ClusterId } from "../core/cluster_id.ts";
import { BoundError, EcsError, SceneError, UsageError } from "../core/errors.ts";
import type { Scene } from "../core/scene.ts";
import {
  type Column,
  type ColumnConstructor,
  type Field,
  FIELD_TYPES,
  type Owner,
} from "../core/schema.ts";
import type { SparseStore } from "../core/sparse.ts";
import type { World } from "../core/world.ts";
import { PARTITIONS_MAX } from "./limits.ts";
import { addNow, archetypeFor, checkUnlocked, freeIndex } from "../core/_world_internal.ts";

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
function aligned(bytes: Uint8Array): Uint8Array {
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
type WordView = Uint8Array | Uint16Array | Uint32Array;

/** `values` values of `valueBytes` each at `byteOffset`, as words of up to 4 bytes. */
function wordView(
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

/**
 * The partition of key `key` among `partitions`: `((key % P) + P) % P`, so
 * negative keys spread like positive ones.
 *
 * @example
 * ```ts
 * import { partitionOf } from "./batch.ts";
 * partitionOf(-1, 4); // 3
 * ```
 */
export function partitionOf(key: number, partitions: number): number {
  return ((key % partitions) + partitions) % partitions;
}

/**
 * What one column of a group holds: a table field, or a sparse component's
 * presence (one byte a row), or one of its fields (indexed by entity).
 */
type ColumnOf =
  | { readonly kind: "table"; readonly field: Field }
  | { readonly kind: "present"; readonly store: SparseStore }
  | { readonly kind: "sparse"; readonly store: SparseStore; readonly field: Field };

/** How an archetype's rows go into a group: its names and what each column holds. */
interface GroupLayout {
  readonly names: readonly string[];
  /** One per column: ClusterId's field has none. */
  readonly columns: readonly ColumnOf[];
}

/** A batch group ready to write: where it goes and what each column fills. */
interface InsertPlan {
  readonly group: EntityGroup;
  readonly archetype: Archetype;
  readonly columns: readonly ColumnOf[];
}

/** Bytes of one value of a column. */
function valueBytesOf(column: ColumnOf): number {
  return column.kind === "present" ? 1 : FIELD_TYPES[column.field.type].BYTES_PER_ELEMENT;
}

/** The columns of a group of `owners` (world order): tables' fields, then sparse ones'. */
function columnsOf(world: World, owners: readonly Owner[], idField: Field): ColumnOf[] {
  return owners.flatMap((owner): ColumnOf[] => {
    const store = world.sparseByIndex[world.indexOf(owner)];
    if (store === undefined) {
      return owner.fields.filter((f) => f !== idField).map((field) => ({ kind: "table", field }));
    }
    return [
      { kind: "present", store },
      ...owner.fields.map((field) => ({ kind: "sparse" as const, store, field })),
    ];
  });
}

/**
 * How a world maps to partitions, and the copies of entities in and out of
 * it that a cluster member sends and receives.
 *
 * @example
 * ```ts
 * import { defineComponent, defineScene, World } from "staticecs";
 * import { PartitionMap } from "./batch.ts";
 * const Cell = defineComponent("Cell", { id: "i32" });
 * const scene = defineScene({ components: [Cell], systems: [], cluster: { key: Cell.id } });
 * const world = new World(scene);
 * world.spawn([Cell, { id: 5 }]);
 * const map = new PartitionMap(world, scene, 4);
 * let next = 1;
 * map.assignIds(() => next++);
 * const moved = map.collect((p) => p === 1, true).get(1)!;
 * new PartitionMap(new World(scene), scene, 4).insert(moved); // 1
 * ```
 */
export class PartitionMap {
  readonly world: World;
  readonly partitions: number;
  /** The field whose value is an entity's partition key. */
  readonly keyField: Field;
  private readonly keyIndex: number;
  private readonly idIndex: number;
  private readonly idField: Field;
  /**
   * P - 1 when P is a power of two, else -1. Then `key & mask` is the
   * partition, for negative keys too (two's complement), and it stays in
   * int32 arithmetic where `%` on a u32 key above 2^31 falls back to doubles.
   */
  private readonly pow2Mask: number;
  private readonly ownersByName: Map<string, Owner>;
  private readonly layouts = new WeakMap<Archetype, GroupLayout>();
  /** The rows of the archetype at hand that collect takes, ascending. Grows as needed. */
  private selectedRows = new Int32Array(0);
  /** Per selected row: its position among the rows copied out. Grows as needed. */
  private selectedTargets = new Int32Array(0);
  /** removeMarked's planned moves: row sources[m] goes to row targets[m], in order. */
  private moveTargets = new Int32Array(0);
  private moveSources = new Int32Array(0);
  /** True when markRows listed every row of the archetype, all of one partition. */
  private selectedWhole = false;

  constructor(world: World, scene: Scene, partitions: number) {
    const key = scene.cluster?.key;
    if (key === undefined) {
      throw new SceneError(
        `scene ${scene.name ?? "(unnamed)"} has no cluster key: add cluster: { key: Cell.id } ` +
          `to defineScene`,
      );
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      throw new SceneError(
        `PartitionMap: partitions must be an integer from 1 to ${PARTITIONS_MAX}; got ${partitions}`,
      );
    }
    this.world = world;
    this.partitions = partitions;
    this.pow2Mask = (partitions & (partitions - 1)) === 0 ? partitions - 1 : -1;
    this.keyField = key;
    this.keyIndex = world.indexOf(key.owner);
    this.idIndex = world.indexOf(ClusterId);
    this.idField = ClusterId.id;
    this.ownersByName = new Map(world.components.map((owner) => [owner.name, owner]));
  }

  /**
   * Gives every live entity with ClusterId 0, or without the ClusterId
   * component, a fresh id from `next()`; returns how many it gave. Outside a
   * stage only.
   */
  assignIds(next: () => number): number {
    const world = this.world;
    world[checkUnlocked]("assignIds");
    // Snapshot the list: adding ClusterId may create archetypes as it goes.
    for (const archetype of [...world.archetypes]) {
      if (archetype.hasIndex(this.idIndex)) continue;
      const mask = archetype.chunkRows - 1;
      // From the last row, so each move takes the cheap end of swap-remove.
      while (archetype.count > 0) {
        const row = archetype.count - 1;
        world[addNow](archetype.chunkOf(row).entities[row & mask], this.idIndex);
      }
    }
    let given = 0;
    for (const archetype of world.archetypes) {
      if (!archetype.hasIndex(this.idIndex)) continue;
      for (const chunk of archetype.chunks) {
        const ids = chunk.column(this.idField);
        for (let row = 0; row < chunk.count; row++) {
          if (ids[row] !== 0) continue;
          const id = next();
          if (!Number.isFinite(id) || id === 0) {
            throw new UsageError(
              `assignIds: next() returned ${id}; ids must be finite and nonzero`,
            );
          }
          ids[row] = id;
          given++;
        }
      }
    }
    return given;
  }

  /** Live entities per partition: a Float64Array of length P, or `out` filled. */
  countByPartition(out: Float64Array = new Float64Array(this.partitions)): Float64Array {
    if (out.length !== this.partitions) {
      throw new UsageError(
        `countByPartition: out has length ${out.length}; give one of length ${this.partitions}`,
      );
    }
    out.fill(0);
    const partitions = this.partitions, pow2Mask = this.pow2Mask;
    for (const archetype of this.world.archetypes) {
      if (archetype.count === 0) continue;
      if (!archetype.hasIndex(this.keyIndex)) {
        out[0] += archetype.count;
        continue;
      }
      for (const chunk of archetype.chunks) {
        const keys = chunk.byField[this.keyField.id]!;
        for (let row = 0; row < chunk.count; row++) {
          const key = keys[row];
          out[pow2Mask >= 0 ? key & pow2Mask : ((key % partitions) + partitions) % partitions]++;
        }
      }
    }
    return out;
  }

  /**
   * Copies out (`remove` false) or moves out (`remove` true: the entities are
   * despawned) every entity whose partition satisfies `wanted(p)`, grouped by
   * partition: one entry for every wanted partition, empty ones included.
   */
  collect(wanted: (partition: number) => boolean, remove: boolean): Map<number, EntityBatch> {
    if (remove) this.world[checkUnlocked]("collect");
    const wantedMask = new Uint8Array(this.partitions);
    const out = new Map<number, EntityGroup[]>();
    for (let p = 0; p < this.partitions; p++) {
      wantedMask[p] = wanted(p) ? 1 : 0;
      if (wantedMask[p] === 1) out.set(p, []);
    }
    const counts = new Int32Array(this.partitions);
    const starts = new Int32Array(this.partitions);
    for (const archetype of this.world.archetypes) {
      if (archetype.count === 0) continue;
      const selected = this.markRows(archetype, wantedMask, counts, starts);
      if (selected === 0) continue;
      this.copyOut(archetype, selected, counts, starts, out);
      if (remove) this.removeMarked(archetype, selected);
    }
    const batches = new Map<number, EntityBatch>();
    for (const [p, groups] of out) batches.set(p, { groups });
    return batches;
  }

  /**
   * Lists the wanted rows of `archetype`, ascending, in selectedRows, and in
   * selectedTargets each one's position among the rows copied out: sorted by
   * partition, so each partition's rows are one range, from `starts[p]`,
   * `counts[p]` long. Returns how many rows it listed.
   */
  private markRows(
    archetype: Archetype,
    wantedMask: Uint8Array,
    counts: Int32Array,
    starts: Int32Array,
  ): number {
    if (this.selectedRows.length < archetype.count) {
      this.selectedRows = new Int32Array(Math.max(archetype.count, 2 * this.selectedRows.length));
      this.selectedTargets = new Int32Array(this.selectedRows.length);
    }
    const rowsOut = this.selectedRows, targets = this.selectedTargets, P = this.partitions;
    const pow2Mask = this.pow2Mask, keyed = archetype.hasIndex(this.keyIndex);
    counts.fill(0);
    let selected = 0;
    for (const chunk of archetype.chunks) {
      const keys = keyed ? chunk.byField[this.keyField.id]! : undefined;
      const base = chunk.index * archetype.chunkRows;
      for (let i = 0; i < chunk.count; i++) {
        const key = keys === undefined ? 0 : keys[i];
        const p = pow2Mask >= 0 ? key & pow2Mask : ((key % P) + P) % P;
        if (wantedMask[p] === 0) continue;
        counts[p]++;
        rowsOut[selected] = base + i;
        targets[selected++] = p; // the partition for now; its position below
      }
    }
    let start = 0;
    for (let p = 0; p < P; p++) {
      starts[p] = start;
      start += counts[p];
    }
    // One partition takes the whole table: gather may copy it chunk by chunk.
    this.selectedWhole = selected > 0 && selected === archetype.count &&
      counts[targets[0]] === selected;
    const cursor = starts.slice();
    for (let i = 0; i < selected; i++) targets[i] = cursor[targets[i]]++;
    return selected;
  }

  /** Copies the listed rows of `archetype` into one group per partition. */
  private copyOut(
    archetype: Archetype,
    selected: number,
    counts: Int32Array,
    starts: Int32Array,
    out: Map<number, EntityGroup[]>,
  ): void {
    const layout = this.layoutOf(archetype);
    const ids = new ArrayBuffer(selected * 8);
    if (archetype.hasIndex(this.idIndex)) this.gather(archetype, this.idField, ids, selected);
    const columns = layout.columns.map((of) => {
      const column = new ArrayBuffer(selected * valueBytesOf(of));
      // Handles mean nothing in another process: entity fields travel as the null entity.
      if (of.kind === "table" && of.field.type !== "entity") {
        this.gather(archetype, of.field, column, selected);
      } else if (of.kind !== "table") this.gatherSparse(archetype, of, column, selected);
      return column;
    });
    for (const [p, groups] of out) {
      const count = counts[p];
      if (count === 0) continue;
      groups.push({
        components: layout.names,
        count,
        ids: new Uint8Array(ids, starts[p] * 8, count * 8),
        columns: columns.map((column, c) => {
          const valueBytes = valueBytesOf(layout.columns[c]);
          return new Uint8Array(column, starts[p] * valueBytes, count * valueBytes);
        }),
      });
    }
  }

  /**
   * Copies `field` of the listed rows to their target positions in `out`:
   * chunk by chunk with `set` when the whole archetype goes to one partition
   * (a partition handed over), else row by row over the listed rows only, so
   * a few entities crossing a border cost a few copies, not a table scan.
   */
  private gather(archetype: Archetype, field: Field, out: ArrayBuffer, selected: number): void {
    const valueBytes = FIELD_TYPES[field.type].BYTES_PER_ELEMENT;
    const outWords = wordView(out, 0, selected, valueBytes);
    const rows = this.selectedRows, targets = this.selectedTargets;
    if (this.selectedWhole) {
      const outBytes = new Uint8Array(out);
      for (const chunk of archetype.chunks) {
        if (chunk.count === 0) break;
        const column = chunk.byField[field.id]!;
        const from = new Uint8Array(column.buffer, column.byteOffset, chunk.count * valueBytes);
        outBytes.set(from, chunk.index * archetype.chunkRows * valueBytes);
      }
      return;
    }
    const shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
    const words = valueBytes > 4 ? 2 : 1;
    let chunkIndex = -1;
    let source: WordView = outWords;
    for (let i = 0; i < selected; i++) {
      const row = rows[i];
      if (row >>> shift !== chunkIndex) {
        chunkIndex = row >>> shift;
        const column = archetype.chunks[chunkIndex].byField[field.id]!;
        source = wordView(column.buffer, column.byteOffset, archetype.chunkRows, valueBytes);
      }
      const from = (row & mask) * words, to = targets[i] * words;
      outWords[to] = source[from];
      if (words === 2) outWords[to + 1] = source[from + 1];
    }
  }

  /** Copies a sparse column (presence, or a field's values) of the listed rows to their targets. */
  private gatherSparse(
    archetype: Archetype,
    of: Exclude<ColumnOf, { kind: "table" }>,
    out: ArrayBuffer,
    selected: number,
  ): void {
    const rows = this.selectedRows, targets = this.selectedTargets, table = this.world.entities;
    const shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
    const present = of.kind === "present" ? new Uint8Array(out) : undefined;
    const source = of.kind === "sparse" && of.field.type !== "entity"
      ? of.store.columns[of.field.index]
      : undefined;
    const values = source === undefined
      ? undefined
      : new (source.constructor as ColumnConstructor)(out, 0, selected);
    for (let i = 0; i < selected; i++) {
      const row = rows[i];
      const index = table.indexOf(archetype.chunks[row >>> shift].entities[row & mask]);
      if (!of.store.has(index)) continue;
      if (present !== undefined) present[targets[i]] = 1;
      else if (values !== undefined) values[targets[i]] = source![index];
    }
  }

  /**
   * Despawns the listed rows of `archetype`. From the last row down: when
   * row r goes, every listed row above it has gone already, so the row that
   * swap-remove moves into r is one to keep. That copies one row per entity
   * removed, where compacting would copy every row after the first hole.
   * The moves are planned first and then applied column by column, each
   * column in one loop over one typed-array type: row by row, every move
   * would touch every column's type in turn (about 0.4 µs per entity on
   * Bun against a few ns). A move may take a row another move filled, so
   * each column replays the moves in the order planned.
   */
  private removeMarked(archetype: Archetype, selected: number): void {
    const table = this.world.entities, rows = this.selectedRows;
    const shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
    const chunks = archetype.chunks;
    for (let i = 0; i < selected; i++) {
      this.world[freeIndex](table.indexOf(chunks[rows[i] >>> shift].entities[rows[i] & mask]));
    }
    if (selected === archetype.count) {
      archetype.setCount(0);
      return;
    }
    if (this.moveTargets.length < selected) {
      this.moveTargets = new Int32Array(Math.max(selected, 2 * this.moveTargets.length));
      this.moveSources = new Int32Array(this.moveTargets.length);
    }
    const targets = this.moveTargets, sources = this.moveSources;
    let moves = 0, count = archetype.count;
    for (let i = selected - 1; i >= 0; i--) {
      const last = --count;
      if (rows[i] === last) continue;
      targets[moves] = rows[i];
      sources[moves++] = last;
    }
    for (let m = 0; m < moves; m++) {
      const from = sources[m], to = targets[m];
      const entity = chunks[from >>> shift].entities[from & mask];
      chunks[to >>> shift].entities[to & mask] = entity;
      table.row[table.indexOf(entity)] = to;
    }
    for (const id of archetype.fieldIds) {
      replayMoves(chunks.map((chunk) => chunk.byField[id]!), targets, sources, moves, shift, mask);
    }
    archetype.setCount(count);
  }

  private layoutOf(archetype: Archetype): GroupLayout {
    let layout = this.layouts.get(archetype);
    if (layout !== undefined) return layout;
    const indices = archetype.hasIndex(this.idIndex)
      ? archetype.componentIndices
      : [...archetype.componentIndices, this.idIndex].sort((a, b) => a - b);
    const sparse = this.world.sparseStores.map((store) => store.index);
    const owners = [...indices, ...sparse].sort((a, b) => a - b).map((i) =>
      this.world.components[i]
    );
    layout = {
      names: Object.freeze(owners.map((owner) => owner.name)),
      columns: columnsOf(this.world, owners, this.idField),
    };
    this.layouts.set(archetype, layout);
    return layout;
  }

  /**
   * Spawns a batch's entities, ClusterIds kept, and returns how many. A batch
   * naming a component this world lacks, or with columns that do not fit its
   * fields, or more entities or memory than the world's bounds leave room
   * for, is refused before anything is spawned. Fields of type "entity" are
   * set to the null entity.
   */
  insert(batch: EntityBatch): number {
    this.world[checkUnlocked]("insert");
    const checked = checkBatch(batch);
    const columnsByGroup = checked.groups.map((group, g) => this.columnsFor(group, g));
    // Archetypes only for groups with rows: an empty group must not leave an empty table behind.
    const plans: InsertPlan[] = [];
    checked.groups.forEach((group, g) => {
      if (group.count === 0) return;
      const indices = group.components.map((name) =>
        this.world.indexOf(this.ownersByName.get(name)!)
      ).filter((i) => this.world.sparseByIndex[i] === undefined);
      const archetype = this.world[archetypeFor]([...indices, this.idIndex]);
      plans.push({ group, archetype, columns: columnsByGroup[g] });
    });
    this.reserve(plans);
    let inserted = 0;
    for (const plan of plans) {
      writeGroup(this.world, plan, this.idField);
      inserted += plan.group.count;
    }
    return inserted;
  }

  /** What a group's columns fill, or a BatchError naming the mismatch with this world. */
  private columnsFor(group: EntityGroup, g: number): readonly ColumnOf[] {
    const owners = group.components.map((name) => {
      const owner = this.ownersByName.get(name);
      if (owner === undefined) {
        throw new BatchError(
          `batch: groups[${g}] names component ${name}, which this world does not have (it has ` +
            `${[...this.ownersByName.keys()].join(", ")}); members must run the same scene`,
        );
      }
      return owner;
    });
    const columns = columnsOf(this.world, owners, this.idField);
    if (group.columns.length !== columns.length) {
      throw new BatchError(
        `batch: groups[${g}] [${group.components}] has ${group.columns.length} columns; this ` +
          `world's columns of those components are ${columns.length}; members must run the ` +
          `same scene`,
      );
    }
    columns.forEach((of, c) => {
      const bytes = group.count * valueBytesOf(of);
      if (group.columns[c].byteLength !== bytes) {
        const what = of.kind === "present"
          ? `${of.store.owner.name} presence, u8`
          : `${of.field.owner.name}.${of.field.name}, ${of.field.type}`;
        throw new BatchError(
          `batch: groups[${g}] column ${c} (${what}) has ${group.columns[c].byteLength} bytes; ` +
            `${group.count} values need ${bytes}`,
        );
      }
    });
    return columns;
  }

  /**
   * Checks the entity bound and attaches every chunk the plans will fill, so
   * that writing them cannot fail halfway.
   */
  private reserve(plans: readonly InsertPlan[]): void {
    const table = this.world.entities;
    const total = plans.reduce((sum, plan) => sum + plan.group.count, 0);
    const room = table.maxEntities - table.nextFresh + 1 + table.freeCount;
    if (total > room) {
      throw new BoundError(
        "maxEntities",
        table.maxEntities,
        `batch: ${total} entities do not fit: ${table.alive} alive leave room for ${room} of ` +
          `maxEntities ${table.maxEntities}; raise config.maxEntities or use more members`,
      );
    }
    const rowsByArchetype = new Map<Archetype, number>();
    for (const { archetype, group } of plans) {
      rowsByArchetype.set(
        archetype,
        (rowsByArchetype.get(archetype) ?? archetype.count) + group.count,
      );
    }
    for (const [archetype, rows] of rowsByArchetype) {
      const chunks = Math.ceil(rows / archetype.chunkRows);
      while (archetype.chunks.length < chunks) {
        const what = `a chunk of archetype ${archetype}`;
        archetype.attachChunk(this.world.arena.allocate(archetype.chunkBytes, what));
      }
    }
  }
}

/** Takes handles for a planned group's rows and copies its columns in, chunk span by span. */
/** Applies planned row moves to one field's columns (one per chunk), in order. */
function replayMoves(
  columns: readonly Column[],
  targets: Int32Array,
  sources: Int32Array,
  moves: number,
  shift: number,
  mask: number,
): void {
  for (let m = 0; m < moves; m++) {
    const from = sources[m], to = targets[m];
    columns[to >>> shift][to & mask] = columns[from >>> shift][from & mask];
  }
}

function writeGroup(world: World, plan: InsertPlan, idField: Field): void {
  const { archetype, group, columns } = plan;
  const table = world.entities, start = archetype.count, count = group.count;
  const shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
  for (let i = 0; i < count; i++) {
    const row = start + i;
    const entity = table.allocate();
    const index = table.indexOf(entity);
    table.archetype[index] = archetype.id;
    table.row[index] = row;
    archetype.chunks[row >>> shift].entities[row & mask] = entity;
  }
  copyColumnIn(archetype, idField, start, count, group.ids);
  for (let c = 0; c < columns.length; c++) {
    const of = columns[c];
    if (of.kind !== "table") continue;
    const bytes = of.field.type === "entity" ? undefined : group.columns[c];
    copyColumnIn(archetype, of.field, start, count, bytes);
  }
  archetype.setCount(start + count);
  writeSparse(world, plan, start);
}

/** Gives the group's entities their sparse components: presence first, then values. */
function writeSparse(world: World, plan: InsertPlan, start: number): void {
  const { archetype, group, columns } = plan;
  const table = world.entities, shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
  let present: Uint8Array | undefined;
  for (let c = 0; c < columns.length; c++) {
    const of = columns[c];
    if (of.kind === "table") continue;
    if (of.kind === "present") present = group.columns[c];
    const source = of.kind === "sparse" && of.field.type !== "entity"
      ? new FIELD_TYPES[of.field.type](aligned(group.columns[c]).slice().buffer, 0, group.count)
      : undefined;
    for (let i = 0; i < group.count; i++) {
      if (present![i] === 0) continue;
      const row = start + i;
      const index = table.indexOf(archetype.chunks[row >>> shift].entities[row & mask]);
      if (of.kind === "present") of.store.add(index);
      else if (source !== undefined) of.store.columns[of.field.index][index] = source[i];
    }
  }
}

/**
 * Writes `bytes` (or zeros) to rows `start` to `start + count` of `field`.
 * Byte copies, since a decoded column may sit unaligned in its frame.
 */
function copyColumnIn(
  archetype: Archetype,
  field: Field,
  start: number,
  count: number,
  bytes: Uint8Array | undefined,
): void {
  const valueBytes = FIELD_TYPES[field.type].BYTES_PER_ELEMENT;
  let done = 0;
  while (done < count) {
    const row = start + done;
    const local = row & (archetype.chunkRows - 1);
    const span = Math.min(count - done, archetype.chunkRows - local);
    const column = archetype.chunks[row >>> archetype.chunkShift].byField[field.id]!;
    const to = new Uint8Array(
      column.buffer,
      column.byteOffset + local * valueBytes,
      span * valueBytes,
    );
    if (bytes === undefined) to.fill(0);
    else to.set(bytes.subarray(done * valueBytes, (done + span) * valueBytes));
    done += span;
  }
}
