/** The smallest scene: 10,000 entities drifting along x. README.md quotes it in full. */

import { defineComponent, defineScene, defineSystem } from "staticecs";

const Position = defineComponent("Position", { x: "f32" });
const Velocity = defineComponent("Velocity", { x: "f32" });

const move = defineSystem({
  name: "move",
  query: { all: [Position, Velocity] },
  reads: [Velocity],
  writes: [Position],
  runChunk(chunk, ctx) {
    const x = chunk.write(Position.x), vx = chunk.read(Velocity.x);
    for (let i = 0; i < chunk.count; i++) x[i] += vx[i] * ctx.dt;
  },
});

export default defineScene({
  components: [Position, Velocity],
  systems: [move],
  setup(world, { random }) {
    for (let i = 0; i < 10_000; i++) world.spawn(Position, [Velocity, { x: random.range(-1, 1) }]);
  },
});
