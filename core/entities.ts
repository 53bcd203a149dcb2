/**
 * Entity handles: a 32-bit number packing an index (low bits) and a
 * generation (high bits). Index 0 is never allocated, so handle 0 is the
 * null entity and a zeroed entity field means "none".
 *
 * A despawn bumps the index's generation, so old handles stop matching. When
 * an index's generation would wrap, the index is retired instead of reused:
 * a stale handle is never silently aliased. Freed indices are reused first
 * in first-out order, which spreads reuse over all of them.
 *
 * @module
 */

import { BoundError, StaleEntityError } from "./errors.ts";

/** A field, as far as messages need it. */
export interface NamedField {
  readonly name: string;
  readonly owner: { readonly name: string };
}

/** `op` and its subject as one phrase for an error message: "set Position.x". */
export function describeOp(op: string, subject: string | NamedField): string {
  return op + (typeof subject === "string" ? subject : `${subject.owner.name}.${subject.name}`);
}

/**
 * The null entity: no entity has this handle.
 *
 * @example
 * ```ts
 * import { defineComponent, NULL_ENTITY, World } from "staticecs";
 * const Target = defineComponent("Target", { entity: "entity" });
 * const world = new World({ components: [Target] });
 * const e = world.spawn([Target, { entity: NULL_ENTITY }]); // targets nothing yet
 * ```
 */
export const NULL_ENTITY = 0;

/** The shared memory of an entity table, to attach to from another thread. */
export interface EntityMemory {
  readonly generation: SharedArrayBuffer;
  readonly archetype: SharedArrayBuffer;
  readonly row: SharedArrayBuffer;
}

/**
 * Storage of entity locations and generations, in SharedArrayBuffer memory.
 * Only the thread that made it allocates and frees; views on other threads
 * read locations and check handles.
 */
export class EntityTable {
  readonly memory: EntityMemory;
  readonly maxEntities: number;
  readonly indexBits: number;
  readonly indexMask: number;
  readonly generationLimit: number;
  /** Generation of each index. */
  readonly generation: Uint32Array;
  /** Archetype of each index, or -1 when free. */
  readonly archetype: Int32Array;
  /** Row of each index within its archetype. */
  readonly row: Int32Array;
  /** Freed indices, a first-in first-out ring (empty on views). */
  readonly freeRing: Uint32Array;
  freeHead = 0;
  freeCount = 0;
  /** Next never-used index. */
  nextFresh = 1;
  alive = 0;
  retired = 0;

  /** A new table, or (with `memory`) a view of one another thread made. */
  constructor(maxEntities: number, memory?: EntityMemory) {
    this.maxEntities = maxEntities;
    this.indexBits = Math.max(8, 32 - Math.clz32(maxEntities));
    this.indexMask = 2 ** this.indexBits - 1;
    this.generationLimit = 2 ** (32 - this.indexBits);
    const slots = maxEntities + 1;
    const fresh = memory === undefined;
    this.memory = memory ?? {
      generation: new SharedArrayBuffer(slots * 4),
      archetype: new SharedArrayBuffer(slots * 4),
      row: new SharedArrayBuffer(slots * 4),
    };
    this.generation = new Uint32Array(this.memory.generation);
    this.archetype = new Int32Array(this.memory.archetype);
    if (fresh) this.archetype.fill(-1);
    this.row = new Int32Array(this.memory.row);
    this.freeRing = new Uint32Array(fresh ? slots : 0);
  }

  /** Packs an index and generation (bit operations: the generation fits above the index). */
  handle(index: number, generation: number): number {
    return ((generation << this.indexBits) | index) >>> 0;
  }

  /** The index of a handle. */
  indexOf(entity: number): number {
    return (entity >>> 0) & this.indexMask;
  }

  /** True if `entity` names a live entity of this table. */
  isAlive(entity: number): boolean {
    if (!Number.isInteger(entity) || entity <= 0 || entity > 0xffffffff) return false;
    const index = entity & this.indexMask;
    if (index === 0 || index > this.maxEntities || this.archetype[index] < 0) return false;
    return this.handle(index, this.generation[index]) === entity;
  }

  /**
   * Returns the index of a live entity, or throws a StaleEntityError naming
   * the operation: `op` followed by `subject` (a name, or a field as
   * `Owner.field`), joined only when it throws, so the check allocates nothing.
   */
  require(entity: number, op: string, subject: string | NamedField = ""): number {
    if (!this.isAlive(entity)) throw new StaleEntityError(entity, describeOp(op, subject));
    return entity & this.indexMask;
  }

  /** How many more entities `allocate` can hand out before maxEntities is hit. */
  get available(): number {
    return this.freeCount + (this.maxEntities + 1 - this.nextFresh);
  }

  /** Takes a free index and returns its handle; the caller places it in an archetype. */
  allocate(): number {
    let index: number;
    if (this.freeCount > 0) {
      index = this.freeRing[this.freeHead];
      this.freeHead = this.freeHead + 1 === this.freeRing.length ? 0 : this.freeHead + 1;
      this.freeCount--;
    } else if (this.nextFresh <= this.maxEntities) {
      index = this.nextFresh++;
    } else {
      throw new BoundError(
        "maxEntities",
        this.maxEntities,
        `entity limit reached: ${this.alive} alive and ${this.retired} retired of maxEntities ` +
          `${this.maxEntities}; raise config.maxEntities or despawn entities first`,
      );
    }
    this.alive++;
    return this.handle(index, this.generation[index]);
  }

  /**
   * Takes `n` indices as `n` calls of `allocate` would and places them at
   * rows `firstRow...` of `archetype`: their handles go to `into[at...]`.
   * The caller checked `available`.
   */
  allocateRun(
    into: Uint32Array,
    at: number,
    n: number,
    archetype: number,
    firstRow: number,
  ): void {
    const ring = this.freeRing, generation = this.generation, bits = this.indexBits;
    const archetypeOf = this.archetype, rowOf = this.row;
    let head = this.freeHead, free = this.freeCount, fresh = this.nextFresh;
    for (let k = 0; k < n; k++) {
      let index: number;
      if (free > 0) {
        index = ring[head];
        head = head + 1 === ring.length ? 0 : head + 1;
        free--;
      } else {
        index = fresh++;
      }
      into[at + k] = ((generation[index] << bits) | index) >>> 0;
      archetypeOf[index] = archetype;
      rowOf[index] = firstRow + k;
    }
    this.freeHead = head;
    this.freeCount = free;
    this.nextFresh = fresh;
    this.alive += n;
  }

  /** Frees the index of a live entity; its old handles become stale. */
  free(index: number): void {
    this.archetype[index] = -1;
    this.alive--;
    const next = this.generation[index] + 1;
    if (next >= this.generationLimit) {
      this.retired++;
      return;
    }
    this.generation[index] = next;
    let tail = this.freeHead + this.freeCount;
    if (tail >= this.freeRing.length) tail -= this.freeRing.length;
    this.freeRing[tail] = index;
    this.freeCount++;
  }

  /** Frees the indices of the live handles `handles[from, to)`, as `free` one at a time. */
  freeAll(handles: Uint32Array, from: number, to: number): void {
    const mask = this.indexMask, limit = this.generationLimit, ring = this.freeRing;
    const generation = this.generation, archetype = this.archetype;
    let tail = this.freeHead + this.freeCount;
    if (tail >= ring.length) tail -= ring.length;
    let freed = 0;
    for (let i = from; i < to; i++) {
      const index = handles[i] & mask;
      archetype[index] = -1;
      const next = generation[index] + 1;
      if (next >= limit) {
        this.retired++;
        continue;
      }
      generation[index] = next;
      ring[tail] = index;
      tail = tail + 1 === ring.length ? 0 : tail + 1;
      freed++;
    }
    this.freeCount += freed;
    this.alive -= to - from;
  }

  /** Forgets every entity. */
  clear(): void {
    // Indices from nextFresh on were never handed out and still hold their first values, so a
    // restore into a new world (as the CLI does after setup) touches no page it does not need:
    // first touches of SharedArrayBuffer pages cost about 20 ms for a million entities.
    this.generation.fill(0, 0, this.nextFresh);
    this.archetype.fill(-1, 0, this.nextFresh);
    this.freeHead = 0;
    this.freeCount = 0;
    this.nextFresh = 1;
    this.alive = 0;
    this.retired = 0;
  }
}
