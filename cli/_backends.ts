/**
 * The backends `--backend` can name. Adding one is one entry in
 * {@linkcode BACKENDS}: a name and a factory.
 *
 * @module
 */

import { AdaptiveBackend } from "../core/scheduler/adaptive.ts";
import type { Backend } from "../core/scheduler/backend.ts";
import { BlockingBackend } from "../core/scheduler/blocking.ts";
import { IoUringBackend } from "../core/scheduler/io_uring.ts";
import { WorkStealingBackend } from "../core/scheduler/work_stealing.ts";
import { openIoExecutor, openIoPair } from "../ffi/executor.ts";
import { BadInput } from "./_failure.ts";

/** What a backend factory may need besides its name. */
export interface BackendContext {
  /** File URL of the scene module, for backends whose workers import it themselves. */
  readonly sceneUrl: string;
  /** `--workers`: worker threads for a parallel backend; undefined for its default. */
  readonly workers?: number;
  /** `--min-parallel-work`: a parallel backend's inline threshold; undefined for its default. */
  readonly minParallelWork?: number;
}

/**
 * URL of one of the CLI's worker entries (`worker.ts`, `setup_worker.ts`) in
 * cli/. In the compiled binary every entry point is embedded under
 * `/$bunfs/root/` at its path in the project, while this module's own URL is
 * the binary's; elsewhere it is a file beside this one.
 *
 * @example
 * ```ts
 * import { workerEntryUrl } from "./_backends.ts";
 * const url = workerEntryUrl("setup_worker.ts"); // file:///.../cli/setup_worker.ts
 * ```
 */
export function workerEntryUrl(file: string): string {
  const base = import.meta.url.includes("/$bunfs/") ? "file:///$bunfs/root/cli/" : import.meta.url;
  return new URL(`./${file}`, base).href;
}

/** Makes a fresh backend for one run. */
export type BackendFactory = (context: BackendContext) => Backend;

/** Every backend by its `--backend` name; the first is the default. */
export const BACKENDS: Readonly<Record<string, BackendFactory>> = Object.freeze({
  blocking: () => new BlockingBackend(),
  "work-stealing": ({ sceneUrl, workers, minParallelWork }) =>
    new WorkStealingBackend({
      sceneUrl,
      workers,
      minParallelWork,
      workerUrl: workerEntryUrl("worker.ts"),
    }),
  "io-uring": () => new IoUringBackend({ open: () => openIoExecutor() }),
  adaptive: ({ sceneUrl, workers, minParallelWork }) =>
    new AdaptiveBackend({
      sceneUrl,
      workers,
      minParallelWork,
      workerUrl: workerEntryUrl("worker.ts"),
      openIo: openIoPair,
    }),
});

/** Backends that take `--workers` and `--min-parallel-work`. */
export const PARALLEL_BACKENDS: readonly string[] = ["work-stealing", "adaptive"];

/** Backends that bring their own I/O executor (the others get direct I/O). */
export const IO_BACKENDS: readonly string[] = ["io-uring", "adaptive"];

/** The backend used without `--backend`. */
export const DEFAULT_BACKEND = "blocking";

/**
 * Checks a `--backend` name, naming the available ones if it is unknown.
 *
 * @example
 * ```ts
 * import { backendFactory } from "./_backends.ts";
 * const backend = backendFactory("blocking")({ sceneUrl: "file:///scene.ts" });
 * ```
 */
export function backendFactory(name: string): BackendFactory {
  if (!Object.hasOwn(BACKENDS, name)) {
    throw new BadInput(
      `unknown backend "${name}"; available backends: ${Object.keys(BACKENDS).join(", ")}`,
    );
  }
  return BACKENDS[name];
}
