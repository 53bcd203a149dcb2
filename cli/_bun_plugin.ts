/**
 * Bun only: makes `import ... from "staticecs"` in a scene file anywhere on disk
 * resolve to this copy of StaticECS. Deno needs nothing of the kind: it maps
 * "staticecs" through the project's deno.json "imports", which it finds from
 * the main module (cli/main.ts) even when the scene and the working directory
 * are outside the project.
 *
 * Bun's runtime `onResolve` hooks are not consulted for a bare specifier in an
 * imported file (Bun 1.4.5 tries its package resolver and auto-install
 * instead), so this registers a virtual module whose exports are the already
 * loaded mod.ts. That also keeps one instance of the API: a scene made with
 * this `defineScene` passes this `isScene`. The compiled binary and each
 * Worker thread register it the same way before importing a scene.
 *
 * @module
 */

import * as api from "../mod.ts";

/** The bare specifier scenes import the API from. */
export const API_SPECIFIER = "staticecs";

/** The subset of Bun's plugin API used here; Bun's own types are not installed. */
interface BunPluginHost {
  plugin(options: {
    name: string;
    setup(build: {
      module(
        specifier: string,
        load: () => { exports: Record<string, unknown>; loader: "object" },
      ): unknown;
    }): void;
  }): unknown;
}

let registered = false;

/**
 * Registers the virtual "staticecs" module in this thread; later calls do nothing.
 *
 * @example
 * ```ts
 * import { registerApiPlugin } from "./_bun_plugin.ts";
 * registerApiPlugin(); // then: await import(sceneUrl)
 * ```
 */
export function registerApiPlugin(): void {
  if (registered) return;
  const bun = (globalThis as { Bun?: BunPluginHost }).Bun;
  if (bun === undefined) throw new Error("registerApiPlugin runs under Bun only");
  bun.plugin({
    name: "staticecs-api",
    setup(build) {
      build.module(API_SPECIFIER, () => ({ exports: { ...api }, loader: "object" }));
    },
  });
  registered = true;
}
