/**
 * Tests of core/runtime.ts and core/context.ts: the fixed timestep and its accumulator, error
 * policies, tracing hooks, system statistics, resources and declared access, per-chunk random
 * streams and determinism.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineComponent,
  defineResource,
  defineScene,
  defineSystem,
  type ErrorPolicy,
  Random,
  Runtime,
  type RuntimeOptions,
  SceneError,
  type System,
  Time,
  UsageError,
} from "../mod.ts";

const P = defineComponent("P", { x: "f64" });
const Q = defineComponent("Q", { y: "u32" });
const Gravity = defineResource("Gravity", { g: "f64", grid: ["i16", 8] });
const Score = defineResource("Score", { points: "u32" });

function start(
  systems: System[],
  options: RuntimeOptions & { errorPolicy?: ErrorPolicy; chunkRows?: number } = {},
  setup?: Parameters<typeof defineScene>[0]["setup"],
) {
  return Runtime.create(
    defineScene({
      components: [P, Q],
      resources: [Gravity, Score],
      systems,
      setup,
      config: options.chunkRows ? { chunkRows: options.chunkRows } : undefined,
    }),
    options,
  );
}

function noop(name: string, extra: Partial<Parameters<typeof defineSystem>[0]> = {}) {
  return defineSystem({ name, reads: [], run() {}, ...extra });
}

describe("fixed timestep", () => {
  test("at 60 Hz, dt is 1/60 and elapsed is exactly tick / 60", async () => {
    const seen: [number, number, number][] = [];
    const clock = defineSystem({
      name: "clock",
      reads: [Time],
      run(ctx) {
        seen.push([ctx.tick, ctx.dt, ctx.elapsed]);
        const time = ctx.resource(Time);
        assert.equal(time.tick, ctx.tick);
      },
    });
    const runtime = await start([clock], { hz: 60 });
    const n = 1000;
    runtime.run(n);
    assert.equal(runtime.ticks, n);
    assert.equal(seen.length, n);
    for (const [i, [tick, dt, elapsed]] of seen.entries()) {
      assert.equal(tick, i);
      assert.equal(dt, 1 / 60);
      assert.equal(elapsed, i / 60, `tick ${i}`);
    }
    const time = runtime.world.resource(Time);
    assert.equal(time.tick, n);
    assert.equal(time.elapsed, n / 60, "exact, not a sum of n steps");
    assert.notEqual(seen.reduce((sum) => sum + 1 / 60, 0), n / 60, "a running sum would drift");
    await runtime.close();
  });

  test("advance runs floor(accumulated / dt) ticks and carries the rest", async () => {
    const runtime = await start([noop("idle")], { hz: 60, maxCatchUpTicks: 1000 });
    assert.equal(runtime.advance(1), 60, "one second at 60 Hz is 60 ticks");
    assert.equal(runtime.advance(0.05), 3);
    assert.equal(runtime.advance(0.025), 1, "1.5 ticks: one now");
    assert.equal(runtime.advance(0.025), 2, "the half carried over completes one");
    assert.equal(runtime.advance(0.01), 0);
    assert.ok(Math.abs(runtime.secondsUntilNextTick() - (1 / 60 - 0.01)) < 1e-12);
    assert.equal(runtime.advance(-5), 0, "negative time is ignored");
    assert.equal(runtime.ticks, 66);
    assert.equal(runtime.droppedTicks, 0);
    await runtime.close();
  });

  test("over many calls, ticks run equal floor(total time / dt) exactly", async () => {
    const runtime = await start([noop("idle")], { hz: 60, maxCatchUpTicks: 1000 });
    const random = new Random(1234);
    let totalMs = 0;
    for (let i = 0; i < 2000; i++) {
      const ms = random.int(41);
      totalMs += ms;
      runtime.advance(ms / 1000);
      assert.equal(runtime.ticks, Math.floor((totalMs * 60) / 1000), `after ${totalMs} ms`);
    }
    await runtime.close();
  });

  test("the catch-up bound drops the ticks beyond it and counts them", async () => {
    const runtime = await start([noop("idle")], { hz: 60, maxCatchUpTicks: 5 });
    const ticks: number[] = [];
    assert.equal(runtime.advance(1, (frame) => ticks.push(frame.tick)), 5);
    assert.deepEqual(ticks, [0, 1, 2, 3, 4]);
    assert.equal(runtime.droppedTicks, 55);
    assert.equal(runtime.advance(0), 0, "dropped ticks are not run later");
    assert.equal(runtime.advance(1 / 60), 1);
    assert.equal(runtime.droppedTicks, 55);
    assert.equal(runtime.ticks, 6);
    await runtime.close();
  });

  test("hz out of range is a SceneError", async () => {
    for (const hz of [0, -1, NaN, Infinity, 200_000]) {
      await assert.rejects(start([], { hz }), SceneError, String(hz));
    }
  });
});

describe("error policies", () => {
  const log: string[] = [];
  const ok = (name: string, phase = "update") =>
    defineSystem({ name, phase, reads: [], run: () => void log.push(name) });
  const bad = (name: string, phase = "update") =>
    defineSystem({
      name,
      phase,
      reads: [],
      run() {
        log.push(name);
        throw new Error(`${name} broke`);
      },
    });
  const systems = [ok("a"), bad("b"), ok("c"), bad("d"), ok("later", "post_update")];

  test("stop-first stops at the first failing system; later systems and stages do not run", async () => {
    log.length = 0;
    const runtime = await start(systems);
    assert.equal(runtime.schedule.stages[0].systems.length, 4, "a to d share a stage");
    const result = runtime.tick();
    assert.deepEqual(log, ["a", "b"]);
    assert.equal(result.ok, false);
    assert.equal(result.stopped, true);
    assert.equal(result.tick, 0);
    assert.deepEqual(result.errors.map((e) => [e.system, e.phase, e.tick, e.message]), [
      ["b", "update", 0, "b broke"],
    ]);
    assert.ok(result.errors[0].error instanceof Error);
    assert.equal(runtime.ticks, 1, "the frame still counts");
    await runtime.close();
  });

  test("aggregate runs everything and collects every error with its system", async () => {
    log.length = 0;
    const runtime = await start(systems, { errorPolicy: "aggregate" });
    const result = runtime.tick();
    assert.deepEqual(log, ["a", "b", "c", "d", "later"]);
    assert.equal(result.ok, false);
    assert.equal(result.stopped, false);
    assert.deepEqual(result.errors.map((e) => [e.system, e.message]), [
      ["b", "b broke"],
      ["d", "d broke"],
    ]);
    await runtime.close();
  });

  test("the scene's policy applies unless the runtime options override it", async () => {
    const scene = defineScene({ components: [], systems, errorPolicy: "aggregate" });
    log.length = 0;
    const aggregate = await Runtime.create(scene);
    assert.equal(aggregate.errorPolicy, "aggregate");
    aggregate.tick();
    assert.equal(log.length, 5);
    log.length = 0;
    const stopFirst = await Runtime.create(scene, { errorPolicy: "stop-first" });
    stopFirst.tick();
    assert.deepEqual(log, ["a", "b"]);
    await aggregate.close();
    await stopFirst.close();
  });

  test("run(n) stops after the first frame with errors", async () => {
    let calls = 0;
    const flaky = defineSystem({
      name: "flaky",
      reads: [],
      run(ctx) {
        calls++;
        if (ctx.tick === 3) throw new Error("tick 3");
      },
    });
    const runtime = await start([flaky]);
    const last = runtime.run(10);
    assert.equal(calls, 4);
    assert.equal(last?.tick, 3);
    assert.equal(last?.ok, false);
    assert.equal(runtime.run(2)?.ok, true, "later frames run again");
    await runtime.close();
  });
});

describe("tracing and statistics", () => {
  test("hooks fire at system, stage and tick level with numeric durations", async () => {
    const events: string[] = [];
    const durations: number[] = [];
    const systems = [
      noop("a", { writes: [P] }),
      noop("b", { reads: [P] }),
      noop("c", { reads: [Q] }),
      noop("r", { phase: "render" }),
    ];
    const runtime = await start(systems, {
      trace: {
        onSystem(e) {
          events.push(`system ${e.tick} ${e.phase} ${e.system}`);
          durations.push(e.ms);
        },
        onStage(e) {
          events.push(`stage ${e.tick} ${e.phase}/${e.stage} ${e.systems}`);
          durations.push(e.ms);
        },
        onTick(e) {
          events.push(`tick ${e.tick} ${e.ok}`);
          durations.push(e.ms);
        },
      },
    });
    runtime.run(2);
    const frame = (t: number) => [
      `system ${t} update a`,
      `system ${t} update c`,
      `stage ${t} update/0 2`,
      `system ${t} update b`,
      `stage ${t} update/1 1`,
      `system ${t} render r`,
      `stage ${t} render/0 1`,
      `tick ${t} true`,
    ];
    assert.deepEqual(events, [...frame(0), ...frame(1)]);
    for (const ms of durations) assert.ok(typeof ms === "number" && ms >= 0 && ms < 10_000);
    await runtime.close();
  });

  test("systemStats counts calls and time per system", async () => {
    const busy = defineSystem({
      name: "busy",
      reads: [],
      run() {
        const until = performance.now() + 2;
        while (performance.now() < until) { /* spin */ }
      },
    });
    const stopper = defineSystem({
      name: "stopper",
      phase: "post_update",
      reads: [],
      run(ctx) {
        if (ctx.tick === 2) throw new Error("stop");
      },
    });
    const never = noop("never", { phase: "render" });
    const runtime = await start([busy, stopper, never]);
    runtime.run(5);
    const stats = runtime.systemStats();
    assert.deepEqual(stats.map((s) => [s.name, s.phase, s.calls]), [
      ["busy", "update", 3],
      ["stopper", "post_update", 3],
      ["never", "render", 2],
    ]);
    assert.ok(stats[0].totalMs >= 6, `busy spent ${stats[0].totalMs} ms`);
    assert.ok(Math.abs(stats[0].meanMs - stats[0].totalMs / 3) < 1e-9);
    const fresh = await start([noop("idle")]);
    assert.deepEqual(fresh.systemStats()[0], {
      name: "idle",
      phase: "update",
      calls: 0,
      timedCalls: 0,
      totalMs: 0,
      meanMs: 0,
    });
    await fresh.close();
    await runtime.close();
  });
});

describe("resources", () => {
  test("declared systems read and write resources; values persist across frames", async () => {
    const seen: number[] = [];
    const writer = defineSystem({
      name: "writer",
      writes: [Score, Gravity],
      run(ctx) {
        const score = ctx.resource(Score);
        score.points += 10;
        ctx.resource(Gravity).grid[ctx.tick % 8] = -ctx.tick;
      },
    });
    const readerSystem = defineSystem({
      name: "reader",
      reads: [Score, Gravity],
      run(ctx) {
        seen.push(ctx.resource(Score).points, ctx.resource(Gravity).g);
      },
    });
    const runtime = await start([writer, readerSystem], {}, (world) => {
      world.resource(Gravity).g = -9.8;
    });
    runtime.run(3);
    assert.deepEqual(seen, [10, -9.8, 20, -9.8, 30, -9.8]);
    assert.equal(runtime.world.resource(Score).points, 30);
    assert.deepEqual([...runtime.world.resource(Gravity).grid], [0, -1, -2, 0, 0, 0, 0, 0]);
    await runtime.close();
  });

  test("undeclared resource access is a UsageError naming the resource and the fix", async () => {
    const sneaky = defineSystem({
      name: "sneaky",
      reads: [P],
      run(ctx) {
        // @ts-expect-error: Score is not declared; the run-time check is what this test is for.
        ctx.resource(Score);
      },
    });
    const declaredRead = defineSystem({
      name: "declaredRead",
      reads: [Gravity],
      run(ctx) {
        ctx.resource(Gravity);
        // @ts-expect-error: Score is not declared.
        ctx.resource(Score);
      },
    });
    const runtime = await start([sneaky, declaredRead], { errorPolicy: "aggregate" });
    const result = runtime.tick();
    assert.deepEqual(result.errors.map((e) => e.system), ["sneaky", "declaredRead"]);
    for (const failure of result.errors) {
      assert.ok(failure.error instanceof UsageError);
      assert.match(failure.message, /uses resource Score without declaring it/);
      assert.match(failure.message, /add it to the system's reads \(or writes\)/);
    }
    await runtime.close();
  });

  test("a resource outside the scene is a SceneError", async () => {
    const Stray = defineResource("Stray", { v: "u8" });
    const runtime = await start([]);
    assert.throws(() => runtime.world.resource(Stray), /resource Stray is not part of this world/);
    await runtime.close();
  });
});

describe("random streams and determinism", () => {
  /** Logs, per chunk: tick, archetype, chunk index and three draws; writes draws into P.x. */
  const roller = (log: number[][]) =>
    defineSystem({
      name: "roller",
      query: { all: [P] },
      writes: [P],
      runChunk(chunk, ctx) {
        const draws = [ctx.random.nextUint32(), ctx.random.nextUint32(), ctx.random.nextUint32()];
        log.push([ctx.tick, chunk.archetype.id, chunk.index, ...draws]);
        const x = chunk.write(P.x);
        for (let i = 0; i < chunk.count; i++) x[i] += ctx.random.next();
      },
    });
  const setup = (world: Parameters<NonNullable<Parameters<typeof defineScene>[0]["setup"]>>[0]) => {
    for (let i = 0; i < 40; i++) world.spawn([P, { x: i }]);
    for (let i = 0; i < 20; i++) world.spawn([P, { x: i }], Q);
  };

  test("a chunk's stream is keyed by (seed, tick, system, archetype, chunk)", async () => {
    const log: number[][] = [];
    const systems = [noop("first"), roller(log)];
    const runtime = await start(systems, { seed: 77, chunkRows: 16 }, setup);
    runtime.run(3);
    assert.equal(log.length, 3 * (3 + 2), "3 chunks of [P] and 2 of [P, Q] per tick");
    for (const [tick, archetype, chunk, ...draws] of log) {
      const expected = new Random(77, tick, 1, archetype, chunk);
      assert.deepEqual(draws, [
        expected.nextUint32(),
        expected.nextUint32(),
        expected.nextUint32(),
      ]);
    }
    const firsts = new Set(log.map((entry) => entry[3]));
    assert.equal(firsts.size, log.length, "every (tick, archetype, chunk) draws differently");
    await runtime.close();
  });

  test("a run body's stream is keyed by (seed, tick, system)", async () => {
    const draws: number[] = [];
    const dice = defineSystem({
      name: "dice",
      reads: [],
      run: (ctx) => void draws.push(ctx.random.nextUint32()),
    });
    const runtime = await start([dice], { seed: 5 });
    runtime.run(2);
    assert.deepEqual(draws, [
      new Random(5, 0, 0, 0xffffffff, 0).nextUint32(),
      new Random(5, 1, 0, 0xffffffff, 0).nextUint32(),
    ]);
    await runtime.close();
  });

  test("the same seed gives the same numbers and checksum; another seed does not", async () => {
    const run = async (seed: number) => {
      const log: number[][] = [];
      const runtime = await start([roller(log)], { seed, chunkRows: 16 }, setup);
      runtime.run(10);
      const checksum = runtime.checksum();
      await runtime.close();
      return { log, checksum };
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    assert.deepEqual(a.log, b.log);
    assert.equal(a.checksum, b.checksum);
    assert.match(a.checksum, /^[0-9a-f]{16}$/);
    assert.notDeepEqual(a.log, c.log);
    assert.notEqual(a.checksum, c.checksum);
  });

  test("setup gets a seeded random stream too", async () => {
    const values: number[] = [];
    const make = (seed: number) =>
      start([], { seed }, (_world, ctx) => {
        assert.equal(ctx.seed, seed);
        values.push(ctx.random.next());
      });
    await make(9);
    await make(9);
    await make(10);
    assert.equal(values[0], values[1]);
    assert.notEqual(values[0], values[2]);
  });
});
