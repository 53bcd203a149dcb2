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
 * The run order of a phase's systems: a topological order of the explicit
 * before/after edges plus, between conflicting systems, an edge from the
 * earlier-declared to the later-declared one unless the explicit edges (and
 * the edges kept so far) already order them the other way. So conflicting
 * systems run in declaration order unless before/after says otherwise, and
 * a before/after constraint moves only the systems it names. Ties go to
 * scene order.
 */
function explicitOrder(inPhase: readonly ScheduledSystem[], explicit: number[][]): number[] {
  const graph = new Reachability(inPhase.length);
  for (let from = 0; from < inPhase.length; from++) {
    for (const to of explicit[from]) {
      if (from === to || graph.reaches(to, from)) throw cycleError(inPhase, graph, from, to);
      graph.add(from, to);
    }
  }
  for (let a = 0; a < inPhase.length; a++) {
    for (let b = a + 1; b < inPhase.length; b++) {
      if (conflicts(inPhase[a].access, inPhase[b].access) && !graph.reaches(b, a)) graph.add(a, b);
    }
  }
  const incoming = inPhase.map(() => 0);
  for (const targets of graph.edges) for (const t of targets) incoming[t]++;
  const order: number[] = [];
  const done = inPhase.map(() => false);
  while (order.length < inPhase.length) {
    const next = incoming.findIndex((n, i) => n === 0 && !done[i]);
    done[next] = true;
    order.push(next);
    for (const t of graph.edges[next]) incoming[t]--;
  }
  return order;
}

/** A DAG with its transitive closure kept as one bitset per node. */
class Reachability {
  readonly edges: number[][];
  private readonly closure: Uint32Array[];

  constructor(nodes: number) {
    this.edges = Array.from({ length: nodes }, () => []);
    this.closure = Array.from({ length: nodes }, () => new Uint32Array((nodes + 31) >>> 5));
  }

  reaches(from: number, to: number): boolean {
    return (this.closure[from][to >>> 5] & (1 << (to & 31))) !== 0;
  }

  add(from: number, to: number): void {
    this.edges[from].push(to);
    const target = this.closure[to];
    for (let node = 0; node < this.closure.length; node++) {
      if (node !== from && !this.reaches(node, from)) continue;
      const row = this.closure[node];
      row[to >>> 5] |= 1 << (to & 31);
      for (let w = 0; w < row.length; w++) row[w] |= target[w];
    }
  }

  /** Nodes of a path from `from` to `to` (which it reaches), both included. */
  path(from: number, to: number): number[] {
    const path = [from];
    while (path[path.length - 1] !== to) {
      const at = path[path.length - 1];
      path.push(this.edges[at].find((next) => next === to || this.reaches(next, to))!);
    }
    return path;
  }
}

function cycleError(
  inPhase: readonly ScheduledSystem[],
  graph: Reachability,
  from: number,
  to: number,
): SceneError {
  const nodes = from === to ? [from, from] : [from, ...graph.path(to, from)];
  const cycle = nodes.map((n) => inPhase[n].system.name);
  return new SceneError(
    `systems order themselves in a cycle: ${cycle.join(" -> ")}; remove one of the ` +
      `before/after constraints`,
  );
}
