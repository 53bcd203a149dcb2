/**
 * The end-of-run summary of `staticecs run`: one object with every figure,
 * printed either as a small aligned table for a person or as one JSON object
 * for a script.
 *
 * @module
 */

import type { BackendStats } from "../core/scheduler/backend.ts";
import type { Runtime } from "../core/runtime.ts";
import type { StopReason } from "./_run_loop.ts";
import type { TickStats } from "./_tick_stats.ts";

/** One system error, as the summary lists it. */
export interface SummaryError {
  readonly tick: number;
  readonly system: string;
  readonly phase: string;
  readonly message: string;
}

/** Everything `staticecs run --json` prints. */
export interface RunSummary {
  readonly scene: string;
  readonly sceneFile: string;
  readonly backend: string;
  readonly seed: number;
  /** Real-time ticks per second, or null when unpaced. */
  readonly hz: number | null;
  /** Simulated seconds per tick. */
  readonly dt: number;
  readonly ticks: number;
  readonly wallSeconds: number;
  /** Of wallSeconds, the time the inspector held the run paused (0 without it). */
  readonly pausedSeconds: number;
  /** Ticks per second of running (not paused) wall time. */
  readonly ticksPerSecond: number;
  readonly stopReason: StopReason;
  readonly entities: number;
  readonly tickMsMean: number;
  readonly tickMsP99: number;
  /** Mean milliseconds per call of each system, in phase and stage order. */
  readonly systems: Record<string, number>;
  /**
   * The world checksum; null when a system failed, since the world is then not
   * what the scene declares (an undeclared write may even differ by backend).
   */
  readonly checksum: string | null;
  readonly droppedTicks: number;
  /** The first errors (at most the number the run keeps); `errorCount` counts all. */
  readonly errors: readonly SummaryError[];
  readonly errorCount: number;
  readonly backendStats: BackendStats;
  /** Milliseconds from process start to the end of the first frame, or null if none ran. */
  readonly firstFrameMs: number | null;
}

/** What a run knows at its end besides the runtime. */
export interface RunOutcome {
  readonly sceneName: string;
  readonly sceneFile: string;
  readonly paced: boolean;
  readonly wallSeconds: number;
  readonly pausedSeconds: number;
  readonly stopReason: StopReason;
  readonly ticks: TickStats;
  readonly errors: readonly SummaryError[];
  readonly errorCount: number;
  readonly firstFrameMs: number;
}

/**
 * Gathers the summary from the runtime and the run's outcome.
 *
 * @example
 * ```ts ignore
 * const summary = buildSummary(runtime, outcome);
 * console.log(JSON.stringify(summary));
 * ```
 */
export function buildSummary(runtime: Runtime, outcome: RunOutcome): RunSummary {
  const stats = runtime.systemStats();
  const systems: Record<string, number> = {};
  for (const stage of runtime.schedule.stages) {
    for (const entry of stage.systems) systems[entry.system.name] = stats[entry.index].meanMs;
  }
  const ticks = outcome.ticks.count;
  const runningSeconds = outcome.wallSeconds - outcome.pausedSeconds;
  return {
    scene: outcome.sceneName,
    sceneFile: outcome.sceneFile,
    backend: runtime.backend.name,
    seed: runtime.seed,
    hz: outcome.paced ? runtime.hz : null,
    dt: 1 / runtime.hz,
    ticks,
    wallSeconds: outcome.wallSeconds,
    pausedSeconds: outcome.pausedSeconds,
    ticksPerSecond: runningSeconds > 0 ? ticks / runningSeconds : 0,
    stopReason: outcome.stopReason,
    entities: runtime.world.entityCount,
    tickMsMean: outcome.ticks.meanMs(),
    tickMsP99: outcome.ticks.percentileMs(0.99),
    systems,
    checksum: outcome.errorCount > 0 ? null : runtime.checksum(),
    droppedTicks: runtime.droppedTicks,
    errors: outcome.errors,
    errorCount: outcome.errorCount,
    backendStats: runtime.backend.stats(),
    firstFrameMs: Number.isNaN(outcome.firstFrameMs) ? null : outcome.firstFrameMs,
  };
}

const STOP_REASONS: Record<StopReason, string> = {
  ticks: "--ticks reached",
  duration: "--duration reached",
  signal: "signal",
  error: "system error (stop-first policy)",
};

/**
 * The summary as an aligned table, one fact per line.
 *
 * @example
 * ```ts ignore
 * process.stdout.write(formatSummary(summary));
 * ```
 */
export function formatSummary(summary: RunSummary): string {
  const rate = summary.hz === null
    ? `unpaced, dt ${formatNumber(summary.dt, 4)} s`
    : `${summary.hz} ticks/s real time, dt ${formatNumber(summary.dt, 4)} s`;
  const rows: [string, string][] = [
    ["scene", `${summary.scene} (${summary.sceneFile})`],
    ["backend", summary.backend],
    ["seed", String(summary.seed)],
    ["rate", rate],
    [
      "ticks",
      `${summary.ticks} in ${formatNumber(summary.wallSeconds, 3)} s` +
      (summary.pausedSeconds > 0 ? ` (${formatNumber(summary.pausedSeconds, 3)} s paused)` : ""),
    ],
    ["ticks/s", formatNumber(summary.ticksPerSecond, 1)],
    ["stopped by", STOP_REASONS[summary.stopReason]],
    ["entities", String(summary.entities)],
    ["tick ms", `mean ${formatMs(summary.tickMsMean)}, p99 ${formatMs(summary.tickMsP99)}`],
  ];
  if (summary.firstFrameMs !== null) {
    rows.push(["first frame", `${formatNumber(summary.firstFrameMs, 1)} ms after process start`]);
  }
  if (summary.droppedTicks > 0) {
    rows.push(["dropped", `${summary.droppedTicks} ticks (fell behind real time)`]);
  }
  const pool = describePool(summary.backendStats);
  if (pool !== undefined) rows.push(["pool", pool]);
  if (summary.errorCount > 0) rows.push(["errors", `${summary.errorCount} (printed above)`]);
  rows.push([
    "checksum",
    summary.checksum ?? "none: a system failed, so this world proves nothing",
  ]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => label.padEnd(width) + value);
  lines.push(...formatSystems(summary.systems, width));
  lines.push(...formatBackendStats(summary.backendStats, width));
  return lines.join("\n") + "\n";
}

/**
 * How many stage runs a parallel backend gave its pool; when none, how to send small stages
 * there, since a determinism check that never reaches the pool checks nothing.
 */
function describePool(stats: BackendStats): string | undefined {
  const parallel = stats.stagesParallel, inline = stats.stagesInline;
  if (typeof parallel !== "number" || typeof inline !== "number") return undefined;
  const runs = `${parallel} of ${parallel + inline} stage runs on the worker pool`;
  if (parallel > 0 || inline === 0) return runs;
  return `${runs}; to check determinism there, --min-parallel-work 0 sends it every stage ` +
    `with two or more chunks or systems`;
}

function formatSystems(systems: Record<string, number>, width: number): string[] {
  const names = Object.keys(systems);
  if (names.length === 0) return ["systems".padEnd(width) + "none"];
  const nameWidth = Math.max(...names.map((name) => name.length)) + 2;
  return [
    "systems".padEnd(width) + "mean ms per tick, in run order",
    ...names.map((name) => " ".repeat(width) + name.padEnd(nameWidth) + formatMs(systems[name])),
  ];
}

function formatBackendStats(stats: BackendStats, width: number): string[] {
  const entries = Object.entries(stats);
  if (entries.length === 0) return [];
  const keyWidth = Math.max(...entries.map(([key]) => key.length)) + 2;
  const pad = " ".repeat(width);
  return [
    "backend stats",
    ...entries.flatMap(([key, value]) =>
      typeof value === "number" ? [pad + key.padEnd(keyWidth) + String(value)] : [
        pad + key,
        ...value.map((row) =>
          pad + "  " + Object.entries(row).map(([k, v]) => `${k} ${v}`).join("  ")
        ),
      ]
    ),
  ];
}

/** Milliseconds with three significant decimals at small sizes. */
export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(3) : ms.toPrecision(3);
}

function formatNumber(value: number, digits: number): string {
  return Number(value.toFixed(digits)).toString();
}
