/**
 * ClusterId: the cluster-wide stable id of an entity. Entity handles are per
 * process (an index and a generation in one world's table) and never cross
 * the wire; a ClusterId does, so a member can tell which entity a batch,
 * checkpoint or transfer is about. 0 means "not assigned yet".
 *
 * @module
 */

import { type Component, defineComponent } from "./schema.ts";

/**
 * Kept on globalThis under a registered symbol, like the schema's id
 * counters: when two copies of this module load in one thread (a compiled
 * binary's API and a scene's own checkout), both must hand out the same
 * component, or a scene would carry two components named ClusterId.
 */
const SLOT = Symbol.for("staticecs.ClusterId");

/**
 * The component that holds an entity's cluster-wide id in its one f64 field
 * `id`. `defineScene` appends it to a scene that declares a cluster key.
 *
 * @example
 * ```ts
 * import { ClusterId, World } from "staticecs";
 * const world = new World({ components: [ClusterId] });
 * const e = world.spawn([ClusterId, { id: 42 }]);
 * world.get(e, ClusterId.id); // 42
 * ```
 */
export const ClusterId: Component<{ readonly id: "f64" }> =
  ((globalThis as Record<symbol, unknown>)[
    SLOT
  ] ??= defineComponent("ClusterId", { id: "f64" })) as Component<{ readonly id: "f64" }>;
