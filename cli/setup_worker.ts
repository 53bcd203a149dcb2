/**
 * The CLI's setup worker entry: builds the world from the scene and runs its
 * setup off the main thread, then answers with a snapshot of the world. The
 * main thread meanwhile only waits, so it hears SIGINT and SIGTERM even when
 * setup is one long synchronous loop (a signal handler cannot run while its
 * thread is busy, and a Worker's own handlers do not fire under Bun). It is
 * one entry point of the compiled binary, like cli/worker.ts.
 *
 * Setup runs through `Runtime.create` with the seed and rate the main thread
 * uses, so the world, its archetype order and the setup's random stream are
 * the ones a setup on the main thread would give.
 *
 * @module
 */

import "./_bun_preload.ts";
import process from "node:process";
import { isScene, type Scene, type SetupContext } from "../core/scene.ts";
import { Runtime } from "../core/runtime.ts";
import type { World } from "../core/world.ts";
import type { SetupReply, SetupRequest } from "./_setup_thread.ts";

interface SetupScope {
  onmessage: ((event: MessageEvent<SetupRequest>) => void) | null;
  postMessage(message: SetupReply, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as SetupScope;

// In a worker, process.exit ends only the worker (and Deno tells the main thread nothing), so
// a setup that exits would leave the main thread waiting: ask the main thread to exit instead,
// as setup on the main thread would have, and wait here until it has.
process.exit = ((code?: number) => {
  scope.postMessage({ kind: "exit", code: code ?? Number(process.exitCode ?? 0) });
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}) as typeof process.exit;

scope.onmessage = async (event) => {
  const reply = await runSetup(event.data);
  // Moved, not copied: a snapshot is a plain ArrayBuffer of its own (snapshotWorld slices one).
  const transfer = reply.kind === "done" ? [reply.snapshot.buffer as ArrayBuffer] : [];
  scope.postMessage(reply, transfer);
};

async function runSetup(request: SetupRequest): Promise<SetupReply> {
  const where = { inSetup: false };
  try {
    const scene = (await import(request.sceneUrl)).default;
    if (!isScene(scene)) throw new Error(`${request.sceneUrl}: default export is not a scene`);
    const runtime = await Runtime.create(withSetupMarked(scene, where), {
      seed: request.seed,
      hz: request.hz,
    });
    await runtime.close();
    return { kind: "done", snapshot: runtime.snapshot() };
  } catch (error) {
    return {
      kind: "failed",
      inSetup: where.inSetup,
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    };
  }
}

/** The scene with a setup that says when it runs, to tell its errors from the world's. */
function withSetupMarked(scene: Scene, where: { inSetup: boolean }): Scene {
  const setup = scene.setup!;
  return Object.freeze({
    ...scene,
    async setup(world: World, ctx: SetupContext): Promise<void> {
      where.inSetup = true;
      await setup(world, ctx);
      where.inSetup = false;
    },
  });
}
