/**
 * The blocking backend: every system on the calling thread, in scene order.
 * It defines the reference semantics that every other backend matches.
 *
 * @module
 */

import type { Stage } from "../schedule.ts";
import type { Backend, BackendStats, RuntimeState, StageReport } from "./backend.ts";
import { executeSystem } from "./execute.ts";

/**
 * Runs everything on the calling thread.
 *
 * @example
 * ```ts
 * import { BlockingBackend } from "staticecs";
 * const backend = new BlockingBackend();
 * ```
 */
export class BlockingBackend implements Backend {
  readonly name = "blocking";
  private state: RuntimeState | undefined;
  private stagesRun = 0;
  private systemsRun = 0;

  init(state: RuntimeState): Promise<void> {
    this.state = state;
    return Promise.resolve();
  }

  runStage(stage: Stage, report: StageReport): void {
    const state = this.state!;
    this.stagesRun++;
    const timing = report.timing;
    const systems = stage.systems;
    // An indexed loop: V8 does not elide an array iterator around a try block, and a frame
    // allocates nothing.
    for (let s = 0; s < systems.length; s++) {
      const entry = systems[s];
      const started = timing ? performance.now() : 0;
      try {
        executeSystem(state, entry);
      } catch (error) {
        report.fail(entry, error);
      }
      this.systemsRun++;
      report.systemDone(entry, timing ? performance.now() - started : -1);
      if (report.stopped) return;
    }
  }

  stats(): BackendStats {
    return { stagesRun: this.stagesRun, systemsRun: this.systemsRun };
  }

  close(): Promise<void> {
    this.state = undefined;
    return Promise.resolve();
  }
}
