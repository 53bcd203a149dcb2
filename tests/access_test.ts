/**
 * Declared access enforced (core/access.ts, core/_access_guard.ts): the
 * always-on gate on columns, `ctx.get`, the world's field accessors and
 * read-only resources; the issue 12 reproduction failing on every backend;
 * the opt-in `checkAccess` hash naming a write through `chunk.read()`; and
 * every example and benchmark scene passing `checkAccess` with an unchanged
 * checksum. The type level is checked by `deno check` over
 * tests/access_types_test.ts.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AdaptiveBackend,
  type Backend,
  BlockingBackend,
  defineComponent,
  defineResource,
  defineScene,
  defineSystem,
  IoUringBackend,
  Runtime,
  type Scene,
  type System,
  type SystemContext,
  UsageError,
  WorkStealingBackend,
} from "../mod.ts";
import { loadScene } from "../cli/_load_scene.ts";
import { openIoExecutor } from "../ffi/executor.ts";
import sneakColumn from "./fixtures/sneak_column_scene.ts";
import sneakRead from "./fixtures/sneak_read_scene.ts";

const LONG = { timeout: 120_000 };

/** A backend by name, built for the scene module at `sceneUrl`, every stage on the pool. */
type BackendMaker = (sceneUrl: string) => Backend;

const BACKENDS: ReadonlyArray<[string, BackendMaker]> = [
  ["blocking", () => new BlockingBackend()],
  ["work-stealing, 1 worker", (sceneUrl) => parallel(sceneUrl, 1)],
  ["work-stealing, 2 workers", (sceneUrl) => parallel(sceneUrl, 2)],
  ["adaptive", (sceneUrl) => new AdaptiveBackend({ sceneUrl, workers: 2, minParallelWork: 1 })],
  // io_uring where this machine has it; the same intents through node:fs where it has not.
  ["io-uring", () => new IoUringBackend({ open: () => openIoExecutor() })],
];

function parallel(sceneUrl: string, workers: number): Backend {
  return new WorkStealingBackend({ sceneUrl, workers, minParallelWork: 1 });
}

function fixtureUrl(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).href;
}

/** Runs one frame of `scene` on `backend` and returns its errors as "system: message". */
async function firstFrameErrors(
  scene: Scene,
  backend: Backend,
  checkAccess = false,
): Promise<string[]> {
  const runtime = await Runtime.create(scene, { backend, checkAccess });
  try {
    return runtime.tick().errors.map((e) => `${e.system}: ${e.message}`);
  } finally {
    await runtime.close();
  }
}

const P = defineComponent("P", { x: "f32" });
const Q = defineComponent("Q", { y: "f32" });
const Knob = defineResource("Knob", { level: "u32", table: ["f32", 4] });

/** Runs `system` once over one [P, Q] entity on the blocking backend; returns its errors. */
async function runOnce(system: System): Promise<string[]> {
  const scene = defineScene({
    components: [P, Q],
    resources: [Knob],
    systems: [system],
    setup(world) {
      world.spawn([P, { x: 1 }], [Q, { y: 2 }]);
    },
  });
  return await firstFrameErrors(scene, new BlockingBackend());
}

describe("the always-on gate", () => {
  test("a column of an undeclared component is refused, naming the system and the fix", async () => {
    const errors = await runOnce(defineSystem({
      name: "peek",
      query: { all: [P] },
      reads: [P],
      runChunk(chunk) {
        // @ts-expect-error: Q is not declared.
        chunk.read(Q.y);
      },
    }));
    assert.deepEqual(errors, [
      "peek: system peek uses Q.y without declaring Q; add Q to the system's reads (or " +
      "writes, or its query)",
    ]);
  });

  test("a writable column of a component declared only as read is refused", async () => {
    for (const call of ["write", "column", "writeOptional", "optionalColumn"] as const) {
      const errors = await runOnce(defineSystem({
        name: "scribble",
        query: { all: [P, Q] },
        reads: [Q],
        writes: [P],
        runChunk(chunk) {
          // @ts-expect-error: Q is declared only in reads.
          chunk[call](Q.y);
        },
      }));
      assert.deepEqual(errors, [
        `scribble: system scribble: chunk.${call}(Q.y) writes, but scribble lists Q only as ` +
        `read; add Q to writes, or read it with chunk.read(Q.y)`,
      ]);
    }
  });

  test("declared columns work; a system that declares nothing may touch anything", async () => {
    assert.deepEqual(
      await runOnce(defineSystem({
        name: "mover",
        query: { all: [P, Q] },
        writes: [P],
        runChunk(chunk) {
          const x = chunk.write(P.x), y = chunk.read(Q.y);
          for (let i = 0; i < chunk.count; i++) x[i] += y[i];
        },
      })),
      [],
    );
    assert.deepEqual(
      await runOnce(defineSystem({
        name: "anything",
        query: { all: [P] },
        runChunk(chunk) {
          chunk.write(Q.y)[0] = chunk.read(P.x)[0];
        },
      })),
      [],
    );
  });

  test("ctx.get and the world's field accessors check the running system's access", async () => {
    const tries: Record<string, (ctx: SystemContext<"P", never>) => void> = {
      // @ts-expect-error: Q is not declared.
      "ctx.get": (ctx) => ctx.get(firstEntity(ctx), Q.y),
      "world.setField": (ctx) => ctx.world.setField(firstEntity(ctx), Q.y, 5),
      "world.get": (ctx) => ctx.world.get(firstEntity(ctx), Q.y),
    };
    for (const [name, attempt] of Object.entries(tries)) {
      const errors = await runOnce(defineSystem({
        name: "reach",
        reads: [P],
        run: attempt,
      }));
      assert.equal(errors.length, 1, name);
      assert.match(errors[0], /^reach: system reach uses Q\.y without declaring Q/, name);
    }
  });

  test("a resource declared only in reads is read-only; assigning names the fix", async () => {
    const errors = await runOnce(defineSystem({
      name: "tweak",
      reads: [Knob],
      run(ctx) {
        const knob = ctx.resource(Knob);
        assert.equal(knob.level, 0);
        assert.equal(knob.table.length, 4);
        // @ts-expect-error: Knob is read-only here.
        knob.level = 3;
      },
    }));
    assert.deepEqual(errors, [
      "tweak: system tweak writes resource Knob.level, but lists Knob only in reads; add Knob " +
      "to its writes",
    ]);
  });
});

/** The one entity of runOnce's world. */
function firstEntity(ctx: { world: Runtime["world"] }): number {
  let entity = -1;
  ctx.world.query({ all: [P] }).forEachChunk((chunk) => entity = chunk.entities[0]);
  return entity;
}

describe("the reproduction: an undeclared write in a two-system stage", () => {
  test(
    "fails its first frame naming the system and the component, on every backend",
    LONG,
    async () => {
      for (const [name, make] of BACKENDS) {
        const errors = await firstFrameErrors(
          sneakColumn,
          make(fixtureUrl("sneak_column_scene.ts")),
        );
        assert.deepEqual(
          [...new Set(errors)],
          [
            "sneak: system sneak: chunk.column(Position.x) writes, but sneak lists Position only " +
            "as read; add Position to writes, or read it with chunk.read(Position.x)",
          ],
          name,
        );
      }
    },
  );
});

describe("checkAccess", () => {
  test(
    "names a write through chunk.read() on every backend; off, nothing sees it",
    LONG,
    async () => {
      const url = fixtureUrl("sneak_read_scene.ts");
      assert.deepEqual(await firstFrameErrors(sneakRead, new BlockingBackend()), []);
      for (const [name, make] of BACKENDS) {
        const errors = await firstFrameErrors(sneakRead, make(url), true);
        assert.deepEqual(
          [...new Set(errors)],
          ["sneak: system sneak wrote Position.x without declaring it (tick 0); add Position to its writes"],
          name,
        );
      }
    },
  );

  test("names a write to a read-only resource's array field from a run system", async () => {
    const scene = defineScene({
      components: [P],
      resources: [Knob],
      systems: [defineSystem({
        name: "stir",
        reads: [Knob],
        run(ctx) {
          (ctx.resource(Knob).table as unknown as Float32Array)[2] = 1;
        },
      })],
    });
    const errors = await firstFrameErrors(scene, new BlockingBackend(), true);
    assert.deepEqual(errors, [
      "stir: system stir wrote Knob.table without declaring it (tick 0); add Knob to its writes",
    ]);
  });

  test("a UsageError is what the frame carries", async () => {
    const runtime = await Runtime.create(sneakRead, { checkAccess: true });
    try {
      assert.ok(runtime.tick().errors[0].error instanceof UsageError);
    } finally {
      await runtime.close();
    }
  });
});

/** Every example and benchmark scene, with how many ticks to run it. */
const CLEAN_SCENES: ReadonlyArray<[string, number]> = [
  ["examples/boids.ts", 20],
  ["examples/lifecycle.ts", 40],
  ["examples/tour.ts", 40],
  ["examples/cluster_sim.ts", 10],
  ["scripts/bench/scenes/heavy_compute.ts", 3],
  ["scripts/bench/scenes/mixed.ts", 10],
  ["scripts/bench/scenes/skewed.ts", 5],
  ["scripts/bench/scenes/small_systems.ts", 20],
  ["examples/journal.ts", 20],
];

describe("every example and benchmark scene passes checkAccess", () => {
  test("with the checksum it has without the check, on every backend", LONG, async () => {
    for (const [file, ticks] of CLEAN_SCENES) {
      const loaded = await loadScene(new URL(`../${file}`, import.meta.url).pathname);
      const reference = await checksumAfter(loaded.scene, new BlockingBackend(), ticks, false);
      for (const [name, make] of BACKENDS) {
        const checked = await checksumAfter(loaded.scene, make(loaded.url), ticks, true);
        assert.equal(checked, reference, `${file} on ${name}`);
      }
    }
  });
});

async function checksumAfter(
  scene: Scene,
  backend: Backend,
  ticks: number,
  checkAccess: boolean,
): Promise<string> {
  const { PortableExecutor } = await import("../ffi/portable.ts");
  const runtime = await Runtime.create(scene, {
    backend,
    checkAccess,
    seed: 7,
    io: backend instanceof IoUringBackend ? undefined : new PortableExecutor("direct I/O"),
  });
  try {
    for (let t = 0; t < ticks; t++) {
      const frame = runtime.tick();
      assert.deepEqual(frame.errors.map((e) => `${e.system}: ${e.message}`), [], `tick ${t}`);
    }
    return runtime.checksum();
  } finally {
    await runtime.close();
  }
}
