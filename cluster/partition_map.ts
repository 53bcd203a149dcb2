/**
 * PartitionMap: how a world maps to the partitions of a cluster, and the
 * copies of entities in and out of it that a member sends and receives as
 * entity batches (batch.ts, the wire format). An entity's partition is its
 * key field modulo the partition count; `collect` gathers the entities of
 * some partitions into a batch, column by column, and `insert` writes a
 * batch straight into chunk memory, giving each entity a fresh handle and
 * keeping its ClusterId.
 *
 * Every copy here is a typed-array copy, column by column: moving a million
 * entities a second leaves no room for an object or a closure per entity.
 *
 * @module
 */

import type { Archetype } from "../core/archetype.ts";
import { ClusterId } from "../core/cluster_id.ts";
import { BoundError, SceneError, UsageError } from "../core/errors.ts";
import type { Scene } from "../core/scene.ts";
import { type ColumnConstructor, type Field, FIELD_TYPES, type Owner } from "../core/schema.ts";
import type { SparseStore } from "../core/sparse.ts";
import type { World } from "../core/world.ts";
import { PARTITIONS_MAX } from "./limits.ts";
import {
  addNow,
  archetypeFor,
  archetypeList,
  arena,
  checkUnlocked,
  entityTable,
  freeIndex,
  indexOfComponent,
  sceneComponents,
  sparseByIndex,
  sparseStores,
} from "../core/_world_internal.ts";
import {
  aligned,
  BatchError,
  checkBatch,
  type EntityBatch,
  type EntityGroup,
  type WordView,
  wordView,
} from "./batch.ts";

/**
 * The partition of key `key` among `partitions`: `((key % P) + P) % P`, so
 * negative keys spread like positive ones.
 *
 * @example
 * ```ts
 * import { partitionOf } from "./partition_map.ts";
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
    const store = world[sparseByIndex][world[indexOfComponent](owner)];
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
 * import { PartitionMap } from "./partition_map.ts";
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
    this.keyIndex = world[indexOfComponent](key.owner);
    this.idIndex = world[indexOfComponent](ClusterId);
    this.idField = ClusterId.id;
    this.ownersByName = new Map(world[sceneComponents].map((owner) => [owner.name, owner]));
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
    for (const archetype of [...world[archetypeList]]) {
      if (archetype.hasIndex(this.idIndex)) continue;
      const mask = archetype.chunkRows - 1;
      // From the last row, so each move takes the cheap end of swap-remove.
      while (archetype.count > 0) {
        const row = archetype.count - 1;
        world[addNow](archetype.chunkOf(row).entities[row & mask], this.idIndex);
      }
    }
    let given = 0;
    for (const archetype of world[archetypeList]) {
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
    for (const archetype of this.world[archetypeList]) {
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
    for (const archetype of this.world[archetypeList]) {
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
    const rows = this.selectedRows, targets = this.selectedTargets, table = this.world[entityTable];
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
    const table = this.world[entityTable], rows = this.selectedRows;
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
    // Field by field, through the loops of the field's class (core/_column_kernels.ts): one loop
    // storing into every field type would go megamorphic.
    const ids = archetype.fieldIds;
    for (let f = 0; f < ids.length; f++) {
      const id = ids[f], copy = archetype.kernels[f].copy;
      for (let m = 0; m < moves; m++) {
        const from = sources[m], to = targets[m];
        const into = chunks[to >>> shift].byField[id]!, out = chunks[from >>> shift].byField[id]!;
        copy(into, to & mask, out, from & mask, 1);
      }
    }
    archetype.setCount(count);
  }

  private layoutOf(archetype: Archetype): GroupLayout {
    let layout = this.layouts.get(archetype);
    if (layout !== undefined) return layout;
    const indices = archetype.hasIndex(this.idIndex)
      ? archetype.componentIndices
      : [...archetype.componentIndices, this.idIndex].sort((a, b) => a - b);
    const sparse = this.world[sparseStores].map((store) => store.index);
    const owners = [...indices, ...sparse].sort((a, b) => a - b).map((i) =>
      this.world[sceneComponents][i]
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
        this.world[indexOfComponent](this.ownersByName.get(name)!)
      ).filter((i) => this.world[sparseByIndex][i] === undefined);
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
    const table = this.world[entityTable];
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
        archetype.attachChunk(this.world[arena].allocate(archetype.chunkBytes, what));
      }
    }
  }
}

/** Takes handles for a planned group's rows and copies its columns in, chunk span by span. */
function writeGroup(world: World, plan: InsertPlan, idField: Field): void {
  const { archetype, group, columns } = plan;
  const table = world[entityTable], start = archetype.count, count = group.count;
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
  const table = world[entityTable], shift = archetype.chunkShift, mask = archetype.chunkRows - 1;
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
