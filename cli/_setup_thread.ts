/**
 * Runs a scene's setup in a Worker (cli/setup_worker.ts) and hands back the
 * world it built as a snapshot, while the main thread listens for SIGINT and
 * SIGTERM: a signal during setup ends the worker and the run at once, with
 * one line and exit 128 + the signal's number. On the main thread a setup
 * that loops would never let a signal handler run.
 *
 * The snapshot keeps archetype order, entity handles, the free list,
 * resources and events, so restoring it gives the world (and the checksum)
 * a setup on the main thread gives.
 *
 * @module
 */

import process from "node:process";
import { restoreWorld } from "../core/snapshot.ts";
import type { Scene } from "../core/scene.ts";
import type { World } from "../core/world.ts";
import { workerEntryUrl } from "./_backends.ts";
import { firstLine, Stopped } from "./_failure.ts";
import type { LoadedScene } from "./_load_scene.ts";
import { exitCodeAfter, listenForStop } from "./_stop_signals.ts";

/** What the main thread asks the setup worker. */
export interface SetupRequest {
  readonly sceneUrl: string;
  /** As given to Runtime.create on the main thread. */
  readonly seed: number;
  readonly hz: number | undefined;
}

/** What the setup worker answers: the world after setup, or why there is none. */
export type SetupReply =
  | { readonly kind: "done"; readonly snapshot: Uint8Array }
  /** Setup called process.exit: the process exits with `code`. */
  | { readonly kind: "exit"; readonly code: number }
  | {
    readonly kind: "failed";
    /** True if the scene's setup threw, false if building the world or the worker did. */
    readonly inSetup: boolean;
    readonly message: string;
    readonly stack: string | undefined;
  };

/** An error thrown by the scene's own setup (in the worker); `cause` carries its stack. */
export class SetupFailure extends Error {
  constructor(cause: unknown) {
    super(firstLine(cause), { cause });
    this.name = "SetupFailure";
  }
}

/** A setup running in its worker. */
export interface SetupThread {
  /** The world after setup; rejects with SetupFailure, Stopped or the worker's error. */
  readonly snapshot: Promise<Uint8Array>;
  /** Ends the worker and stops listening for signals. */
  cancel(): void;
}

/**
 * Starts the scene's setup in a worker, with the seed and rate the main
 * thread's Runtime.create gets.
 *
 * @example
 * ```ts ignore
 * const thread = startSetupThread(loaded, { sceneUrl: loaded.url, seed: 1, hz: undefined });
 * const runtime = await Runtime.create(sceneWithSetupFrom(loaded.scene, thread), { seed: 1 });
 * ```
 */
export function startSetupThread(loaded: LoadedScene, request: SetupRequest): SetupThread {
  const worker = new Worker(workerEntryUrl("setup_worker.ts"), { type: "module" });
  const { promise: snapshot, resolve, reject } = Promise.withResolvers<Uint8Array>();
  // Settled with nobody waiting when the main thread's own start failed first.
  snapshot.catch(() => {});
  const stop = listenForStop((signal) => {
    end();
    reject(new Stopped(`${loaded.file}: stopped during setup (${signal})`, exitCodeAfter(signal)));
  });
  function end(): void {
    stop.dispose();
    worker.terminate();
  }
  worker.onmessage = (event: MessageEvent<SetupReply>) => {
    end();
    const reply = event.data;
    if (reply.kind === "exit") process.exit(reply.code);
    if (reply.kind === "done") resolve(reply.snapshot);
    else reject(failureOf(reply));
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault?.();
    end();
    reject(new Error(`the setup worker failed: ${event.message}`));
  };
  worker.postMessage(request);
  return { snapshot, cancel: end };
}

/**
 * The scene with a setup that restores the world `thread` built, in place of
 * running setup on this thread.
 */
export function sceneWithSetupFrom(scene: Scene, thread: SetupThread): Scene {
  return Object.freeze({
    ...scene,
    async setup(world: World): Promise<void> {
      const ticks = restoreWorld(world, await thread.snapshot);
      if (ticks !== 0) throw new Error(`the setup worker's snapshot is at tick ${ticks}, not 0`);
    },
  });
}

function failureOf(reply: Extract<SetupReply, { kind: "failed" }>): Error {
  const cause = new Error(reply.message);
  if (reply.stack !== undefined) cause.stack = reply.stack;
  return reply.inSetup
    ? new SetupFailure(cause)
    : new Error(`the setup worker failed: ${reply.message}`, { cause });
}
