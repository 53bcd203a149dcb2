/**
 * A work-stealing pool worker. It imports the scene module itself (an entry
 * that imports this module may first set up how "staticecs" resolves, as the
 * CLI's does under Bun),
 * builds a view of the main thread's world over the same shared memory,
 * finds systems by name, and then takes, steals and runs tasks until told to
 * shut down. It never creates entities or archetypes: structure changes on
 * the main thread only, and layout messages bring its view up to date.
 *
 * @module
 */

import { CommandBuffer, type CommandMemory } from "../commands.ts";
import { SystemContext } from "../context.ts";
import { isScene } from "../scene.ts";
import { buildSchedule } from "../schedule.ts";
import { eventOwnerOf, type Owner } from "../schema.ts";
import { World, type WorldMemory } from "../world.ts";
import { type LayoutDelta, LayoutFollower } from "./_layout.ts";
import { CONTROL, PoolMemory, type PoolShape, STAT } from "./_pool_memory.ts";
import { TaskRunner } from "./_task_runner.ts";
import { TRACE_KIND, traceOn, writeTrace } from "./task_trace.ts";
import { readerCursor, setReaderCursor } from "../_world_internal.ts";

/** The first message a worker gets. */
export interface WorkerInit {
  readonly kind: "init";
  readonly sceneUrl: string;
  /** This worker's thread number, from 1. */
  readonly thread: number;
  readonly seed: number;
  readonly stopFirst: boolean;
  /** Hash what each system may only read around it (RuntimeOptions.checkAccess). */
  readonly checkAccess: boolean;
  /** System names in scene order, as the main thread has them. */
  readonly systemNames: readonly string[];
  readonly splittable: readonly boolean[];
  readonly pool: { readonly shape: PoolShape; readonly buffer: SharedArrayBuffer };
  readonly world: WorldMemory;
  readonly commands: CommandMemory;
  /** Rounds of looking for work before parking. */
  readonly spinRounds: number;
}

/** What a worker says back. */
export type WorkerReply =
  | { readonly kind: "ready"; readonly thread: number }
  | { readonly kind: "error"; readonly thread: number; readonly message: string }
  | { readonly kind: "closed"; readonly thread: number };

/** A view of the main thread's world whose event reader cursors live in pool memory. */
class WorkerWorld extends World {
  pool: PoolMemory | undefined;
  systemIndex: Map<string, number> = new Map();
  eventIndex: Map<Owner, number> = new Map();

  override [readerCursor](system: string, event: Owner): number {
    return this.pool!.cursors[this.slot(system, event)];
  }

  override [setReaderCursor](system: string, event: Owner, seq: number): void {
    this.pool!.cursorEnds[this.slot(system, event)] = seq;
  }

  private slot(system: string, event: Owner): number {
    return this.systemIndex.get(system)! * this.eventIndex.size + this.eventIndex.get(event)!;
  }
}

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: WorkerReply): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
const layouts: LayoutDelta[] = [];
let thread = 0;

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as WorkerInit | LayoutDelta;
  if (message.kind === "layout") {
    layouts.push(message);
    return;
  }
  thread = message.thread;
  start(message).catch((error) => {
    const text = error instanceof Error ? error.message : String(error);
    scope.postMessage({ kind: "error", thread, message: text });
  });
};

async function start(init: WorkerInit): Promise<void> {
  const module = await import(init.sceneUrl);
  const scene = module.default;
  if (!isScene(scene)) throw new Error(`${init.sceneUrl}: default export is not a scene`);
  const names = scene.systems.map((system) => system.name);
  if (names.join("\n") !== init.systemNames.join("\n")) {
    throw new Error(
      `${init.sceneUrl} has systems [${names}] in this worker but [${init.systemNames}] on the ` +
        `main thread; a scene module must declare the same systems wherever it is imported`,
    );
  }
  const world = new WorkerWorld({ ...scene, memory: init.world });
  const pool = new PoolMemory(init.pool.shape, init.pool.buffer);
  world.pool = pool;
  names.forEach((name, i) => world.systemIndex.set(name, i));
  (scene.events ?? []).forEach((event, i) => world.eventIndex.set(eventOwnerOf(event), i));
  const schedule = buildSchedule(scene.systems, scene.phases);
  const commands = new CommandBuffer(world, init.commands);
  const queries = schedule.systems.map((entry) =>
    entry.system.query === undefined ? undefined : world.query(entry.system.query)
  );
  const contexts = schedule.systems.map((entry) =>
    new SystemContext(world, entry, commands, init.seed, {
      checkAccess: init.checkAccess,
      filter: queries[entry.index]?.filter,
    })
  );
  const runner = new TaskRunner({
    pool,
    thread,
    systems: schedule.systems,
    contexts,
    queries,
    splittable: init.splittable,
    stopFirst: init.stopFirst,
  });
  scope.postMessage({ kind: "ready", thread });
  await loop(world, pool, runner, commands, init.spinRounds);
  scope.postMessage({ kind: "closed", thread });
  scope.close();
}

async function loop(
  world: World,
  pool: PoolMemory,
  runner: TaskRunner,
  commands: CommandBuffer,
  spinRounds: number,
): Promise<void> {
  const follower = new LayoutFollower();
  let stage = -1;
  for (;;) {
    if (Atomics.load(pool.control, CONTROL.shutdown) !== 0) return;
    if (runner.take()) {
      const current = Atomics.load(pool.control, CONTROL.stageSeq);
      if (current !== stage) {
        await catchUp(world, pool, follower);
        follower.syncRows(world, pool);
        commands.count = 0;
        stage = current;
      }
      runner.runTaken();
      continue;
    }
    idle(pool, spinRounds);
  }
}

/** Looks for work a while, then parks until woken (or a short timeout, to see shutdown). */
function idle(pool: PoolMemory, spinRounds: number): void {
  for (let round = 0; round < spinRounds; round++) {
    if (Atomics.load(pool.control, CONTROL.pending) > 0) return;
  }
  const seen = pool.parker.epoch();
  if (Atomics.load(pool.control, CONTROL.pending) > 0) return;
  if (Atomics.load(pool.control, CONTROL.shutdown) !== 0) return;
  const parkedMs = pool.parker.park(seen, 100);
  pool.addStat(thread, STAT.parkedMs, parkedMs);
  if (traceOn(pool)) {
    const endedMs = performance.now();
    writeTrace(pool, thread, TRACE_KIND.park, endedMs - parkedMs, endedMs, 0, 0, 0, 0, 0);
  }
}

/** Applies layout messages until the view is at the version the main thread published. */
async function catchUp(world: World, pool: PoolMemory, follower: LayoutFollower): Promise<void> {
  const target = Atomics.load(pool.control, CONTROL.layoutVersion);
  while (follower.version < target) {
    const next = layouts.shift();
    if (next === undefined) {
      // The message is on its way: let this thread's event loop deliver it.
      await new Promise((resolve) => setTimeout(resolve, 0));
      continue;
    }
    follower.apply(world, next);
  }
}
