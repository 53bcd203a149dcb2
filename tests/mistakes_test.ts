/**
 * The table of scene mistakes (tests/fixtures/mistakes.ts) through
 * `staticecs run`, under the runtime running the tests: each ends with its
 * exit code and one line naming what was wrong and how to fix it, with no
 * stack trace and, for system errors, no checksum.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cli, type CliResult } from "./fixtures/cli.ts";
import { type Mistake, MISTAKES, PRELUDE } from "./fixtures/mistakes.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "staticecs-mistakes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The scene path a mistake is run with, writing its file first. */
function sceneFile(mistake: Mistake, index: number): string {
  if (mistake.path !== undefined) return mistake.path.replace("<dir>", dir);
  const file = path.join(dir, `mistake_${index}.ts`);
  writeFileSync(file, mistake.raw ?? PRELUDE + mistake.body);
  return file;
}

/** The line that answers: the one stderr line (exit 2) or the first error line (exit 1). */
function answer(mistake: Mistake, result: CliResult): string {
  const lines = result.stderr.trimEnd().split("\n").filter((line) => line !== "");
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  if (mistake.exit === 2) {
    assert.equal(lines.length, 1, `one line:\n${result.stderr}`);
    assert.match(lines[0], /^staticecs: /);
    return lines[0];
  }
  assert.ok(lines.length > 0, "an error line");
  assert.match(lines[0], /^tick \d+: system \S+ \(\w+\): /);
  return lines[0];
}

describe("scene mistakes name themselves", () => {
  test("the table holds at least twenty mistakes", () => {
    assert.ok(MISTAKES.filter((m) => m.exit !== 0).length >= 20);
  });

  for (const [index, mistake] of MISTAKES.entries()) {
    test(mistake.name, () => {
      const args = mistake.args ?? ["--ticks", "3"];
      const result = cli(["run", sceneFile(mistake, index), ...args, "--json"]);
      assert.equal(result.status, mistake.exit, `exit ${result.status}; stderr:\n${result.stderr}`);
      if (mistake.exit === 0) return;
      const line = answer(mistake, result);
      for (const part of mistake.says) assert.ok(line.includes(part), `"${line}" lacks "${part}"`);
      if (mistake.exit === 1) assert.equal(JSON.parse(result.stdout).checksum, null);
    });
  }
});

describe("staticecs check finds them before a run", () => {
  for (const [index, mistake] of MISTAKES.entries()) {
    test(`${mistake.name}, without the type check`, () => {
      const result = cli(["check", sceneFile(mistake, index), "--no-types"]);
      const loadTime = mistake.exit === 2;
      assert.equal(result.status, loadTime ? 2 : 0, `stderr:\n${result.stderr}`);
      if (!loadTime) return;
      const line = answer(mistake, result);
      for (const part of mistake.says) assert.ok(line.includes(part), `"${line}" lacks "${part}"`);
    });
  }

  for (const [index, mistake] of MISTAKES.entries()) {
    const typeErrors = mistake.typeErrors;
    if (typeErrors === undefined) continue;
    test(`${mistake.name}, as type errors`, { timeout: 120_000 }, () => {
      const file = sceneFile(mistake, index);
      const result = cli(["check", file]);
      assert.equal(result.status, 2, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, typeErrors.length, result.stderr);
      for (const [i, part] of typeErrors.entries()) {
        assert.ok(lines[i].startsWith(`${file}:`), lines[i]);
        assert.ok(lines[i].includes(part), `"${lines[i]}" lacks "${part}"`);
      }
    });
  }
});
