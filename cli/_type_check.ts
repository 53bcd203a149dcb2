/**
 * Type-checking a scene file for `staticecs check`: with `deno check` and
 * this project's deno.json (which maps "staticecs" to mod.ts), when a Deno is
 * at hand (the running one, the project's npm devDependency, or one on
 * PATH). The compiled binary carries no type checker and says so. Each
 * diagnostic becomes one line `file:line:column: TSnnnn message`.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { hostRuntime } from "../core/_host.ts";

/** Most milliseconds a type check may take. */
const TYPE_CHECK_TIMEOUT_MS = 120_000;

/** What a type check found. */
export interface TypeCheck {
  /** False where no type checker ran; `how` says why. */
  readonly checked: boolean;
  /** The tool that ran, or why none did. */
  readonly how: string;
  /** One line per diagnostic. */
  readonly problems: readonly string[];
}

/**
 * Type-checks the scene at `file` (a path as the user gave it; `absolute`
 * resolved).
 *
 * @example
 * ```ts ignore
 * import { typeCheckScene } from "./_type_check.ts";
 * const { checked, problems } = typeCheckScene("examples/tour.ts", "/abs/examples/tour.ts");
 * ```
 */
export function typeCheckScene(file: string, absolute: string): TypeCheck {
  if (import.meta.url.includes("/$bunfs/")) {
    return {
      checked: false,
      how: "not type-checked: the compiled binary has no type checker (from the sources, " +
        "`staticecs check` runs deno check)",
      problems: [],
    };
  }
  const deno = findDeno();
  if (deno === undefined) {
    return { checked: false, how: "not type-checked: no deno found", problems: [] };
  }
  const config = fileURLToPath(new URL("../deno.json", import.meta.url));
  const result = spawnSync(deno, ["check", "--config", config, absolute], {
    encoding: "utf8",
    timeout: TYPE_CHECK_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (result.error !== undefined) {
    return { checked: false, how: `not type-checked: ${result.error.message}`, problems: [] };
  }
  const problems = result.status === 0 ? [] : diagnostics(result.stdout + result.stderr, file);
  if (result.status !== 0 && problems.length === 0) {
    problems.push(`${file}: deno check failed: ${(result.stderr || result.stdout).trim()}`);
  }
  return { checked: true, how: "deno check", problems };
}

/** The Deno to type-check with, or undefined. */
function findDeno(): string | undefined {
  if (hostRuntime().name === "deno") return process.execPath;
  const local = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
  if (existsSync(local)) return local;
  const probe = spawnSync("deno", ["--version"], { encoding: "utf8" });
  return probe.status === 0 ? "deno" : undefined;
}

/**
 * Deno's diagnostics as one line each: a block starts `TS2339 [ERROR]: message`
 * and ends with `at file:///path:line:column`. Where a declared-access check
 * failed, the message is its hint ("Hit is not in this system's reads"),
 * which Deno prints on a later line of the block.
 */
function diagnostics(output: string, file: string): string[] {
  const lines: string[] = [];
  let pending: string | undefined;
  for (const line of output.split("\n")) {
    const start = /^(TS\d+) \[ERROR\]: (.*)$/.exec(line);
    if (start !== null) {
      pending = `${start[1]} ${start[2]}`;
      continue;
    }
    const hint = /Property '"?([^']* is not in this system's [^']*?)"?' is missing/.exec(line);
    if (hint !== null && pending !== undefined) {
      pending = `${pending.slice(0, pending.indexOf(" "))} ${hint[1]}`;
      continue;
    }
    const at = /^\s+at (file:\/\/\S+):(\d+):(\d+)$/.exec(line);
    if (at !== null && pending !== undefined) {
      lines.push(`${displayPath(fileURLToPath(at[1]), file)}:${at[2]}:${at[3]}: ${pending}`);
      pending = undefined;
    }
  }
  return lines;
}

/** `absolute` as the user named the scene if it is the scene, else relative to the cwd. */
function displayPath(absolute: string, file: string): string {
  if (path.resolve(file) === absolute) return file;
  return path.relative(process.cwd(), absolute);
}
