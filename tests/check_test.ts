/**
 * `staticecs check` (cli/check.ts) on the examples, under the runtime running the tests: the
 * stage plan, why systems are apart, setup's world, the type check, and its bad input.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cli } from "./fixtures/cli.ts";

const TYPE_CHECK = { timeout: 120_000 };

describe("staticecs check", () => {
  test(
    "prints boids' stage plan and why its systems are apart; types check clean",
    TYPE_CHECK,
    () => {
      const result = cli(["check", "examples/boids.ts", "--json"]);
      assert.equal(result.status, 0, result.stderr);
      const plan = JSON.parse(result.stdout);
      assert.deepEqual(plan.stages.map((s: { systems: string[] }) => s.systems), [
        ["clearGrid"],
        ["binBoids"],
        ["steer"],
        ["move"],
      ]);
      assert.deepEqual(plan.access.steer, {
        reads: ["Grid", "Position"],
        writes: ["Velocity"],
        undeclared: false,
      });
      const why = (first: string, second: string) =>
        plan.apart.find((p: { first: string; second: string }) =>
          p.first === first && p.second === second
        )?.why;
      assert.equal(why("clearGrid", "binBoids"), "Grid: clearGrid writes, binBoids writes");
      assert.equal(why("binBoids", "move"), "Position: binBoids reads, move writes");
      assert.match(why("clearGrid", "move"), /^no conflict of their own; move waits for steer/);
      assert.equal(plan.entities, 10_000);
      assert.equal(plan.types.checked, true, plan.types.how);
      assert.deepEqual(plan.types.problems, []);
    },
  );

  test("systems of one stage are listed together; --no-types skips the type check", () => {
    const result = cli(["check", "tests/fixtures/sneak_read_scene.ts", "--no-types"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^ {2}update 0 +measure, sneak$/m);
    assert.match(result.stdout, /^types +not type-checked \(--no-types\)$/m);
  });

  test("bad input is one line and exit 2", () => {
    for (const args of [["check"], ["check", "a.ts", "b.ts"], ["check", "x.ts", "--typo"]]) {
      const result = cli(args);
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    }
  });
});
