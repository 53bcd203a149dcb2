/**
 * Structural changes on entities whose fields are of mixed types, against
 * the baseline of the same changes on entities with as many fields, all
 * i32 (the layout of the standard ECS benchmark's cases, where every value
 * is one integer). A loop that copies columns of several typed-array classes
 * goes megamorphic in V8 and JavaScriptCore (see core/_column_kernels.ts);
 * this bench shows whether the row moves still cost what they cost on one
 * class. Cases, 1,000 entities, one op = one frame:
 *
 * - `add_remove`: a tag added to every entity (addEach), then removed
 *   (removeEach) in a later stage: every row moves twice;
 * - `entity_cycle`: a block of entities spawned per chunk (spawnEach, three
 *   fields set with setColumn), then despawned (despawnEach);
 * - `single_moves`: the tag added and removed one entity at a time
 *   (commands.add / commands.remove);
 * - `single_sets`: each of the ten fields of every entity set by a command
 *   of its own (commands.setField);
 * - `spawn_values`: an entity spawned per entity, one at a time
 *   (commands.spawn, then add with values: six fields of three components),
 *   then despawned (despawnEach).
 *
 * Each layout of each case runs in a child process of its own, so the
 * uniform world's loops never see another column class (in one process the
 * mixed world would slow both alike, and the ratio would hide it). Prints ns
 * per entity per frame for each layout, the ratio mixed ÷ uniform (1.0 = no
 * cost for mixing types) and the heap growth per frame.
 *
 * Usage:
 *   npx bun scripts/bench/moves.ts [--json] [--quick] [--rounds N]
 *   npx deno run -A scripts/bench/moves.ts [same options]
 *   (`--case NAME --layout mixed|uniform` runs one, in this process: what a child does)
 *
 * @module
 */

import process from "node:process";
import {
  type Component,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  Runtime,
  type Scene,
} from "staticecs";
import {
  benchOptions,
  formatNumber,
  formatTable,
  frameTiming,
  heapPerOp,
  interleave,
  median,
  prepareRunner,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";
import { measurementInChild } from "./_cluster_child.ts";

const options = benchOptions({
  script: "moves.ts",
  usage: "usage: moves.ts [--json] [--quick] [--rounds N] [--case NAME --layout mixed|uniform]",
  rounds: { quick: 3, full: 9 },
  options: { case: "string", layout: "string" },
}, (args) => args);
const { rounds, values } = options;
const timing = frameTiming(options);
const ENTITIES = 1_000;

/** Ten fields in five components: every field type once (bool and entity too) in `mixed`. */
function layout(mixed: boolean): Component[] {
  const t = (type: string) => (mixed ? type : "i32") as "i32";
  return [
    defineComponent("Position", { x: t("f32"), y: t("f32") }),
    defineComponent("Velocity", { x: t("f64"), y: t("i16") }),
    defineComponent("Health", { hp: t("i32"), max: t("u16") }),
    defineComponent("Flags", { bits: t("u8"), alive: t("bool") }),
    defineComponent("Link", { of: t("entity"), salt: t("i8") }),
  ];
}

const CASES = [
  "add_remove",
  "entity_cycle",
  "single_moves",
  "single_sets",
  "spawn_values",
] as const;

function scene(name: typeof CASES[number], mixed: boolean): Scene {
  const components = layout(mixed);
  const [Position, Velocity, Health, Flags, Link] = components as [
    Component<{ x: "f32"; y: "f32" }>,
    Component<{ x: "f64"; y: "i16" }>,
    Component<{ hp: "i32"; max: "u16" }>,
    Component<{ bits: "u8"; alive: "bool" }>,
    Component<{ of: "entity"; salt: "i8" }>,
  ];
  const Tag = defineTag("Tag");
  const Spark = defineComponent("Spark", { x: mixed ? "f32" : "i32", n: "u32", t: "f64" });
  const systems = {
    add_remove: [
      defineSystem({
        name: "add",
        query: { all: [Position], none: [Tag] },
        writes: [Tag],
        runChunk: (chunk, ctx) => ctx.commands.addEach(chunk, Tag),
      }),
      defineSystem({
        name: "remove",
        after: ["add"],
        query: { all: [Position, Tag] },
        writes: [Tag],
        runChunk: (chunk, ctx) => ctx.commands.removeEach(chunk, Tag),
      }),
    ],
    entity_cycle: [
      defineSystem({
        name: "spawn",
        query: { all: [Position] },
        reads: [Position],
        writes: [Spark],
        runChunk(chunk, ctx) {
          const x = chunk.read(Position.x);
          const batch = ctx.commands.spawnEach(chunk.count, Spark);
          batch.setColumn(Spark.x, x);
          batch.setColumn(Spark.n, x);
          batch.setColumn(Spark.t, x);
        },
      }),
      defineSystem({
        name: "despawn",
        after: ["spawn"],
        query: { all: [Spark] },
        writes: [Spark],
        runChunk: (chunk, ctx) => ctx.commands.despawnEach(chunk),
      }),
    ],
    single_moves: [
      defineSystem({
        name: "add",
        query: { all: [Position], none: [Tag] },
        writes: [Tag],
        runChunk(chunk, ctx) {
          for (let i = 0; i < chunk.count; i++) ctx.commands.add(chunk.entities[i], Tag);
        },
      }),
      defineSystem({
        name: "remove",
        after: ["add"],
        query: { all: [Position, Tag] },
        writes: [Tag],
        runChunk(chunk, ctx) {
          for (let i = 0; i < chunk.count; i++) ctx.commands.remove(chunk.entities[i], Tag);
        },
      }),
    ],
    single_sets: [
      defineSystem({
        name: "set",
        query: { all: [Position] },
        writes: components,
        runChunk(chunk, ctx) {
          const commands = ctx.commands, entities = chunk.entities;
          for (let i = 0; i < chunk.count; i++) {
            const entity = entities[i], v = (ctx.tick + i) & 63;
            commands.setField(entity, Position.x, v);
            commands.setField(entity, Position.y, v);
            commands.setField(entity, Velocity.x, v);
            commands.setField(entity, Velocity.y, v);
            commands.setField(entity, Health.hp, v);
            commands.setField(entity, Health.max, v);
            commands.setField(entity, Flags.bits, v);
            commands.setField(entity, Flags.alive, v & 1);
            commands.setField(entity, Link.of, entity);
            commands.setField(entity, Link.salt, v);
          }
        },
      }),
    ],
    spawn_values: [
      defineSystem({
        name: "spawn",
        query: { all: [Link] },
        reads: [Position],
        writes: [Position, Velocity, Health],
        runChunk(chunk, ctx) {
          const x = chunk.read(Position.x), commands = ctx.commands;
          for (let i = 0; i < chunk.count; i++) {
            const spawned = commands.spawn(), v = x[i];
            commands.add(spawned, Position, { x: v, y: v });
            commands.add(spawned, Velocity, { x: v, y: 1 });
            commands.add(spawned, Health, { hp: 100, max: 100 });
          }
        },
      }),
      defineSystem({
        name: "despawn",
        after: ["spawn"],
        query: { all: [Position], none: [Link] },
        writes: [Position, Velocity, Health],
        runChunk: (chunk, ctx) => ctx.commands.despawnEach(chunk),
      }),
    ],
  }[name];
  return defineScene({
    components: [...components, Tag, Spark],
    systems,
    setup(world) {
      for (let i = 0; i < ENTITIES; i++) world.spawn(...components);
    },
  });
}

/** The runtime as a program after throughput runs it (as in ecs.ts): no clock reads per frame. */
const THROUGHPUT = { frameTiming: false, systemTimingEvery: 0 } as const;

/** One layout of one case, measured in this process: ns per entity per frame, heap per frame. */
async function measure(name: typeof CASES[number], mixed: boolean) {
  const runtime = await Runtime.create(scene(name, mixed), THROUGHPUT);
  try {
    const runner = await prepareRunner(mixed ? "mixed" : "uniform", () => runtime.tick());
    const [ops] = (await interleave([runner], timing)).map(median);
    return { ns: 1e9 / ops / ENTITIES, heap: (await heapPerOp(runner, 3, 5_000)).grownBytes };
  } finally {
    await runtime.close();
  }
}

if (values.case !== undefined) {
  const name = values.case as typeof CASES[number];
  if (!CASES.includes(name) || !["mixed", "uniform"].includes(values.layout ?? "")) {
    throw new Error(`--case takes ${CASES.join(", ")} and --layout mixed or uniform`);
  }
  console.log(JSON.stringify(await measure(name, values.layout === "mixed")));
  process.exit(0);
}

const table: string[][] = [];
const ratios: Record<string, number> = {};
const rows: Row[] = [];
const heap: Record<string, number> = {};
for (const name of CASES) {
  const [mixed, uniform] = ["mixed", "uniform"].map((layout) =>
    measurementInChild<{ ns: number; heap: number }>(
      import.meta.url,
      options,
      ["--case", name, "--layout", layout],
      `${name} (${layout})`,
    )
  );
  rows.push({ case: name, subject: "mixed", value: mixed.ns, unit: "ns/entity" });
  rows.push({ case: name, subject: "uniform", value: uniform.ns, unit: "ns/entity" });
  ratios[name] = mixed.ns / uniform.ns;
  heap[name] = Math.max(mixed.heap, uniform.heap);
  table.push([
    name,
    formatNumber(mixed.ns, 1),
    formatNumber(uniform.ns, 1),
    formatNumber(ratios[name], 2),
    formatNumber(heap[name], 1),
  ]);
}

if (options.json) {
  printJson({
    bench: "moves",
    runtime: runtimeName(),
    entities: ENTITIES,
    rows,
    ratios,
    heap,
  });
} else {
  console.log(
    `row moves on ${runtimeName()}: ${ENTITIES} entities of ten fields, mixed types against all ` +
      `i32 (each in a process of its own), median of ${rounds} rounds`,
  );
  console.log(formatTable(
    ["case", "mixed ns/entity", "uniform ns/entity", "mixed / uniform", "heap bytes/frame"],
    table,
  ));
}
