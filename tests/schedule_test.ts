/**
 * Tests of core/schedule.ts: stages from access conflicts, explicit before/after, cycles,
 * unknown names, phases.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Access,
  DEFAULT_PHASES,
  defineComponent,
  defineEvent,
  defineResource,
  defineScene,
  defineSystem,
  Runtime,
  SceneError,
  type System,
} from "../mod.ts";

const P = defineComponent("P", { x: "f32" });
const Q = defineComponent("Q", { y: "f32" });
const R = defineResource("R", { value: "f64" });
const E = defineEvent("E", { n: "u32" });

interface Decl {
  reads?: Access[];
  writes?: Access[];
  before?: string[];
  after?: string[];
  phase?: string;
  log?: string[];
}

function sys(name: string, decl: Decl = {}): System {
  const { log, ...rest } = decl;
  return defineSystem({ name, ...rest, run: () => void log?.push(name) });
}

async function stages(systems: System[], phases?: string[]): Promise<string[]> {
  const runtime = await Runtime.create(
    defineScene({ components: [P, Q], resources: [R], events: [E], systems, phases }),
  );
  await runtime.close();
  return runtime.schedule.stages.map((stage) =>
    `${stage.phase}/${stage.index}: ${stage.systems.map((s) => s.system.name).join(" ")}`
  );
}

describe("stages from conflicts", () => {
  test("a writer and a reader of a component are in separate stages, in declaration order", async () => {
    assert.deepEqual(await stages([sys("w", { writes: [P] }), sys("r", { reads: [P] })]), [
      "update/0: w",
      "update/1: r",
    ]);
    assert.deepEqual(await stages([sys("r", { reads: [P] }), sys("w", { writes: [P] })]), [
      "update/0: r",
      "update/1: w",
    ]);
  });

  test("two writers conflict", async () => {
    assert.deepEqual(await stages([sys("a", { writes: [P] }), sys("b", { writes: [P] })]), [
      "update/0: a",
      "update/1: b",
    ]);
  });

  test("readers do not conflict with readers, nor writers of other things", async () => {
    assert.deepEqual(
      await stages([
        sys("r1", { reads: [P, R, E] }),
        sys("r2", { reads: [P, R, E] }),
        sys("wq", { reads: [P], writes: [Q] }),
        sys("nothing", { reads: [] }),
      ]),
      ["update/0: r1 r2 wq nothing"],
    );
  });

  test("resources conflict like components", async () => {
    assert.deepEqual(await stages([sys("w", { writes: [R] }), sys("r", { reads: [R] })]), [
      "update/0: w",
      "update/1: r",
    ]);
    assert.deepEqual(await stages([sys("a", { writes: [R] }), sys("b", { writes: [R] })]), [
      "update/0: a",
      "update/1: b",
    ]);
  });

  test("events conflict: an emitter and a reader, two emitters", async () => {
    assert.deepEqual(await stages([sys("emit", { writes: [E] }), sys("read", { reads: [E] })]), [
      "update/0: emit",
      "update/1: read",
    ]);
    assert.deepEqual(await stages([sys("e1", { writes: [E] }), sys("e2", { writes: [E] })]), [
      "update/0: e1",
      "update/1: e2",
    ]);
  });

  test("a system that declares nothing conflicts with everything", async () => {
    assert.deepEqual(
      await stages([
        sys("r1", { reads: [P] }),
        sys("open"),
        sys("r2", { reads: [] }),
        sys("r3", { reads: [Q] }),
      ]),
      ["update/0: r1", "update/1: open", "update/2: r2 r3"],
    );
    assert.deepEqual(await stages([sys("open1"), sys("open2")]), [
      "update/0: open1",
      "update/1: open2",
    ]);
  });

  test("query components count as reads", async () => {
    const walker = defineSystem({
      name: "walker",
      query: { all: [P], optional: [Q] },
      reads: [],
      runChunk() {},
    });
    assert.deepEqual(await stages([sys("wp", { writes: [P] }), walker]), [
      "update/0: wp",
      "update/1: walker",
    ]);
    assert.deepEqual(await stages([sys("wq", { writes: [Q] }), walker]), [
      "update/0: wq",
      "update/1: walker",
    ]);
    assert.deepEqual(await stages([sys("rp", { reads: [P] }), walker]), ["update/0: rp walker"]);
  });

  test("stages follow the longest chain of conflicts", async () => {
    assert.deepEqual(
      await stages([
        sys("a", { writes: [P] }),
        sys("b", { reads: [P], writes: [Q] }),
        sys("c", { reads: [Q] }),
        sys("d", { reads: [R] }),
        sys("e", { writes: [R], reads: [Q] }),
      ]),
      ["update/0: a d", "update/1: b", "update/2: c e"],
    );
  });
});

describe("explicit order", () => {
  test("before and after override declaration order between conflicting systems", async () => {
    assert.deepEqual(
      await stages([sys("a", { writes: [P] }), sys("b", { writes: [P], before: ["a"] })]),
      ["update/0: b", "update/1: a"],
    );
    assert.deepEqual(
      await stages([sys("a", { writes: [P], after: ["b"] }), sys("b", { writes: [P] })]),
      ["update/0: b", "update/1: a"],
    );
  });

  test("before and after separate systems that do not conflict", async () => {
    assert.deepEqual(
      await stages([
        sys("a", { reads: [P] }),
        sys("b", { reads: [P], after: ["a"] }),
        sys("c", { reads: [P] }),
      ]),
      ["update/0: a c", "update/1: b"],
    );
  });

  test("explicit order and conflicts combine transitively", async () => {
    // c must precede a; a conflicts with b (declared before it); so c, a, b in three stages.
    assert.deepEqual(
      await stages([
        sys("a", { writes: [P] }),
        sys("b", { reads: [P] }),
        sys("c", { reads: [Q], before: ["a"] }),
      ]),
      ["update/0: c", "update/1: a", "update/2: b"],
    );
  });

  test("declaration order gives way where before/after forbids it, without a cycle", async () => {
    // All three write P; x must precede z. Declaration order z, y, x is kept where it can be.
    assert.deepEqual(
      await stages([
        sys("z", { writes: [P] }),
        sys("y", { writes: [P] }),
        sys("x", { writes: [P], before: ["z"] }),
      ]),
      ["update/0: x", "update/1: z", "update/2: y"],
    );
  });

  test("a cycle is rejected, naming the systems in it", async () => {
    await assert.rejects(
      stages([sys("a", { reads: [], before: ["b"] }), sys("b", { reads: [], before: ["a"] })]),
      (error: unknown) => {
        assert.ok(error instanceof SceneError);
        assert.match(error.message, /cycle: (a -> b -> a|b -> a -> b)/);
        assert.match(error.message, /remove one of the before\/after constraints/);
        return true;
      },
    );
    await assert.rejects(
      stages([sys("self", { reads: [], after: ["self"] })]),
      /cycle: self -> self/,
    );
  });

  test("a cycle is named even when the first blocked system is only downstream of it", async () => {
    // "first" is blocked by the cycle (x before first) but is not part of it.
    await assert.rejects(
      stages([
        sys("first", { reads: [] }),
        sys("x", { reads: [], before: ["first", "y"] }),
        sys("y", { reads: [], before: ["x"] }),
      ]),
      (error: unknown) => {
        assert.ok(error instanceof SceneError, String(error));
        assert.match(error.message, /cycle: (x -> y -> x|y -> x -> y)/);
        assert.doesNotMatch(error.message, /first/);
        return true;
      },
    );
  });

  test("unknown names and names in other phases are rejected", async () => {
    await assert.rejects(
      stages([sys("a", { before: ["ghost"] })]),
      (error: unknown) =>
        error instanceof SceneError &&
        /system a: before "ghost" is not a system of the scene/.test(error.message),
    );
    await assert.rejects(
      stages([sys("a", { after: ["r"] }), sys("r", { phase: "render" })]),
      (error: unknown) =>
        error instanceof SceneError &&
        /system a: after "r" is in phase render; before\/after order systems of one phase/.test(
          error.message,
        ),
    );
  });

  test("two systems of one name are rejected", async () => {
    await assert.rejects(
      stages([sys("twin"), sys("twin", { phase: "render" })]),
      /two systems are named twin/,
    );
  });
});

describe("phases", () => {
  test("the default phases", () => {
    assert.deepEqual(DEFAULT_PHASES, ["pre_update", "update", "post_update", "render", "network"]);
    assert.equal(defineScene({ components: [], systems: [] }).phases, DEFAULT_PHASES);
  });

  test("phases run in order whatever the declaration order, stages in order inside", async () => {
    const log: string[] = [];
    const systems = [
      sys("net", { phase: "network", log }),
      sys("draw", { phase: "render", log }),
      sys("late", { phase: "post_update", log, reads: [P] }),
      sys("main2", { log, reads: [P] }),
      sys("main1", { log, writes: [P], before: ["main2"] }),
      sys("pre", { phase: "pre_update", log }),
    ];
    const runtime = await Runtime.create(defineScene({ components: [P], systems }));
    runtime.tick();
    assert.deepEqual(log, ["pre", "main1", "main2", "late", "draw", "net"]);
    runtime.tick();
    assert.deepEqual(log.slice(6), log.slice(0, 6), "the same order every frame");
    await runtime.close();
  });

  test("custom phases replace the defaults and run in the order given", async () => {
    const log: string[] = [];
    const phases = ["output", "input", "sim"];
    const systems = [
      sys("sim1", { phase: "sim", log, writes: [P] }),
      sys("in", { phase: "input", log }),
      sys("sim2", { phase: "sim", log, writes: [P] }),
      sys("out", { phase: "output", log }),
    ];
    assert.deepEqual(await stages(systems, phases), [
      "output/0: out",
      "input/0: in",
      "sim/0: sim1",
      "sim/1: sim2",
    ]);
    const runtime = await Runtime.create(defineScene({ components: [P], systems, phases }));
    runtime.tick();
    assert.deepEqual(log, ["out", "in", "sim1", "sim2"]);
    await runtime.close();
  });

  test("an unknown phase is rejected, naming it and the scene's phases", async () => {
    await assert.rejects(
      stages([sys("a", { phase: "physics" })]),
      (error: unknown) =>
        error instanceof SceneError &&
        /system a: phase "physics" is not one of the scene's phases/.test(error.message) &&
        /pre_update, update, post_update, render, network/.test(error.message),
    );
    await assert.rejects(
      stages([sys("defaulted")], ["input", "sim"]),
      /phase "update" is not one of the scene's phases \(input, sim\)/,
      "a system without a phase is in update, which custom phases may lack",
    );
  });

  test("phase lists must be non-empty and distinct", () => {
    assert.throws(() => defineScene({ components: [], systems: [], phases: [] }), SceneError);
    assert.throws(
      () => defineScene({ components: [], systems: [], phases: ["a", "b", "a"] }),
      /phases must be distinct names/,
    );
  });
});
