/**
 * StaticECS for backend and tooling authors: what a scheduler backend is
 * handed each stage (RuntimeState, StageReport, the schedule's stages), the
 * policies that choose inline or parallel runs and batched or direct I/O, and
 * the I/O batch an executor runs. A scene author needs none of this; the user
 * API is `staticecs` (mod.ts).
 *
 * @example
 * ```ts
 * import { executeSystem } from "staticecs/backend";
 * import type { Backend, BackendStats, RuntimeState, Stage, StageReport } from "staticecs/backend";
 *
 * // The smallest backend: every system of a stage on the calling thread, untimed.
 * class Inline implements Backend {
 *   readonly name = "inline";
 *   #state: RuntimeState | undefined;
 *   init(state: RuntimeState): Promise<void> {
 *     this.#state = state;
 *     return Promise.resolve();
 *   }
 *   runStage(stage: Stage, report: StageReport): void {
 *     for (const entry of stage.systems) {
 *       try {
 *         executeSystem(this.#state!, entry);
 *       } catch (error) {
 *         report.fail(entry, error);
 *       }
 *       report.systemDone(entry, -1);
 *       if (report.stopped) return;
 *     }
 *   }
 *   stats(): BackendStats {
 *     return {};
 *   }
 *   close(): Promise<void> {
 *     return Promise.resolve();
 *   }
 * }
 * ```
 *
 * @module
 */

export type { Backend, BackendStats, RuntimeState, StageReport } from "./core/scheduler/backend.ts";
export type { ArchetypeInfo } from "./core/archetype.ts";
export type { Schedule, ScheduledSystem, Stage } from "./core/schedule.ts";
export { executeSystem } from "./core/scheduler/execute.ts";
export {
  DEFAULT_MIN_PARALLEL_WORK,
  type StageEstimate,
  type StageMode,
  type StagePolicy,
} from "./core/scheduler/work_stealing.ts";
export {
  AdaptiveIoExecutor,
  AdaptiveStagePolicy,
  type IoPair,
  type StageCostModel,
} from "./core/scheduler/adaptive.ts";
export { IO_OP, IoBatch, type IoExecutor, type IoOpName } from "./core/io.ts";
export {
  DEFAULT_RING_ENTRIES,
  openIoExecutor,
  type OpenIoOptions,
  openIoPair,
  RingExecutor,
} from "./ffi/executor.ts";
export { PortableExecutor } from "./ffi/portable.ts";
