/**
 * The work-stealing pool's task records (core/scheduler/task_trace.ts): off,
 * no thread records anything; on, every task a thread runs leaves a record
 * naming its system and chunk range, stolen tasks are marked, stages are
 * recorded with their tick, times of different threads fall inside their
 * stage, and the world ends with the blocking backend's checksum either way.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AdaptiveBackend, Runtime, WorkStealingBackend } from "../mod.ts";
import type { TraceRecord } from "../core/scheduler/task_trace.ts";
import scene from "./fixtures/parallel_scene.ts";
import { blockingChecksum } from "./fixtures/on_pool.ts";
import { until } from "./fixtures/until.ts";

const SCENE_URL = new URL("./fixtures/parallel_scene.ts", import.meta.url).href;
const SEED = 5;
const LONG = { timeout: 60_000 };

function taskRecords(records: readonly TraceRecord[]) {
  return records.flatMap((r) => r.kind === "task" ? [r] : []);
}

describe("task trace", () => {
  it("records nothing while off, and every task while on", LONG, async () => {
    const backend = new WorkStealingBackend({
      sceneUrl: SCENE_URL,
      workers: 2,
      minParallelWork: 0,
    });
    const runtime = await Runtime.create(scene, { backend, seed: SEED });
    try {
      const trace = backend.taskTrace()!;
      assert.equal(trace.enabled, false);
      assert.equal(trace.threads, 3);
      runtime.run(20);
      assert.deepEqual(trace.read(-Infinity), []);
      trace.start();
      const sinceMs = performance.now();
      // Which thread takes a task is up to timing: tick until a worker has recorded one.
      const records = await until("a worker to record a task", () => {
        runtime.run(5);
        const all = trace.read(sinceMs);
        return taskRecords(all).some((r) => r.thread > 0) ? all : undefined;
      });
      const systems = runtime.schedule.systems.length;
      for (const task of taskRecords(records)) {
        assert.ok(task.system >= 0 && task.system < systems, `system ${task.system}`);
        assert.ok(task.endMs >= task.startMs && task.startMs >= sinceMs - 1);
        assert.ok(task.archetype >= -2);
        if (task.archetype >= 0) assert.ok(task.endChunk > task.firstChunk);
      }
      const stages = records.flatMap((r) => r.kind === "stage" ? [r] : []);
      assert.ok(stages.length > 0, "stages are recorded on thread 0");
      for (const stage of stages) {
        assert.equal(stage.thread, 0);
        assert.ok(stage.tick >= 20 && stage.tick < runtime.ticks);
        assert.ok(stage.stage >= 0 && stage.stage < runtime.schedule.stages.length);
      }
      // A task of a parallel stage ran inside that stage's time, whichever thread ran it.
      const parallel = stages.filter((s) => s.parallel);
      for (const task of taskRecords(records)) {
        const within = parallel.some((s) =>
          task.startMs >= s.startMs - 0.05 &&
          task.endMs <= s.endMs + 0.05
        );
        assert.ok(within, `task of system ${task.system} on thread ${task.thread} in a stage`);
      }
      trace.stop();
      const stoppedAt = runtime.ticks;
      runtime.run(10);
      const after = trace.read(-Infinity).filter((r) => r.kind === "stage" && r.tick > stoppedAt);
      assert.deepEqual(after, []);
      assert.equal(runtime.checksum(), await blockingChecksum(scene, SEED, runtime.ticks));
    } finally {
      await runtime.close();
    }
  });

  it("marks stolen tasks and keeps the newest records when the ring wraps", LONG, async () => {
    const backend = new AdaptiveBackend({ sceneUrl: SCENE_URL, workers: 1, minParallelWork: 0 });
    const runtime = await Runtime.create(scene, { backend, seed: SEED });
    try {
      const trace = backend.taskTrace()!;
      trace.start();
      // A worker gets work only by stealing it from the calling thread's deque.
      const stolen = await until("a stolen task", () => {
        runtime.run(20);
        return taskRecords(trace.read(-Infinity)).find((r) => r.thread > 0 && r.stolen);
      });
      assert.equal(stolen.kind, "task");
      runtime.run(400); // far more records than a ring holds
      const records = trace.read(-Infinity);
      const perThread = new Map<number, number>();
      for (const r of records) perThread.set(r.thread, (perThread.get(r.thread) ?? 0) + 1);
      for (const count of perThread.values()) assert.ok(count < 1024);
      const lastTick = Math.max(...records.flatMap((r) => r.kind === "stage" ? [r.tick] : []));
      assert.equal(lastTick, runtime.ticks - 1);
    } finally {
      await runtime.close();
    }
  });
});
