/**
 * Bun only: imported by each work-stealing worker before the scene, so that
 * "staticecs" resolves there to this copy of the API, as on the main thread.
 *
 * @module
 */

import { registerApiPlugin } from "./_bun_plugin.ts";

registerApiPlugin();
