/**
 * Starts a loaded scene on a backend, turning what can go wrong (a bad
 * declaration, a bound, a setup that throws) into one-line errors that name
 * the scene file.
 *
 * @module
 */

import { EcsError, Runtime, type Scene, type SetupContext, type World } from "../mod.ts";
import type { BackendFactory } from "./_backends.ts";
import { PortableExecutor } from "../ffi/portable.ts";
import { BadInput, firstLine } from "./_failure.ts";
import type { LoadedScene } from "./_load_scene.ts";

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
}

/** Carries an error thrown by the scene's own setup, to tell it from a build error. */
class SetupFailure extends Error {
  constructor(cause: unknown) {
    super(firstLine(cause), { cause });
  }
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
  const { file } = loaded;
  try {
    return await Runtime.create(withTaggedSetup(loaded.scene), {
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
    });
  } catch (error) {
    if (error instanceof SetupFailure) {
      throw new BadInput(`${file}: setup failed: ${error.message}`, { cause: error.cause });
    }
    if (error instanceof EcsError) {
      throw new BadInput(`${file}: ${firstLine(error)}`, { cause: error });
    }
    throw new BadInput(`${file}: failed to start: ${firstLine(error)}`, { cause: error });
  }
}

/**
 * The scene with its setup wrapped so that what setup throws arrives as a
 * SetupFailure; Runtime.create does both building and setup and does not say
 * which one threw.
 */
function withTaggedSetup(scene: Scene): Scene {
  const setup = scene.setup;
  if (setup === undefined) return scene;
  return Object.freeze({
    ...scene,
    async setup(world: World, ctx: SetupContext): Promise<void> {
      try {
        await setup(world, ctx);
      } catch (error) {
        throw new SetupFailure(error);
      }
    },
  });
}
