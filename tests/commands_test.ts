/**
 * Tests of core/commands.ts through systems of a Runtime: every command kind, pending handles,
 * application at the end of each stage in a deterministic order, the per-frame bound, and
 * errors at record time and at apply time.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BoundError,
  defineComponent,
  defineEvent,
  defineResource,
  defineScene,
  defineSystem,
  defineTag,
  type ErrorPolicy,
  Random,
  Runtime,
  StaleEntityError,
  type System,
  UsageError,
  World,
} from "../mod.ts";
import { CommandBuffer, mergeSegments } from "../core/commands.ts";
import { SEGMENT, SET, WORDS } from "../core/_command_records.ts";

const Position = defineComponent("Position", { x: "f32", y: "f32" });
const Health = defineComponent("Health", { hp: "i32" });
const Link = defineComponent("Link", { target: "entity", other: "entity" });
const Source = defineComponent("Source", { from: "entity", row: "u32" });
const Dead = defineTag("Dead");
const Flag = defineResource("Flag", { value: "u32" });
const COMPONENTS = [Position, Health, Link, Source, Dead];

interface Setup {
  systems: System[];
  setup?: (world: World) => void;
  config?: Record<string, number>;
  errorPolicy?: ErrorPolicy;
}

function start({ systems, setup, config, errorPolicy }: Setup): Promise<Runtime> {
  return Runtime.create(
    defineScene({
      components: COMPONENTS,
      resources: [Flag],
      systems,
      setup,
      config,
      errorPolicy,
    }),
  );
}

function stageOf(runtime: Runtime, name: string): number {
  return runtime.schedule.stages.findIndex((s) => s.systems.some((e) => e.system.name === name));
}

describe("each command kind", () => {
  test("spawn returns a pending handle that later add, set and setField may use", async () => {
    const pending: number[] = [];
    const spawner = defineSystem({
      name: "spawner",
      writes: [Position, Health],
      run(ctx) {
        if (ctx.tick > 0) return;
        const e = ctx.commands.spawn();
        pending.push(e);
        ctx.commands.add(e, Position, { x: 1, y: 2 });
        ctx.commands.set(e, Position, { y: 20 });
        ctx.commands.setField(e, Position.x, 10);
        const bare = ctx.commands.spawn();
        pending.push(bare);
        ctx.commands.add(bare, Health);
        ctx.commands.setField(bare, Health.hp, -4);
      },
    });
    const runtime = await start({ systems: [spawner] });
    const result = runtime.tick();
    assert.deepEqual(result.errors, []);
    assert.deepEqual(pending, [-1, -2], "pending handles are negative, one per spawn");
    const world = runtime.world;
    assert.equal(world.entityCount, 2);
    const [withPosition] = entitiesWith(world, Position);
    assert.deepEqual(world.getComponent(withPosition, Position), { x: 10, y: 20 });
    assert.equal(world.has(withPosition, Health), false);
    const [withHealth] = entitiesWith(world, Health);
    assert.equal(world.get(withHealth, Health.hp), -4);
    assert.ok(withPosition > 0 && world.isAlive(withPosition));
    await runtime.close();
  });

  test("a pending handle stored in an entity field becomes the real handle", async () => {
    let existing = 0;
    const linker = defineSystem({
      name: "linker",
      writes: [Link, Health],
      run(ctx) {
        if (ctx.tick > 0) return;
        const parent = ctx.commands.spawn();
        ctx.commands.add(parent, Health, { hp: 100 });
        const child = ctx.commands.spawn();
        ctx.commands.add(child, Link, { target: parent, other: existing });
        ctx.commands.setField(child, Link.other, child); // a pending handle through setField too
      },
    });
    const runtime = await start({
      systems: [linker],
      setup(world) {
        existing = world.spawn([Health, { hp: 1 }]);
      },
    });
    assert.deepEqual(runtime.tick().errors, []);
    const world = runtime.world;
    const [child] = entitiesWith(world, Link);
    const parent = world.get(child, Link.target);
    assert.ok(world.isAlive(parent), `target ${parent} is a live handle`);
    assert.equal(world.get(parent, Health.hp), 100);
    assert.notEqual(parent, existing);
    assert.equal(world.get(child, Link.other), child);
    await runtime.close();
  });

  test("despawn, add with values, remove, set and setField on existing entities", async () => {
    const e: Record<string, number> = {};
    const editor = defineSystem({
      name: "editor",
      writes: [Position, Health, Dead],
      run(ctx) {
        if (ctx.tick > 0) return;
        ctx.commands.despawn(e.doomed);
        ctx.commands.add(e.grows, Health, { hp: 7 });
        ctx.commands.add(e.grows, Dead);
        ctx.commands.remove(e.shrinks, Position);
        ctx.commands.set(e.edited, Position, { x: 5 });
        ctx.commands.setField(e.edited, Health.hp, 9);
        ctx.commands.setField(e.edited, Position.y, true);
      },
    });
    const runtime = await start({
      systems: [editor],
      setup(world) {
        e.doomed = world.spawn(Position);
        e.grows = world.spawn([Position, { x: 1, y: 1 }]);
        e.shrinks = world.spawn([Position, { x: 2 }], [Health, { hp: 2 }]);
        e.edited = world.spawn([Position, { x: 3, y: 3 }], [Health, { hp: 3 }]);
      },
    });
    assert.deepEqual(runtime.tick().errors, []);
    const world = runtime.world;
    assert.equal(world.isAlive(e.doomed), false);
    assert.equal(world.entityCount, 3);
    assert.equal(world.get(e.grows, Health.hp), 7);
    assert.equal(world.has(e.grows, Dead), true);
    assert.deepEqual(world.getComponent(e.grows, Position), { x: 1, y: 1 });
    assert.equal(world.has(e.shrinks, Position), false);
    assert.equal(world.get(e.shrinks, Health.hp), 2);
    assert.deepEqual(world.getComponent(e.edited, Position), { x: 5, y: 1 });
    assert.equal(world.get(e.edited, Health.hp), 9);
    await runtime.close();
  });

  test("commands of one system apply in the order they were recorded", async () => {
    let a = 0;
    let b = 0;
    const flipper = defineSystem({
      name: "flipper",
      writes: [Health],
      run(ctx) {
        if (ctx.tick > 0) return;
        ctx.commands.add(a, Health, { hp: 1 });
        ctx.commands.remove(a, Health);
        ctx.commands.remove(b, Health);
        ctx.commands.add(b, Health, { hp: 2 });
        ctx.commands.setField(b, Health.hp, 3);
        ctx.commands.setField(b, Health.hp, 4);
        const e = ctx.commands.spawn();
        ctx.commands.despawn(e);
      },
    });
    const runtime = await start({
      systems: [flipper],
      setup(world) {
        a = world.spawn();
        b = world.spawn([Health, { hp: 50 }]);
      },
    });
    assert.deepEqual(runtime.tick().errors, []);
    assert.equal(runtime.world.has(a, Health), false);
    assert.equal(runtime.world.get(b, Health.hp), 4, "removed, re-added zeroed, then set twice");
    assert.equal(runtime.world.entityCount, 2, "spawned then despawned");
    await runtime.close();
  });
});

describe("application at the end of the stage", () => {
  test("a later system of the same stage does not see commands; the next stage does", async () => {
    let target = 0;
    const seen: Record<string, number[]> = { same: [], next: [] };
    const recorder = defineSystem({
      name: "recorder",
      writes: [Flag],
      run(ctx) {
        if (ctx.tick > 0) return;
        ctx.commands.setField(target, Position.x, 99);
        ctx.commands.spawn();
        ctx.commands.add(target, Health, { hp: 1 });
      },
    });
    const observe = (key: string) => (world: World) => {
      seen[key].push(world.entityCount, world.get(target, Position.x), +world.has(target, Health));
    };
    const sameStage = defineSystem({
      name: "sameStage",
      reads: [Position],
      run: (ctx) => ctx.tick === 0 && observe("same")(ctx.world),
    });
    const nextStage = defineSystem({
      name: "nextStage",
      reads: [Position],
      writes: [Flag], // conflicts with recorder, so it runs in the next stage
      run: (ctx) => ctx.tick === 0 && observe("next")(ctx.world),
    });
    const runtime = await start({
      systems: [recorder, sameStage, nextStage],
      setup(world) {
        target = world.spawn([Position, { x: 1 }]);
      },
    });
    assert.equal(stageOf(runtime, "recorder"), 0);
    assert.equal(stageOf(runtime, "sameStage"), 0);
    assert.equal(stageOf(runtime, "nextStage"), 1);
    assert.deepEqual(runtime.tick().errors, []);
    assert.deepEqual(seen.same, [1, 1, 0]);
    assert.deepEqual(seen.next, [2, 99, 1]);
    await runtime.close();
  });

  test("systems of one stage apply in system order; chunks in chunk order", async () => {
    let target = 0;
    const first = defineSystem({
      name: "first",
      writes: [Flag],
      run(ctx) {
        ctx.commands.setField(target, Health.hp, 1);
      },
    });
    const second = defineSystem({
      name: "second",
      reads: [Position],
      run(ctx) {
        ctx.commands.setField(target, Health.hp, 2);
      },
    });
    const copier = defineSystem({
      name: "copier",
      phase: "post_update",
      query: { all: [Position] },
      reads: [Position],
      runChunk(chunk, ctx) {
        if (ctx.tick > 0) return;
        for (let i = 0; i < chunk.count; i++) {
          const e = ctx.commands.spawn();
          ctx.commands.add(e, Source, { from: chunk.entities[i], row: chunk.index * 16 + i });
        }
      },
    });
    const runtime = await start({
      systems: [first, second, copier],
      config: { chunkRows: 16 },
      setup(world) {
        target = world.spawn(Health);
        for (let i = 0; i < 40; i++) world.spawn([Position, { x: i }]);
        for (let i = 0; i < 5; i++) world.spawn([Position, { x: 100 + i }], Dead);
      },
    });
    assert.equal(stageOf(runtime, "first"), stageOf(runtime, "second"));
    assert.deepEqual(runtime.tick().errors, []);
    assert.equal(runtime.world.get(target, Health.hp), 2, "the later system's set wins");
    const sources: number[] = [];
    const xs: number[] = [];
    runtime.world.query({ all: [Source] }).forEachChunk((chunk) => {
      const from = chunk.column(Source.from);
      for (let i = 0; i < chunk.count; i++) {
        sources.push(chunk.column(Source.row)[i]);
        xs.push(runtime.world.get(from[i], Position.x));
      }
    });
    const expectedRows = [...Array(40).keys(), 0, 1, 2, 3, 4];
    assert.deepEqual(sources, expectedRows, "spawned in archetype, chunk and row order");
    assert.deepEqual(xs, [...Array(40).keys(), 100, 101, 102, 103, 104]);
    await runtime.close();
  });

  test("two runtimes given the same commands end with the same checksum", async () => {
    const churn = defineSystem({
      name: "churn",
      query: { all: [Health] },
      writes: [Health],
      runChunk(chunk, ctx) {
        const hp = chunk.write(Health.hp);
        for (let i = 0; i < chunk.count; i++) {
          const roll = ctx.random.int(4);
          if (roll === 0) ctx.commands.despawn(chunk.entities[i]);
          else if (roll === 1) {
            const e = ctx.commands.spawn();
            ctx.commands.add(e, Health, { hp: hp[i] + 1 });
          } else if (roll === 2) ctx.commands.add(chunk.entities[i], Dead);
          else hp[i] += 1;
        }
      },
    });
    const make = () =>
      start({
        systems: [churn],
        config: { chunkRows: 16 },
        setup(world) {
          for (let i = 0; i < 100; i++) world.spawn([Health, { hp: i }]);
        },
      });
    const [a, b] = [await make(), await make()];
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(a.tick().errors, []);
      b.tick();
      assert.equal(a.checksum(), b.checksum(), `tick ${i}`);
    }
    assert.ok(a.world.entityCount > 0);
    await a.close();
    await b.close();
  });
});

describe("bounds and errors", () => {
  test("maxCommandsPerFrame: a BoundError in the frame result; earlier records still apply", async () => {
    const targets: number[] = [];
    const flood = defineSystem({
      name: "flood",
      writes: [Health],
      run(ctx) {
        for (let i = 0; i < targets.length; i++) {
          ctx.commands.setField(targets[i], Health.hp, i + 1);
        }
      },
    });
    const runtime = await start({
      systems: [flood],
      config: { maxCommandsPerFrame: 16 },
      setup(world) {
        for (let i = 0; i < 20; i++) targets.push(world.spawn(Health));
      },
    });
    const result = runtime.tick();
    assert.equal(result.ok, false);
    assert.equal(result.errors.length, 1);
    const [failure] = result.errors;
    assert.equal(failure.system, "flood");
    assert.ok(failure.error instanceof BoundError);
    assert.equal(failure.error.bound, "maxCommandsPerFrame");
    assert.equal(failure.error.limit, 16);
    assert.match(failure.message, /raise config.maxCommandsPerFrame/);
    // One record marks the system's segment, so 15 sets fit.
    const values = targets.map((e) => runtime.world.get(e, Health.hp));
    assert.deepEqual(values, [...Array(20).keys()].map((i) => (i < 15 ? i + 1 : 0)));
    // The bound is per frame: the next frame records again.
    targets.length = 10;
    for (const e of targets) runtime.world.setField(e, Health.hp, 0);
    assert.deepEqual(runtime.tick().errors, []);
    assert.deepEqual(targets.map((e) => runtime.world.get(e, Health.hp)), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
    ]);
    await runtime.close();
  });

  test("maxCommandsPerFrame counts the records of every stage of the frame", async () => {
    let target = 0;
    const writer = (name: string, phase: string) =>
      defineSystem({
        name,
        phase,
        writes: [Health],
        run(ctx) {
          for (let i = 0; i < 10; i++) ctx.commands.setField(target, Health.hp, ctx.tick * 100 + i);
        },
      });
    const runtime = await start({
      systems: [writer("early", "update"), writer("late", "post_update")],
      config: { maxCommandsPerFrame: 16 },
      setup(world) {
        target = world.spawn(Health);
      },
    });
    const result = runtime.tick();
    assert.deepEqual(result.errors.map((e) => [e.system, (e.error as BoundError).bound]), [
      ["late", "maxCommandsPerFrame"],
    ]);
    assert.equal(runtime.world.get(target, Health.hp), 3, "early: 1 + 10 records; late: 1 + 4");
    await runtime.close();
  });

  test("despawning an entity despawned earlier in the stage is a frame error naming the system", async () => {
    let target = 0;
    let other = 0;
    const killer = (name: string) =>
      defineSystem({
        name,
        reads: [Health],
        run(ctx) {
          if (ctx.tick > 0) return;
          ctx.commands.despawn(target);
          ctx.commands.setField(other, Health.hp, name === "killerA" ? 1 : 2);
        },
      });
    const bystander = defineSystem({
      name: "bystander",
      writes: [Flag],
      run(ctx) {
        if (ctx.tick === 0) ctx.commands.spawn();
      },
    });
    const later = defineSystem({
      name: "later",
      phase: "post_update",
      writes: [Flag],
      run(ctx) {
        ctx.resource(Flag).value += 1;
      },
    });
    for (const policy of ["stop-first", "aggregate"] as const) {
      const runtime = await start({
        systems: [killer("killerA"), killer("killerB"), bystander, later],
        errorPolicy: policy,
        setup(world) {
          target = world.spawn(Health);
          other = world.spawn(Health);
        },
      });
      assert.equal(runtime.schedule.stages[0].systems.length, 3, "one stage");
      const result = runtime.tick();
      assert.equal(result.errors.length, 1, policy);
      const [failure] = result.errors;
      assert.equal(failure.system, "killerB");
      assert.equal(failure.phase, "update");
      assert.equal(failure.tick, 0);
      assert.ok(failure.error instanceof StaleEntityError);
      assert.equal(failure.error.entity, target);
      assert.match(failure.message, /^despawn: /);
      assert.equal(runtime.world.isAlive(target), false);
      assert.equal(runtime.world.get(other, Health.hp), 2, "killerB's other command applied");
      assert.equal(runtime.world.entityCount, 2, "bystander's spawn applied");
      const laterRan = runtime.world.resource(Flag).value;
      assert.equal(laterRan, policy === "stop-first" ? 0 : 1, `${policy}: later stages`);
      await runtime.close();
    }
  });

  test("a stale handle at record time throws StaleEntityError from the command", async () => {
    let stale = 0;
    const failures: string[] = [];
    const user = defineSystem({
      name: "user",
      writes: [Health],
      run(ctx) {
        const attempts: [string, () => void][] = [
          ["despawn", () => ctx.commands.despawn(stale)],
          ["add Health", () => ctx.commands.add(stale, Health)],
          ["remove Health", () => ctx.commands.remove(stale, Health)],
          ["set Health.hp", () => ctx.commands.set(stale, Health, { hp: 1 })],
          ["set Health.hp", () => ctx.commands.setField(stale, Health.hp, 1)],
          ["despawn", () => ctx.commands.despawn(0)],
        ];
        for (const [what, attempt] of attempts) {
          try {
            attempt();
            failures.push(`${what}: no error`);
          } catch (error) {
            if (!(error instanceof StaleEntityError)) failures.push(`${what}: ${error}`);
            else if (!error.message.startsWith(`${what}: `)) failures.push(error.message);
          }
        }
        ctx.commands.despawn(stale); // uncaught: the frame reports it
      },
    });
    const runtime = await start({
      systems: [user],
      setup(world) {
        stale = world.spawn(Health);
        world.despawn(stale);
      },
    });
    const result = runtime.tick();
    assert.deepEqual(failures, []);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].system, "user");
    assert.ok(result.errors[0].error instanceof StaleEntityError);
    await runtime.close();
  });

  test("a pending handle from another system, or never spawned, is a UsageError", async () => {
    const messages: string[] = [];
    const spawner = defineSystem({
      name: "spawner",
      writes: [Health],
      run(ctx) {
        ctx.commands.spawn();
      },
    });
    const borrower = defineSystem({
      name: "borrower",
      writes: [Health],
      run(ctx) {
        for (const pending of [-1, -2.5]) {
          try {
            ctx.commands.add(pending, Health);
          } catch (error) {
            assert.ok(error instanceof UsageError);
            messages.push(error.message);
          }
        }
      },
    });
    const runtime = await start({ systems: [spawner, borrower] });
    assert.deepEqual(runtime.tick().errors, []);
    assert.equal(messages.length, 2);
    assert.match(messages[0], /pending handle -1 does not come from this system's/);
    assert.equal(runtime.world.entityCount, 1);
    await runtime.close();
  });

  test("an unknown field name in commands.set is a UsageError, as in world.set", async () => {
    let target = 0;
    const typo = defineSystem({
      name: "typo",
      writes: [Health],
      run(ctx) {
        // deno-lint-ignore no-explicit-any
        ctx.commands.set(target, Health, { hitpoints: 3 } as any);
      },
    });
    const runtime = await start({
      systems: [typo],
      setup(world) {
        target = world.spawn(Health);
      },
    });
    const result = runtime.tick();
    assert.equal(result.errors.length, 1);
    assert.ok(result.errors[0].error instanceof UsageError);
    assert.match(result.errors[0].message, /Health has no field "hitpoints"/);
    await runtime.close();
  });

  test("spawnEach: setColumn fills a field from a column; misuse names the field and the fix", async () => {
    const messages: string[] = [];
    const spawner = defineSystem({
      name: "spawner",
      query: { all: [Health] },
      reads: [Health],
      writes: [Position, Source],
      runChunk(chunk, ctx) {
        const hp = chunk.read(Health.hp);
        const batch = ctx.commands.spawnEach(chunk.count, [Position, Source]);
        batch.setColumn(Position.x, hp);
        batch.setColumn(Source.row, hp, 0);
        for (
          const misuse of [
            () => batch.setColumn(Health.hp, hp),
            () => batch.setColumn(Position.y, [1, 2, 3], 1),
            () => batch.set(chunk.count, Position.y, 1),
          ]
        ) {
          try {
            misuse();
          } catch (error) {
            assert.ok(error instanceof UsageError);
            messages.push(error.message);
          }
        }
      },
    });
    const runtime = await start({
      systems: [spawner],
      setup(world) {
        for (let hp = 1; hp <= 7; hp++) world.spawn([Health, { hp }]);
      },
    });
    assert.ok(runtime.tick().ok);
    const rows: number[][] = [];
    runtime.world.query({ all: [Position, Source] }).forEachChunk((chunk) => {
      const x = chunk.read(Position.x), row = chunk.read(Source.row);
      for (let i = 0; i < chunk.count; i++) rows.push([x[i], row[i]]);
    });
    assert.deepEqual(rows, [1, 2, 3, 4, 5, 6, 7].map((hp) => [hp, hp]));
    assert.deepEqual(messages, [
      "spawnEach batch: Health.hp is not a field of the batch's components; list Health in " +
      "spawnEach(count, components)",
      "spawnEach batch: setColumn(Position.y) needs values 1 to 7, but values holds 3",
      "spawnEach batch: entity 7 is outside 0 to 6",
    ]);
    await runtime.close();
  });

  test("commands on the pending handle of a failed spawn touch no other entity", async () => {
    const spawnOne = defineSystem({
      name: "spawnOne",
      writes: [Health, Dead],
      run(ctx) {
        const e = ctx.commands.spawn();
        ctx.commands.add(e, Health, { hp: ctx.tick + 1 });
        ctx.commands.add(e, Dead);
        ctx.commands.setField(e, Health.hp, 100 + ctx.tick);
      },
    });
    const runtime = await start({
      systems: [spawnOne],
      config: { maxEntities: 1 },
      errorPolicy: "aggregate",
    });
    assert.deepEqual(runtime.tick().errors, []);
    const [first] = entitiesWith(runtime.world, Health);
    assert.equal(runtime.world.get(first, Health.hp), 100);
    const result = runtime.tick(); // the world is full: the spawn fails
    assert.equal(result.errors.length, 1, result.errors.map((e) => e.message).join("\n"));
    assert.ok(result.errors[0].error instanceof BoundError);
    assert.match(
      result.errors[0].message,
      /maxEntities.*; 4 commands on this spawn skipped$/,
      "the add, its set, the second add and the setField are skipped, not each reported",
    );
    assert.equal(runtime.world.get(first, Health.hp), 100, "the earlier entity is untouched");
    assert.equal(runtime.world.entityCount, 1);
    await runtime.close();
  });

  test("a failed spawn's handle as an entity field value or in an event: skipped, counted, the event not sent", async () => {
    const Made = defineEvent("Made", { n: "u32", entity: "entity" });
    let target = 0;
    const linker = defineSystem({
      name: "linker",
      writes: [Link, Health, Dead, Made],
      run(ctx) {
        if (ctx.tick > 0) return;
        const made = ctx.commands.spawn();
        ctx.commands.add(made, Health, { hp: 1 });
        const refused = ctx.commands.spawn(); // maxEntities is reached by `made`
        ctx.commands.setField(target, Link.target, refused);
        ctx.commands.setField(target, Link.other, made);
        ctx.emit(Made, { n: 1, entity: made });
        ctx.emit(Made, { n: 2, entity: refused });
        ctx.emit(Made, { n: 3, entity: made });
        ctx.commands.add(refused, Dead);
      },
    });
    const seen: number[] = [];
    const reader = defineSystem({
      name: "reader",
      phase: "post_update",
      reads: [Made],
      run(ctx) {
        const view = ctx.read(Made);
        for (let i = 0; i < view.count; i++) {
          seen.push(view.get(Made.n, i), view.get(Made.entity, i));
        }
      },
    });
    const runtime = await Runtime.create(defineScene({
      components: COMPONENTS,
      events: [Made],
      systems: [linker, reader],
      config: { maxEntities: 2 },
      errorPolicy: "aggregate",
      setup(world) {
        target = world.spawn(Link);
      },
    }));
    const result = runtime.tick();
    assert.deepEqual(
      result.errors.map((e) => [e.system, e.error instanceof BoundError]),
      [["linker", true]],
      result.errors.map((e) => e.message).join("\n"),
    );
    assert.match(result.errors[0].message, /; 3 commands on this spawn skipped$/);
    const [made] = entitiesWith(runtime.world, Health);
    assert.equal(runtime.world.get(target, Link.target), 0, "the set naming it was skipped");
    assert.equal(runtime.world.get(target, Link.other), made);
    assert.deepEqual(seen, [1, made, 3, made], "the event naming it was not sent");
    await runtime.close();
  });

  test("a negative value for an entity field must be a pending handle of the system", async () => {
    let target = 0;
    const messages: string[] = [];
    const writer = defineSystem({
      name: "writer",
      writes: [Link],
      run(ctx) {
        for (const value of [-1, -5]) {
          try {
            ctx.commands.setField(target, Link.target, value);
          } catch (error) {
            assert.ok(error instanceof UsageError);
            messages.push(error.message);
          }
        }
        ctx.commands.setField(target, Link.other, ctx.commands.spawn());
        ctx.commands.setField(target, Link.target, -1);
      },
    });
    const runtime = await start({
      systems: [writer],
      setup(world) {
        target = world.spawn(Link);
      },
    });
    assert.deepEqual(runtime.tick().errors, []);
    assert.equal(messages.length, 2);
    assert.match(messages[0], /set Link\.target: pending handle -1 does not come from this system/);
    const spawned = runtime.world.get(target, Link.other);
    assert.ok(runtime.world.isAlive(spawned));
    assert.equal(runtime.world.get(target, Link.target), spawned);
    await runtime.close();
  });

  test("a spawn over maxEntities at apply time is a BoundError naming the system", async () => {
    const grower = defineSystem({
      name: "grower",
      writes: [Health],
      run(ctx) {
        for (let i = 0; i < 3; i++) ctx.commands.add(ctx.commands.spawn(), Health, { hp: i });
      },
    });
    const runtime = await start({
      systems: [grower],
      config: { maxEntities: 2 },
      errorPolicy: "aggregate",
      setup(world) {
        world.spawn();
      },
    });
    const result = runtime.tick();
    assert.equal(result.errors.length, 2, "one error per failed spawn, no follow-ons");
    for (const error of result.errors) {
      assert.equal(error.system, "grower");
      assert.ok(error.error instanceof BoundError);
      assert.equal(error.error.bound, "maxEntities");
      assert.match(error.message, /; 2 commands on this spawn skipped$/, "its add and its set");
    }
    assert.equal(runtime.world.entityCount, 2);
    const [made] = entitiesWith(runtime.world, Health);
    assert.equal(runtime.world.get(made, Health.hp), 0, "the first spawn and its add applied");
    await runtime.close();
  });
});

function entitiesWith(world: World, component: typeof Position | typeof Health | typeof Link) {
  const out: number[] = [];
  world.query({ all: [component] }).forEachChunk((chunk) => {
    for (let i = 0; i < chunk.count; i++) out.push(chunk.entities[i]);
  });
  return out;
}

describe("mergeSegments", () => {
  test("puts every thread's segments in (system, archetype, chunk) order, records with them", () => {
    const world = new World({ components: COMPONENTS, config: { maxEntities: 64 } });
    const entity = world.spawn([Health, { hp: 0 }]);
    const into = new CommandBuffer(world);
    const others = [0, 1, 2].map(() =>
      new CommandBuffer(world, { counters: into.memory.counters })
    );
    const buffers = [into, ...others];
    into.beginFrame();
    // 300 segments, keyed (system, archetype, chunk), recorded in a seeded shuffle over four
    // buffers; each records one SET whose value names its key, so the merge's order is checkable.
    const keys: number[][] = [];
    for (let s = 0; s < 5; s++) {
      for (let a = 0; a < 6; a++) for (let c = 0; c < 10; c++) keys.push([s, a, c * 3]);
    }
    const random = new Random(11);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    const key = ([s, a, c]: number[]) => (s * 100 + a) * 100 + c;
    for (const [s, a, c] of keys) {
      const buffer = buffers[random.int(buffers.length)];
      buffer.beginSegment(s, a, c);
      buffer.setField(entity, Health.hp, key([s, a, c]));
    }
    for (const buffer of others) buffer.publish();
    mergeSegments(into, others, new Float64Array(world.config.maxCommandsPerFrame * WORDS));
    const applied: number[] = [];
    for (let r = 0; r < into.count; r += 2) {
      assert.equal(into.words[r * WORDS], SEGMENT);
      const header = [1, 2, 3].map((k) => into.words[r * WORDS + k]);
      assert.equal(into.words[(r + 1) * WORDS], SET);
      assert.equal(into.words[(r + 1) * WORDS + 3], key(header), "a segment's records follow it");
      applied.push(key(header));
    }
    assert.deepEqual(applied, keys.map(key).sort((x, y) => x - y));
    assert.deepEqual(others.map((b) => b.count), [0, 0, 0]);
  });
});
