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

/**
 * The phases every scene has unless it names its own.
 *
 * @example
 * ```ts
 * import { DEFAULT_PHASES } from "staticecs";
 * DEFAULT_PHASES; // ["pre_update", "update", "post_update", "render", "network"]
 * ```
 */
export const DEFAULT_PHASES: readonly string[] = Object.freeze([
  "pre_update",
  "update",
  "post_update",
  "render",
  "network",
]);

/**
 * A system in the schedule.
 *
 * @example
 * ```ts
 * import type { ScheduledSystem } from "staticecs/backend";
 * const name = (entry: ScheduledSystem) => `${entry.system.name} (#${entry.index})`;
 * ```
 */
export interface ScheduledSystem {
  readonly system: System;
  /** Position in the scene's systems list. */
  readonly index: number;
  readonly access: AccessSet;
}

/**
 * Systems that may run at the same time; commands apply after them.
 *
 * @example
 * ```ts
 * import type { Stage } from "staticecs/backend";
 * const where = (stage: Stage) => `${stage.phase}:${stage.index}, ${stage.systems.length} systems`;
 * ```
 */
export interface Stage {
  readonly phase: string;
  /** Position of the stage in its phase. */
  readonly index: number;
  /** In scene order. */
  readonly systems: readonly ScheduledSystem[];
}

/**
 * Stages of every phase, in run order.
 *
 * @example
 * ```ts
 * import type { Schedule } from "staticecs/backend";
 * const plan = (schedule: Schedule) =>
 *   schedule.stages.map((stage) => stage.systems.map((entry) => entry.system.name).join(" + "));
 * ```
 */
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

/**
 * Why two systems of one phase run in different stages, in words: the
 * components, resources or event types they conflict on (and who writes
 * which), a declared before/after, undeclared access, or, when they do not
 * conflict themselves, the system the later one waits for.
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * import { buildSchedule, DEFAULT_PHASES, separation } from "./schedule.ts";
 * const P = defineComponent("P", { x: "f32" });
 * const a = defineSystem({ name: "a", writes: [P], run() {} });
 * const b = defineSystem({ name: "b", reads: [P], run() {} });
 * const schedule = buildSchedule([a, b], DEFAULT_PHASES);
 * separation(schedule, "a", "b"); // "P: a writes, b reads"
 * ```
 */
export function separation(schedule: Schedule, first: string, second: string): string {
  const levelOf = new Map<string, number>();
  for (const stage of schedule.stages) {
    for (const entry of stage.systems) levelOf.set(entry.system.name, stage.index);
  }
  const entry = (name: string) => schedule.systems.find((s) => s.system.name === name)!;
  const [early, late] = levelOf.get(first)! <= levelOf.get(second)!
    ? [entry(first), entry(second)]
    : [entry(second), entry(first)];
  const direct = directReason(early, late);
  if (direct !== undefined) return direct;
  // The system the later one waits for: the latest earlier-stage system it conflicts with.
  let waitsFor: ScheduledSystem | undefined;
  for (const p of schedule.systems) {
    const level = levelOf.get(p.system.name)!;
    if (p.system.phase !== late.system.phase || level >= levelOf.get(late.system.name)!) continue;
    if (directReason(p, late) === undefined) continue;
    if (waitsFor === undefined || level > levelOf.get(waitsFor.system.name)!) waitsFor = p;
  }
  if (waitsFor === undefined) return "no conflict of their own";
  return `no conflict of their own; ${late.system.name} waits for ${waitsFor.system.name} ` +
    `(${directReason(waitsFor, late)})`;
}

/** The stage plan in words, as `staticecs check` prints it and the inspector shows it. */
export interface SchedulePlan {
  readonly stages: readonly { phase: string; index: number; systems: readonly string[] }[];
  /** Each system's declared access (reads that are also writes count as writes). */
  readonly access: Record<string, { reads: string[]; writes: string[]; undeclared: boolean }>;
  /** Pairs of systems of one phase in different stages, with what keeps them apart. */
  readonly apart: readonly { first: string; second: string; why: string }[];
}

/**
 * The stages, each system's access and, for every pair of systems of a phase
 * in different stages, what keeps them apart (see `separation`).
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * import { buildSchedule, DEFAULT_PHASES, describeSchedule } from "./schedule.ts";
 * const P = defineComponent("P", { x: "f32" });
 * const a = defineSystem({ name: "a", writes: [P], run() {} });
 * const b = defineSystem({ name: "b", reads: [P], run() {} });
 * describeSchedule(buildSchedule([a, b], DEFAULT_PHASES)).apart[0].why; // "P: a writes, b reads"
 * ```
 */
export function describeSchedule(schedule: Schedule): SchedulePlan {
  const names = (list: Iterable<{ name: string }>) => [...list].map((o) => o.name);
  const access: SchedulePlan["access"] = {};
  for (const entry of schedule.systems) {
    access[entry.system.name] = {
      reads: names([...entry.access.reads].filter((o) => !entry.access.writes.has(o))),
      writes: names(entry.access.writes),
      undeclared: entry.access.undeclared,
    };
  }
  const apart: { first: string; second: string; why: string }[] = [];
  for (const [i, a] of schedule.stages.entries()) {
    for (const b of schedule.stages.slice(i + 1).filter((s) => s.phase === a.phase)) {
      for (const first of a.systems) {
        for (const second of b.systems) {
          const [one, two] = [first.system.name, second.system.name];
          apart.push({ first: one, second: two, why: separation(schedule, one, two) });
        }
      }
    }
  }
  const stages = schedule.stages.map((s) => ({
    phase: s.phase,
    index: s.index,
    systems: s.systems.map((e) => e.system.name),
  }));
  return { stages, access, apart };
}

/** What orders `early` before `late` directly, if anything. */
function directReason(early: ScheduledSystem, late: ScheduledSystem): string | undefined {
  const a = early.system.name, b = late.system.name;
  if (early.system.before?.includes(b) || late.system.after?.includes(a)) {
    return `${a} is declared to run before ${b}`;
  }
  if (late.system.before?.includes(a) || early.system.after?.includes(b)) {
    return `${b} is declared to run before ${a}`;
  }
  if (early.access.undeclared || late.access.undeclared) {
    const who = early.access.undeclared ? a : b;
    return `${who} declares no reads or writes, so it conflicts with every system`;
  }
  const items: string[] = [];
  for (const owner of new Set([...early.access.writes, ...late.access.writes])) {
    const aw = early.access.writes.has(owner), bw = late.access.writes.has(owner);
    const ar = aw || early.access.reads.has(owner), br = bw || late.access.reads.has(owner);
    if (!(ar && br) || !(aw || bw)) continue;
    items.push(`${owner.name}: ${a} ${aw ? "writes" : "reads"}, ${b} ${bw ? "writes" : "reads"}`);
  }
  return items.length === 0 ? undefined : items.join("; ");
}
