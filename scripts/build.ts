/**
 * Builds the single `staticecs` executable with `bun build --compile`:
 * `npm run build` writes `dist/staticecs`. Every Worker entrypoint is listed
 * in ENTRYPOINTS so the binary embeds it. Run under Bun:
 * `bun scripts/build.ts [--outfile PATH]`.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The project root. */
export const ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The command-line entry first, then every Worker entrypoint the binary must embed. */
export const ENTRYPOINTS: readonly string[] = [
  "cli/main.ts",
  "cli/worker.ts",
  "cli/setup_worker.ts",
];

/** Where `npm run build` writes the binary. */
export const DEFAULT_OUTFILE: string = path.join(ROOT, "dist", "staticecs");

/**
 * Compiles the binary to `outfile` and returns its size in bytes; throws with
 * Bun's output if the build fails.
 *
 * @example
 * ```ts ignore
 * import { buildBinary } from "./build.ts";
 * const bytes = buildBinary("/tmp/staticecs");
 * ```
 */
export function buildBinary(outfile: string = DEFAULT_OUTFILE): number {
  mkdirSync(path.dirname(outfile), { recursive: true });
  const bun = process.execPath.includes("bun") ? process.execPath : "bun";
  // Bytecode cuts start-up by about a third (measured with scripts/bench/startup.ts); ESM
  // format is needed for it because the CLI uses top-level await.
  const args = [
    "build",
    "--compile",
    "--bytecode",
    "--format=esm",
    // Entries keep their project paths inside the binary (/$bunfs/root/cli/worker.ts), which
    // is where cli/_backends.ts looks for the worker entry.
    "--root=.",
    ...ENTRYPOINTS,
    "--outfile",
    outfile,
  ];
  const result = spawnSync(bun, args, { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`bun ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  }
  return statSync(outfile).size;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outfile: { type: "string" } }, strict: true });
  const outfile = path.resolve(values.outfile ?? DEFAULT_OUTFILE);
  const bytes = buildBinary(outfile);
  console.log(
    `built ${path.relative(process.cwd(), outfile)} (${(bytes / 2 ** 20).toFixed(1)} MiB)`,
  );
}
