/**
 * The baseline of heap.ts: a scene with no components, entities or systems,
 * so a frame is the runtime's own work and nothing else.
 *
 * @module
 */

import { defineScene } from "staticecs";

export default defineScene({ name: "empty", components: [], systems: [] });
