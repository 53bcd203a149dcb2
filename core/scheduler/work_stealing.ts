/**
 * The work-stealing backend: a fixed pool of Workers, started once and kept
 * until `close()`, sharing the world's memory. For a stage with enough work,
 * the main thread publishes the world's layout, pushes one task per (system,
 * archetype) range of chunks, wakes the pool and works too; threads split
 * ranges as they take them and steal from random victims when idle. Each
 * thread records commands into its own buffer, in segments keyed by
 * (system, archetype, first chunk); after the stage the main thread merges
 * them in that order, so the commands apply exactly as the blocking backend
 * would apply them and the world ends the same, bit for bit.
 *
 * A stage whose work (entities times each system's `cost`) is below
 * `minParallelWork`, that has fewer than two units that can run apart (the
 * chunks of a query system, one per `run` system or per system whose chunks
 * stay on one thread), or that has an undeclared system or I/O, runs inline
 * on the calling thread. `minParallelWork: 0` puts every stage with two
 * units or more on the pool: how a small scene's determinism is checked. A
 * system that writes a resource runs its chunks on one thread, in order,
 * since its chunks share what they write.
 *
 * A system that throws fails once per stage, as on the blocking backend, and
 * its chunks not yet started are skipped; chunks already running on other
 * threads finish (the blocking backend would not have run those after the
 * failing one, so after an error the worlds may differ).
 *
 * @module
 */

import { CommandBuffer, mergeSegments } from "../commands.ts";
import { UsageError } from "../errors.ts";
import type { ScheduledSystem, Stage } from "../schedule.ts";
import type { Owner } from "../schema.ts";
import type { Backend, BackendStats, RuntimeState, StageReport } from "./backend.ts";
import { BlockingBackend } from "./blocking.ts";
import { type LayoutDelta, LayoutPublisher } from "./_layout.ts";

import { CONTROL, PoolMemory, STAT } from "./_pool_memory.ts";
import { RUN_TASK, TaskRunner, WHOLE_QUERY_TASK } from "./_task_runner.ts";
import { TaskTrace, TRACE_KIND, traceOn, writeTrace } from "./task_trace.ts";
import { Time } from "../resources.ts";
import type { WorkerInit, WorkerReply } from "./worker.ts";
import { eventQueues, memory, readerCursor, setReaderCursor } from "../_world_internal.ts";

/**
 * Entities times cost below which a stage stays inline by default: waking
 * the pool costs tens of microseconds (DESIGN.md), about what 16,384 cheap
 * entity updates take.
 *
 * @example
 * ```ts
 * import { DEFAULT_MIN_PARALLEL_WORK } from "./work_stealing.ts";
 * console.log(`stages below ${DEFAULT_MIN_PARALLEL_WORK} entity updates stay inline`);
 * ```
 */
export const DEFAULT_MIN_PARALLEL_WORK = 16_384;

/**
 * The most worker threads a pool may have (besides the calling thread).
 *
 * @example
 * ```ts
 * import { WORKERS_MAX } from "staticecs";
 * const workers = Math.min(WORKERS_MAX, navigator.hardwareConcurrency - 1);
 * ```
 */
export const WORKERS_MAX = 256;

const NO_ERRORS: { system: number; message: string }[] = [];

/**
 * How to build a work-stealing pool.
 *
 * @example
 * ```ts
 * import { WorkStealingBackend, type WorkStealingOptions } from "staticecs";
 * // sceneUrl: the module whose default export is the scene; each worker imports it.
 * const options: WorkStealingOptions = { sceneUrl: new URL("./scene.ts", import.meta.url).href, workers: 3 };
 * const backend = new WorkStealingBackend(options);
 * ```
 */
export interface WorkStealingOptions {
  /** URL of the scene module; each worker imports it and finds systems by name. */
  readonly sceneUrl: string;
  /** Worker threads besides the calling thread (default: cores - 1, at least 1). */
  readonly workers?: number;
  /**
   * Module each worker runs: this folder's worker.ts if omitted, or an entry
   * that sets up module resolution first and then imports it (the CLI's).
   */
  readonly workerUrl?: string;
  /**
   * Entities times cost below which a stage runs inline (default
   * {@linkcode DEFAULT_MIN_PARALLEL_WORK}). 0 sends every stage with two or
   * more units (chunks, or `run` systems) to the pool, so a small scene's
   * determinism can be checked there.
   */
  readonly minParallelWork?: number;
  /** Tasks per thread deque (a power of two; default 1024). */
  readonly dequeCapacity?: number;
  /** Tasks the shared injector holds (a power of two; default 4096). */
  readonly injectorCapacity?: number;
  /** Rounds an idle worker looks for work before it parks (default 2000). */
  readonly spinRounds?: number;
  /** Milliseconds to wait for workers to start (default 30000). */
  readonly startTimeoutMs?: number;
  /**
   * Chooses inline or parallel for each stage that may run in parallel, in
   * place of the `minParallelWork` threshold (the adaptive backend's).
   */
  readonly policy?: StagePolicy;
}

/**
 * What the declarations and entity counts say about a stage, before it runs.
 *
 * @example
 * ```ts
 * import type { StageEstimate } from "staticecs/backend";
 * const worthIt = (estimate: StageEstimate) => estimate.parallelizable && estimate.units > 1;
 * ```
 */
export interface StageEstimate {
  /** False if the stage must run inline: no workers, an undeclared system or I/O. */
  readonly parallelizable: boolean;
  /** Entities matched times each system's `cost`. */
  readonly work: number;
  /** Tasks that can run apart. */
  readonly units: number;
  /** Threads that would run it in parallel (workers + 1). */
  readonly threads: number;
  /** What the `minParallelWork` threshold would choose. */
  readonly staticMode: StageMode;
}

/**
 * How a stage runs.
 *
 * @example
 * ```ts
 * import type { StageMode } from "staticecs/backend";
 * const always: StageMode = "parallel";
 * ```
 */
export type StageMode = "inline" | "parallel";

/**
 * Chooses how each stage runs and learns from how long it took.
 *
 * @example
 * ```ts
 * import { WorkStealingBackend } from "staticecs";
 * import type { StagePolicy } from "staticecs/backend";
 * // Every parallelizable stage with more work than one chunk goes to the pool.
 * const eager: StagePolicy = { decide: (_stage, estimate) => estimate.units > 1 ? "parallel" : "inline" };
 * const backend = new WorkStealingBackend({ sceneUrl: new URL("./scene.ts", import.meta.url).href, policy: eager });
 * ```
 */
export interface StagePolicy {
  /** Called once, after the pool started. */
  init?(state: RuntimeState): void;
  /** The mode for this run of `stage`; only asked if the stage is parallelizable. */
  decide(stage: Stage, estimate: StageEstimate): StageMode;
  /** How long the run that `decide` chose took, in milliseconds. */
  observe?(stage: Stage, mode: StageMode, estimate: StageEstimate, ms: number): void;
  /** Counters merged into the backend's stats. */
  stats?(): BackendStats;
}

/**
 * Runs stages over a pool of Workers with work stealing.
 *
 * @example
 * ```ts ignore
 * import { Runtime, WorkStealingBackend } from "staticecs";
 * import scene from "./scene.ts";
 * const backend = new WorkStealingBackend({ sceneUrl: new URL("./scene.ts", import.meta.url).href });
 * const runtime = await Runtime.create(scene, { backend });
 * ```
 */
export class WorkStealingBackend implements Backend {
  readonly name = "work-stealing";
  readonly options: WorkStealingOptions;
  private readonly inline = new BlockingBackend();
  private state: RuntimeState | undefined;
  private pool: PoolMemory | undefined;
  private runner: TaskRunner | undefined;
  private workers: Worker[] = [];
  /** Sends a layout change to every worker (made once: no closure per stage). */
  private readonly postToWorkers = (delta: LayoutDelta): void => {
    for (const worker of this.workers) worker.postMessage(delta);
  };
  private buffers: CommandBuffer[] = [];
  private readonly layout = new LayoutPublisher();
  private scratch = new Float64Array(0);
  /** Per system: the events it may read, as indices into the world's event list. */
  private eventReads: number[][] = [];
  private splittable: boolean[] = [];
  private measuredWork = 0;
  private measuredUnits = 0;
  private measuredParallelizable = false;
  /** The world's event types, in the order pool memory indexes them. */
  private events: Owner[] = [];
  private stagesParallel = 0;
  private stagesInline = 0;
  private closed: Promise<void>[] = [];

  constructor(options: WorkStealingOptions) {
    this.options = options;
  }

  /** Entities times cost below which a stage runs inline, when no policy decides. */
  get minParallelWork(): number {
    return this.options.minParallelWork ?? DEFAULT_MIN_PARALLEL_WORK;
  }

  /** Worker threads in the pool. */
  get workerCount(): number {
    const cores = (globalThis.navigator?.hardwareConcurrency ?? 2) - 1;
    return this.options.workers ?? Math.max(1, cores);
  }

  async init(state: RuntimeState): Promise<void> {
    const workers = this.workerCount;
    if (!Number.isInteger(workers) || workers < 0 || workers > WORKERS_MAX) {
      throw new UsageError(`workers must be an integer from 0 to ${WORKERS_MAX}; got ${workers}`);
    }
    const minWork = this.minParallelWork;
    if (typeof minWork !== "number" || !(minWork >= 0)) {
      throw new UsageError(
        `minParallelWork must be a number of 0 or more (entities times cost; 0 sends every ` +
          `stage with two or more chunks or systems to the pool); got ${minWork}`,
      );
    }
    this.state = state;
    await this.inline.init(state);
    const { world, schedule } = state;
    const events = [...world[eventQueues].keys()];
    this.events = events;
    this.pool = new PoolMemory({
      threads: workers + 1,
      dequeCapacity: this.options.dequeCapacity ?? 1024,
      injectorCapacity: this.options.injectorCapacity ?? 4096,
      systems: schedule.systems.length,
      events: events.length,
      maxArchetypes: world.config.maxArchetypes,
    });
    this.eventReads = schedule.systems.map((entry) =>
      events.flatMap((owner, e) =>
        entry.access.undeclared || entry.access.reads.has(owner) ||
          entry.access.writes.has(owner)
          ? [e]
          : []
      )
    );
    const splittable = schedule.systems.map((entry) => isSplittable(entry));
    this.splittable = splittable;
    this.scratch = new Float64Array(world.config.maxCommandsPerFrame * 4);
    this.runner = new TaskRunner({
      pool: this.pool,
      thread: 0,
      systems: schedule.systems,
      contexts: state.contexts,
      queries: state.queries,
      splittable,
      stopFirst: state.errorPolicy === "stop-first",
    });
    await this.startWorkers(workers, splittable);
    this.options.policy?.init?.(state);
  }

  runStage(stage: Stage, report: StageReport): void {
    const pool = this.pool;
    if (pool !== undefined && traceOn(pool)) this.runStageTraced(pool, stage, report);
    else this.runStageUntraced(stage, report);
  }

  /**
   * The pool's task records (off until started): what the inspector's
   * Threads view draws. Undefined before init.
   */
  taskTrace(): TaskTrace | undefined {
    return this.pool === undefined ? undefined : new TaskTrace(this.pool);
  }

  /** Runs the stage and records it (start, end, tick, inline or parallel) on thread 0's ring. */
  private runStageTraced(pool: PoolMemory, stage: Stage, report: StageReport): void {
    const parallelBefore = this.stagesParallel;
    const startedMs = performance.now();
    this.runStageUntraced(stage, report);
    const { world, schedule } = this.state!;
    const parallel = this.stagesParallel > parallelBefore ? 1 : 0;
    const tick = world.resource(Time).tick;
    const index = schedule.stages.indexOf(stage);
    writeTrace(
      pool,
      0,
      TRACE_KIND.stage,
      startedMs,
      performance.now(),
      index,
      tick,
      parallel,
      0,
      0,
    );
  }

  private runStageUntraced(stage: Stage, report: StageReport): void {
    const policy = this.options.policy;
    if (policy !== undefined) {
      this.runWithPolicy(policy, stage, report);
      return;
    }
    if (this.shouldInline(stage)) {
      this.stagesInline++;
      this.inline.runStage(stage, report);
      return;
    }
    this.stagesParallel++;
    this.runParallel(stage, report);
  }

  stats(): BackendStats {
    const pool = this.pool;
    const threads = pool === undefined ? [] : pool.deques.map((_, t) => ({
      thread: t,
      tasksExecuted: pool.stat(t, STAT.executed),
      tasksStolen: pool.stat(t, STAT.stolen),
      parkedMs: Math.round(pool.stat(t, STAT.parkedMs)),
      busyMs: Math.round(pool.stat(t, STAT.busyMs)),
    }));
    const policy = this.options.policy;
    return {
      workers: this.workers.length,
      ...(policy === undefined ? { minParallelWork: this.minParallelWork } : {}),
      stagesParallel: this.stagesParallel,
      stagesInline: this.stagesInline,
      threads,
      ...policy?.stats?.(),
    };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) return;
    Atomics.store(pool.control, CONTROL.shutdown, 1);
    pool.parker.wake();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000));
    await Promise.race([Promise.all(this.closed), timeout]);
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
    this.pool = undefined;
    await this.inline.close();
  }

  /** Runs the stage as the policy says, and tells it how long that took. */
  private runWithPolicy(policy: StagePolicy, stage: Stage, report: StageReport): void {
    const estimate = this.estimate(stage);
    const mode = estimate.parallelizable ? policy.decide(stage, estimate) : "inline";
    const started = performance.now();
    if (mode === "parallel") {
      this.stagesParallel++;
      this.runParallel(stage, report);
    } else {
      this.stagesInline++;
      this.inline.runStage(stage, report);
    }
    if (estimate.parallelizable) {
      policy.observe?.(stage, mode, estimate, performance.now() - started);
    }
  }

  /**
   * Inline unless the stage has work for at least two threads: units that can
   * run apart (a splittable system's chunks, or one per other system) and
   * entities times cost of at least `minParallelWork`.
   */
  private shouldInline(stage: Stage): boolean {
    this.measure(stage);
    return this.staticInline();
  }

  /** Work, units and the static choice for `stage`; allocates one small object. */
  estimate(stage: Stage): StageEstimate {
    this.measure(stage);
    const { measuredWork: work, measuredUnits: units, measuredParallelizable } = this;
    return {
      parallelizable: measuredParallelizable,
      work,
      units,
      threads: this.workers.length + 1,
      staticMode: this.staticInline() ? "inline" : "parallel",
    };
  }

  /** The `minParallelWork` rule over the last `measure`. */
  private staticInline(): boolean {
    const minWork = this.minParallelWork;
    return !this.measuredParallelizable || this.measuredUnits < 2 || this.measuredWork < minWork;
  }

  /** Sets the measured* fields for `stage` (fields, so the per-stage check allocates nothing). */
  private measure(stage: Stage): void {
    const { queries } = this.state!;
    const systems = stage.systems;
    let work = 0;
    let units = 0;
    let parallelizable = this.workers.length > 0;
    for (let s = 0; s < systems.length; s++) {
      const entry = systems[s];
      // I/O intents are recorded on the calling thread's batch.
      if (entry.access.undeclared || entry.system.io === true) parallelizable = false;
      const query = queries[entry.index];
      const cost = entry.system.cost ?? 1;
      if (query === undefined) {
        work += cost;
        units++;
        continue;
      }
      const archetypes = query.archetypes;
      const splittable = this.splittable[entry.index];
      let chunks = 0;
      for (let a = 0; a < archetypes.length; a++) {
        const rows = archetypes[a].count;
        if (rows === 0) continue;
        work += rows * cost;
        chunks += ((rows - 1) >>> archetypes[a].chunkShift) + 1;
      }
      // An unsplittable system is one task, however many chunks it has.
      units += splittable || chunks === 0 ? chunks : 1;
    }
    this.measuredWork = work;
    this.measuredUnits = units;
    this.measuredParallelizable = parallelizable;
  }

  private runParallel(stage: Stage, report: StageReport): void {
    const state = this.state!;
    const pool = this.pool!;
    const runner = this.runner!;
    this.layout.publish(state.world, pool, this.postToWorkers);
    this.publishCursors(stage);
    Atomics.store(pool.control, CONTROL.stop, 0);
    pool.failed.fill(0);
    Atomics.add(pool.control, CONTROL.stageSeq, 1);
    const systems = stage.systems;
    for (let s = 0; s < systems.length; s++) {
      pushTasks(runner, systems[s], state, this.splittable[systems[s].index]);
      // Under checkAccess the stage's systems run one after another (each still over every
      // thread), so that a column that changes under a system's hash changed by its hand.
      if (state.checkAccess) {
        pool.parker.wake();
        drain(pool, runner);
      }
    }
    pool.parker.wake();
    drain(pool, runner);
    this.collect(stage, report);
    state.commands.publish();
    for (let b = 0; b < this.buffers.length; b++) this.buffers[b].readPublished();
    mergeSegments(state.commands, this.buffers, this.scratch);
  }

  /**
   * Tells workers each reading system's cursor for the stage's events. Here and in `collect`,
   * indexed loops: these run once a stage, too rarely for V8 to optimize them on a main thread
   * that mostly waits, and unoptimized for-of loops allocate iterators.
   */
  private publishCursors(stage: Stage): void {
    const { world } = this.state!;
    const pool = this.pool!;
    const events = this.events, systems = stage.systems;
    for (let s = 0; s < systems.length; s++) {
      const entry = systems[s], reads = this.eventReads[entry.index];
      for (let r = 0; r < reads.length; r++) {
        const e = reads[r], slot = entry.index * events.length + e;
        pool.cursors[slot] = world[readerCursor](entry.system.name, events[e]);
        pool.cursorEnds[slot] = -1;
      }
    }
  }

  /** Reports times and errors per system, and takes back cursors the workers moved. */
  private collect(stage: Stage, report: StageReport): void {
    const { world, schedule } = this.state!;
    const pool = this.pool!;
    const events = this.events;
    let anyErrors = false;
    for (let t = 0; t < pool.errorCounts.length; t++) anyErrors ||= pool.errorCounts[t] > 0;
    const errors = anyErrors ? pool.deques.flatMap((_, t) => pool.takeErrors(t)) : NO_ERRORS;
    if (anyErrors) errors.sort((a, b) => a.system - b.system);
    const systems = stage.systems;
    for (let s = 0; s < systems.length; s++) {
      const entry = systems[s], reads = this.eventReads[entry.index];
      // Summed only on frames that are timed: unoptimized, each float sum is a new heap number.
      let ms = report.timing ? 0 : -1;
      for (let t = 0; t < pool.deques.length; t++) {
        if (ms >= 0) ms += pool.systemMs[t * pool.systemStride + entry.index];
        pool.systemMs[t * pool.systemStride + entry.index] = 0;
      }
      report.systemDone(entry, ms);
      for (let r = 0; r < reads.length; r++) {
        const e = reads[r], end = pool.cursorEnds[entry.index * events.length + e];
        if (end >= 0) world[setReaderCursor](entry.system.name, events[e], end);
      }
    }
    for (let e = 0; e < errors.length; e++) {
      report.fail(schedule.systems[errors[e].system], new Error(errors[e].message));
    }
  }

  private async startWorkers(count: number, splittable: boolean[]): Promise<void> {
    const state = this.state!;
    const url = this.options.workerUrl ?? new URL("./worker.ts", import.meta.url).href;
    const ready: Promise<void>[] = [];
    for (let t = 1; t <= count; t++) {
      const worker = new Worker(url, { type: "module" });
      const buffer = new CommandBuffer(state.world, { counters: state.commands.memory.counters });
      this.workers.push(worker);
      this.buffers.push(buffer);
      ready.push(this.watch(worker, t));
      worker.postMessage(this.initMessage(t, buffer, splittable));
    }
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(ready), timeout]);
    } catch (error) {
      for (const worker of this.workers) worker.terminate();
      this.workers = [];
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when `worker` is ready; rejects on its error; tracks its close. */
  private watch(worker: Worker, thread: number): Promise<void> {
    let closed!: () => void;
    this.closed.push(new Promise<void>((resolve) => closed = resolve));
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.kind === "ready") resolve();
        else if (reply.kind === "closed") closed();
        else reject(new UsageError(`worker ${thread} could not start: ${reply.message}`));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault?.();
        reject(new UsageError(`worker ${thread} failed: ${event.message}`));
        closed();
      };
    });
  }

  private initMessage(thread: number, buffer: CommandBuffer, splittable: boolean[]): WorkerInit {
    const state = this.state!;
    return {
      kind: "init",
      sceneUrl: this.options.sceneUrl,
      thread,
      seed: state.seed,
      stopFirst: state.errorPolicy === "stop-first",
      checkAccess: state.checkAccess,
      systemNames: state.schedule.systems.map((entry) => entry.system.name),
      splittable,
      pool: { shape: this.pool!.shape, buffer: this.pool!.buffer },
      world: state.world[memory](),
      commands: buffer.memory,
      spinRounds: this.options.spinRounds ?? 2000,
    };
  }
}

/** May a system's chunks run on several threads at once? Not if it writes a resource. */
function isSplittable(entry: ScheduledSystem): boolean {
  if (entry.system.query === undefined || entry.access.undeclared) return false;
  for (const owner of entry.access.writes) if (owner.kind === "resource") return false;
  return true;
}

/**
 * Pushes one task per non-empty (system, archetype) range; one task for a
 * `run` system; one task over every archetype, in order, for a system whose
 * chunks must stay on one thread.
 */
function pushTasks(
  runner: TaskRunner,
  entry: ScheduledSystem,
  state: RuntimeState,
  splittable: boolean,
): void {
  const query = state.queries[entry.index];
  if (query === undefined) {
    runner.push(entry.index, RUN_TASK, 0, 1);
    return;
  }
  if (!splittable) {
    runner.push(entry.index, WHOLE_QUERY_TASK, 0, 1);
    return;
  }
  const archetypes = query.archetypes;
  for (let a = 0; a < archetypes.length; a++) {
    const chunks = Math.ceil(archetypes[a].count / archetypes[a].chunkRows);
    if (chunks > 0) runner.push(entry.index, a, 0, chunks);
  }
}

/** The calling thread works until every task of the stage is done. */
function drain(pool: PoolMemory, runner: TaskRunner): void {
  for (;;) {
    if (runner.take()) {
      runner.runTaken();
      continue;
    }
    const pending = Atomics.load(pool.control, CONTROL.pending);
    if (pending === 0) return;
    // Tasks are running elsewhere (and may split): look again soon.
    Atomics.wait(pool.control, CONTROL.pending, pending, 0.05);
  }
}
