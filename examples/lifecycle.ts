/**
 * Lifecycle: entities born, changed and killed every frame through commands.
 *
 * Eight emitters spawn two to four particles each per tick. A particle has a
 * position, a velocity, a lifetime and a link to its emitter; it falls under
 * gravity and is despawned when its age reaches its lifetime. Now and then a
 * particle catches fire (the `Burning` tag is added) and later goes out (the
 * tag is removed); burning particles age twice as fast. Each death emits a
 * `Died` event, which a stats system reads to keep counts in the `Stats`
 * resource. Births and deaths balance at a few thousand particles.
 *
 * Everything structural goes through `ctx.commands`, which the runtime
 * applies at the end of each stage in system order, then chunk order:
 *
 * - `emit` spawns particles. `commands.spawn()` returns a pending handle
 *   (a negative number) that later commands of the same system use to add
 *   components, and that is even stored in an entity field (`Emitter.last`):
 *   it becomes the real handle when the commands apply.
 * - `ignite` adds and removes the `Burning` tag, which moves a particle from
 *   one archetype to another.
 * - `age` despawns particles whose time is up and emits `Died`. It runs after
 *   `ignite` (in a later stage), so no command of this frame can touch a
 *   particle after its despawn: a command to a despawned entity is an error
 *   reported against the system that recorded it.
 * - `count` (post_update) reads this frame's `Died` events: events become
 *   visible when the emitting stage ends, and each reader sees each one once.
 *
 * All randomness comes from `ctx.random` (a stream per tick, system and
 * chunk) and the setup's seeded stream, so a seed fixes every frame.
 *
 * Run it: `npx bun cli/main.ts run examples/lifecycle.ts --ticks 600`.
 *
 * @module
 */

import {
  defineComponent,
  defineEvent,
  defineResource,
  defineScene,
  defineSystem,
  defineTag,
} from "staticecs";

/** Emitters in the scene; they live for the whole run. */
export const EMITTER_COUNT = 8;
/** Particles spawned before the first frame, so the run starts near its steady state. */
export const INITIAL_PARTICLES = 2_000;

const SPAWNS_PER_TICK_MIN = 2; // per emitter; uniform from MIN to MAX
const SPAWNS_PER_TICK_MAX = 4;
const LIFETIME_MIN_S = 1;
const LIFETIME_MAX_S = 3;
const BURNING_AGE_FACTOR = 2; // a burning particle ages this many seconds per second
const IGNITE_CHANCE = 0.005; // per particle per tick
const EXTINGUISH_CHANCE = 0.03; // per burning particle per tick
const GRAVITY = -9.8; // units per second squared
const LAUNCH_SPEED_MAX = 12; // units per second
const EMITTER_RING_RADIUS = 50;

/** Units. */
export const Position = defineComponent("Position", { x: "f32", y: "f32" });
/** Units per second. */
export const Velocity = defineComponent("Velocity", { x: "f32", y: "f32" });
/** Seconds lived and seconds to live. */
export const Lifetime = defineComponent("Lifetime", { ageS: "f32", maxS: "f32" });
/** The emitter that spawned a particle. */
export const Parent = defineComponent("Parent", { emitter: "entity" });
/** A particle source: how many it spawned, and the latest one. */
export const Emitter = defineComponent("Emitter", { emitted: "u32", last: "entity" });
/** On fire: ages faster. */
export const Burning = defineTag("Burning");

/** One particle's death. */
export const Died = defineEvent(
  "Died",
  { entity: "entity", ageS: "f32", burning: "bool" },
  { capacity: 4096 },
);

/** Running counts since the start of the run (particles spawned in setup not included). */
export const Stats = defineResource("Stats", {
  spawned: "u32",
  died: "u32",
  diedBurning: "u32",
  ignited: "u32",
  extinguished: "u32",
  /** Live entities (particles and emitters) at the end of the last frame. */
  alive: "u32",
  alivePeak: "u32",
});

/** Spawns this tick's particles of each emitter, with pending handles. */
export const emit = defineSystem({
  name: "emit",
  query: { all: [Emitter, Position] },
  reads: [Position],
  writes: [Emitter, Stats],
  runChunk(chunk, ctx) {
    const commands = ctx.commands, random = ctx.random;
    const entities = chunk.entities, emitted = chunk.write(Emitter.emitted);
    const x = chunk.read(Position.x), y = chunk.read(Position.y);
    let spawned = 0;
    for (let i = 0; i < chunk.count; i++) {
      const emitter = entities[i];
      const n = SPAWNS_PER_TICK_MIN + random.int(SPAWNS_PER_TICK_MAX - SPAWNS_PER_TICK_MIN + 1);
      let particle = 0;
      for (let k = 0; k < n; k++) {
        particle = commands.spawn();
        // Adds right after the spawn land the particle in its final archetype at once.
        commands.add(particle, Position);
        commands.add(particle, Velocity);
        commands.add(particle, Lifetime);
        commands.add(particle, Parent);
        const heading = random.range(0, 2 * Math.PI), speed = random.range(0, LAUNCH_SPEED_MAX);
        commands.setField(particle, Position.x, x[i]);
        commands.setField(particle, Position.y, y[i]);
        commands.setField(particle, Velocity.x, speed * Math.cos(heading));
        commands.setField(particle, Velocity.y, speed * Math.sin(heading));
        commands.setField(particle, Lifetime.maxS, random.range(LIFETIME_MIN_S, LIFETIME_MAX_S));
        commands.setField(particle, Parent.emitter, emitter);
      }
      // A pending handle as a field value: it resolves when the commands apply.
      commands.setField(emitter, Emitter.last, particle);
      emitted[i] += n;
      spawned += n;
    }
    ctx.resource(Stats).spawned += spawned;
  },
});

/** Sets particles on fire and puts them out, at random. */
export const ignite = defineSystem({
  name: "ignite",
  query: { all: [Lifetime] },
  writes: [Burning, Stats],
  runChunk(chunk, ctx) {
    const commands = ctx.commands, random = ctx.random, entities = chunk.entities;
    const burning = chunk.has(Burning);
    const chance = burning ? EXTINGUISH_CHANCE : IGNITE_CHANCE;
    let changed = 0;
    for (let i = 0; i < chunk.count; i++) {
      if (random.next() >= chance) continue;
      if (burning) commands.remove(entities[i], Burning);
      else commands.add(entities[i], Burning);
      changed++;
    }
    const stats = ctx.resource(Stats);
    if (burning) stats.extinguished += changed;
    else stats.ignited += changed;
  },
});

/** Ages particles and despawns those whose time is up, emitting Died for each. */
export const age = defineSystem({
  name: "age",
  query: { all: [Lifetime] },
  writes: [Lifetime, Died],
  after: ["ignite"],
  runChunk(chunk, ctx) {
    const entities = chunk.entities;
    const ageS = chunk.write(Lifetime.ageS), maxS = chunk.write(Lifetime.maxS);
    const burning = chunk.has(Burning);
    const stepS = ctx.dt * (burning ? BURNING_AGE_FACTOR : 1);
    for (let i = 0; i < chunk.count; i++) {
      ageS[i] += stepS;
      if (ageS[i] < maxS[i]) continue;
      ctx.commands.despawn(entities[i]);
      // emit takes a values object: the one allocation of this loop, once per death.
      ctx.emit(Died, { entity: entities[i], ageS: ageS[i], burning });
    }
  },
});

/** Falls under gravity. */
export const fall = defineSystem({
  name: "fall",
  query: { all: [Position, Velocity] },
  writes: [Position, Velocity],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), y = chunk.write(Position.y);
    const vx = chunk.write(Velocity.x), vy = chunk.write(Velocity.y);
    const dt = ctx.dt;
    for (let i = 0; i < chunk.count; i++) {
      vy[i] += GRAVITY * dt;
      x[i] += vx[i] * dt;
      y[i] += vy[i] * dt;
    }
  },
});

/** Counts this frame's deaths and the live population. */
export const count = defineSystem({
  name: "count",
  phase: "post_update",
  reads: [Died],
  writes: [Stats],
  run(ctx) {
    const stats = ctx.resource(Stats);
    const deaths = ctx.read(Died);
    for (let i = 0; i < deaths.count; i++) {
      stats.died++;
      if (deaths.get(Died.burning, i) !== 0) stats.diedBurning++;
    }
    // Commands of this frame's update phase have applied: this is the count after the frame.
    const alive = ctx.world.entityCount;
    stats.alive = alive;
    if (alive > stats.alivePeak) stats.alivePeak = alive;
  },
});

/** The scene: emitters on a ring, and a first batch of particles of random ages. */
export default defineScene({
  name: "lifecycle",
  components: [Position, Velocity, Lifetime, Parent, Emitter, Burning],
  resources: [Stats],
  events: [Died],
  systems: [emit, ignite, age, fall, count],
  // Steady state is about 2,500 entities: the bound catches a runaway at four times that.
  config: { maxEntities: 10_000, maxCommandsPerFrame: 1 << 14 },
  setup(world, { random }) {
    const emitters: number[] = [];
    for (let e = 0; e < EMITTER_COUNT; e++) {
      const angle = (2 * Math.PI * e) / EMITTER_COUNT;
      emitters.push(world.spawn(
        [Position, {
          x: EMITTER_RING_RADIUS * Math.cos(angle),
          y: EMITTER_RING_RADIUS * Math.sin(angle),
        }],
        Emitter,
      ));
    }
    for (let p = 0; p < INITIAL_PARTICLES; p++) {
      const emitter = emitters[p % EMITTER_COUNT];
      const maxS = random.range(LIFETIME_MIN_S, LIFETIME_MAX_S);
      const heading = random.range(0, 2 * Math.PI), speed = random.range(0, LAUNCH_SPEED_MAX);
      world.spawn(
        [Position, { x: world.get(emitter, Position.x), y: world.get(emitter, Position.y) }],
        [Velocity, { x: speed * Math.cos(heading), y: speed * Math.sin(heading) }],
        [Lifetime, { ageS: random.range(0, maxS), maxS }],
        [Parent, { emitter }],
      );
    }
  },
});
