/**
 * Snapshots: a world serialized to bytes and restored exactly, handles,
 * generations, free list, archetype order, component values, resources,
 * events and reader cursors included, so a restored world runs on exactly
 * as the original would have.
 *
 * Layout (little-endian): magic "SECS", version, schema fingerprint, tick
 * count, bounds, entity table, archetypes with their rows column by column,
 * resources, event queues, reader cursors.
 *
 * @module
 */

import { formatEntity, SceneError } from "./errors.ts";
import { Digest } from "./checksum.ts";
import type { Column, Owner } from "./schema.ts";
import type { World } from "./world.ts";
import {
  archetypeFor,
  archetypeList,
  clearEntities,
  entityTable,
  eventQueues,
  readerCursors,
  resourceStores,
  sceneComponents,
  sparseStores,
} from "./_world_internal.ts";

const MAGIC = 0x53434553;
/** 2: sparse components after the archetypes; 3: their presence as a byte per entity. */
const VERSION = 3;

/** Serializes a world and the runtime's tick count. */
export function snapshotWorld(world: World, ticks: number): Uint8Array {
  const out = new Writer();
  out.u32(MAGIC).u32(VERSION).u32(fingerprint(world)).f64(ticks);
  out.u32(world.config.maxEntities).u32(world.config.chunkRows);
  const table = world[entityTable];
  out.u32(table.nextFresh).u32(table.retired).u32(table.alive).u32(table.freeCount);
  out.column(table.generation, table.nextFresh);
  for (let i = 0; i < table.freeCount; i++) {
    out.u32(table.freeRing[(table.freeHead + i) % table.freeRing.length]);
  }
  out.u32(world[archetypeList].length);
  for (const archetype of world[archetypeList]) {
    out.u32(archetype.componentIndices.length);
    for (const index of archetype.componentIndices) out.u32(index);
    out.u32(archetype.count);
    for (const chunk of archetype.chunks) {
      if (chunk.count === 0) break;
      out.column(chunk.entities, chunk.count);
      for (const field of archetype.fields) out.column(chunk.byField[field.id]!, chunk.count);
    }
  }
  for (const store of world[sparseStores]) {
    out.column(store.present, table.nextFresh);
    for (const column of store.columns) out.column(column, table.nextFresh);
  }
  for (const store of world[resourceStores].values()) out.bytes(store.bytes());
  for (const queue of world[eventQueues].values()) {
    for (const buffer of [queue.previous, queue.current]) {
      out.f64(buffer.baseSeq).u32(buffer.count);
      for (const column of buffer.columns) out.column(column, buffer.count);
    }
  }
  out.u32(world[readerCursors].size);
  for (const [key, seq] of world[readerCursors]) out.text(key).f64(seq);
  return out.finish();
}

/** Restores a snapshot into a world built from the same scene; returns the tick count. */
export function restoreWorld(world: World, bytes: Uint8Array): number {
  const input = new Reader(bytes);
  if (input.u32() !== MAGIC) throw snapshotError("it does not start with the StaticECS magic");
  const version = input.u32();
  if (version !== VERSION) throw snapshotError(`version ${version}; this build reads ${VERSION}`);
  if (input.u32() !== fingerprint(world)) {
    throw snapshotError("it was made from a scene with other components, resources or events");
  }
  const ticks = input.f64();
  const maxEntities = input.u32();
  const chunkRows = input.u32();
  if (maxEntities !== world.config.maxEntities || chunkRows !== world.config.chunkRows) {
    throw snapshotError(
      `it has maxEntities ${maxEntities} and chunkRows ${chunkRows}; this world has ` +
        `${world.config.maxEntities} and ${world.config.chunkRows}`,
    );
  }
  world[clearEntities]();
  restoreEntityTable(world, input);
  restoreArchetypes(world, input);
  for (const store of world[sparseStores]) {
    input.columnInto(store.present, world[entityTable].nextFresh);
    for (const column of store.columns) input.columnInto(column, world[entityTable].nextFresh);
  }
  const rows = world[archetypeList].reduce((sum, archetype) => sum + archetype.count, 0);
  if (rows !== world[entityTable].alive) {
    throw snapshotError(`it counts ${world[entityTable].alive} live entities but stores ${rows}`);
  }
  for (const store of world[resourceStores].values()) input.bytesInto(store.bytes());
  for (const queue of world[eventQueues].values()) {
    for (const buffer of [queue.previous, queue.current]) {
      buffer.baseSeq = input.f64();
      buffer.count = input.count(queue.capacity, "event count");
      for (const column of buffer.columns) input.columnInto(column, buffer.count);
    }
  }
  world[readerCursors].clear();
  const cursors = input.count(1 << 20, "reader cursors");
  for (let i = 0; i < cursors; i++) world[readerCursors].set(input.text(), input.f64());
  if (!input.atEnd()) throw snapshotError("it has bytes after its end");
  return ticks;
}

function restoreEntityTable(world: World, input: Reader): void {
  const table = world[entityTable];
  table.nextFresh = input.count(table.maxEntities + 1, "next index");
  table.retired = input.u32();
  table.alive = input.u32();
  table.freeCount = input.count(table.maxEntities, "free list length");
  input.columnInto(table.generation, table.nextFresh);
  table.freeHead = 0;
  for (let i = 0; i < table.freeCount; i++) {
    table.freeRing[i] = input.count(table.nextFresh - 1, "free list entry");
  }
}

function restoreArchetypes(world: World, input: Reader): void {
  const table = world[entityTable];
  const count = input.count(world.config.maxArchetypes, "archetype count");
  for (let a = 0; a < count; a++) {
    const indices: number[] = [];
    const length = input.count(world[sceneComponents].length, "component count");
    for (let i = 0; i < length; i++) {
      indices.push(input.count(world[sceneComponents].length - 1, "component"));
    }
    const archetype = world[archetypeFor](indices);
    if (archetype.id !== a) throw snapshotError(`archetype ${a} is a duplicate`);
    const rows = input.count(table.maxEntities, "row count");
    for (let row = 0; row < rows; row++) archetype.pushRow(0);
    for (const chunk of archetype.chunks) {
      input.columnInto(chunk.entities, chunk.count);
      for (const field of archetype.fields) input.columnInto(chunk.byField[field.id]!, chunk.count);
      for (let local = 0; local < chunk.count; local++) {
        const entity = chunk.entities[local];
        const index = table.indexOf(entity);
        const known = index > 0 && index < table.nextFresh && table.archetype[index] < 0;
        if (!known || table.handle(index, table.generation[index]) !== entity) {
          throw snapshotError(
            `entity ${formatEntity(entity)} in archetype ${archetype} is not a live handle of ` +
              `its entity table (unused, stale or stored twice)`,
          );
        }
        table.archetype[index] = a;
        table.row[index] = chunk.index * archetype.chunkRows + local;
      }
    }
  }
}

function snapshotError(why: string): SceneError {
  return new SceneError(`snapshot cannot be restored: ${why}`);
}

/** A digest of the world's schema: names and field types of components, resources, events. */
function fingerprint(world: World): number {
  const digest = new Digest();
  const owners: Owner[] = [
    ...world[sceneComponents],
    ...world[resourceStores].keys(),
    ...world[eventQueues].keys(),
  ];
  for (const owner of owners) {
    const fields = owner.fields.map((f) => `${f.name}:${f.type}`);
    const sparse = owner.storage === "sparse" ? ":sparse" : "";
    const text = `${owner.kind}:${owner.name}${sparse}{${fields}}`;
    for (let i = 0; i < text.length; i++) digest.word(text.charCodeAt(i));
  }
  return parseInt(digest.hex().slice(8), 16) >>> 0;
}

class Writer {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  private offset = 0;

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  f64(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
    return this;
  }

  /** The first `count` elements' bytes, padded to 4. */
  column(column: Column, count: number): this {
    return this.bytes(
      new Uint8Array(column.buffer, column.byteOffset, count * column.BYTES_PER_ELEMENT),
    );
  }

  bytes(bytes: Uint8Array): this {
    const padded = (bytes.length + 3) & ~3;
    this.reserve(padded);
    this.buffer.set(bytes, this.offset);
    this.offset += padded;
    return this;
  }

  text(value: string): this {
    const bytes = new TextEncoder().encode(value);
    return this.u32(bytes.length).bytes(bytes);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.offset);
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.offset + bytes));
    grown.set(this.buffer.subarray(0, this.offset));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

class Reader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f64(): number {
    this.need(8);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A u32 that must not exceed `max`. */
  count(max: number, what: string): number {
    const value = this.u32();
    if (value > max) throw snapshotError(`${what} ${value} is over ${max}`);
    return value;
  }

  columnInto(column: Column, count: number): void {
    this.bytesInto(
      new Uint8Array(column.buffer, column.byteOffset, count * column.BYTES_PER_ELEMENT),
    );
  }

  bytesInto(target: Uint8Array): void {
    const padded = (target.length + 3) & ~3;
    this.need(padded);
    target.set(this.bytes.subarray(this.offset, this.offset + target.length));
    this.offset += padded;
  }

  text(): string {
    const length = this.count(1 << 16, "text length");
    const target = new Uint8Array(length);
    this.bytesInto(target);
    return new TextDecoder().decode(target);
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.bytes.length) {
      throw snapshotError(`it is truncated at byte ${this.offset} of ${this.bytes.length}`);
    }
  }
}
