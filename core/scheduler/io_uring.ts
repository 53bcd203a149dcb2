/**
 * The io_uring batch backend: systems run on the calling thread, as on the
 * blocking backend, and each phase's I/O intents go to the kernel as one
 * batch (one io_uring_enter when the submission queue holds them all). The
 * executor comes from an opener given at construction, since core/ uses only
 * web-standard APIs: the CLI passes ffi's, which uses io_uring through
 * liburing where it can and says once why not where it cannot, running the
 * same intents through a portable path that writes the same bytes.
 *
 * @module
 */

import type { IoExecutor } from "../io.ts";
import type { Stage } from "../schedule.ts";
import type { Backend, BackendStats, RuntimeState, StageReport } from "./backend.ts";
import { BlockingBackend } from "./blocking.ts";

/**
 * How to build the io_uring backend.
 *
 * @example
 * ```ts
 * import { IoUringBackend, type IoUringBackendOptions } from "staticecs";
 * import { openIoExecutor } from "staticecs/backend";
 * const options: IoUringBackendOptions = { open: () => openIoExecutor() };
 * const backend = new IoUringBackend(options);
 * ```
 */
export interface IoUringBackendOptions {
  /** Opens the executor: io_uring, or the portable path with the reason. */
  readonly open: () => Promise<IoExecutor>;
}

/**
 * Blocking compute with batched I/O.
 *
 * @example
 * ```ts ignore
 * import { IoUringBackend } from "staticecs";
 * import { openIoExecutor } from "staticecs/backend";
 * const backend = new IoUringBackend({ open: () => openIoExecutor() });
 * ```
 */
export class IoUringBackend implements Backend {
  readonly name = "io-uring";
  io: IoExecutor | undefined;
  private readonly options: IoUringBackendOptions;
  private readonly inner = new BlockingBackend();

  constructor(options: IoUringBackendOptions) {
    this.options = options;
  }

  async init(state: RuntimeState): Promise<void> {
    this.io = await this.options.open();
    await this.inner.init(state);
  }

  runStage(stage: Stage, report: StageReport): void {
    this.inner.runStage(stage, report);
  }

  stats(): BackendStats {
    return { ...this.inner.stats(), ...(this.io?.stats() ?? {}) };
  }

  async close(): Promise<void> {
    this.io?.close();
    this.io = undefined;
    await this.inner.close();
  }
}
