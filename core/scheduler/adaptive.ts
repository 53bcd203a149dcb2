/**
 * The adaptive backend: the work-stealing pool plus an estimator that picks,
 * for each stage, inline on the calling thread or parallel over the pool,
 * and for each phase's I/O, batched through io_uring or direct (one call per
 * intent). Before a stage first runs, the static prior decides: entities
 * matched times each system's `cost`, the units that can run apart and the
 * declared I/O (the work-stealing threshold). From then on the measured cost
 * of each mode decides (see `_estimator.ts`): moving mean and variance of ms
 * per run, a switch only when the other mode is expected better by a margin
 * beyond noise and past a cooldown, and short exploration bursts so both
 * estimates exist. Every switch goes to the `onSwitch` trace hook, and
 * `stats()` lists per stage and per phase what it chose and why.
 *
 * Both modes give the same world: the pool merges commands in the blocking
 * backend's order, and both I/O paths run the same intents. Given
 * `minParallelWork`, stages follow that threshold instead of the estimator
 * (0 to check a small scene's determinism on the pool).
 *
 * @module
 */

import { IO_OP, type IoBatch, type IoExecutor } from "../io.ts";
import { Time } from "../resources.ts";
import type { Stage } from "../schedule.ts";
import type { Backend, BackendStats, RuntimeState, StageReport } from "./backend.ts";
import { type EstimatorOptions, type Mode, ModeEstimator, type Switch } from "./_estimator.ts";
import type { TaskTrace } from "./task_trace.ts";
import {
  type StageEstimate,
  type StageMode,
  type StagePolicy,
  WorkStealingBackend,
  type WorkStealingOptions,
} from "./work_stealing.ts";

/**
 * The two I/O executors the adaptive backend chooses between.
 *
 * @example
 * ```ts
 * import { type IoPair, openIoPair } from "staticecs/backend";
 * const pair: IoPair = await openIoPair();
 * console.log(pair.batched?.kind ?? "no io_uring", pair.reason);
 * ```
 */
export interface IoPair {
  /** io_uring, if usable. */
  readonly batched?: IoExecutor;
  /** One call per intent; always there. */
  readonly direct: IoExecutor;
  /** Why batched is or is not available. */
  readonly reason: string;
}

/**
 * How to build the adaptive backend.
 *
 * @example
 * ```ts
 * import { AdaptiveBackend, type AdaptiveOptions } from "staticecs";
 * import { openIoPair } from "staticecs/backend";
 * const options: AdaptiveOptions = {
 *   sceneUrl: new URL("./scene.ts", import.meta.url).href,
 *   openIo: () => openIoPair(),
 * };
 * const backend = new AdaptiveBackend(options);
 * ```
 */
export interface AdaptiveOptions extends Omit<WorkStealingOptions, "policy"> {
  /**
   * Without it, the estimator chooses each stage's mode, starting from the
   * work-stealing threshold (`DEFAULT_MIN_PARALLEL_WORK`) as its prior. Given,
   * stages run by this threshold alone, as on work-stealing (0: every stage
   * with two or more chunks or systems on the pool, to check determinism);
   * I/O stays adaptive.
   */
  readonly minParallelWork?: number;
  /** Opens the I/O executors; without it the backend brings none. */
  readonly openIo?: () => Promise<IoPair>;
  /** Estimator tuning for stages (slots are set by the backend). */
  readonly estimator?: Omit<EstimatorOptions, "slots">;
  /** Estimator tuning for I/O phases. */
  readonly ioEstimator?: Omit<EstimatorOptions, "slots">;
  /**
   * Replaces a stage run's measured milliseconds before the estimator sees
   * them: a cost model, so that tests of the decisions do not depend on a
   * shared machine's timings (which tests must never assert on).
   */
  readonly stageCost?: StageCostModel;
}

/**
 * Milliseconds to record for a stage run, from its mode, its estimate and the measured time.
 *
 * @example
 * ```ts
 * import type { StageCostModel } from "staticecs/backend";
 * // Deterministic costs for tests: parallel halves the work, plus a fixed dispatch cost.
 * const model: StageCostModel = (_stage, mode, estimate) =>
 *   mode === "parallel" ? estimate.work / 2e6 + 0.05 : estimate.work / 1e6;
 * ```
 */
export type StageCostModel = (
  stage: Stage,
  mode: StageMode,
  estimate: StageEstimate,
  measuredMs: number,
) => number;

const STAGE_MODES: readonly StageMode[] = ["inline", "parallel"];
const INLINE: Mode = 0;
const PARALLEL: Mode = 1;

/**
 * Chooses per stage from the estimator; a `StagePolicy` for the work-stealing pool.
 *
 * @example
 * ```ts
 * import { AdaptiveStagePolicy } from "./adaptive.ts";
 * const policy = new AdaptiveStagePolicy();
 * console.log(typeof policy.decide);
 * ```
 */
export class AdaptiveStagePolicy implements StagePolicy {
  private estimator: ModeEstimator | undefined;
  private readonly tuning: Omit<EstimatorOptions, "slots">;
  private state: RuntimeState | undefined;
  private slots = new Map<Stage, number>();
  private labels: string[] = [];
  private systems: string[] = [];
  private why: string[] = [];
  private started: boolean[] = [];
  private readonly cost: StageCostModel | undefined;

  constructor(tuning: Omit<EstimatorOptions, "slots"> = {}, cost?: StageCostModel) {
    this.tuning = tuning;
    this.cost = cost;
  }

  init(state: RuntimeState): void {
    const stages = state.schedule.stages;
    this.state = state;
    this.estimator = new ModeEstimator({ ...this.tuning, slots: stages.length });
    this.slots = new Map(stages.map((stage, i) => [stage, i]));
    this.labels = stages.map((stage) => `${stage.phase}:${stage.index}`);
    this.systems = stages.map((stage) => stage.systems.map((e) => e.system.name).join(","));
    this.why = stages.map(() => "inline only: I/O, undeclared access or no workers");
    this.started = stages.map(() => false);
  }

  decide(stage: Stage, estimate: StageEstimate): StageMode {
    const slot = this.slots.get(stage)!;
    const estimator = this.estimator!;
    if (!this.started[slot]) {
      this.started[slot] = true;
      estimator.prior(slot, estimate.staticMode === "parallel" ? PARALLEL : INLINE);
      this.why[slot] = `prior: work ${Math.round(estimate.work)} over ${estimate.units} units`;
    }
    // One unit of work cannot spread: parallel would only add the wake-up.
    if (estimate.units < 2) return "inline";
    const prior = estimate.staticMode === "parallel" ? PARALLEL : INLINE;
    const mode = estimator.next(slot, estimate.work, prior);
    const change = estimator.takeSwitch();
    if (change !== undefined) this.switched(change, STAGE_MODES);
    return STAGE_MODES[mode];
  }

  observe(stage: Stage, mode: StageMode, estimate: StageEstimate, ms: number): void {
    const slot = this.slots.get(stage)!;
    const change = this.estimator!.observe(
      slot,
      mode === "parallel" ? PARALLEL : INLINE,
      estimate.work,
      this.cost === undefined ? ms : this.cost(stage, mode, estimate, ms),
    );
    if (change !== undefined) this.switched(change, STAGE_MODES);
  }

  stats(): BackendStats {
    const estimator = this.estimator;
    if (estimator === undefined) return {};
    return {
      stages: this.labels.map((stage, slot) => ({
        stage,
        systems: this.systems[slot],
        mode: STAGE_MODES[estimator.mode(slot)],
        inlineRuns: estimator.runCount(slot, INLINE),
        parallelRuns: estimator.runCount(slot, PARALLEL),
        inlineMs: round(estimator.meanMs(slot, INLINE)),
        parallelMs: round(estimator.meanMs(slot, PARALLEL)),
        switches: estimator.switches(slot),
        why: this.explain(slot),
      })),
    };
  }

  /** Why the stage runs as it does: the prior or the last switch, and what was measured. */
  private explain(slot: number): string {
    const e = this.estimator!;
    const mode = e.mode(slot), other = (1 - mode) as Mode;
    if (e.sampleCount(slot, other) === 0 || e.sampleCount(slot, mode) === 0) return this.why[slot];
    return `${this.why[slot]}; measured ${STAGE_MODES[mode]} ${round(e.meanMs(slot, mode))} ms, ` +
      `${STAGE_MODES[other]} ${round(e.meanMs(slot, other))} ms`;
  }

  private switched(change: Switch, names: readonly string[]): void {
    const from = names[change.from], to = names[change.to];
    this.why[change.slot] = `switched to ${to}: ${change.reason}`;
    const state = this.state!;
    state.trace?.onSwitch?.({
      tick: state.world.resource(Time).tick,
      stage: this.labels[change.slot],
      from,
      to,
      reason: change.reason,
    });
  }
}

const IO_MODES: readonly string[] = ["direct", "batched"];
const DIRECT: Mode = 0;
const BATCHED: Mode = 1;

/** Whether `batch` opens or closes a file. */
function opensOrCloses(batch: IoBatch): boolean {
  for (let i = 0; i < batch.count; i++) {
    if (batch.op[i] === IO_OP.open || batch.op[i] === IO_OP.close) return true;
  }
  return false;
}

/**
 * An I/O executor holding io_uring (batched) and the portable path (direct),
 * picking per phase from measured ms per operation; direct only where
 * io_uring is unusable. A batch that opens or closes a file runs direct,
 * unmeasured, so that a file opens and closes on the path that knows its
 * descriptor and both paths can use it in between. The runtime's handle
 * table, not this executor, maps handles to descriptors, so a file opened on
 * one path is written on the other under the same handle. Set `phase`
 * before `run`.
 *
 * @example
 * ```ts
 * import { AdaptiveIoExecutor } from "./adaptive.ts";
 * const direct = { kind: "portable", reason: "", run() {}, stats: () => ({}), close() {} };
 * const io = new AdaptiveIoExecutor({ direct, reason: "no io_uring here" }, ["update"]);
 * console.log(io.kind);
 * ```
 */
export class AdaptiveIoExecutor implements IoExecutor {
  /** "io_uring" if batching is available, else "portable". */
  readonly kind: string;
  readonly reason: string;
  /** Phase (index into the schedule's phases) whose batch `run` gets next. */
  phase = 0;
  /** Called on a switch (the backend reports it to the trace hook). */
  onSwitch: ((change: Switch, label: string) => void) | undefined;
  private readonly pair: IoPair;
  private readonly phases: readonly string[];
  private readonly estimator: ModeEstimator;
  private readonly operations: Float64Array;
  private readonly batches: Float64Array;
  private readonly failures: Float64Array;
  private readonly totalMs: Float64Array;
  private readonly why: string[];
  private readonly clock: () => number;

  /**
   * `tuning` overrides the I/O defaults (work change ratio 4, noise of the
   * mean); `clock` (ms, `performance.now` by default) times each batch.
   */
  constructor(
    pair: IoPair,
    phases: readonly string[],
    tuning: Omit<EstimatorOptions, "slots"> = {},
    clock: () => number = () => performance.now(),
  ) {
    this.clock = clock;
    this.pair = pair;
    this.phases = phases;
    this.kind = pair.batched === undefined ? "portable" : "io_uring";
    this.reason = pair.reason;
    const slots = phases.length;
    // I/O latency has a long tail (io_uring's async workers, writeback): single runs of
    // either mode spread wider than the gap between them, so compare the means, over a
    // longer window (alpha 0.03, about 65 runs) so one slow batch in the tail does not hide
    // a gap that holds run after run (buffered writes here: 0.078 against 0.029 ms per op,
    // with a standard deviation of 0.14 ms on the batched side).
    this.estimator = new ModeEstimator({
      workChangeRatio: 4,
      noiseOf: "mean",
      alpha: 0.03,
      // Bursts long enough that a fresh mean of the other mode is worth comparing.
      exploreBurstRuns: 8,
      minSamples: 6,
      ...tuning,
      slots,
    });
    for (let p = 0; p < slots; p++) {
      this.estimator.prior(p, pair.batched === undefined ? DIRECT : BATCHED);
    }
    this.operations = new Float64Array(slots);
    this.batches = new Float64Array(slots);
    this.failures = new Float64Array(slots);
    this.totalMs = new Float64Array(slots);
    this.why = phases.map(() =>
      pair.batched === undefined ? `direct only: ${pair.reason}` : "prior: io_uring usable"
    );
  }

  run(batch: IoBatch): void {
    const p = this.phase;
    const count = batch.count;
    const batched = this.pair.batched;
    // Files open and close on the direct path, so either path can use the fd: under Deno,
    // node:fs takes an fd io_uring opened ~20x slower per write and cannot close it. Not
    // measured.
    const changesFiles = batched !== undefined && opensOrCloses(batch);
    const mode = batched === undefined || changesFiles ? DIRECT : this.estimator.next(p, count);
    const started = this.clock();
    (mode === BATCHED ? batched! : this.pair.direct).run(batch);
    const ms = this.clock() - started;
    let failed = 0;
    for (let i = 0; i < count; i++) if (batch.result[i] < 0) failed++;
    this.operations[p] += count;
    this.batches[p]++;
    this.failures[p] += failed;
    this.totalMs[p] += ms;
    // Direct only: still measured, for the stats; with no batched samples it never switches.
    if (count === 0 || changesFiles) return;
    const change = this.estimator.observe(p, mode, count, ms / count);
    if (change === undefined) return;
    this.why[p] = `switched to ${IO_MODES[change.to]}: per op ${change.reason}`;
    this.onSwitch?.(change, `${this.phases[p]}:io`);
  }

  stats(): Record<string, number> {
    let operations = 0, batches = 0;
    for (let p = 0; p < this.phases.length; p++) {
      operations += this.operations[p];
      batches += this.batches[p];
    }
    return { ioOperations: operations, ioBatches: batches };
  }

  /** Failed operations by errno, on both paths. */
  errors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const path of [this.pair.batched, this.pair.direct]) {
      for (const [name, count] of Object.entries(path?.errors?.() ?? {})) {
        out[name] = (out[name] ?? 0) + count;
      }
    }
    return out;
  }

  /** Per phase that ran I/O: mode, runs and ms per op in each mode, operations, latency. */
  rows(): Record<string, number | string>[] {
    const e = this.estimator;
    const rows: Record<string, number | string>[] = [];
    for (let p = 0; p < this.phases.length; p++) {
      if (this.batches[p] === 0) continue;
      rows.push({
        phase: this.phases[p],
        mode: IO_MODES[e.mode(p)],
        batchedUsable: this.pair.batched === undefined ? 0 : 1,
        batchedRuns: e.runCount(p, BATCHED),
        directRuns: e.runCount(p, DIRECT),
        batchedMsPerOp: round(e.meanMs(p, BATCHED)),
        directMsPerOp: round(e.meanMs(p, DIRECT)),
        batchedSdMs: round(e.stdMs(p, BATCHED)),
        directSdMs: round(e.stdMs(p, DIRECT)),
        operations: this.operations[p],
        completions: this.operations[p],
        failures: this.failures[p],
        latencyMs: round(this.totalMs[p] / this.batches[p]),
        switches: e.switches(p),
        why: this.why[p],
      });
    }
    return rows;
  }

  close(): void {
    this.pair.batched?.close();
    this.pair.direct.close();
  }
}

/**
 * Work-stealing pool plus estimator: per stage inline or parallel, per
 * phase's I/O batched or direct.
 *
 * @example
 * ```ts ignore
 * import { AdaptiveBackend, Runtime } from "staticecs";
 * import scene from "./scene.ts";
 * const backend = new AdaptiveBackend({ sceneUrl: new URL("./scene.ts", import.meta.url).href });
 * const runtime = await Runtime.create(scene, { backend });
 * ```
 */
export class AdaptiveBackend implements Backend {
  readonly name = "adaptive";
  io: AdaptiveIoExecutor | undefined;
  private readonly options: AdaptiveOptions;
  private readonly pool: WorkStealingBackend;
  private phaseIndex = new Map<string, number>();

  constructor(options: AdaptiveOptions) {
    this.options = options;
    const policy = options.minParallelWork === undefined
      ? new AdaptiveStagePolicy(options.estimator, options.stageCost)
      : undefined; // a threshold given: the pool's own rule decides
    this.pool = new WorkStealingBackend({ ...options, policy });
  }

  async init(state: RuntimeState): Promise<void> {
    const phases = state.schedule.phases;
    this.phaseIndex = new Map(phases.map((phase, i) => [phase, i]));
    const open = this.options.openIo;
    if (open !== undefined) {
      const io = new AdaptiveIoExecutor(await open(), phases, this.options.ioEstimator);
      io.onSwitch = (change, label) =>
        state.trace?.onSwitch?.({
          tick: state.world.resource(Time).tick,
          stage: label,
          from: IO_MODES[change.from],
          to: IO_MODES[change.to],
          reason: change.reason,
        });
      this.io = io;
    }
    try {
      await this.pool.init(state);
    } catch (error) {
      this.io?.close();
      this.io = undefined;
      throw error;
    }
  }

  runStage(stage: Stage, report: StageReport): void {
    // The runtime submits a phase's I/O after its last stage: tell the executor whose it is.
    if (this.io !== undefined) this.io.phase = this.phaseIndex.get(stage.phase)!;
    this.pool.runStage(stage, report);
  }

  /** The pool's task records (see WorkStealingBackend.taskTrace). */
  taskTrace(): TaskTrace | undefined {
    return this.pool.taskTrace();
  }

  stats(): BackendStats {
    const stats = this.pool.stats();
    if (this.io === undefined) return stats;
    const rows = this.io.rows();
    return rows.length === 0 ? stats : { ...stats, ...this.io.stats(), io: rows };
  }

  async close(): Promise<void> {
    this.io?.close();
    this.io = undefined;
    await this.pool.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1e4) / 1e4;
}
