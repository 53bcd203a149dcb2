/**
 * A tour of a scene file, quoted in full in README.md: ships drift along a
 * hot strip, burn, and are replaced when destroyed.
 *
 * @module
 */

import { defineComponent, defineEvent, defineResource, defineScene, defineSystem } from "staticecs";

// Components: typed fields, stored as typed-array columns.
export const Position = defineComponent("Position", { x: "f32" });
export const Velocity = defineComponent("Velocity", { x: "f32" });
export const Health = defineComponent("Health", { hp: "f32" });

// A resource: a typed singleton. An array field reads as a typed array (here a Float32Array).
export const Heat = defineResource("Heat", { perStrip: ["f32", 10], respawned: "u32" });

// An event type: a bounded queue (at most `capacity` events per frame).
export const Destroyed = defineEvent("Destroyed", { ship: "entity", x: "f32" }, {
  capacity: 1024,
});

// A query system: runChunk is called once per chunk of matching entities.
export const drift = defineSystem({
  name: "drift",
  query: { all: [Position, Velocity] },
  reads: [Velocity],
  writes: [Position],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), vx = chunk.read(Velocity.x);
    for (let i = 0; i < chunk.count; i++) x[i] = (x[i] + vx[i] * ctx.dt + 100) % 100;
  },
});

export const burn = defineSystem({
  name: "burn",
  query: { all: [Position, Health] },
  reads: [Heat],
  writes: [Health, Destroyed],
  runChunk(chunk, ctx) {
    const heat = ctx.resource(Heat).perStrip;
    const x = chunk.read(Position.x), hp = chunk.write(Health.hp);
    for (let i = 0; i < chunk.count; i++) {
      hp[i] -= heat[Math.floor(x[i] / 10)] * ctx.dt;
      if (hp[i] > 0) continue;
      ctx.commands.despawn(chunk.entities[i]); // applied when this stage ends
      ctx.emit(Destroyed, { ship: chunk.entities[i], x: x[i] }); // readable after this stage
    }
  },
});

// A `run` system: called once per tick. It sees each Destroyed event once.
export const respawn = defineSystem({
  name: "respawn",
  phase: "post_update",
  reads: [Destroyed],
  writes: [Heat],
  run(ctx) {
    const destroyed = ctx.read(Destroyed);
    for (let i = 0; i < destroyed.count; i++) {
      const ship = ctx.commands.spawn(); // a pending handle until the commands apply
      ctx.commands.add(ship, Position, { x: ctx.random.range(0, 100) });
      ctx.commands.add(ship, Velocity, { x: ctx.random.range(-5, 5) });
      ctx.commands.add(ship, Health, { hp: 100 });
    }
    ctx.resource(Heat).respawned += destroyed.count;
  },
});

export default defineScene({
  name: "tour",
  components: [Position, Velocity, Health],
  resources: [Heat],
  events: [Destroyed],
  systems: [drift, burn, respawn],
  config: { maxEntities: 10_000 },
  setup(world, { random }) {
    // Seeded: the same --seed gives the same world, tick after tick.
    const heat = world.resource(Heat).perStrip;
    for (let strip = 0; strip < heat.length; strip++) heat[strip] = random.range(0, 50);
    for (let i = 0; i < 1_000; i++) {
      world.spawn(
        [Position, { x: random.range(0, 100) }],
        [Velocity, { x: random.range(-5, 5) }],
        [Health, { hp: 100 }],
      );
    }
  },
});
