/**
 * Woven-ECS on the heavy_compute case with its own multithreading, as its
 * multithreading docs show: the components live in SharedArrayBuffer memory,
 * one worker system (`defineWorkerSystem(url, { threads })`, its body in
 * woven_workers_worker.ts under `setupWorker`) runs on `threads` Workers,
 * each taking its share of a partitioned query (`{ partitioned: true }`:
 * entity id modulo threads). The main thread waits while they work. A frame
 * is `world.sync()` then `await world.execute(system)`.
 *
 * The body reads each matrix through `Transform.write(ctx, eid)`, inverts it
 * with the scenes' `invertInPlace` (through a one-row holder, so the
 * arithmetic and its f32 rounding are exactly the scene's) and writes it back.
 *
 * The worker defines the components by importing this module, and Woven-ECS
 * pairs components across threads by definition order (a per-thread
 * counter), so nothing else may define Woven-ECS components on the main
 * thread before this module is loaded; `createWovenWorkers` checks that.
 *
 * @module
 */

import {
  addComponent,
  type Context,
  createEntity,
  defineComponent,
  defineWorkerSystem,
  field,
  World,
} from "@woven-ecs/core";
import { invertInPlace, type MatrixColumns, matrixHolder } from "../scenes/_matrix.ts";
import pkg from "../../../package.json" with { type: "json" };

/** Inversions per entity per frame: heavy_compute's INVERSIONS (parallel.ts checks they agree). */
export const WOVEN_INVERSIONS = 100;

/** The matrix, field for field as MATRIX_FIELDS. */
export const WovenTransform = defineComponent({
  m0: field.float32(),
  m1: field.float32(),
  m2: field.float32(),
  m3: field.float32(),
  m4: field.float32(),
  m5: field.float32(),
  m6: field.float32(),
  m7: field.float32(),
  m8: field.float32(),
  m9: field.float32(),
  m10: field.float32(),
  m11: field.float32(),
  m12: field.float32(),
  m13: field.float32(),
  m14: field.float32(),
  m15: field.float32(),
});

/** heavy_compute's Position. */
export const WovenPosition = defineComponent({
  x: field.float32(),
  y: field.float32(),
  z: field.float32(),
});

/** The package version measured. */
export const WOVEN_VERSION: string = pkg.devDependencies["@woven-ecs/core"];

const MATRIX_NAMES = [
  "m0",
  "m1",
  "m2",
  "m3",
  "m4",
  "m5",
  "m6",
  "m7",
  "m8",
  "m9",
  "m10",
  "m11",
  "m12",
  "m13",
  "m14",
  "m15",
] as const satisfies readonly (keyof MatrixColumns)[];

/** One row per column, made once per thread. */
const HOLDER: MatrixColumns = (() => {
  const holder = matrixHolder();
  for (const name of MATRIX_NAMES) holder[name] = new Float32Array(1);
  return holder;
})();

/** Inverts entity `eid`'s matrix WOVEN_INVERSIONS times and adds the sign to its x. */
export function invertEntity(ctx: Context, eid: number): void {
  const t = WovenTransform.write(ctx, eid);
  const h = HOLDER;
  h.m0[0] = t.m0, h.m1[0] = t.m1, h.m2[0] = t.m2, h.m3[0] = t.m3;
  h.m4[0] = t.m4, h.m5[0] = t.m5, h.m6[0] = t.m6, h.m7[0] = t.m7;
  h.m8[0] = t.m8, h.m9[0] = t.m9, h.m10[0] = t.m10, h.m11[0] = t.m11;
  h.m12[0] = t.m12, h.m13[0] = t.m13, h.m14[0] = t.m14, h.m15[0] = t.m15;
  const sign = invertInPlace(h, 0, WOVEN_INVERSIONS);
  t.m0 = h.m0[0], t.m1 = h.m1[0], t.m2 = h.m2[0], t.m3 = h.m3[0];
  t.m4 = h.m4[0], t.m5 = h.m5[0], t.m6 = h.m6[0], t.m7 = h.m7[0];
  t.m8 = h.m8[0], t.m9 = h.m9[0], t.m10 = h.m10[0], t.m11 = h.m11[0];
  t.m12 = h.m12[0], t.m13 = h.m13[0], t.m14 = h.m14[0], t.m15 = h.m15[0];
  WovenPosition.write(ctx, eid).x += sign;
}

/** heavy_compute's starting data: sixteen matrix columns and x, one value per entity. */
export interface WovenData {
  readonly matrix: readonly ArrayLike<number>[];
  readonly x: ArrayLike<number>;
}

/** A Woven-ECS world running heavy_compute on worker threads. */
export interface WovenWorkers {
  /** One frame. */
  readonly op: () => Promise<void>;
  /** The sixteen matrix columns, in the order the entities were given. */
  matrix(): Promise<Float32Array[]>;
  close(): void;
}

/** Longest a probe worker may take to load the worker module. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Loads `url` in a throwaway Worker of our own and rejects with the reason if
 * it fails. Woven-ECS attaches no error handler to the Workers it creates,
 * and Deno ends the whole process on an unhandled error in a worker; this
 * turns a module that cannot load in a worker into a "not run" instead.
 */
async function probeWorkerModule(url: string): Promise<void> {
  const source = `import(${JSON.stringify(url)}).then(() => postMessage({ ok: true }), ` +
    `(error) => postMessage({ ok: false, message: String(error) }));`;
  const probeUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(probeUrl, { type: "module" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the worker module did not load in ${PROBE_TIMEOUT_MS} ms`)),
        PROBE_TIMEOUT_MS,
      );
      worker.onmessage = (event: MessageEvent<{ ok: boolean; message?: string }>) => {
        if (event.data.ok) resolve();
        else reject(new Error(`the worker module does not load: ${event.data.message}`));
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault?.();
        reject(new Error(`the worker module does not load: ${event.message}`));
      };
    });
  } finally {
    clearTimeout(timer);
    worker.terminate();
    URL.revokeObjectURL(probeUrl);
  }
}

/**
 * Builds the world from `data` and a worker system on `threads` Workers.
 *
 * @example
 * ```ts ignore
 * import { createWovenWorkers } from "./woven_workers.ts";
 * const matrix = Array.from({ length: 16 }, (_, k) => [k % 5 === 0 ? 2 : 0.5]);
 * const woven = await createWovenWorkers(2, { matrix, x: [0] });
 * await woven.op();
 * woven.close();
 * ```
 */
export async function createWovenWorkers(threads: number, data: WovenData): Promise<WovenWorkers> {
  if (WovenTransform._defId !== 0 || WovenPosition._defId !== 1) {
    throw new Error(
      `components got definition ids ${WovenTransform._defId} and ${WovenPosition._defId}, ` +
        "not 0 and 1 as in the workers: another module defined Woven-ECS components first",
    );
  }
  const url = new URL("./woven_workers_worker.ts", import.meta.url).href;
  await probeWorkerModule(url);
  const entities = data.x.length;
  const world = new World([WovenTransform, WovenPosition], {
    threads,
    maxEntities: entities + 1,
  });
  const eids: number[] = [];
  await world.execute((ctx: Context) => {
    for (let i = 0; i < entities; i++) {
      const eid = createEntity(ctx);
      const values: Record<string, number> = {};
      MATRIX_NAMES.forEach((name, k) => values[name] = data.matrix[k][i]);
      addComponent(ctx, eid, WovenTransform, values);
      addComponent(ctx, eid, WovenPosition, { x: data.x[i], y: 0, z: 0 });
      eids.push(eid);
    }
  });
  const system = defineWorkerSystem(url, { threads });
  return {
    op: async () => {
      world.sync();
      await world.execute(system);
    },
    matrix: async () => {
      const columns = MATRIX_NAMES.map(() => new Float32Array(entities));
      await world.execute((ctx: Context) => {
        eids.forEach((eid, i) => {
          const t = WovenTransform.read(ctx, eid);
          MATRIX_NAMES.forEach((name, k) => columns[k][i] = t[name]);
        });
      });
      return columns;
    },
    close: () => world.dispose(),
  };
}
