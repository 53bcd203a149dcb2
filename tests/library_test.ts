/**
 * StaticECS as a library of another project: a temporary project outside the
 * repository depends on it the way the README shows (package.json
 * `"staticecs": "file:<path>"`, installed as node_modules/staticecs; under
 * Deno also a deno.json import), imports the `staticecs` entry point, runs
 * the README's opening scene (examples/hello.ts) and prints its checksum,
 * which must be the one the same scene gives in this process.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ROOT, RUN_TIMEOUT_MS, RUNTIME } from "./fixtures/cli.ts";

/** The project's program: runs the README's opening scene (copied in as scene.ts) 10 ticks. */
const MAIN = `
import { Runtime } from "staticecs";
import scene from "./scene.ts";

const runtime = await Runtime.create(scene, { seed: 7 });
runtime.run(10);
console.log(runtime.checksum());
await runtime.close();
`;

/** The scene every project runs: examples/hello.ts, which imports "staticecs". */
const HELLO = path.join(ROOT, "examples", "hello.ts");

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A project in the system's temporary folder whose main.ts imports "staticecs". */
function project(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "staticecs-user-"));
  dirs.push(dir);
  const pkg = {
    name: "staticecs-user",
    private: true,
    type: "module",
    dependencies: { staticecs: `file:${ROOT}` },
  };
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  // What `npm install` makes of a file: dependency, without a registry.
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(ROOT, path.join(dir, "node_modules", "staticecs"), "dir");
  copyFileSync(HELLO, path.join(dir, "scene.ts"));
  writeFileSync(path.join(dir, "main.ts"), MAIN);
  return dir;
}

function run(dir: string): string {
  const args = RUNTIME === "deno" ? ["run", "-A", "main.ts"] : ["main.ts"];
  const result = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(result.status, 0, `${RUNTIME} main.ts failed:\n${result.stderr}`);
  return result.stdout.trim();
}

/** The checksum of the same scene and seed in this process, from this checkout. */
async function expectedChecksum(): Promise<string> {
  const { Runtime } = await import("../mod.ts");
  const { default: scene } = await import("../examples/hello.ts");
  const runtime = await Runtime.create(scene, { seed: 7 });
  runtime.run(10);
  const sum = runtime.checksum();
  await runtime.close();
  return sum;
}

describe(`StaticECS from another project (${RUNTIME})`, () => {
  it("a file: dependency in package.json imports the staticecs entry and runs a scene", async () => {
    const expected = await expectedChecksum();
    assert.match(expected, /^[0-9a-f]{16}$/);
    assert.equal(run(project()), expected);
  });

  it(
    "under Deno, a deno.json import of mod.ts does the same",
    { skip: RUNTIME === "deno" ? false : "deno.json imports are Deno's; Bun reads package.json" },
    async () => {
      const dir = project();
      rmSync(path.join(dir, "node_modules"), { recursive: true });
      rmSync(path.join(dir, "package.json"));
      const imports = { staticecs: pathToFileURL(path.join(ROOT, "mod.ts")).href };
      writeFileSync(path.join(dir, "deno.json"), JSON.stringify({ imports }, null, 2));
      assert.equal(run(dir), await expectedChecksum());
    },
  );
});
