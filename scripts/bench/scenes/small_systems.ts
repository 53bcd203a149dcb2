/**
 * The overhead case: ten small systems with no conflicts (one stage), each
 * doubling one field of 100 entities. Too little work to be worth waking a
 * pool, so a parallel backend should keep it inline and cost about what the
 * blocking backend costs.
 *
 * @module
 */

import { type Component, defineComponent, defineScene, defineSystem, type System } from "staticecs";

const NAMES = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"];

export const COMPONENTS: Component<{ value: "f32" }>[] = NAMES.map((name) =>
  defineComponent(name, { value: "f32" })
);

export const SYSTEMS: System[] = COMPONENTS.map((component, k) =>
  defineSystem({
    name: `double_${NAMES[k]}`,
    query: { all: [component] },
    writes: [component],
    runChunk(chunk) {
      const value = chunk.write(component.value);
      for (let i = 0; i < chunk.count; i++) value[i] = value[i] * 2 % 1000;
    },
  })
);

export default defineScene({
  name: "small_systems",
  components: COMPONENTS,
  systems: SYSTEMS,
  setup(world) {
    for (const component of COMPONENTS) {
      for (let i = 0; i < 100; i++) world.spawn([component, { value: i + 1 }]);
    }
  },
});
