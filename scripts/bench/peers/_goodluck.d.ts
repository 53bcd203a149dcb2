/**
 * Types for goodluck 7.0.0 (the minimal core of the Goodluck game template,
 * published for benchmarks), which ships JavaScript only; as its index.cjs
 * and README describe it.
 *
 * @module
 */

/** A world: one signature (a bit per component) per entity, and the ids free for reuse. */
export declare class WorldImpl {
  Signature: number[];
  Graveyard: number[];
  /** Reuses an id from the graveyard, or appends a signature of 0. */
  CreateEntity(): number;
  /** Clears the entity's signature and puts its id in the graveyard. */
  DestroyEntity(entity: number): void;
}

/** Sets one component of an entity: its bit in the signature and its data. */
export type Mixin<W extends WorldImpl> = (world: W, entity: number) => void;

/** Creates an entity and applies each mixin to it. */
export declare function instantiate<W extends WorldImpl>(world: W, blueprint: Mixin<W>[]): number;
