/**
 * The static even split: the baseline that work stealing is measured
 * against in `parallel.ts`. It is how bitECS documents using workers: the
 * component columns live in SharedArrayBuffer memory, and each thread owns
 * one contiguous slice of the entities, fixed before the first frame, whatever
 * each entity costs.
 *
 * The columns (sixteen matrix columns, the per-entity inversion count and an
 * accumulator `x`) are Float32Arrays over one SharedArrayBuffer; the main
 * thread and `threads - 1` Workers each run `invertInPlace` (scenes/_matrix.ts,
 * the same arithmetic as the StaticECS scenes) over their slice. A frame is a
 * barrier through Atomics: the main thread sets the count of workers still
 * busy, bumps a frame counter and notifies; each worker runs its slice and
 * decrements the count (the last one notifies); the main thread runs its own
 * slice, then waits for the count to reach zero.
 *
 * Workers stop through shared memory first (Deno's `terminate()` does not stop
 * a worker busy in a synchronous loop), then are terminated.
 *
 * @module
 */

import { invertInPlace, type MatrixColumns, matrixHolder } from "./scenes/_matrix.ts";

/** Columns of the split's memory, each `entities` Float32 values long. */
export const SPLIT_COLUMN = { matrix: 0, inversions: 16, x: 17 } as const;
/** Columns in all: 16 matrix columns, the inversion count, x. */
export const SPLIT_COLUMNS = 18;

/** Int32 slots of the control memory shared with the workers. */
export const SPLIT_CONTROL = { frame: 0, pending: 1, stop: 2 } as const;
const CONTROL_SLOTS = 4;

/** Rounds a waiting thread polls before it parks with Atomics.wait (as the work-stealing pool). */
export const SPLIT_SPIN_ROUNDS = 2000;
/** Most entities a split takes: a bound on its memory. */
const ENTITIES_MAX = 1 << 22;
/** Most threads a split runs on. */
const THREADS_MAX = 256;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 2_000;

/** The first (and only) message a split worker gets. */
export interface SplitWorkerInit {
  readonly kind: "init";
  readonly thread: number;
  readonly columns: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly entities: number;
  /** This worker's slice: rows [begin, end). */
  readonly begin: number;
  readonly end: number;
}

/** What a split worker says back. */
export type SplitWorkerReply =
  | { readonly kind: "ready"; readonly thread: number }
  | { readonly kind: "stopped"; readonly thread: number }
  | { readonly kind: "error"; readonly thread: number; readonly message: string };

/** The data a split starts from: one value per entity in each column. */
export interface SplitData {
  /** The sixteen matrix columns m0..m15. */
  readonly matrix: readonly ArrayLike<number>[];
  /** Inversions per entity per frame. */
  readonly inversions: ArrayLike<number>;
  /** The accumulator each inversion's determinant sign is added to (zeros if omitted). */
  readonly x?: ArrayLike<number>;
}

/** Views of a split's columns over its shared memory. */
export interface SplitColumns {
  readonly matrix: MatrixColumns;
  readonly inversions: Float32Array;
  readonly x: Float32Array;
}

/** Float32 views of the columns in `buffer`, each `entities` long. */
export function splitColumns(buffer: SharedArrayBuffer, entities: number): SplitColumns {
  const column = (k: number) => new Float32Array(buffer, k * entities * 4, entities);
  const matrix = matrixHolder();
  const names = Object.keys(matrix) as (keyof MatrixColumns)[];
  for (let k = 0; k < 16; k++) matrix[names[k]] = column(SPLIT_COLUMN.matrix + k);
  return { matrix, inversions: column(SPLIT_COLUMN.inversions), x: column(SPLIT_COLUMN.x) };
}

/** One thread's share of a frame: rows [begin, end), the scenes' arithmetic. */
export function runSlice(columns: SplitColumns, begin: number, end: number): void {
  const { matrix, inversions, x } = columns;
  for (let i = begin; i < end; i++) x[i] += invertInPlace(matrix, i, inversions[i]);
}

/** The first row of thread `t`'s slice when `entities` rows are split evenly over `threads`. */
export function sliceStart(t: number, threads: number, entities: number): number {
  return Math.floor((t * entities) / threads);
}

/** Waits (spinning, then parked) until `control[slot]` is no longer `seen`; returns the new value. */
export function awaitChange(control: Int32Array, slot: number, seen: number): number {
  for (let round = 0; round < SPLIT_SPIN_ROUNDS; round++) {
    const now = Atomics.load(control, slot);
    if (now !== seen) return now;
  }
  for (;;) {
    Atomics.wait(control, slot, seen, 100);
    const now = Atomics.load(control, slot);
    if (now !== seen) return now;
  }
}

/** How to build a split. */
export interface StaticSplitOptions {
  /** Threads in all, the calling one included (at least 1). */
  readonly threads: number;
  readonly data: SplitData;
}

/**
 * A static even split running on `threads` threads.
 *
 * @example
 * ```ts ignore
 * import { StaticSplit } from "./_static_split.ts";
 * const m = Array.from({ length: 16 }, (_, k) => [k % 5 === 0 ? 2 : 0.5]);
 * const split = await StaticSplit.create({ threads: 2, data: { matrix: m, inversions: [10] } });
 * split.frame();
 * await split.close();
 * ```
 */
export class StaticSplit {
  readonly threads: number;
  readonly entities: number;
  readonly columns: SplitColumns;
  private readonly control: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly stopped: Promise<void>[] = [];
  private readonly mainEnd: number;
  private closed = false;

  private constructor(threads: number, entities: number) {
    if (!Number.isInteger(threads) || threads < 1 || threads > THREADS_MAX) {
      throw new Error(`threads must be an integer from 1 to ${THREADS_MAX}; got ${threads}`);
    }
    if (!Number.isInteger(entities) || entities < 1 || entities > ENTITIES_MAX) {
      throw new Error(`entities must be an integer from 1 to ${ENTITIES_MAX}; got ${entities}`);
    }
    this.threads = threads;
    this.entities = entities;
    const buffer = new SharedArrayBuffer(SPLIT_COLUMNS * entities * 4);
    this.columns = splitColumns(buffer, entities);
    this.control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    this.mainEnd = sliceStart(1, threads, entities);
  }

  /** Copies `options.data` into shared memory and starts `threads - 1` workers. */
  static async create(options: StaticSplitOptions): Promise<StaticSplit> {
    const { data } = options;
    if (data.matrix.length !== 16) {
      throw new Error(`data.matrix must have 16 columns; got ${data.matrix.length}`);
    }
    const split = new StaticSplit(options.threads, data.inversions.length);
    const names = Object.keys(split.columns.matrix) as (keyof MatrixColumns)[];
    for (let k = 0; k < 16; k++) {
      if (data.matrix[k].length !== split.entities) {
        throw new Error(
          `data.matrix[${k}] has ${data.matrix[k].length} rows, not ${split.entities}`,
        );
      }
      split.columns.matrix[names[k]].set(data.matrix[k]);
    }
    split.columns.inversions.set(data.inversions);
    if (data.x !== undefined) split.columns.x.set(data.x);
    await split.start();
    return split;
  }

  /** One frame: every thread runs its slice; returns when all are done. */
  frame(): void {
    const control = this.control;
    const workers = this.workers.length;
    if (workers > 0) {
      Atomics.store(control, SPLIT_CONTROL.pending, workers);
      Atomics.add(control, SPLIT_CONTROL.frame, 1);
      Atomics.notify(control, SPLIT_CONTROL.frame);
    }
    runSlice(this.columns, 0, this.mainEnd);
    let pending = Atomics.load(control, SPLIT_CONTROL.pending);
    while (pending !== 0) pending = awaitChange(control, SPLIT_CONTROL.pending, pending);
  }

  /** Stops the workers through shared memory, then terminates them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, SPLIT_CONTROL.stop, 1);
    Atomics.add(this.control, SPLIT_CONTROL.frame, 1);
    Atomics.notify(this.control, SPLIT_CONTROL.frame);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS));
    await Promise.race([Promise.all(this.stopped), timeout]);
    clearTimeout(timer);
    for (const worker of this.workers) worker.terminate();
    this.workers.length = 0;
  }

  private async start(): Promise<void> {
    const url = new URL("./_static_split_worker.ts", import.meta.url).href;
    const ready: Promise<void>[] = [];
    for (let t = 1; t < this.threads; t++) {
      const worker = new Worker(url, { type: "module" });
      this.workers.push(worker);
      ready.push(this.watch(worker, t));
      const init: SplitWorkerInit = {
        kind: "init",
        thread: t,
        columns: this.columns.inversions.buffer as SharedArrayBuffer,
        control: this.control.buffer as SharedArrayBuffer,
        entities: this.entities,
        begin: sliceStart(t, this.threads, this.entities),
        end: sliceStart(t + 1, this.threads, this.entities),
      };
      worker.postMessage(init);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`split workers did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([Promise.all(ready), timeout]);
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when `worker` is ready; rejects on its error; tracks its stop. */
  private watch(worker: Worker, thread: number): Promise<void> {
    let stopped!: () => void;
    this.stopped.push(new Promise<void>((resolve) => stopped = resolve));
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<SplitWorkerReply>) => {
        const reply = event.data;
        if (reply.kind === "ready") resolve();
        else if (reply.kind === "stopped") stopped();
        else reject(new Error(`split worker ${thread}: ${reply.message}`));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault?.();
        reject(new Error(`split worker ${thread} failed: ${event.message}`));
        stopped();
      };
    });
  }
}
