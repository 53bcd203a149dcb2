/**
 * Runs the type-level access checks of tests/fixtures/access_types.ts through
 * `tsc` as well (`deno check` covers them in `npm test`), and checks that
 * the systems declared there are systems a scene can list.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SYSTEMS } from "./fixtures/access_types.ts";

/** The project root, which holds tsconfig.json. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TSC_TEST = {
  skip: !existsSync(TSC) && "typescript is not installed (npm ci)",
  timeout: 60_000,
};

describe("declared access at the type level", () => {
  test("the systems above are systems any scene can list", () => {
    assert.deepEqual(SYSTEMS.map((s) => s.name), ["move", "score", "anything"]);
  });

  test("tsc refuses each expect-error line too", TSC_TEST, () => {
    const dir = mkdtempSync(path.join(tmpdir(), "staticecs-tsc-"));
    try {
      const config = path.join(dir, "tsconfig.json");
      writeFileSync(
        config,
        JSON.stringify({
          extends: path.join(ROOT, "tsconfig.json"),
          compilerOptions: {
            lib: ["ESNext", "DOM"],
            types: [],
            paths: { staticecs: [path.join(ROOT, "mod.ts")] },
          },
          files: [path.join(ROOT, "tests", "fixtures", "access_types.ts")],
        }),
      );
      const result = spawnSync("node", [TSC, "-p", config], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stdout + result.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
