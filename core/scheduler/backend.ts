/**
 * The interface every backend implements: blocking (the reference),
 * work-stealing, io_uring batch and adaptive. A backend runs the systems of
 * one stage; the runtime applies the stage's commands afterwards, so every
 * backend gives the same world.
 *
 * @module
 */

import type { CommandBuffer } from "../commands.ts";
import type { SystemContext } from "../context.ts";
import type { IoExecutor } from "../io.ts";
import type { Query } from "../query.ts";
import type { ErrorPolicy } from "../scene.ts";
import type { Schedule, ScheduledSystem, Stage } from "../schedule.ts";
import type { World } from "../world.ts";
import type { TraceHooks } from "../runtime.ts";
import type { TaskTrace } from "./task_trace.ts";

/**
 * What a backend gets when the runtime starts.
 *
 * @example
 * ```ts
 * import type { RuntimeState } from "staticecs/backend";
 * function describe(state: RuntimeState): string {
 *   return `${state.schedule.stages.length} stages, seed ${state.seed}, ${state.errorPolicy}`;
 * }
 * ```
 */
export interface RuntimeState {
  readonly world: World;
  readonly schedule: Schedule;
  /** The calling thread's context of each system, by scene index. */
  readonly contexts: readonly SystemContext[];
  /** The query of each system, by scene index (undefined for `run` systems). */
  readonly queries: readonly (Query | undefined)[];
  /** The calling thread's command buffer. */
  readonly commands: CommandBuffer;
  readonly seed: number;
  readonly errorPolicy: ErrorPolicy;
  /** Hash what each system may only read around it, on every thread (RuntimeOptions). */
  readonly checkAccess: boolean;
  /** The runtime's tracing hooks, if any (the adaptive backend reports switches there). */
  readonly trace?: TraceHooks;
}

/**
 * Where a backend reports how each system went.
 *
 * @example
 * ```ts
 * import { executeSystem, type RuntimeState, type Stage, type StageReport } from "staticecs/backend";
 * function runTimed(state: RuntimeState, stage: Stage, report: StageReport): void {
 *   for (const entry of stage.systems) {
 *     const started = report.timing ? performance.now() : 0;
 *     try {
 *       executeSystem(state, entry);
 *     } catch (error) {
 *       report.fail(entry, error);
 *     }
 *     report.systemDone(entry, report.timing ? performance.now() - started : -1);
 *     if (report.stopped) return;
 *   }
 * }
 * ```
 */
export interface StageReport {
  /** True on ticks whose systems are timed; otherwise backends skip the clock. */
  readonly timing: boolean;
  /** A system finished, after `ms` milliseconds (negative: not timed). */
  systemDone(entry: ScheduledSystem, ms: number): void;
  /** A system threw; under the stop-first policy, `stopped` becomes true. */
  fail(entry: ScheduledSystem, error: unknown): void;
  /** True once the frame must stop running systems. */
  readonly stopped: boolean;
}

/**
 * Counters a backend exposes: numbers, and rows of flat records (numbers, or a
 * label such as a stage's name), so they print and serialize as they are.
 *
 * @example
 * ```ts
 * import { type BackendStats, defineScene, Runtime } from "staticecs";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * runtime.run(10);
 * const stats: BackendStats = runtime.backend.stats(); // { stagesRun, systemsRun } on blocking
 * await runtime.close();
 * ```
 */
export type BackendStats = Record<string, number | Record<string, number | string>[]>;

/**
 * A way to run stages.
 *
 * @example
 * ```ts
 * import { type Backend, BlockingBackend, defineScene, Runtime } from "staticecs";
 * const backend: Backend = new BlockingBackend();
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }), { backend });
 * await runtime.close();
 * ```
 */
export interface Backend {
  /** As given to `--backend`. */
  readonly name: string;
  /** Called once, after setup, before the first frame. */
  init(state: RuntimeState): Promise<void>;
  /** Runs every system of the stage (in any order or at once: they do not conflict). */
  runStage(stage: Stage, report: StageReport): void;
  /** The I/O executor this backend brings (io_uring), if any; set by init. */
  readonly io?: IoExecutor;
  /** Counters since init. */
  stats(): BackendStats;
  /** Per-task records of a thread pool, off until started (parallel backends; optional). */
  taskTrace?(): TaskTrace | undefined;
  /** Releases threads, rings and memory. */
  close(): Promise<void>;
}
