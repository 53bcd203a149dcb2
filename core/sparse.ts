/**
 * Sparse storage: a component kept beside the archetype tables instead of in
 * them, for components that come and go often (a status, a selection, a
 * "dirty" mark). Per component, one presence byte per entity index and, per
 * field, one slot per entity index, all in SharedArrayBuffer memory, so that
 * adding or removing it writes a byte and moves no row, and every thread
 * reads the same memory. (A byte, not a bit: adding to a run of entities
 * then writes independent bytes, where bits of one word would be a chain of
 * read-modify-writes, twice as slow.)
 *
 * Queries match archetypes on table components only; a sparse component in
 * a query's `all` or `none` list is a per-row filter, which a system body
 * applies with `chunk.matches(i)` (a byte test per sparse term). Its fields
 * are per entity: `ctx.get(entity, Stunned.untilS)`, not chunk columns.
 *
 * Memory is fixed when the world is built: `(maxEntities + 1) * (1 + rowBytes)`
 * bytes per sparse component.
 *
 * @module
 */

import { type ColumnKernels, kernelsOf } from "./_column_kernels.ts";
import { type Column, FIELD_TYPES, type Owner } from "./schema.ts";

/** The presence bytes and field slots of one sparse component. */
export class SparseStore {
  readonly owner: Owner;
  /** The component's scene index. */
  readonly index: number;
  /** One byte per entity index: 1 where the entity has the component. */
  readonly present: Uint8Array;
  /** One column per field, indexed by entity index. */
  readonly columns: readonly Column[];
  /** The column loops of each field's class (see _column_kernels.ts). */
  private readonly kernels: readonly ColumnKernels[];
  /** The shared memory: the presence bytes, then one buffer per field. */
  readonly buffers: readonly SharedArrayBuffer[];

  /** A new store for `slots` entity indices, or (with `buffers`) a view of another thread's. */
  constructor(owner: Owner, index: number, slots: number, buffers?: readonly SharedArrayBuffer[]) {
    this.owner = owner;
    this.index = index;
    this.buffers = buffers ?? [
      new SharedArrayBuffer(slots),
      ...owner.fields.map((f) =>
        new SharedArrayBuffer(slots * FIELD_TYPES[f.type].BYTES_PER_ELEMENT)
      ),
    ];
    this.present = new Uint8Array(this.buffers[0]);
    this.columns = owner.fields.map((f, i) =>
      new FIELD_TYPES[f.type](this.buffers[i + 1], 0, slots)
    );
    this.kernels = owner.fields.map((f) => kernelsOf(f.type));
  }

  /** True if the entity at `index` has the component. */
  has(index: number): boolean {
    return this.present[index] !== 0;
  }

  /** Gives the entity at `index` the component, with zeroed fields; no-op if it has it. */
  add(index: number): void {
    if (this.present[index] !== 0) return;
    this.present[index] = 1;
    const columns = this.columns, kernels = this.kernels;
    for (let f = 0; f < columns.length; f++) kernels[f].zero(columns[f], index, 1);
  }

  /** Takes the component from the entity at `index`; no-op if it lacks it. */
  remove(index: number): void {
    this.present[index] = 0;
  }

  /** Forgets every entity's membership. */
  clear(): void {
    this.present.fill(0);
  }
}

/** Bytes a sparse store of `owner` takes for `slots` entity indices. */
export function sparseBytes(owner: Owner, slots: number): number {
  return slots * (1 + owner.rowBytes);
}

/**
 * The sparse terms of a query: the stores an entity must be in (`all`) and
 * those it must not be in (`none`).
 */
export class SparseFilter {
  readonly all: readonly SparseStore[];
  readonly none: readonly SparseStore[];
  /** The entity table's index mask: a handle's index is `handle & indexMask`. */
  private readonly indexMask: number;

  constructor(all: readonly SparseStore[], none: readonly SparseStore[], indexMask: number) {
    this.all = all;
    this.none = none;
    this.indexMask = indexMask;
  }

  /** True if the entity `handle` passes every term. */
  matches(handle: number): boolean {
    const index = handle & this.indexMask;
    const all = this.all, none = this.none;
    for (let s = 0; s < all.length; s++) if (!all[s].has(index)) return false;
    for (let s = 0; s < none.length; s++) if (none[s].has(index)) return false;
    return true;
  }
}
