/**
 * The runtime: builds a world from a scene, runs setup, and runs frames on a
 * backend. A frame runs every stage of every phase; after each stage, the
 * commands recorded in it apply. Simulation time advances by a fixed
 * timestep: `elapsed` is exactly `tick * dt`, and `advance(realSeconds)`
 * feeds real time through an accumulator.
 *
 * @module
 */

import { CommandBuffer } from "./commands.ts";
import { applyCommands, type CommandError, skippedOnSpawn } from "./_apply_commands.ts";
import { SystemContext } from "./context.ts";
import { SceneError, UsageError } from "./errors.ts";
import { IO_ERRNO, type IoBatch, IoCompletion, type IoExecutor, IoRecorder } from "./io.ts";
import { IoHandleTable } from "./_io_handles.ts";
import { Random } from "./random.ts";
import { Time } from "./resources.ts";
import type { ErrorPolicy, Scene } from "./scene.ts";
import { buildSchedule, type Schedule, type ScheduledSystem, type Stage } from "./schedule.ts";
import type { Backend, RuntimeState, StageReport } from "./scheduler/backend.ts";
import { BlockingBackend } from "./scheduler/blocking.ts";
import type { EventQueue } from "./events.ts";
import { type Column, ownerOf } from "./schema.ts";
import { World } from "./world.ts";
import type { SparseFilter } from "./sparse.ts";
import { worldChecksum } from "./checksum.ts";
import { restoreWorld, snapshotWorld } from "./snapshot.ts";
import { eventQueues, resourceStore, stageDepth } from "./_world_internal.ts";

/**
 * The seed used when none is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_SEED, defineScene, Runtime } from "staticecs";
 * const scene = defineScene({ components: [], systems: [] });
 * const runtime = await Runtime.create(scene, { seed: DEFAULT_SEED }); // the same as no seed
 * await runtime.close();
 * ```
 */
export const DEFAULT_SEED = 0x5eed;
/**
 * The largest seed: seeds are 32-bit unsigned integers.
 *
 * @example
 * ```ts
 * import { SEED_MAX } from "staticecs";
 * const seed = Math.floor(Math.random() * (SEED_MAX + 1));
 * ```
 */
export const SEED_MAX = 2 ** 32 - 1;
/**
 * The largest `hz` (ticks per second) a paced run accepts.
 *
 * @example
 * ```ts
 * import { HZ_MAX } from "staticecs";
 * const hz = Math.min(240, HZ_MAX);
 * ```
 */
export const HZ_MAX = 100_000;
/** The largest `systemTimingEvery`. */
export const SYSTEM_TIMING_EVERY_MAX = 1 << 20;

/**
 * A system that threw, or whose commands failed to apply.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime, type SystemFailure } from "staticecs";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * const failures: readonly SystemFailure[] = runtime.tick().errors;
 * await runtime.close();
 * ```
 */
export interface SystemFailure {
  readonly system: string;
  readonly phase: string;
  readonly tick: number;
  readonly message: string;
  readonly error: unknown;
}

/**
 * How one frame went. `Runtime.tick` returns the same object every frame
 * (a frame allocates nothing): read it before the next tick, or copy what
 * you keep. `errors` is a new array on a frame that has errors.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime } from "staticecs";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * const frame = runtime.tick();
 * if (!frame.ok) for (const failure of frame.errors) console.error(failure.system, failure.message);
 * await runtime.close();
 * ```
 */
export interface FrameResult {
  readonly tick: number;
  readonly ok: boolean;
  /** True if the stop-first policy cut the frame short. */
  readonly stopped: boolean;
  readonly errors: readonly SystemFailure[];
  readonly ms: number;
}

/**
 * Tracing hooks; each receives durations in milliseconds.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime, type TraceHooks } from "staticecs";
 * const trace: TraceHooks = { onTick: ({ tick, ms }) => console.log(`tick ${tick}: ${ms} ms`) };
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }), { trace });
 * runtime.tick();
 * await runtime.close();
 * ```
 */
export interface TraceHooks {
  onTick?(event: { tick: number; ms: number; ok: boolean }): void;
  onStage?(
    event: { tick: number; phase: string; stage: number; systems: number; ms: number },
  ): void;
  onSystem?(event: { tick: number; system: string; phase: string; ms: number }): void;
  /**
   * The adaptive backend changed how a stage (`phase:index`) or a phase's I/O
   * (`phase:io`) runs: `from` and `to` are modes (inline, parallel; batched, direct).
   */
  onSwitch?(event: { tick: number; stage: string; from: string; to: string; reason: string }): void;
}

/**
 * How to run a scene.
 *
 * @example
 * ```ts
 * import { BlockingBackend, defineScene, Runtime, type RuntimeOptions } from "staticecs";
 * const scene = defineScene({ components: [], systems: [] });
 * const options: RuntimeOptions = { seed: 7, backend: new BlockingBackend() };
 * const runtime = await Runtime.create(scene, options);
 * await runtime.close();
 * ```
 */
export interface RuntimeOptions {
  readonly seed?: number;
  /** The blocking backend if omitted. */
  readonly backend?: Backend;
  /** Overrides the scene's policy. */
  readonly errorPolicy?: ErrorPolicy;
  /** Ticks per simulated second; the timestep is 1 / hz. 60 if omitted. */
  readonly hz?: number;
  readonly trace?: TraceHooks;
  /**
   * Runs the phases' I/O intents; without it, the backend's (the io-uring
   * backend brings one). Systems that record I/O need one or the other.
   */
  readonly io?: IoExecutor;
  /**
   * Start from this snapshot instead of running setup. Files opened through
   * ctx.io do not survive a restore: the runtime starts with none open, so a
   * handle kept in the snapshot's resources completes with -EBADF (until the
   * restored run opens files of its own: handles start again from 1).
   */
  readonly snapshot?: Uint8Array;
  /**
   * Start with an empty world and do not run setup: a cluster member that is
   * not the first gets its entities from the cluster. A `snapshot` still
   * restores.
   */
  readonly skipSetup?: boolean;
  /** Most ticks one `advance` call runs to catch up; the rest are dropped and counted. */
  readonly maxCatchUpTicks?: number;
  /**
   * Time the systems on one tick in this many (8 if omitted; 1 times every
   * tick; 0 never). Reading the clock costs about 0.1 us on Deno, a fair
   * share of a small system's tick, so per-system means are sampled. With an
   * `onSystem` trace hook every tick is timed.
   */
  readonly systemTimingEvery?: number;
  /**
   * Time each frame (`FrameResult.ms`, the `onTick` hook): true if omitted.
   * False saves two clock reads a frame (about 0.3 us on Deno), for a
   * program that wants throughput and times frames itself; `ms` is then NaN.
   */
  readonly frameTiming?: boolean;
  /**
   * Hash every column and resource each system declares only as read, before
   * and after it runs (each chunk, each `run`), on every thread, and fail the
   * system that changed one: "system sneak wrote Position.x without
   * declaring it (tick 3)". It finds writes the always-on check cannot (a
   * store through `chunk.read()`'s column), at a cost: off by default. The
   * systems of a stage then run one after another (each still spread over
   * the threads), so a change is blamed on the system that made it.
   */
  readonly checkAccess?: boolean;
}

/**
 * Time spent in one system.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime } from "staticecs";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * runtime.run(10);
 * for (const stats of runtime.systemStats()) console.log(stats.name, stats.calls);
 * await runtime.close();
 * ```
 */
export interface SystemStats {
  readonly name: string;
  readonly phase: string;
  /** Ticks the system ran. */
  readonly calls: number;
  /** Calls that were timed (see `systemTimingEvery`). */
  readonly timedCalls: number;
  /** Estimated: meanMs * calls. */
  readonly totalMs: number;
  /** Mean over the timed calls. */
  readonly meanMs: number;
}

/**
 * A scene running on a backend.
 *
 * @example
 * ```ts
 * import { defineScene, Runtime } from "staticecs";
 * const runtime = await Runtime.create(defineScene({ components: [], systems: [] }));
 * runtime.tick();
 * await runtime.close();
 * ```
 */
export class Runtime {
  readonly scene: Scene;
  readonly world: World;
  readonly schedule: Schedule;
  readonly backend: Backend;
  readonly seed: number;
  readonly hz: number;
  readonly errorPolicy: ErrorPolicy;
  /** Ticks run so far. */
  ticks = 0;
  /** Ticks `advance` dropped because it fell too far behind. */
  droppedTicks = 0;
  private readonly state: RuntimeState;
  private readonly trace: TraceHooks | undefined;
  private readonly systemMs: Float64Array;
  private readonly systemCalls: Float64Array;
  private readonly systemTimedCalls: Float64Array;
  private readonly systemTimingEvery: number;
  private readonly frameTiming: boolean;
  private readonly report: FrameReport;
  /** The one FrameResult `tick` updates and returns. */
  private readonly frame = new Frame();
  private readonly eventQueues: readonly EventQueue[];
  private readonly timeColumns: readonly Column[];
  /** Where applying a stage's commands puts its errors; emptied after each stage. */
  private readonly commandErrors: CommandError[] = [];
  private readonly systemNames: readonly string[];
  /** Each system's sparse query terms (for `_EACH` records applied by position), if any. */
  private readonly systemFilters: readonly (SparseFilter | undefined)[];
  private readonly maxCatchUpTicks: number;
  private accumulatorSeconds = 0;
  private readonly ioRecorder: IoRecorder | undefined;
  /** Files opened through ctx.io, shared by every executor of this runtime. */
  private readonly ioHandles: IoHandleTable | undefined;
  private readonly ioOption: IoExecutor | undefined;
  private readonly ioCompletion = new IoCompletion();
  /** Per stage: is it the last stage of its phase (where the phase's I/O is submitted)? */
  private readonly phaseEnds: readonly boolean[];

  private constructor(scene: Scene, options: RuntimeOptions) {
    this.scene = scene;
    this.seed = (options.seed ?? DEFAULT_SEED) >>> 0;
    this.hz = checkHz(options.hz ?? 60);
    this.errorPolicy = options.errorPolicy ?? scene.errorPolicy ?? "stop-first";
    this.trace = options.trace;
    this.maxCatchUpTicks = options.maxCatchUpTicks ?? 5;
    this.world = new World(scene);
    this.schedule = buildSchedule(scene.systems, scene.phases);
    this.backend = options.backend ?? new BlockingBackend();
    const commands = new CommandBuffer(this.world);
    const usesIo = this.schedule.systems.some((entry) => entry.system.io === true);
    const { maxIoPerPhase, maxOpenFiles } = this.world.config;
    this.ioRecorder = usesIo ? new IoRecorder(maxIoPerPhase) : undefined;
    this.ioHandles = usesIo ? new IoHandleTable(maxOpenFiles, maxIoPerPhase) : undefined;
    this.ioOption = options.io;
    const queries = this.schedule.systems.map((entry) =>
      entry.system.query === undefined ? undefined : this.world.query(entry.system.query)
    );
    const contexts = this.schedule.systems.map((entry) =>
      new SystemContext(this.world, entry, commands, this.seed, {
        io: entry.system.io === true ? this.ioRecorder : undefined,
        checkAccess: options.checkAccess === true,
        filter: queries[entry.index]?.filter,
      })
    );
    this.phaseEnds = this.schedule.stages.map((stage, i, stages) =>
      i === stages.length - 1 || stages[i + 1].phase !== stage.phase
    );
    this.state = {
      world: this.world,
      schedule: this.schedule,
      contexts,
      queries,
      commands,
      seed: this.seed,
      errorPolicy: this.errorPolicy,
      checkAccess: options.checkAccess === true,
      trace: this.trace,
    };
    this.systemNames = this.schedule.systems.map((entry) => entry.system.name);
    this.systemFilters = queries.map((query) => query?.filter);
    this.systemMs = new Float64Array(this.systemNames.length);
    this.systemCalls = new Float64Array(this.systemNames.length);
    this.systemTimedCalls = new Float64Array(this.systemNames.length);
    this.systemTimingEvery = checkTimingEvery(options.systemTimingEvery ?? 8);
    this.frameTiming = options.frameTiming ?? true;
    this.report = new FrameReport(this);
    this.eventQueues = [...this.world[eventQueues].values()];
    this.timeColumns = this.world[resourceStore](ownerOf(Time)).columns;
  }

  /** Builds the world, runs setup (or restores a snapshot) and starts the backend. */
  static async create(scene: Scene, options: RuntimeOptions = {}): Promise<Runtime> {
    const runtime = new Runtime(scene, options);
    runtime.setTime(0);
    if (options.snapshot !== undefined) {
      runtime.ticks = restoreWorld(runtime.world, options.snapshot);
      runtime.setTime(runtime.ticks);
    } else if (scene.setup !== undefined && options.skipSetup !== true) {
      await scene.setup(runtime.world, {
        random: new Random(runtime.seed, 0x5e7),
        seed: runtime.seed,
      });
    }
    await runtime.backend.init(runtime.state);
    return runtime;
  }

  /**
   * Runs one frame: every stage of every phase, commands applied after each
   * stage. Returns the runtime's one FrameResult, updated: it is the same
   * object every tick.
   */
  tick(): FrameResult {
    const frame = this.frame;
    const timed = this.frameTiming;
    if (timed) frame.clock[0] = performance.now();
    const tick = this.ticks;
    this.setTime(tick);
    const queues = this.eventQueues;
    for (let q = 0; q < queues.length; q++) queues[q].swap();
    this.state.commands.beginFrame();
    const report = this.report;
    const every = this.systemTimingEvery;
    report.begin(tick, this.trace?.onSystem !== undefined || (every > 0 && tick % every === 0));
    const stages = this.schedule.stages;
    for (let s = 0; s < stages.length; s++) {
      this.runStage(stages[s], report);
      if (this.phaseEnds[s] || report.stopped) this.flushIo(report);
      if (report.stopped) break;
    }
    this.ticks = tick + 1;
    this.setTime(this.ticks);
    // Doubles kept in a typed array: V8 boxes a double held in a field or across calls.
    frame.clock[1] = timed ? performance.now() - frame.clock[0] : NaN;
    frame.tick = tick;
    frame.ok = report.errors.length === 0;
    frame.stopped = report.stopped;
    frame.errors = report.errors;
    if (this.trace?.onTick !== undefined) this.trace.onTick({ tick, ms: frame.ms, ok: frame.ok });
    return frame;
  }

  /**
   * Runs `count` frames, stopping early at a frame with errors; returns the
   * last frame's result (the runtime's one FrameResult), or undefined if
   * `count` is 0.
   */
  run(count: number): FrameResult | undefined {
    let result: FrameResult | undefined;
    for (let i = 0; i < count; i++) {
      result = this.tick();
      if (!result.ok) break;
    }
    return result;
  }

  /**
   * Feeds `realSeconds` of wall time to the fixed-timestep accumulator and
   * runs the ticks now due, at most `maxCatchUpTicks`, stopping early at a
   * frame with errors. Calls `onFrame` with each frame's result (the
   * runtime's one FrameResult) and returns how many ticks ran.
   */
  advance(realSeconds: number, onFrame?: (frame: FrameResult) => void): number {
    this.accumulatorSeconds += Math.max(0, realSeconds);
    // Counted in ticks with a tolerance for rounding: 1 s at 60 Hz is 60 ticks, where
    // subtracting 1/60 sixty times from 1 leaves just under 1/60 for the last one.
    const due = Math.floor(this.accumulatorSeconds * this.hz + 1e-9);
    let ran = 0;
    while (ran < Math.min(due, this.maxCatchUpTicks)) {
      const frame = this.tick();
      ran++;
      onFrame?.(frame);
      if (!frame.ok) break;
    }
    const dropped = ran === this.maxCatchUpTicks ? due - ran : 0;
    this.droppedTicks += dropped;
    const consumed = (ran + dropped) / this.hz;
    this.accumulatorSeconds = Math.max(0, this.accumulatorSeconds - consumed);
    return ran;
  }

  /** Seconds until the next tick is due under `advance`. */
  secondsUntilNextTick(): number {
    return Math.max(0, 1 / this.hz - this.accumulatorSeconds);
  }

  /** The executor that runs the phases' I/O intents: the one given, or the backend's. */
  get ioExecutor(): IoExecutor | undefined {
    return this.ioOption ?? this.backend.io;
  }

  /** Time per system since start. */
  systemStats(): SystemStats[] {
    return this.schedule.systems.map((entry, i) => {
      const timed = this.systemTimedCalls[i];
      const meanMs = timed === 0 ? 0 : this.systemMs[i] / timed;
      return {
        name: entry.system.name,
        phase: entry.system.phase!,
        calls: this.systemCalls[i],
        timedCalls: timed,
        totalMs: meanMs * this.systemCalls[i],
        meanMs,
      };
    });
  }

  /** A hex digest of every live entity handle, component value and resource. */
  checksum(): string {
    return worldChecksum(this.world);
  }

  /** The world and the tick count, as bytes that `RuntimeOptions.snapshot` restores. */
  snapshot(): Uint8Array {
    return snapshotWorld(this.world, this.ticks);
  }

  /** Closes the files still open through ctx.io, then stops the backend. */
  async close(): Promise<void> {
    const executor = this.ioOption ?? this.backend.io;
    try {
      if (executor !== undefined) this.ioHandles?.closeAll(executor);
    } finally {
      await this.backend.close();
    }
  }

  /** Records a system's time; for FrameReport. */
  recordSystem(entry: ScheduledSystem, tick: number, ms: number): void {
    this.systemCalls[entry.index]++;
    if (ms < 0) return;
    this.systemMs[entry.index] += ms;
    this.systemTimedCalls[entry.index]++;
    this.trace?.onSystem?.({ tick, system: entry.system.name, phase: entry.system.phase!, ms });
  }

  private runStage(stage: Stage, report: FrameReport): void {
    const started = this.trace?.onStage === undefined ? 0 : performance.now();
    this.world[stageDepth]++;
    try {
      this.backend.runStage(stage, report);
    } finally {
      this.world[stageDepth]--;
    }
    this.state.commands.publish();
    if (this.state.commands.count > 0) this.applyStageCommands(report);
    this.trace?.onStage?.({
      tick: report.tick,
      phase: stage.phase,
      stage: stage.index,
      systems: stage.systems.length,
      ms: performance.now() - started,
    });
  }

  /**
   * Submits the phase's I/O intents as one batch and hands each completion
   * to the system that asked, before the next phase.
   */
  private flushIo(report: FrameReport): void {
    const batch = this.ioRecorder?.batch;
    if (batch === undefined || batch.count === 0) return;
    const executor = this.ioOption ?? this.backend.io;
    if (executor === undefined) {
      for (let i = 0; i < batch.count; i++) batch.result[i] = -IO_ERRNO.ENOSYS;
      const first = this.schedule.systems[batch.system[0]];
      report.fail(
        first,
        new UsageError(
          `system ${first.system.name} recorded I/O, but this runtime has no I/O executor; ` +
            `give Runtime.create an io executor or use a backend that brings one (io-uring)`,
        ),
      );
    } else {
      this.ioHandles!.run(batch, executor);
    }
    this.deliverIo(batch, report);
    batch.clear();
  }

  private deliverIo(batch: IoBatch, report: FrameReport): void {
    const completion = this.ioCompletion;
    for (let i = 0; i < batch.count; i++) {
      const entry = this.schedule.systems[batch.system[i]];
      if (batch.errors[i] !== undefined) report.fail(entry, batch.errors[i]);
      const onIo = entry.system.onIo;
      if (onIo === undefined) continue;
      completion.ticket = batch.ticket[i];
      completion.op = batch.opName(i);
      completion.handle = batch.fd[i];
      completion.result = batch.result[i];
      completion.buffer = batch.buffers[i];
      completion.path = batch.paths[i];
      try {
        onIo(completion, this.state.contexts[entry.index]);
      } catch (error) {
        report.fail(entry, error);
      }
    }
  }

  private applyStageCommands(report: FrameReport): void {
    const commandErrors = this.commandErrors;
    applyCommands(
      this.world,
      this.state.commands,
      this.systemNames,
      commandErrors,
      this.systemFilters,
    );
    if (commandErrors.length === 0) return;
    for (const failure of commandErrors) {
      const entry = this.schedule.systems.find((s) => s.system.name === failure.system)!;
      report.fail(entry, failure.error, skippedOnSpawn(failure.skippedCommands));
    }
    commandErrors.length = 0;
  }

  /** Writes Time's columns directly: its setters would box each double (V8 allocates then). */
  private setTime(tick: number): void {
    const columns = this.timeColumns;
    columns[Time.tick.index][0] = tick;
    columns[Time.dt.index][0] = 1 / this.hz;
    columns[Time.elapsed.index][0] = tick / this.hz;
  }
}

const NO_ERRORS: readonly SystemFailure[] = Object.freeze([]);

/** The one FrameResult of a runtime, updated by each tick. */
class Frame implements FrameResult {
  tick = 0;
  ok = true;
  stopped = false;
  errors: readonly SystemFailure[] = NO_ERRORS;
  /** The frame's start, then its duration, in milliseconds. */
  readonly clock = new Float64Array(2);

  get ms(): number {
    return this.clock[1];
  }
}

/** One per runtime, reset each tick; a tick's errors array is new only if it has errors. */
class FrameReport implements StageReport {
  errors: SystemFailure[] = NO_ERRORS as SystemFailure[];
  stopped = false;
  timing = true;
  tick = 0;
  private readonly runtime: Runtime;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
  }

  begin(tick: number, timing: boolean): void {
    this.tick = tick;
    this.timing = timing;
    this.stopped = false;
    this.errors = NO_ERRORS as SystemFailure[];
  }

  systemDone(entry: ScheduledSystem, ms: number): void {
    this.runtime.recordSystem(entry, this.tick, ms);
  }

  /** `detail` ends the message (the commands skipped after a failed spawn, say). */
  fail(entry: ScheduledSystem, error: unknown, detail = ""): void {
    const message = (error instanceof Error ? error.message : String(error)) + detail;
    if (this.errors === NO_ERRORS) this.errors = [];
    this.errors.push({
      system: entry.system.name,
      phase: entry.system.phase!,
      tick: this.tick,
      message,
      error,
    });
    if (this.runtime.errorPolicy === "stop-first") this.stopped = true;
  }
}

function checkTimingEvery(every: number): number {
  if (!Number.isInteger(every) || every < 0 || every > SYSTEM_TIMING_EVERY_MAX) {
    throw new SceneError(
      `systemTimingEvery must be an integer from 0 to ${SYSTEM_TIMING_EVERY_MAX}; got ${every}`,
    );
  }
  return every;
}

function checkHz(hz: number): number {
  if (!Number.isFinite(hz) || hz <= 0 || hz > HZ_MAX) {
    throw new SceneError(`hz must be a number of ticks per second from 0 to ${HZ_MAX}; got ${hz}`);
  }
  return hz;
}
