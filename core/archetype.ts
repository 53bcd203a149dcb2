/**
 * Archetypes: one table per distinct set of components, stored
 * struct-of-arrays and cut into fixed-size chunks. A chunk is one block of
 * arena memory holding, for `chunkRows` rows, the entity handles and then one
 * column per field. Chunks are the unit of iteration and of parallel work.
 *
 * @module
 */

import type { AccessGate } from "./access.ts";
import type { Arena, Block } from "./memory.ts";
import {
  type Column,
  type ColumnOf,
  type Component,
  type Declared,
  type Field,
  FIELD_TYPES,
  type FieldType,
  type Owner,
  ownerOf,
  type ReadonlyColumn,
} from "./schema.ts";
import { UsageError } from "./errors.ts";
import { type ColumnKernels, kernelsOf } from "./_column_kernels.ts";

/** How a type error names a column the system may not read. */
type READ_HINT = " is not in this system's query, reads or writes";
/** How a type error names a column the system may not write. */
type WRITE_HINT = " is not in this system's writes (use chunk.read to read it)";

/**
 * A chunk as a system body sees it, typed from the system's declaration: `R`
 * names the components it may read, `W` those it may write (`string` where
 * the declaration allows anything). Reading a column it did not declare, or
 * writing one it declared only as read, is a type error, and throws a
 * UsageError at run time.
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const Velocity = defineComponent("Velocity", { x: "f32" });
 * export const move = defineSystem({
 *   name: "move",
 *   query: { all: [Position, Velocity] },
 *   writes: [Position],
 *   runChunk(chunk, ctx) {
 *     const x = chunk.write(Position.x), vx = chunk.read(Velocity.x);
 *     for (let i = 0; i < chunk.count; i++) x[i] += vx[i] * ctx.dt;
 *   },
 * });
 * ```
 */
export interface SystemChunk<R extends string = string, W extends string = string> {
  /** Rows in use: index columns from 0 to `count - 1`. */
  readonly count: number;
  /** The entity handle of each row. */
  readonly entities: ReadonlyColumn<Uint32Array>;
  /** Position of this chunk in its archetype. */
  readonly index: number;
  /** The chunk's archetype: its id, components and row count. */
  readonly archetype: ArchetypeInfo;
  /** The column of `field`, to read; the system must declare its component. */
  read<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, R, READ_HINT>,
  ): ReadonlyColumn<ColumnOf<T>>;
  /** The column of `field`, to write; the system must list its component in `writes`. */
  write<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, W, WRITE_HINT>,
  ): ColumnOf<T>;
  /** As `read`, or undefined where the chunk lacks the (optional) component. */
  readOptional<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, R, READ_HINT>,
  ): ReadonlyColumn<ColumnOf<T>> | undefined;
  /** As `write`, or undefined where the chunk lacks the (optional) component. */
  writeOptional<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, W, WRITE_HINT>,
  ): ColumnOf<T> | undefined;
  /** The same as `write`: a writable column. */
  column<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, W, WRITE_HINT>,
  ): ColumnOf<T>;
  /** The same as `writeOptional`. */
  optionalColumn<T extends FieldType, N extends string>(
    field: Field<T, N> & Declared<N, W, WRITE_HINT>,
  ): ColumnOf<T> | undefined;
  /** True if this chunk's archetype has the component. */
  has(component: Component): boolean;
  /**
   * True if row `i` passes the query's sparse components (in `all`: has
   * them; in `none`: lacks them). Always true for a query without any: test
   * it in the loop only when the query names a sparse component.
   */
  matches(i: number): boolean;
}

/**
 * A fixed-size block of rows of one archetype: what a system body iterates.
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const Velocity = defineComponent("Velocity", { x: "f32" });
 * defineSystem({
 *   name: "move",
 *   query: { all: [Position, Velocity] },
 *   reads: [Velocity],
 *   writes: [Position],
 *   runChunk(chunk, ctx) {
 *     const x = chunk.write(Position.x), vx = chunk.read(Velocity.x);
 *     for (let i = 0; i < chunk.count; i++) x[i] += vx[i] * ctx.dt;
 *   },
 * });
 * ```
 */
export class Chunk implements SystemChunk {
  /** The archetype this chunk belongs to. */
  readonly archetype: Archetype;
  /** Position of this chunk in its archetype. */
  readonly index: number;
  /** Rows in use, from 0 to chunkRows. */
  count = 0;
  /** The entity handle of each row. */
  readonly entities: Uint32Array;
  /** Columns by process-wide field id; undefined where the archetype lacks the field. */
  readonly byField: (Column | undefined)[];
  /** The shared memory segment of this chunk. */
  readonly buffer: SharedArrayBuffer;
  /** Position of that segment in the world's arena. */
  readonly segment: number;
  /** Byte offset of this chunk in its segment. */
  readonly byteOffset: number;
  private readonly gate: AccessGate;

  constructor(archetype: Archetype, index: number, block: Block, fieldIdLimit: number) {
    this.archetype = archetype;
    this.index = index;
    this.gate = archetype.gate;
    const rows = archetype.chunkRows;
    this.buffer = block.buffer;
    this.segment = block.segment;
    this.byteOffset = block.byteOffset;
    this.entities = new Uint32Array(this.buffer, this.byteOffset, rows);
    this.byField = new Array(fieldIdLimit).fill(undefined);
    let offset = this.byteOffset + rows * 4;
    for (const field of archetype.fields) {
      const Ctor = FIELD_TYPES[field.type];
      this.byField[field.id] = new Ctor(this.buffer, offset, rows);
      offset += rows * Ctor.BYTES_PER_ELEMENT;
    }
  }

  /** The column of `field`, to read. Throws if the chunk's archetype lacks the component. */
  read<T extends FieldType>(field: Field<T>): ReadonlyColumn<ColumnOf<T>> {
    this.gate.checkRead(field, "chunk.read");
    return this.present(field);
  }

  /** The column of `field`, to write. Throws if the chunk's archetype lacks the component. */
  write<T extends FieldType>(field: Field<T>): ColumnOf<T> {
    this.gate.checkWrite(field, "chunk.write");
    return this.present(field);
  }

  /** The column of `field` to read, or undefined where the component is absent. */
  readOptional<T extends FieldType>(field: Field<T>): ReadonlyColumn<ColumnOf<T>> | undefined {
    this.gate.checkRead(field, "chunk.readOptional");
    return this.byField[field.id] as ColumnOf<T> | undefined;
  }

  /** The column of `field` to write, or undefined where the component is absent. */
  writeOptional<T extends FieldType>(field: Field<T>): ColumnOf<T> | undefined {
    this.gate.checkWrite(field, "chunk.writeOptional");
    return this.byField[field.id] as ColumnOf<T> | undefined;
  }

  /** The same as `write`: the writable column of `field`. */
  column<T extends FieldType>(field: Field<T>): ColumnOf<T> {
    this.gate.checkWrite(field, "chunk.column");
    return this.present(field);
  }

  /** The same as `writeOptional`. */
  optionalColumn<T extends FieldType>(field: Field<T>): ColumnOf<T> | undefined {
    this.gate.checkWrite(field, "chunk.optionalColumn");
    return this.byField[field.id] as ColumnOf<T> | undefined;
  }

  /** True if this chunk's archetype has the component. */
  has(component: Component): boolean {
    return this.archetype.hasComponent(component);
  }

  /** True if row `i` passes the running system's query's sparse terms. */
  /** True if the system running on this thread filters rows on sparse components. */
  get filtered(): boolean {
    return this.gate.filter !== null;
  }

  matches(i: number): boolean {
    const filter = this.gate.filter;
    return filter === null || filter.matches(this.entities[i]);
  }

  private present<T extends FieldType>(field: Field<T>): ColumnOf<T> {
    const column = this.byField[field.id];
    if (column === undefined) throw missingColumn(this.archetype, field);
    return column as ColumnOf<T>;
  }
}

function missingColumn(archetype: Archetype, field: Field): Error {
  if (field.owner.storage === "sparse") {
    return new UsageError(
      `${field.owner.name} is stored sparse: its fields are per entity, not chunk columns; ` +
        `read one with ctx.get(entity, ${field.owner.name}.${field.name})`,
    );
  }
  return new UsageError(
    `chunk of archetype ${archetype} has no column ${field.owner.name}.${field.name}; ` +
      `put ${field.owner.name} in the query's all list, or use chunk.readOptional() or ` +
      `chunk.writeOptional() for an optional component`,
  );
}

/**
 * Bytes left unused at the end of every chunk, so that chunks allocated one
 * after another do not start at the same offset modulo 4 KiB: a chunk's
 * bytes are usually a multiple of 4 KiB (1,024 rows of 4-byte columns), and
 * then the same column of every chunk maps to the same L1 cache sets, which
 * a loop over many small chunks keeps evicting. Measured on Deno over the 27
 * chunks of the ECS benchmark's frag_iter: the same loops took 1,080 ns over
 * columns all at offset 0 modulo 4 KiB and 988 ns over staggered ones. One
 * cache line keeps every column 64-byte aligned.
 */
const CHUNK_STAGGER_BYTES = 64;

/**
 * What a system body may know of an archetype.
 *
 * @example
 * ```ts
 * import type { ArchetypeInfo } from "staticecs/backend";
 * const label = (archetype: ArchetypeInfo) => `#${archetype.id} ${archetype}: ${archetype.count} rows`;
 * ```
 */
export interface ArchetypeInfo {
  /** Position in the world's archetype list (part of the random stream key). */
  readonly id: number;
  /** Components, in scene order. */
  readonly components: readonly Owner[];
  /** Rows in use across all chunks. */
  readonly count: number;
  /** The component names, as `[Position, Velocity]`. */
  toString(): string;
}

/** A table of entities that have exactly the same components. */
export class Archetype implements ArchetypeInfo {
  readonly id: number;
  /** Components, ordered by their index in the scene. */
  readonly components: readonly Owner[];
  /** Scene indices of the components, ascending. */
  readonly componentIndices: readonly number[];
  /** Bitset of scene component indices. */
  readonly mask: Uint32Array;
  /** Every field of every component, in component order. */
  readonly fields: readonly Field[];
  /** The ids of `fields`, for loops that only index columns. */
  readonly fieldIds: readonly number[];
  /** The bulk column loops for each of `fields` (see _column_kernels.ts). */
  readonly kernels: readonly ColumnKernels[];
  readonly chunkRows: number;
  readonly chunkShift: number;
  readonly chunkBytes: number;
  readonly chunks: Chunk[] = [];
  /** Rows in use across all chunks. */
  count = 0;
  /** Cached transitions by scene component index. */
  readonly addEdges: (Archetype | undefined)[] = [];
  readonly removeEdges: (Archetype | undefined)[] = [];
  /** The world's gate: what the system running on this thread may touch. */
  readonly gate: AccessGate;
  private readonly arena: Arena;
  private readonly fieldIdLimit: number;

  constructor(
    id: number,
    components: readonly Owner[],
    componentIndices: readonly number[],
    maskWords: number,
    chunkRows: number,
    arena: Arena,
    fieldIdLimit: number,
    gate: AccessGate,
  ) {
    this.id = id;
    this.gate = gate;
    this.components = components;
    this.componentIndices = componentIndices;
    this.mask = new Uint32Array(maskWords);
    for (const index of componentIndices) this.mask[index >>> 5] |= 1 << (index & 31);
    this.fields = components.flatMap((c) => c.fields);
    this.fieldIds = this.fields.map((f) => f.id);
    this.kernels = this.fields.map((f) => kernelsOf(f.type));
    this.chunkRows = chunkRows;
    this.chunkShift = 31 - Math.clz32(chunkRows);
    const rowBytes = components.reduce((sum, c) => sum + c.rowBytes, 4);
    this.chunkBytes = rowBytes * chunkRows + CHUNK_STAGGER_BYTES;
    this.arena = arena;
    this.fieldIdLimit = fieldIdLimit;
  }

  /** True if the archetype's mask has scene component index `index`. */
  hasIndex(index: number): boolean {
    return (this.mask[index >>> 5] & (1 << (index & 31))) !== 0;
  }

  /** True if the archetype has the component. */
  hasComponent(component: Component): boolean {
    return this.components.includes(ownerOf(component));
  }

  /**
   * Appends a row for `entity` and returns its row number; its fields are
   * zeroed unless `zeroed` is false (the caller writes every field).
   */
  pushRow(entity: number, zeroed = true): number {
    const row = this.count;
    const chunkIndex = row >>> this.chunkShift;
    if (chunkIndex === this.chunks.length) {
      this.attachChunk(this.arena.allocate(this.chunkBytes, `a chunk of archetype ${this}`));
    }
    const chunk = this.chunks[chunkIndex];
    const local = row & (this.chunkRows - 1);
    chunk.entities[local] = entity;
    if (zeroed) {
      const ids = this.fieldIds, kernels = this.kernels;
      for (let f = 0; f < ids.length; f++) kernels[f].zero(chunk.byField[ids[f]]!, local, 1);
    }
    chunk.count = local + 1;
    this.count = row + 1;
    return row;
  }

  /**
   * Removes `row` by moving the last row into it. Returns the entity handle
   * that moved into `row`, or 0 if `row` was the last row.
   */
  swapRemove(row: number): number {
    const last = this.count - 1;
    const lastChunk = this.chunks[last >>> this.chunkShift];
    const lastLocal = last & (this.chunkRows - 1);
    let moved = 0;
    if (row !== last) {
      const chunk = this.chunks[row >>> this.chunkShift];
      const local = row & (this.chunkRows - 1);
      moved = lastChunk.entities[lastLocal];
      chunk.entities[local] = moved;
      const ids = this.fieldIds, kernels = this.kernels;
      for (let f = 0; f < ids.length; f++) {
        kernels[f].copy(chunk.byField[ids[f]]!, local, lastChunk.byField[ids[f]]!, lastLocal, 1);
      }
    }
    lastChunk.count = lastLocal;
    this.count = last;
    return moved;
  }

  /**
   * Appends `rows` rows whose contents the caller writes, taking the chunks
   * they need first (so if memory runs out, nothing has changed); returns the
   * first new row.
   */
  growBy(rows: number): number {
    const first = this.count;
    const chunksNeeded = (first + rows + this.chunkRows - 1) >>> this.chunkShift;
    while (this.chunks.length < chunksNeeded) {
      this.attachChunk(this.arena.allocate(this.chunkBytes, `a chunk of archetype ${this}`));
    }
    this.setCount(first + rows);
    return first;
  }

  /** Appends a chunk over `block`: a new one, or (on a worker) one the main thread made. */
  attachChunk(block: Block): Chunk {
    const chunk = new Chunk(this, this.chunks.length, block, this.fieldIdLimit);
    this.chunks.push(chunk);
    this.arena.chunkLayoutVersion++;
    return chunk;
  }

  /** Sets the row count and every chunk's count from it (on a worker, from the shared count). */
  setCount(rows: number): void {
    this.count = rows;
    for (let c = 0; c < this.chunks.length; c++) {
      const left = rows - c * this.chunkRows;
      this.chunks[c].count = left <= 0 ? 0 : left >= this.chunkRows ? this.chunkRows : left;
    }
  }

  /** The chunk holding `row`. */
  chunkOf(row: number): Chunk {
    return this.chunks[row >>> this.chunkShift];
  }

  /** Rows of the archetype as `[Position, Velocity]`. */
  toString(): string {
    return `[${this.components.map((c) => c.name).join(", ")}]`;
  }
}
