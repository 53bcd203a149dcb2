/**
 * Becsy in the ECS benchmark, as its guide shows: components are classes
 * with a static schema, systems are classes whose queries are declared with
 * `this.query(q => q.current.with(...).write)`, and one frame is
 * `await world.execute()`. The production build (`lib/perf.js`, checks off)
 * is the one measured, as in the standard benchmark.
 *
 * Becsy keeps deleted entities in limbo for a few frames, so the structural
 * cases reserve room for several frames' worth of entities.
 *
 * @module
 */

// @ts-types="@lastolivegames/becsy/lib/index.d.ts"
import { type ComponentType, System, Type, World } from "@lastolivegames/becsy/lib/perf.js";
import pkg from "../../../package.json" with { type: "json" };
import {
  CASE_COUNTS,
  type CaseInstance,
  type CaseName,
  type EcsSubject,
  FRAG_NAMES,
} from "./_subject.ts";

/** A fresh component type with one int32 `value`: becsy types belong to one world each. */
function valueType(): ComponentType<{ value: number }> {
  return class {
    static schema = { value: Type.int32 };
    declare value: number;
  };
}

type Value = ComponentType<{ value: number }>;
type Defs = NonNullable<NonNullable<Parameters<typeof World.create>[0]>["defs"]>;
/** A system class, as `schedule(s => s.after(...))` takes it. */
type ScheduleBuilder = Parameters<Parameters<System["schedule"]>[0]>[0];
type SystemRef = Parameters<ScheduleBuilder["after"]>[0];

async function start(
  defs: Defs,
  options: { maxEntities?: number; maxLimboComponents?: number; maxShapeChangesPerFrame?: number },
  build: (world: World) => void,
  probe: () => number,
): Promise<CaseInstance> {
  const world = await World.create({ defs, ...options });
  build(world);
  return { op: () => world.execute(), probe, close: () => world.terminate() };
}

/** A system doubling `type.value`; `probe.value` receives the first entity's value after each run. */
function doubler(type: Value, probe: { value: number }) {
  return class extends System {
    entities = this.query((q) => q.current.with(type).write);
    override execute(): void {
      const all = this.entities.current;
      for (const entity of all) entity.write(type).value *= 2;
      if (all.length > 0) probe.value = all[0].read(type).value;
    }
  };
}

function packed5(): Promise<CaseInstance> {
  const types = [valueType(), valueType(), valueType(), valueType(), valueType()];
  const seen = { value: 0 };
  const systems = types.map((t, i) => doubler(t, i === 0 ? seen : { value: 0 }));
  return start([...types, ...systems], { maxEntities: 2_000 }, (world) => {
    const init = types.flatMap((t) => [t, { value: 1 }]);
    for (let i = 0; i < CASE_COUNTS.packed_5; i++) world.createEntity(...init);
  }, () => seen.value);
}

/** Becsy loops forever in World.create if two writers of a component are left unordered. */
function swapper(a: Value, b: Value, probe: { value: number }, after?: SystemRef) {
  return class extends System {
    entities = this.query((q) => q.current.with(a, b).write);
    constructor() {
      super();
      if (after !== undefined) this.schedule((s) => s.after(after));
    }
    override execute(): void {
      for (const entity of this.entities.current) {
        const x = entity.write(a);
        const y = entity.write(b);
        const t = x.value;
        x.value = y.value;
        y.value = t;
      }
      probe.value = this.entities.current[0].read(a).value;
    }
  };
}

function simpleIter(): Promise<CaseInstance> {
  const [A, B, C, D, E] = [valueType(), valueType(), valueType(), valueType(), valueType()];
  const seen = { value: 0 };
  const other = { value: 0 };
  const swapCD = swapper(C, D, other);
  const systems = [swapper(A, B, seen), swapCD, swapper(C, E, other, swapCD)];
  return start([A, B, C, D, E, ...systems], { maxEntities: 5_000 }, (world) => {
    for (let i = 0; i < CASE_COUNTS.simple_iter; i++) {
      world.createEntity(A, { value: 0 }, B, { value: 1 });
      world.createEntity(A, { value: 0 }, B, { value: 1 }, C, { value: 2 });
      world.createEntity(A, { value: 0 }, B, { value: 1 }, C, { value: 2 }, D, { value: 3 });
      world.createEntity(A, { value: 0 }, B, { value: 1 }, C, { value: 2 }, E, { value: 3 });
    }
  }, () => seen.value);
}

function fragIter(): Promise<CaseInstance> {
  const letters = FRAG_NAMES.map(valueType);
  const Data = valueType();
  const seen = { value: 0 };
  const systems = [doubler(Data, seen), doubler(letters[25], { value: 0 })];
  return start([...letters, Data, ...systems], { maxEntities: 3_000 }, (world) => {
    for (const letter of letters) {
      for (let i = 0; i < CASE_COUNTS.frag_iter; i++) {
        world.createEntity(letter, { value: 1 }, Data, { value: 1 });
      }
    }
  }, () => seen.value);
}

/**
 * What the two systems of a structural case saw in the last frame; the probe
 * is `withA + (bSeen - bMade)`: 1,000 when the second system met exactly the
 * entities (or components) the first one made. Becsy's perf build keeps no
 * statistics to count with, and a counting system would add work to the frame.
 */
interface Seen {
  withA: number;
  bMade: number;
  bSeen: number;
}

function probeOf(seen: Seen): () => number {
  return () => seen.withA + seen.bSeen - seen.bMade;
}

function entityCycle(): Promise<CaseInstance> {
  const A = valueType();
  const B = valueType();
  const seen: Seen = { withA: 0, bMade: 0, bSeen: 0 };
  class SpawnB extends System {
    entities = this.query((q) => q.current.with(A).read.using(B).write);
    override execute(): void {
      const all = this.entities.current;
      for (const entity of all) this.createEntity(B, { value: entity.read(A).value });
      seen.withA = seen.bMade = all.length;
    }
  }
  class KillB extends System {
    entities = this.query((q) => q.current.with(B).write);
    constructor() {
      super();
      this.schedule((s) => s.after(SpawnB));
    }
    override execute(): void {
      const all = this.entities.current;
      for (const entity of all) entity.delete();
      seen.bSeen = all.length;
    }
  }
  const limits = { maxEntities: 8 * CASE_COUNTS.entity_cycle, maxLimboComponents: 10_000 };
  return start([A, B, SpawnB, KillB], limits, (world) => {
    for (let i = 0; i < CASE_COUNTS.entity_cycle; i++) world.createEntity(A, { value: i });
  }, probeOf(seen));
}

function addRemove(): Promise<CaseInstance> {
  const A = valueType();
  const B = valueType();
  const seen: Seen = { withA: 0, bMade: 0, bSeen: 0 };
  class AddB extends System {
    entities = this.query((q) => q.current.with(A).but.without(B).using(B).write);
    override execute(): void {
      const all = this.entities.current;
      for (const entity of all) entity.add(B, { value: 0 });
      seen.withA = seen.bMade = all.length;
    }
  }
  class RemoveB extends System {
    entities = this.query((q) => q.current.with(B).write);
    constructor() {
      super();
      this.schedule((s) => s.after(AddB));
    }
    override execute(): void {
      const all = this.entities.current;
      for (const entity of all) entity.remove(B);
      seen.bSeen = all.length;
    }
  }
  const limits = {
    maxEntities: CASE_COUNTS.add_remove,
    maxShapeChangesPerFrame: 3 * CASE_COUNTS.add_remove,
  };
  return start([A, B, AddB, RemoveB], limits, (world) => {
    for (let i = 0; i < CASE_COUNTS.add_remove; i++) world.createEntity(A, { value: 0 });
  }, probeOf(seen));
}

const SETUPS: Record<CaseName, () => Promise<CaseInstance>> = {
  packed_5: packed5,
  simple_iter: simpleIter,
  frag_iter: fragIter,
  entity_cycle: entityCycle,
  add_remove: addRemove,
};

/** Becsy, the class-based peer. */
export const subject: EcsSubject = {
  name: "becsy",
  version: pkg.devDependencies["@lastolivegames/becsy"],
  setup: (name) => SETUPS[name](),
};
