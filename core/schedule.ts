/**
 * The schedule: phases run in order; inside a phase, systems form a DAG
 * from access conflicts (the earlier-declared system goes first) plus
 * explicit before/after, and the DAG is cut into stages by longest path.
 * Systems of one stage never conflict, so a parallel backend may run them at
 * the same time; commands apply at the end of each stage.
 *
 * @module
 */

import { SceneError } from "./errors.ts";
import { accessOf, type AccessSet, conflicts, type System } from "./system.ts";

/** The phases every scene has unless it names its own. */
export const DEFAULT_PHASES: readonly string[] = Object.freeze([
  "pre_update",
  "update",
  "post_update",
  "render",
  "network",
]);

/** A system in the schedule. */
export interface ScheduledSystem {
  readonly system: System;
  /** Position in the scene's systems list. */
  readonly index: number;
  readonly access: AccessSet;
}

/** Systems that may run at the same time; commands apply after them. */
export interface Stage {
  readonly phase: string;
  /** Position of the stage in its phase. */
  readonly index: number;
  /** In scene order. */
  readonly systems: readonly ScheduledSystem[];
}

/** Stages of every phase, in run order. */
export interface Schedule {
  readonly phases: readonly string[];
  readonly stages: readonly Stage[];
  readonly systems: readonly ScheduledSystem[];
}

/** Builds the schedule, naming any unknown phase, unknown system or ordering cycle. */
export function buildSchedule(systems: readonly System[], phases: readonly string[]): Schedule {
  const names = new Map<string, ScheduledSystem>();
  const all = systems.map((system, index) => {
    if (names.has(system.name)) {
      throw new SceneError(`two systems are named ${system.name}; system names must differ`);
    }
    if (!phases.includes(system.phase!)) {
      throw new SceneError(
        `system ${system.name}: phase "${system.phase}" is not one of the scene's phases ` +
          `(${phases.join(", ")})`,
      );
    }
    const entry = { system, index, access: accessOf(system) };
    names.set(system.name, entry);
    return entry;
  });
  const stages: Stage[] = [];
  for (const phase of phases) {
    const inPhase = all.filter((s) => s.system.phase === phase);
    const levels = stageLevels(inPhase, names);
    const count = inPhase.length === 0 ? 0 : Math.max(...levels) + 1;
    for (let level = 0; level < count; level++) {
      const members = inPhase.filter((_, i) => levels[i] === level);
      stages.push(Object.freeze({ phase, index: level, systems: Object.freeze(members) }));
    }
  }
  return Object.freeze({ phases, stages: Object.freeze(stages), systems: Object.freeze(all) });
}

function stageLevels(
  inPhase: readonly ScheduledSystem[],
  names: ReadonlyMap<string, ScheduledSystem>,
): number[] {
  const position = new Map(inPhase.map((s, i) => [s.system.name, i]));
  const explicit: number[][] = inPhase.map(() => []);
  for (let i = 0; i < inPhase.length; i++) {
    const own = inPhase[i].system;
    for (const [key, forward] of [["before", true], ["after", false]] as const) {
      for (const other of own[key] ?? []) {
        const j = position.get(other);
        if (j === undefined) {
          const where = names.get(other);
          throw new SceneError(
            `system ${own.name}: ${key} "${other}" ` +
              (where
                ? `is in phase ${where.system.phase}; before/after order systems of one phase`
                : "is not a system of the scene"),
          );
        }
        if (forward) explicit[i].push(j);
        else explicit[j].push(i);
      }
    }
  }
  const order = explicitOrder(inPhase, explicit);
  const levels = inPhase.map(() => 0);
  for (let a = 0; a < order.length; a++) {
    const node = order[a];
    for (let b = a + 1; b < order.length; b++) {
      const next = order[b];
      const ordered = explicit[node].includes(next) ||
        conflicts(inPhase[node].access, inPhase[next].access);
      if (ordered) levels[next] = Math.max(levels[next], levels[node] + 1);
    }
  }
  return levels;
}

/**
 * A topological order of the explicit before/after edges, ties broken by
 * scene order, so conflicting systems run in declaration order unless told
 * otherwise.
 */
function explicitOrder(inPhase: readonly ScheduledSystem[], edges: number[][]): number[] {
  const incoming = inPhase.map(() => 0);
  for (const targets of edges) for (const t of targets) incoming[t]++;
  const order: number[] = [];
  const done = inPhase.map(() => false);
  while (order.length < inPhase.length) {
    const next = incoming.findIndex((n, i) => n === 0 && !done[i]);
    if (next < 0) throw cycleError(inPhase, edges, done);
    done[next] = true;
    order.push(next);
    for (const t of edges[next]) incoming[t]--;
  }
  return order;
}

function cycleError(
  inPhase: readonly ScheduledSystem[],
  edges: number[][],
  done: boolean[],
): SceneError {
  let node = done.indexOf(false);
  const path: number[] = [];
  while (!path.includes(node)) {
    path.push(node);
    node = edges[node].find((t) => !done[t])!;
  }
  const cycle = [...path.slice(path.indexOf(node)), node].map((n) => inPhase[n].system.name);
  return new SceneError(
    `systems order themselves in a cycle: ${cycle.join(" -> ")}; remove one of the ` +
      `before/after constraints`,
  );
}
