/**
 * Writes `inspect/page/_uplot.ts`: the uPlot chart library (its minified
 * script and its stylesheet, from the `uplot` npm package) as string
 * constants, so that the inspector's page is served from the code itself and
 * the compiled binary carries it. Run it after changing the uplot version in
 * package.json: `npx bun scripts/inspect_assets.ts` (or `deno run -A`).
 * `tests/inspect_test.ts` checks that the committed file is what this
 * script writes from the installed package.
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project root. */
export const ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The generated module. */
export const UPLOT_MODULE: string = path.join(ROOT, "inspect", "page", "_uplot.ts");

/**
 * The module's text, from the uplot package installed in node_modules.
 *
 * @example
 * ```ts ignore
 * import { uplotModule } from "./inspect_assets.ts";
 * const text = uplotModule();
 * ```
 */
export function uplotModule(): string {
  const dir = path.join(ROOT, "node_modules", "uplot");
  const version = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).version;
  const script = readFileSync(path.join(dir, "dist", "uPlot.iife.min.js"), "utf8");
  const style = readFileSync(path.join(dir, "dist", "uPlot.min.css"), "utf8");
  const license = readFileSync(path.join(dir, "LICENSE"), "utf8").trim();
  return [
    "/**",
    ` * uPlot ${version} (https://github.com/leeoniya/uPlot), the inspector's chart library, as`,
    " * strings: written by scripts/inspect_assets.ts from the uplot npm package; do not edit.",
    " *",
    ...license.split("\n").map((line) => ` * ${line}`.trimEnd()),
    " *",
    " * @module",
    " */",
    "",
    "/** The uplot package's version. */",
    `export const UPLOT_VERSION = ${JSON.stringify(version)};`,
    "",
    "/** dist/uPlot.iife.min.js: defines the global `uPlot`. */",
    `export const UPLOT_SCRIPT: string = ${JSON.stringify(script.trim())};`,
    "",
    "/** dist/uPlot.min.css. */",
    `export const UPLOT_STYLE: string = ${JSON.stringify(style.trim())};`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  writeFileSync(UPLOT_MODULE, uplotModule());
  console.log(`wrote ${path.relative(ROOT, UPLOT_MODULE)}`);
}
