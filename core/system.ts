/**
 * Systems: named functions with declared access. A system with a query has a
 * `runChunk(chunk, ctx)` body called once per matching chunk, a plain indexed
 * loop over typed-array columns; a system without one has `run(ctx)`, called
 * once per tick.
 *
 * `reads` and `writes` list the components, resources and event types a
 * system touches; the schedule runs systems whose access does not conflict in
 * the same stage. A system that declares neither is "undeclared" and
 * conflicts with everything. Workers import the same module and find systems
 * by name, so a system must not close over mutable module state.
 *
 * @module
 */

import type { Chunk, SystemChunk } from "./archetype.ts";
import { SceneError } from "./errors.ts";
import type { QuerySpec } from "./query.ts";
import {
  type Component,
  type EventType,
  isOwned,
  type NameOf,
  type Owner,
  ownerOf,
  type Resource,
} from "./schema.ts";
import type { SystemContext } from "./context.ts";
import type { IoCompletion } from "./io.ts";

/**
 * Something a system may read or write.
 *
 * @example
 * ```ts
 * import { type Access, defineComponent, defineEvent, defineResource } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const Score = defineResource("Score", { points: "u32" });
 * const Hit = defineEvent("Hit", { damage: "f32" });
 * const touched: Access[] = [Position, Score, Hit];
 * ```
 */
export type Access = Component | Resource | EventType;

/** A `reads` or `writes` list, or undefined where the system leaves it out. */
export type AccessList = readonly Access[] | undefined;

type NamesIn<L> = L extends readonly (infer A)[] ? NameOf<A> : never;
type QueryNames<Q, K extends string> = Q extends { readonly [P in K]?: infer L } ? NamesIn<L>
  : never;
type Undeclared<RL, WL> = [RL, WL] extends [undefined, undefined] ? true : false;

/** Names a system may write: its `writes`, or anything if it declares nothing. */
export type WritableNames<RL, WL> = Undeclared<RL, WL> extends true ? string : NamesIn<WL>;

/** Names a system may read: query all/optional, `reads` and `writes`, or anything. */
export type ReadableNames<Q, RL, WL> = Undeclared<RL, WL> extends true ? string
  :
    | QueryNames<Q, "all">
    | QueryNames<Q, "optional">
    | NamesIn<RL>
    | NamesIn<WL>;

/** The context type of a system declared with query `Q`, reads `RL` and writes `WL`. */
export type ContextOf<Q, RL, WL> = SystemContext<ReadableNames<Q, RL, WL>, WritableNames<RL, WL>>;

/**
 * How a system is declared. The type parameters are inferred from `query`,
 * `reads` and `writes`, and type the bodies' chunk and context, so that
 * access the declaration does not allow is a type error.
 *
 * @example
 * ```ts
 * import { defineSystem } from "staticecs";
 * // A SystemSpec: a name, what it touches, and a body.
 * const count = defineSystem({ name: "count", phase: "post_update", run(ctx) {
 *   if (ctx.tick % 60 === 0) console.log(`tick ${ctx.tick}`);
 * } });
 * ```
 */
export interface SystemSpec<
  Q extends QuerySpec = QuerySpec,
  RL extends AccessList = AccessList,
  WL extends AccessList = AccessList,
> {
  /** Unique in the scene; workers find the system by it. */
  readonly name: string;
  /** Phase to run in; "update" if omitted. */
  readonly phase?: string;
  /** Entities to iterate; with a query, give `runChunk`. */
  readonly query?: Q;
  /** Components, resources and event types read. */
  readonly reads?: RL;
  /** Components, resources and event types written (emitted, for events). */
  readonly writes?: WL;
  /** Names of systems of the same phase this one must run before. */
  readonly before?: readonly string[];
  /** Names of systems of the same phase this one must run after. */
  readonly after?: readonly string[];
  /**
   * Relative cost of the body per entity (per call for a `run` system), 1 if
   * omitted. A parallel backend spreads a stage over threads only when its
   * entities times cost reach its threshold: give heavy bodies a higher cost.
   */
  readonly cost?: number;
  /**
   * True if the system records I/O through `ctx.io`; its completions come
   * to `onIo` before the next phase. I/O systems run on the calling thread.
   */
  readonly io?: boolean;
  /** Receives each completion of this system's I/O intents (one reused object). */
  readonly onIo?: (completion: IoCompletion, ctx: ContextOf<Q, RL, WL>) => void;
  /** Body of a system without a query: once per tick. */
  readonly run?: (ctx: ContextOf<Q, RL, WL>) => void;
  /** Body of a system with a query: once per non-empty matching chunk. */
  readonly runChunk?: (
    chunk: SystemChunk<ReadableNames<Q, RL, WL>, WritableNames<RL, WL>>,
    ctx: ContextOf<Q, RL, WL>,
  ) => void;
}

/**
 * A checked system declaration, its bodies' types widened so that any scene can list it.
 *
 * @example
 * ```ts
 * import { defineScene, defineSystem, type System } from "staticecs";
 * const tick: System = defineSystem({ name: "tick", run() {} });
 * const scene = defineScene({ components: [], systems: [tick] });
 * ```
 */
export interface System {
  readonly name: string;
  readonly phase?: string;
  readonly query?: QuerySpec;
  readonly reads?: readonly Access[];
  readonly writes?: readonly Access[];
  readonly before?: readonly string[];
  readonly after?: readonly string[];
  readonly cost?: number;
  readonly io?: boolean;
  readonly onIo?: (completion: IoCompletion, ctx: SystemContext) => void;
  readonly run?: (ctx: SystemContext) => void;
  readonly runChunk?: (chunk: Chunk, ctx: SystemContext) => void;
  readonly __system: true;
}

/** What a system touches, resolved to owners. */
export interface AccessSet {
  readonly undeclared: boolean;
  readonly reads: ReadonlySet<Owner>;
  readonly writes: ReadonlySet<Owner>;
}

/**
 * Declares a system.
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * const Position = defineComponent("Position", { x: "f32" });
 * const Velocity = defineComponent("Velocity", { x: "f32" });
 * export const move = defineSystem({
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
export function defineSystem<
  const Q extends QuerySpec = Record<never, never>,
  const RL extends AccessList = undefined,
  const WL extends AccessList = undefined,
>(spec: SystemSpec<Q, RL, WL>): System {
  const where = `system ${JSON.stringify(spec?.name)}`;
  if (spec === null || typeof spec !== "object") {
    throw new SceneError(`defineSystem takes an object such as { name, run }; got ${spec}`);
  }
  if (typeof spec.name !== "string" || spec.name.length === 0) {
    throw new SceneError(`defineSystem: name must be a non-empty string; got ${spec.name}`);
  }
  if (spec.query !== undefined && typeof spec.runChunk !== "function") {
    throw new SceneError(`${where} has a query, so it needs runChunk(chunk, ctx)`);
  }
  if (spec.query === undefined && typeof spec.run !== "function") {
    throw new SceneError(`${where} needs run(ctx), or a query and runChunk(chunk, ctx)`);
  }
  if (spec.query !== undefined && spec.run !== undefined) {
    throw new SceneError(`${where} has both run and runChunk; keep one`);
  }
  if (spec.onIo !== undefined && spec.io !== true) {
    throw new SceneError(`${where} has onIo but does not declare io: true`);
  }
  if (spec.cost !== undefined && !(Number.isFinite(spec.cost) && spec.cost > 0)) {
    throw new SceneError(`${where}: cost must be a positive number; got ${spec.cost}`);
  }
  for (const key of ["reads", "writes"] as const) {
    for (const item of spec[key] ?? []) {
      if (!isOwned(item, "component") && !isOwned(item, "resource") && !isOwned(item, "event")) {
        throw new SceneError(
          `${where}: ${key} lists ${String(item)}, not a component, ` +
            `resource or event type`,
        );
      }
    }
  }
  for (const key of ["all", "none", "optional"] as const) {
    for (const item of spec.query?.[key] ?? []) {
      if (!isOwned(item, "component")) {
        throw new SceneError(`${where}: query.${key} lists ${String(item)}, not a component`);
      }
    }
  }
  return Object.freeze({
    ...spec,
    phase: spec.phase ?? "update",
    __system: true as const,
  }) as unknown as System;
}

/** The access of a system; query components count as reads unless written. */
export function accessOf(system: System): AccessSet {
  const undeclared = system.reads === undefined && system.writes === undefined;
  const writes = new Set((system.writes ?? []).map(ownerOf));
  const reads = new Set((system.reads ?? []).map(ownerOf));
  for (const c of [...(system.query?.all ?? []), ...(system.query?.optional ?? [])]) {
    const owner = ownerOf(c);
    if (!writes.has(owner)) reads.add(owner);
  }
  return { undeclared, reads, writes };
}

/** True if two systems may not run at the same time. */
export function conflicts(a: AccessSet, b: AccessSet): boolean {
  if (a.undeclared || b.undeclared) return true;
  for (const owner of a.writes) if (b.writes.has(owner) || b.reads.has(owner)) return true;
  for (const owner of b.writes) if (a.reads.has(owner)) return true;
  return false;
}
