/**
 * Tests of core/events.ts and event access through SystemContext: lifetime, exactly-once
 * delivery per reader, the per-frame capacity bound, declared access.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BoundError,
  defineComponent,
  defineEvent,
  defineScene,
  defineSystem,
  Runtime,
  type System,
  UsageError,
} from "../mod.ts";

const Hit = defineEvent("Hit", { n: "u32", damage: "f32" }, { capacity: 64 });
const Small = defineEvent("Small", { n: "i32" }, { capacity: 4 });
const Spawned = defineEvent("Spawned", { entity: "entity", tag: "i8" });
const P = defineComponent("P", { x: "f32" });

function start(systems: System[], errorPolicy: "stop-first" | "aggregate" = "stop-first") {
  return Runtime.create(
    defineScene({ components: [P], events: [Hit, Small, Spawned], systems, errorPolicy }),
  );
}

/** A reader system that logs `tick:n` for every Hit it sees when `when(tick)`. */
function reader(name: string, log: string[], phase = "update", when = (_tick: number) => true) {
  return defineSystem({
    name,
    phase,
    reads: [Hit],
    run(ctx) {
      if (!when(ctx.tick)) return;
      const view = ctx.read(Hit);
      for (let i = 0; i < view.count; i++) log.push(`${ctx.tick}:${view.get(Hit.n, i)}`);
    },
  });
}

describe("lifetime", () => {
  test("visible to later stages of the frame and through the next frame, then gone", async () => {
    const emitter = defineSystem({
      name: "emitter",
      writes: [Hit],
      run(ctx) {
        if (ctx.tick === 0) ctx.emit(Hit, { n: 7, damage: 1.5 });
      },
    });
    const logs: Record<string, string[]> = {
      sameStage: [],
      laterStage: [],
      laterPhase: [],
      nextFrame: [],
      nextFrameEarly: [],
      twoFramesLater: [],
    };
    const systems = [
      emitter,
      // Reads Hit, so it conflicts with the emitter: a later stage. A same-stage reader is
      // impossible (reading and emitting conflict), so "same stage" here is the emitter itself.
      reader("laterStage", logs.laterStage, "update", (t) => t === 0),
      reader("laterPhase", logs.laterPhase, "render", (t) => t === 0),
      reader("nextFrame", logs.nextFrame, "update", (t) => t === 1),
      reader("nextFrameEarly", logs.nextFrameEarly, "pre_update", (t) => t === 1),
      reader("twoFramesLater", logs.twoFramesLater, "update", (t) => t === 2),
    ];
    const runtime = await start(systems);
    for (let i = 0; i < 3; i++) assert.deepEqual(runtime.tick().errors, []);
    assert.deepEqual(logs.laterStage, ["0:7"]);
    assert.deepEqual(logs.laterPhase, ["0:7"]);
    assert.deepEqual(logs.nextFrame, ["1:7"]);
    assert.deepEqual(logs.nextFrameEarly, ["1:7"]);
    assert.deepEqual(logs.twoFramesLater, [], "gone after the next frame");
    await runtime.close();
  });

  test("an emitter does not see its own events in the stage it emits them", async () => {
    const seen: number[] = [];
    const echo = defineSystem({
      name: "echo",
      reads: [Hit],
      writes: [Hit],
      run(ctx) {
        seen.push(ctx.read(Hit).count);
        ctx.emit(Hit, { n: ctx.tick });
        seen.push(ctx.read(Hit).count);
      },
    });
    const runtime = await start([echo]);
    runtime.run(3);
    assert.deepEqual(seen, [0, 0, 1, 1, 1, 1], "each frame it sees last frame's event once");
    await runtime.close();
  });

  test("field values of every event field come through", async () => {
    const got: number[][] = [];
    const emitter = defineSystem({
      name: "emitter",
      writes: [Hit],
      run(ctx) {
        ctx.emit(Hit, { n: 2 ** 32 - 1, damage: 0.1 });
        ctx.emit(Hit, { damage: -3 });
      },
    });
    const consumer = defineSystem({
      name: "consumer",
      reads: [Hit],
      run(ctx) {
        const view = ctx.read(Hit);
        for (let i = 0; i < view.count; i++) {
          got.push([view.get(Hit.n, i), view.get(Hit.damage, i)]);
        }
        assert.throws(() => view.get(Small.n, 0), /event view of Hit asked for field Small\.n/);
      },
    });
    const runtime = await start([emitter, consumer]);
    assert.deepEqual(runtime.tick().errors, []);
    assert.deepEqual(got, [[2 ** 32 - 1, Math.fround(0.1)], [0, -3]], "missing fields are 0");
    await runtime.close();
  });

  test("a pending handle in an event's entity field becomes the real handle", async () => {
    const got: number[] = [];
    let alive = true;
    const spawner = defineSystem({
      name: "spawner",
      writes: [Spawned, P],
      run(ctx) {
        if (ctx.tick > 0) return;
        assert.throws(
          () => ctx.emit(Spawned, { entity: -1 }),
          /emit Spawned\.entity: pending handle -1 does not come from this system/,
        );
        const e = ctx.commands.spawn();
        ctx.commands.add(e, P, { x: 4 });
        ctx.emit(Spawned, { entity: e, tag: -1 });
      },
    });
    const watcher = defineSystem({
      name: "watcher",
      reads: [Spawned, P],
      run(ctx) {
        const view = ctx.read(Spawned);
        for (let i = 0; i < view.count; i++) {
          const e = view.get(Spawned.entity, i);
          got.push(e, view.get(Spawned.tag, i));
          alive &&= ctx.world.isAlive(e) && ctx.get(e, P.x) === 4;
        }
      },
    });
    const runtime = await start([spawner, watcher]);
    assert.deepEqual(runtime.tick().errors, []);
    assert.equal(got.length, 2);
    assert.ok(got[0] > 0, `entity field is ${got[0]}`);
    assert.equal(got[1], -1);
    assert.ok(alive, "the event names the spawned entity");
    await runtime.close();
  });
});

describe("delivery", () => {
  test("a reader running every frame sees each event exactly once", async () => {
    const emitter = defineSystem({
      name: "emitter",
      writes: [Hit],
      run(ctx) {
        for (let i = 0; i <= ctx.tick % 4; i++) ctx.emit(Hit, { n: ctx.tick * 100 + i });
      },
    });
    const later: string[] = [];
    const earlier: string[] = [];
    const runtime = await start([
      emitter,
      reader("later", later, "post_update"),
      reader("earlier", earlier, "pre_update"),
    ]);
    const ticks = 12;
    for (let i = 0; i < ticks; i++) assert.deepEqual(runtime.tick().errors, []);
    const emitted: string[] = [];
    for (let t = 0; t < ticks; t++) {
      for (let i = 0; i <= t % 4; i++) emitted.push(`${t}:${t * 100 + i}`);
    }
    assert.deepEqual(later, emitted, "the later phase sees them in the frame they are emitted");
    // The earlier phase sees them the next frame: tick t's events are logged at tick t + 1.
    const expectedEarlier = emitted
      .filter((e) => Number(e.split(":")[0]) < ticks - 1)
      .map((e) => `${Number(e.split(":")[0]) + 1}:${e.split(":")[1]}`);
    assert.deepEqual(earlier, expectedEarlier);
    await runtime.close();
  });

  test("two readers of one event keep separate cursors", async () => {
    const emitter = defineSystem({
      name: "emitter",
      writes: [Hit],
      run(ctx) {
        ctx.emit(Hit, { n: ctx.tick });
      },
    });
    const everyFrame: string[] = [];
    const oddFrames: string[] = [];
    const runtime = await start([
      emitter,
      reader("everyFrame", everyFrame, "post_update"),
      reader("oddFrames", oddFrames, "post_update", (t) => t % 2 === 1),
    ]);
    runtime.run(4);
    assert.deepEqual(everyFrame, ["0:0", "1:1", "2:2", "3:3"]);
    assert.deepEqual(oddFrames, ["1:0", "1:1", "3:2", "3:3"], "unread events wait a frame");
    await runtime.close();
  });
});

describe("bounds and access", () => {
  test("emitting over capacity in one frame is a BoundError in the frame result", async () => {
    const got: number[] = [];
    const flood = defineSystem({
      name: "flood",
      writes: [Small],
      run(ctx) {
        const count = ctx.tick === 0 ? 6 : 4;
        for (let i = 0; i < count; i++) ctx.emit(Small, { n: ctx.tick * 10 + i });
      },
    });
    const consumer = defineSystem({
      name: "consumer",
      phase: "post_update",
      reads: [Small],
      run(ctx) {
        const view = ctx.read(Small);
        for (let i = 0; i < view.count; i++) got.push(view.get(Small.n, i));
      },
    });
    const runtime = await start([flood, consumer], "aggregate");
    const first = runtime.tick();
    assert.equal(first.errors.length, 1);
    const [failure] = first.errors;
    assert.equal(failure.system, "flood");
    assert.ok(failure.error instanceof BoundError);
    assert.equal(failure.error.bound, "Small.capacity");
    assert.equal(failure.error.limit, 4);
    assert.match(failure.message, /event queue Small full: 4 events this frame/);
    assert.deepEqual(got, [0, 1, 2, 3], "the events recorded before the bound are delivered");
    assert.deepEqual(runtime.tick().errors, [], "the bound is per frame");
    assert.deepEqual(got, [0, 1, 2, 3, 10, 11, 12, 13]);
    await runtime.close();
  });

  test("the capacity is shared by every emitter of the frame", async () => {
    const emitter = (name: string, phase: string) =>
      defineSystem({
        name,
        phase,
        writes: [Small],
        run(ctx) {
          for (let i = 0; i < 3; i++) ctx.emit(Small, { n: i });
        },
      });
    const runtime = await start([emitter("a", "update"), emitter("b", "post_update")]);
    const result = runtime.tick();
    assert.deepEqual(result.errors.map((e) => e.system), ["b"]);
    assert.ok(result.errors[0].error instanceof BoundError);
    await runtime.close();
  });

  test("reading or emitting an undeclared event is a UsageError naming the fix", async () => {
    const sneakyReader = defineSystem({
      name: "sneakyReader",
      reads: [P],
      run(ctx) {
        // @ts-expect-error: Hit is not declared; the run-time check is what this test is for.
        ctx.read(Hit);
      },
    });
    const sneakyEmitter = defineSystem({
      name: "sneakyEmitter",
      reads: [Hit],
      run(ctx) {
        // @ts-expect-error: Hit is declared only as read.
        ctx.emit(Hit, { n: 1 });
      },
    });
    const runtime = await start([sneakyReader, sneakyEmitter], "aggregate");
    const result = runtime.tick();
    assert.deepEqual(result.errors.map((e) => e.system), ["sneakyReader", "sneakyEmitter"]);
    for (const failure of result.errors) assert.ok(failure.error instanceof UsageError);
    assert.match(
      result.errors[0].message,
      /system sneakyReader uses event Hit without declaring it; add it to the system's reads/,
    );
    assert.match(
      result.errors[1].message,
      /sneakyEmitter emits event Hit, but lists Hit only in reads; add Hit to its writes/,
    );
    await runtime.close();
  });

  test("an event outside the scene is rejected when the scene is declared", () => {
    const Stray = defineEvent("Stray", { n: "u8" });
    const stray = defineSystem({
      name: "stray",
      reads: [Stray],
      writes: [Stray],
      run(ctx) {
        ctx.emit(Stray, { n: 1 });
      },
    });
    assert.throws(
      () => start([stray]),
      /system stray: reads lists event Stray, which is not in the scene's events; add it to/,
    );
  });
});
