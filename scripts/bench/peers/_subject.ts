/**
 * What every subject of `scripts/bench/ecs.ts` implements: StaticECS and each
 * peer library, one adapter file each in this folder.
 *
 * The cases are those of the standard JavaScript ECS benchmark
 * (noctjs/ecs-benchmark); one op is one frame. Every component holds one
 * 32-bit integer `value`, as there.
 *
 * - packed_5: 1,000 entities with A, B, C, D, E; five systems, each doubling
 *   one component's value.
 * - simple_iter: 1,000 entities each of (A,B), (A,B,C), (A,B,C,D), (A,B,C,E);
 *   three systems swapping the values of (A,B), (C,D) and (C,E).
 * - frag_iter: 26 component types A..Z, 100 entities of each, every one also
 *   with Data; one system doubles Data, another doubles Z.
 * - entity_cycle: 1,000 entities with A; each frame, one entity with B
 *   (value copied from A) is spawned per entity with A, then every entity
 *   with B is destroyed.
 * - add_remove: 1,000 entities with A; each frame, B is added to each, then
 *   removed from each.
 *
 * @module
 */

import type { Op } from "../_harness.ts";

/** The five cases, in the order they are run and printed. */
export const CASES = [
  "packed_5",
  "simple_iter",
  "frag_iter",
  "entity_cycle",
  "add_remove",
] as const;

/** A case name. */
export type CaseName = typeof CASES[number];

/** Entities per group of each case, as in the standard benchmark. */
export const CASE_COUNTS: Readonly<Record<CaseName, number>> = {
  packed_5: 1_000,
  simple_iter: 1_000,
  frag_iter: 100,
  entity_cycle: 1_000,
  add_remove: 1_000,
};

/**
 * Entity ids stay below this in every case, in the libraries that recycle
 * ids; a library that keeps values in arrays indexed by id (bitECS 0.4,
 * piecs) sizes them with it.
 */
export const ENTITY_IDS_MAX = 10_000;

/** The 26 component names of frag_iter. */
export const FRAG_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("");

/**
 * What `probe()` must return after the first frame of a fresh world, and
 * what it reads:
 * - packed_5: A of the first entity (set to 1 at setup, so 2);
 * - simple_iter: A of the first (A,B) entity (A 0 and B 1 at setup, so 1);
 * - frag_iter: Data of the first entity (1 at setup, so 2);
 * - entity_cycle, add_remove: entities with A plus entities with B (1,000:
 *   every B entity destroyed, every B removed).
 */
export const PROBE_AFTER_FIRST_FRAME: Readonly<Record<CaseName, number>> = {
  packed_5: 2,
  simple_iter: 1,
  frag_iter: 2,
  entity_cycle: 1_000,
  add_remove: 1_000,
};

/** One case set up in one subject. */
export interface CaseInstance {
  /** One frame. */
  readonly op: Op;
  /** The figure checked after the first frame; see PROBE_AFTER_FIRST_FRAME. */
  probe(): number;
  /** Frees the world, if the library has a way to. */
  close?(): void | Promise<void>;
}

/** A library measured by the ECS benchmark. */
export interface EcsSubject {
  /** As printed: the npm package name, short. */
  readonly name: string;
  /** The version measured. */
  readonly version: string;
  /** Builds a world for the case and returns its frame. */
  setup(name: CaseName): CaseInstance | Promise<CaseInstance>;
}
