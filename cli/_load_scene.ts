/**
 * Loads a scene file: checks the path, imports the module by file URL and
 * checks that its default export is a scene, with one-line errors that name
 * the file and the fix.
 *
 * @module
 */

import { statSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { isScene, type Scene } from "../core/scene.ts";
import { BadInput, firstLine } from "./_failure.ts";
import { hostRuntime } from "../core/_host.ts";

/** A scene file, imported and checked. */
export interface LoadedScene {
  readonly scene: Scene;
  /** The path as the user gave it, for messages. */
  readonly file: string;
  /** The module's file URL. */
  readonly url: string;
  /** The scene's name, or the file's base name without extension. */
  readonly name: string;
}

/**
 * Imports the scene file at `file` (relative to `cwd`).
 *
 * @example
 * ```ts
 * import { loadScene } from "./_load_scene.ts";
 * const { scene, name } = await loadScene("examples/boids.ts");
 * ```
 */
export async function loadScene(file: string, cwd: string = process.cwd()): Promise<LoadedScene> {
  const absolute = path.resolve(cwd, file);
  checkSceneFile(file, absolute);
  if (hostRuntime().name === "bun") {
    const { registerApiPlugin } = await import("./_bun_plugin.ts");
    registerApiPlugin();
  }
  const url = pathToFileURL(absolute).href;
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    throw new BadInput(`${file}: failed to load: ${describeLoadError(error)}`, { cause: error });
  }
  const scene = module.default;
  if (!isScene(scene)) {
    throw new BadInput(
      `${file}: default export must be a scene made with defineScene(); got ${describe(scene)}`,
    );
  }
  const name = scene.name ?? path.basename(absolute).replace(/\.[^.]*$/, "");
  return { scene, file, url, name };
}

function checkSceneFile(file: string, absolute: string): void {
  let stats;
  try {
    stats = statSync(absolute);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR" || (error as Error).name === "NotFound") {
      throw new BadInput(`scene file not found: ${file} (looked for ${absolute}); check the path`);
    }
    throw new BadInput(`${file}: cannot read the scene file: ${firstLine(error)}`, {
      cause: error,
    });
  }
  if (stats.isDirectory()) {
    throw new BadInput(`${file} is a directory; give a scene file, such as ${file}/scene.ts`);
  }
  if (!stats.isFile()) {
    throw new BadInput(`${file} is not a regular file; give a scene file, such as scene.ts`);
  }
  if (stats.size === 0) {
    throw new BadInput(
      `${file} is empty; a scene file's default export is defineScene({...}) (see ` +
        `examples/tour.ts)`,
    );
  }
}

/**
 * The first line of an import error. Bun reports a file that does not parse as
 * an AggregateError ("3 errors building ...") whose `errors` hold the messages
 * and positions: show the first of those.
 */
function describeLoadError(error: unknown): string {
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (!(error instanceof AggregateError) || !Array.isArray(errors) || errors.length === 0) {
    return firstLine(error);
  }
  const position = (errors[0] as { position?: { line?: number; column?: number } }).position;
  const where = position?.line === undefined ? "" : ` at line ${position.line}:${position.column}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : "";
  return `${firstLine(errors[0])}${where}${more}`;
}

/** What a non-scene default export is, and the likely fix. */
function describe(value: unknown): string {
  if (value === undefined) {
    return "undefined (the file has no default export; add export default defineScene({...}))";
  }
  if (value === null) return "null";
  if (typeof value === "function") {
    return "a function; export the scene itself: export default defineScene({...})";
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).slice(0, 5).join(", ");
    return `an object without defineScene()'s marker (keys: ${keys || "none"}); wrap it in ` +
      `defineScene({...}), imported from "staticecs" (another copy of staticecs does not count)`;
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}
