/**
 * A randomized model test: a seeded generator drives thousands of random operations (spawn,
 * despawn, add, remove, set, setField), directly on a World between frames and as commands of
 * systems inside frames, against a plain reference model. After every frame and every batch
 * of direct operations the world must equal the model: entity count, every live handle's
 * components and values, every dead handle not alive, and the entities a few queries match.
 *
 * The seed is printed at the start; set STATICECS_MODEL_SEED to replay one.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  BoundError,
  type CommandBuffer,
  type Component,
  defineComponent,
  defineScene,
  defineSystem,
  defineTag,
  type Field,
  type FieldType,
  type QuerySpec,
  Runtime,
  StaleEntityError,
  UsageError,
  type World,
} from "../mod.ts";

const A = defineComponent("A", { f: "f32", i: "i8" });
const B = defineComponent("B", { u: "u16", d: "f64" });
const C = defineComponent("C", { e: "entity", w: "i32", b: "bool" });
const D = defineComponent("D", { x: "u8", y: "i16", z: "u32" });
const T = defineTag("T");
const COMPONENTS: readonly Component[] = [A, B, C, D, T];
const FIELDS = new Map<Component, Field[]>(
  COMPONENTS.map((c) => [c, Object.values(c) as Field[]]),
);
const NAMES = new Map<Component, string>([[A, "A"], [B, "B"], [C, "C"], [D, "D"], [T, "T"]]);
const MAX_ENTITIES = 300;
const FRAMES = 260;
const QUERIES: { spec: QuerySpec; all: Component[]; none: Component[] }[] = [
  { spec: { all: [A] }, all: [A], none: [] },
  { spec: { all: [A, B], none: [T] }, all: [A, B], none: [T] },
  { spec: { all: [C], optional: [D] }, all: [C], none: [] },
  { spec: { none: [A, B] }, all: [], none: [A, B] },
  { spec: { all: [T, D] }, all: [T, D], none: [] },
];

const SEED = Number(process.env.STATICECS_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;

/** sfc32, independent of the generator under test. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  constructor(seed: number) {
    this.a = seed ^ 0xdeadbeef;
    this.b = Math.imul(seed, 0x9e3779b1) ^ 0x41c64e6d;
    this.c = seed + 0x6d2b79f5;
    for (let i = 0; i < 20; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  int(bound: number): number {
    return Math.floor((this.u32() / 2 ** 32) * bound);
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

// ---------------------------------------------------------------------------------------------
// The reference model: plain maps, and the documented handle allocation (index in the low bits,
// generation above; freed indices reused first-in first-out).

type Values = Record<string, number>;

function wrapInteger(value: number, bits: number, signed: boolean): number {
  if (!Number.isFinite(value)) return 0;
  const modulus = 2 ** bits;
  let wrapped = Math.trunc(value) % modulus;
  if (wrapped < 0) wrapped += modulus;
  if (signed && wrapped >= modulus / 2) wrapped -= modulus;
  return wrapped === 0 ? 0 : wrapped;
}

function stored(type: FieldType, value: number | boolean): number {
  const n = value === true ? 1 : value === false ? 0 : value;
  switch (type) {
    case "f64":
      return n;
    case "f32":
      return Math.fround(n);
    case "i8":
      return wrapInteger(n, 8, true);
    case "i16":
      return wrapInteger(n, 16, true);
    case "i32":
      return wrapInteger(n, 32, true);
    case "u8":
    case "bool":
      return wrapInteger(n, 8, false);
    case "u16":
      return wrapInteger(n, 16, false);
    case "u32":
    case "entity":
      return wrapInteger(n, 32, false);
  }
}

class Model {
  readonly entities = new Map<number, Map<Component, Values>>();
  readonly everSeen = new Set<number>();
  readonly seenList: number[] = [];
  /** Spawns refused by maxEntities. */
  refusals = 0;
  private readonly indexBits = Math.max(8, 32 - Math.clz32(MAX_ENTITIES));
  private readonly free: number[] = [];
  private freeHead = 0;
  private nextFresh = 1;
  private readonly generation: number[] = [];

  /** The handle the next spawn gets, or undefined if maxEntities is reached. */
  allocate(): number | undefined {
    let index: number;
    if (this.freeHead < this.free.length) index = this.free[this.freeHead++];
    else if (this.nextFresh <= MAX_ENTITIES) index = this.nextFresh++;
    else {
      this.refusals++;
      return undefined;
    }
    const handle = (this.generation[index] ?? 0) * 2 ** this.indexBits + index;
    this.entities.set(handle, new Map());
    this.everSeen.add(handle);
    this.seenList.push(handle);
    return handle;
  }

  despawn(handle: number): void {
    this.entities.delete(handle);
    const index = handle % 2 ** this.indexBits;
    this.generation[index] = (this.generation[index] ?? 0) + 1;
    this.free.push(index);
  }

  alive(handle: number): boolean {
    return this.entities.has(handle);
  }

  /** Adds a component (zeroed) unless present. */
  add(handle: number, component: Component): void {
    const components = this.entities.get(handle)!;
    if (components.has(component)) return;
    const zero: Values = {};
    for (const field of FIELDS.get(component)!) zero[field.name] = 0;
    components.set(component, zero);
  }

  has(handle: number, component: Component): boolean {
    return this.entities.get(handle)?.has(component) ?? false;
  }

  componentOfField(handle: number, field: Field): Values {
    for (const [component, values] of this.entities.get(handle)!) {
      if (FIELDS.get(component)!.includes(field)) return values;
    }
    throw new Error(`model: ${handle} lacks ${field.owner.name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Comparison of the world with the model.

function compare(world: World, model: Model, where: string): void {
  const fail = (what: string) => assert.fail(`seed ${SEED}, ${where}: ${what}`);
  if (world.entityCount !== model.entities.size) {
    fail(`entity count ${world.entityCount}, model ${model.entities.size}`);
  }
  for (const [handle, components] of model.entities) {
    if (!world.isAlive(handle)) fail(`${handle} should be alive`);
    for (const component of COMPONENTS) {
      const expected = components.get(component);
      if (world.has(handle, component) !== (expected !== undefined)) {
        fail(`${handle} has ${NAMES.get(component)}: ${world.has(handle, component)}`);
      }
      if (expected === undefined) continue;
      for (const field of FIELDS.get(component)!) {
        const actual = world.get(handle, field);
        if (!Object.is(actual, expected[field.name])) {
          fail(
            `${handle} ${field.owner.name}.${field.name} is ${actual}, model ${
              expected[field.name]
            }`,
          );
        }
      }
    }
  }
  for (const handle of model.everSeen) {
    if (!model.alive(handle) && world.isAlive(handle)) fail(`${handle} should be dead`);
  }
  for (const [q, { spec, all, none }] of QUERIES.entries()) {
    const actual = new Set<number>();
    world.query(spec).forEachChunk((chunk) => {
      for (let i = 0; i < chunk.count; i++) actual.add(chunk.entities[i]);
    });
    const expected = [...model.entities]
      .filter(([, cs]) => all.every((c) => cs.has(c)) && !none.some((c) => cs.has(c)))
      .map(([handle]) => handle);
    if (actual.size !== expected.length || !expected.every((h) => actual.has(h))) {
      fail(`query ${q} matches ${actual.size} entities, model ${expected.length}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random values and targets.

function randomValue(rng: Rng, field: Field, model: Model): number | boolean {
  const value = anyValue(rng, field, model);
  // A negative number in an entity field means a pending handle to commands: keep them apart.
  return field.type === "entity" && typeof value === "number" ? Math.abs(value) : value;
}

function anyValue(rng: Rng, field: Field, model: Model): number | boolean {
  switch (rng.int(7)) {
    case 0:
      return 0;
    case 1:
      return rng.int(601) - 300;
    case 2:
      return rng.int(2 ** 26) * (rng.chance(0.5) ? 1 : -1) * 97;
    case 3:
      return (rng.int(2_000_001) - 1_000_000) / 1000;
    case 4:
      return field.type === "bool" ? rng.chance(0.5) : rng.int(2);
    default:
      return model.seenList.length > 0 ? rng.pick(model.seenList) : 1;
  }
}

function randomValues(rng: Rng, component: Component, model: Model): Values | undefined {
  const fields = FIELDS.get(component)!;
  if (fields.length === 0 || rng.chance(0.25)) return rng.chance(0.5) ? undefined : {};
  const values: Record<string, number | boolean> = {};
  for (const field of fields) {
    if (rng.chance(0.7)) values[field.name] = randomValue(rng, field, model);
  }
  return values as Values;
}

function randomComponents(rng: Rng): Component[] {
  const chosen = COMPONENTS.filter(() => rng.chance(0.45));
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [chosen[i], chosen[j]] = [chosen[j], chosen[i]];
  }
  return chosen;
}

function aliveHandles(model: Model): number[] {
  return [...model.entities.keys()];
}

function deadHandle(rng: Rng, model: Model): number | undefined {
  for (let attempt = 0; attempt < 20 && model.seenList.length > 0; attempt++) {
    const handle = rng.pick(model.seenList);
    if (!model.alive(handle)) return handle;
  }
  return undefined;
}

/** Applies `values` to a live model entity's component, as world.set and commands.set do. */
function applyValues(model: Model, handle: number, component: Component, values?: Values): void {
  for (const [name, value] of Object.entries(values ?? {})) {
    const field = FIELDS.get(component)!.find((f) => f.name === name)!;
    model.entities.get(handle)!.get(component)![name] = stored(field.type, value);
  }
}

// ---------------------------------------------------------------------------------------------
// Direct operations on the world, between frames.

function directOperation(rng: Rng, world: World, model: Model): void {
  const alive = aliveHandles(model);
  const roll = rng.int(100);
  const wantSpawn = alive.length < 240 ? 30 : 18;
  if (roll < wantSpawn || alive.length === 0) {
    const components = randomComponents(rng);
    const inits = components.map((c) => {
      const values = randomValues(rng, c, model);
      return values === undefined ? c : [c, values] as const;
    });
    const expected = model.allocate();
    if (expected === undefined) {
      assert.throws(() => world.spawn(...inits), BoundError, `seed ${SEED}: maxEntities`);
      return;
    }
    assert.equal(world.spawn(...inits), expected, `seed ${SEED}: spawn handle`);
    for (const init of inits) {
      const [component, values] = Array.isArray(init) ? init : [init, undefined];
      model.add(expected, component);
      applyValues(model, expected, component, values);
    }
    return;
  }
  if (roll < 34) {
    const stale = deadHandle(rng, model);
    if (stale === undefined) return;
    const op = rng.int(4);
    const run = [
      () => world.despawn(stale),
      () => world.add(stale, rng.pick(COMPONENTS)),
      () => world.setField(stale, A.f, 1),
      () => world.get(stale, B.u),
    ][op];
    assert.throws(run, StaleEntityError, `seed ${SEED}: stale handle`);
    return;
  }
  const handle = rng.pick(alive);
  const component = rng.pick(COMPONENTS);
  const fields = FIELDS.get(component)!;
  if (roll < 50) {
    world.despawn(handle);
    model.despawn(handle);
  } else if (roll < 65) {
    const values = randomValues(rng, component, model);
    world.add(handle, component, values);
    model.add(handle, component);
    applyValues(model, handle, component, values);
  } else if (roll < 75) {
    world.remove(handle, component);
    model.entities.get(handle)!.delete(component);
  } else if (roll < 88) {
    const values = randomValues(rng, component, model) ?? {};
    const nonEmpty = Object.values(values).some((v) => v !== undefined);
    if (!model.has(handle, component) && nonEmpty) {
      assert.throws(() => world.set(handle, component, values), UsageError);
      return;
    }
    world.set(handle, component, values);
    applyValues(model, handle, component, values);
  } else if (fields.length > 0) {
    const field = rng.pick(fields);
    const value = randomValue(rng, field, model);
    if (!model.has(handle, component)) {
      assert.throws(() => world.setField(handle, field, value), UsageError);
      return;
    }
    world.setField(handle, field, value);
    model.componentOfField(handle, field)[field.name] = stored(field.type, value);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands recorded by systems inside frames.

interface Frame {
  /** The planner system's commands, in order. */
  plan: ((commands: CommandBuffer) => void)[];
  /** Problems seen by the planner at record time. */
  recordProblems: string[];
  /** Records on the pending handles of refused spawns: skipped, counted in the spawns' errors. */
  skipped: number;
}

const frame: Frame = { plan: [], recordProblems: [], skipped: 0 };

const planner = defineSystem({
  name: "planner",
  reads: [],
  run(ctx) {
    for (const step of frame.plan) step(ctx.commands);
  },
});

/** Per chunk of [A] without T: a command chosen by A.i, from the values before the stage. */
const chunkMutator = defineSystem({
  name: "chunkMutator",
  query: { all: [A], none: [T], optional: [B] },
  reads: [A, B],
  runChunk(chunk, ctx) {
    const small = chunk.read(A.i);
    const f = chunk.read(A.f);
    const u = chunk.readOptional(B.u);
    for (let r = 0; r < chunk.count; r++) {
      const e = chunk.entities[r];
      const rule = small[r] & 3;
      if (rule === 0) ctx.commands.setField(e, A.f, f[r] + 0.5);
      else if (rule === 1) ctx.commands.add(e, T);
      else if (rule === 2) {
        if (u !== undefined) ctx.commands.setField(e, B.u, u[r] + 1000);
        else ctx.commands.add(e, B, { u: 7 });
      }
    }
  },
});

/** The chunk mutator's records, worked out from the model before the stage. */
function chunkMutatorRecords(model: Model): (() => number)[] {
  const records: (() => number)[] = [];
  for (const [handle, components] of model.entities) {
    const a = components.get(A);
    if (a === undefined || components.has(T)) continue;
    const rule = a.i & 3;
    const liveWith = (c: Component) => model.alive(handle) && model.has(handle, c);
    if (rule === 0) {
      const value = a.f + 0.5;
      records.push(() => {
        if (!liveWith(A)) return 1;
        model.entities.get(handle)!.get(A)!.f = stored("f32", value);
        return 0;
      });
    } else if (rule === 1) {
      records.push(() => (model.alive(handle) ? (model.add(handle, T), 0) : 1));
    } else if (rule === 2) {
      const b = components.get(B);
      if (b !== undefined) {
        const value = b.u + 1000;
        records.push(() => {
          if (!liveWith(B)) return 1;
          model.entities.get(handle)!.get(B)!.u = stored("u16", value);
          return 0;
        });
      } else {
        records.push(() => {
          if (!model.alive(handle)) return 2; // the add and its set both fail
          model.add(handle, B);
          model.entities.get(handle)!.get(B)!.u = 7;
          return 0;
        });
      }
    }
  }
  return records;
}

/**
 * Plans the planner's commands for one frame and applies them to the model in record order
 * (they apply first, being the first system). Returns the number of records that must fail
 * when applied.
 */
function planCommands(rng: Rng, model: Model, count: number): number {
  const aliveBefore = new Set(model.entities.keys());
  const targets = [...aliveBefore];
  const pending: (number | undefined)[] = [];
  let failures = 0;
  frame.plan = [];
  frame.recordProblems = [];
  frame.skipped = 0;

  /** A target: mostly a live handle from before the stage, sometimes a pending one. */
  const target = (): { handle: number; real: number | undefined } | undefined => {
    if (pending.length > 0 && rng.chance(0.3)) {
      const k = rng.int(pending.length);
      return { handle: -(k + 1), real: pending[k] };
    }
    if (targets.length === 0) return undefined;
    const handle = rng.pick(targets);
    return { handle, real: handle };
  };
  /**
   * Applies `records` records on `real` if it is alive now; counts them as skipped if its spawn
   * was refused, else as failures.
   */
  const onLive = (real: number | undefined, records: number, apply: (h: number) => number) => {
    if (real === undefined) frame.skipped += records;
    else if (!model.alive(real)) failures += records;
    else failures += apply(real);
  };
  const valuesForCommands = (component: Component): Values | undefined => {
    const values = randomValues(rng, component, model);
    const entityField = FIELDS.get(component)!.find((f) => f.type === "entity");
    const resolvable = pending.map((real, k) => ({ real, k })).filter((p) => p.real !== undefined);
    if (values && entityField && resolvable.length > 0 && rng.chance(0.4)) {
      const { k } = rng.pick(resolvable);
      values[entityField.name] = -(k + 1); // a pending handle as a value
    }
    return values;
  };
  const resolve = (values: Values | undefined): Values | undefined => {
    if (values === undefined) return undefined;
    const out: Values = {};
    for (const [name, value] of Object.entries(values)) {
      out[name] = name === "e" && value < 0 ? pending[-value - 1]! : value;
    }
    return out;
  };
  const recordsOf = (values: Values | undefined) =>
    Object.values(values ?? {}).filter((v) => v !== undefined).length;

  for (let n = 0; n < count; n++) {
    const roll = rng.int(100);
    if (roll < 22) {
      // spawn, then add components (with values) to the pending handle
      const k = pending.length;
      const real = model.allocate();
      pending.push(real);
      frame.plan.push((commands) => void commands.spawn());
      if (real === undefined) failures++;
      for (const component of randomComponents(rng)) {
        const values = valuesForCommands(component);
        frame.plan.push((commands) => commands.add(-(k + 1), component, values));
        onLive(real, 1 + recordsOf(values), (h) => {
          model.add(h, component);
          applyValues(model, h, component, resolve(values));
          return 0;
        });
      }
    } else if (roll < 27) {
      // a handle dead before the stage: the command itself throws
      const stale = deadHandle(rng, model);
      if (stale === undefined || aliveBefore.has(stale)) continue;
      const despawnIt = rng.chance(0.5);
      frame.plan.push((commands) => {
        try {
          if (despawnIt) commands.despawn(stale);
          else commands.add(stale, A);
          frame.recordProblems.push(`recording on stale ${stale} did not throw`);
        } catch (error) {
          if (!(error instanceof StaleEntityError)) frame.recordProblems.push(String(error));
        }
      });
    } else {
      const picked = target();
      if (picked === undefined) continue;
      const { handle, real } = picked;
      const component = rng.pick(COMPONENTS);
      if (roll < 42) {
        frame.plan.push((commands) => commands.despawn(handle));
        onLive(real, 1, (h) => (model.despawn(h), 0));
      } else if (roll < 60) {
        const values = valuesForCommands(component);
        frame.plan.push((commands) => commands.add(handle, component, values));
        onLive(real, 1 + recordsOf(values), (h) => {
          model.add(h, component);
          applyValues(model, h, component, resolve(values));
          return 0;
        });
      } else if (roll < 72) {
        frame.plan.push((commands) => commands.remove(handle, component));
        onLive(real, 1, (h) => (model.entities.get(h)!.delete(component), 0));
      } else if (roll < 86) {
        const values = valuesForCommands(component) ?? {};
        frame.plan.push((commands) => commands.set(handle, component, values));
        onLive(real, recordsOf(values), (h) => {
          if (!model.has(h, component)) return recordsOf(values);
          applyValues(model, h, component, resolve(values));
          return 0;
        });
      } else {
        const fields = FIELDS.get(component)!;
        if (fields.length === 0) continue;
        const field = rng.pick(fields);
        const value = randomValue(rng, field, model);
        frame.plan.push((commands) => commands.setField(handle, field, value));
        onLive(real, 1, (h) => {
          if (!model.has(h, component)) return 1;
          model.componentOfField(h, field)[field.name] = stored(field.type, value);
          return 0;
        });
      }
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------

test("the world agrees with a reference model over thousands of random operations", async () => {
  console.log(`model test seed: ${SEED} (set STATICECS_MODEL_SEED=${SEED} to replay)`);
  const started = performance.now();
  const rng = new Rng(SEED);
  const model = new Model();
  const runtime = await Runtime.create(
    defineScene({
      components: [...COMPONENTS],
      systems: [planner, chunkMutator],
      errorPolicy: "aggregate",
      config: { maxEntities: MAX_ENTITIES, chunkRows: 16 },
    }),
  );
  assert.equal(runtime.schedule.stages.length, 1, "planner and chunkMutator share a stage");
  const world = runtime.world;
  let directOps = 0;
  let commandOps = 0;
  let frameErrors = 0;
  let skippedTotal = 0;
  for (let f = 0; f < FRAMES; f++) {
    const direct = 4 + rng.int(16);
    for (let n = 0; n < direct; n++) directOperation(rng, world, model);
    directOps += direct;
    compare(world, model, `frame ${f}, after ${direct} direct operations`);

    const mutations = chunkMutatorRecords(model);
    const planned = 4 + rng.int(16);
    let expectedErrors = planCommands(rng, model, planned);
    for (const record of mutations) expectedErrors += record();
    commandOps += planned + mutations.length;

    const result = runtime.tick();
    assert.deepEqual(frame.recordProblems, [], `seed ${SEED}, frame ${f}`);
    if (result.errors.length !== expectedErrors) {
      const messages = result.errors.map((e) => `${e.system}: ${e.message}`).join("\n");
      assert.fail(
        `seed ${SEED}, frame ${f}: ${result.errors.length} errors, model ${expectedErrors}\n` +
          messages,
      );
    }
    const skipped = result.errors.reduce((sum, error) => {
      const folded = /; (\d+) commands? on this spawn skipped$/.exec(error.message);
      return sum + (folded === null ? 0 : Number(folded[1]));
    }, 0);
    assert.equal(skipped, frame.skipped, `seed ${SEED}, frame ${f}: commands skipped`);
    for (const error of result.errors) {
      const known = error.error instanceof StaleEntityError || error.error instanceof UsageError ||
        (error.error instanceof BoundError && error.error.bound === "maxEntities");
      assert.ok(known, `seed ${SEED}, frame ${f}: ${error.system}: ${error.message}`);
    }
    frameErrors += result.errors.length;
    skippedTotal += skipped;
    compare(world, model, `frame ${f}, after the frame`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `model test: ${directOps} direct and ${commandOps} command operations, ${frameErrors} ` +
      `expected apply-time errors, ${model.refusals} spawns refused at maxEntities ` +
      `(${skippedTotal} commands on them skipped), ` +
      `${model.everSeen.size} handles, ${seconds.toFixed(2)} s`,
  );
  assert.ok(directOps + commandOps >= 5000, `${directOps + commandOps} operations`);
  assert.ok(model.everSeen.size > MAX_ENTITIES, "indices were reused");
  await runtime.close();
});
