/**
 * Starts a loaded scene on a backend, turning what can go wrong (a bad
 * declaration, a bound, a setup that throws) into one-line errors that name
 * the scene file. Setup runs in a worker (see _setup_thread.ts), so that
 * Ctrl-C during setup stops the run.
 *
 * @module
 */

import { EcsError } from "../core/errors.ts";
import { Runtime, type TraceHooks } from "../core/runtime.ts";
import type { BackendFactory } from "./_backends.ts";
import { PortableExecutor } from "../ffi/portable.ts";
import { BadInput, firstLine, Stopped } from "./_failure.ts";
import type { LoadedScene } from "./_load_scene.ts";
import { sceneWithSetupFrom, SetupFailure, startSetupThread } from "./_setup_thread.ts";

/** How to start a run. */
export interface StartOptions {
  readonly seed: number;
  /** Ticks per simulated second; undefined for the runtime's default (60). */
  readonly hz: number | undefined;
  readonly backend: BackendFactory;
  /** `--workers`, for parallel backends. */
  readonly workers?: number;
  /** `--min-parallel-work`, for parallel backends. */
  readonly minParallelWork?: number;
  /** Give the runtime the portable executor (for backends that bring none). */
  readonly directIo?: boolean;
  /** Start with an empty world: setup does not run (a cluster member that is not the first). */
  readonly skipSetup?: boolean;
  /** RuntimeOptions.checkAccess (`--check-access`). */
  readonly checkAccess?: boolean;
  /** RuntimeOptions.trace (the inspector's switch log). */
  readonly trace?: TraceHooks;
}

/**
 * Builds the world and schedule, runs setup and starts the backend.
 *
 * @example
 * ```ts
 * import { backendFactory } from "./_backends.ts";
 * import { loadScene } from "./_load_scene.ts";
 * import { startRuntime } from "./_start_runtime.ts";
 * const loaded = await loadScene("examples/boids.ts");
 * const runtime = await startRuntime(loaded, {
 *   seed: 1,
 *   hz: undefined,
 *   backend: backendFactory("blocking"),
 * });
 * await runtime.close();
 * ```
 */
export async function startRuntime(loaded: LoadedScene, options: StartOptions): Promise<Runtime> {
  const { file, scene } = loaded;
  // Setup runs in a worker, started first so that it overlaps building the world here.
  const setupThread = scene.setup === undefined || options.skipSetup === true
    ? undefined
    : startSetupThread(loaded, { sceneUrl: loaded.url, seed: options.seed, hz: options.hz });
  try {
    return await Runtime.create(
      setupThread === undefined ? scene : sceneWithSetupFrom(scene, setupThread),
      {
        seed: options.seed,
        hz: options.hz,
        backend: options.backend({
          sceneUrl: loaded.url,
          workers: options.workers,
          minParallelWork: options.minParallelWork,
        }),
        // Scenes with I/O systems run everywhere: backends without an executor of their own
        // (all but io-uring) do the same intents directly through node:fs.
        io: options.directIo ? new PortableExecutor("direct I/O") : undefined,
        skipSetup: options.skipSetup,
        checkAccess: options.checkAccess,
        trace: options.trace,
      },
    );
  } catch (error) {
    setupThread?.cancel();
    if (error instanceof Stopped) throw error;
    if (error instanceof SetupFailure) {
      throw new BadInput(`${file}: setup failed: ${error.message}`, { cause: error.cause });
    }
    if (error instanceof EcsError) {
      throw new BadInput(`${file}: ${firstLine(error)}`, { cause: error });
    }
    throw new BadInput(`${file}: failed to start: ${firstLine(error)}`, { cause: error });
  }
}
