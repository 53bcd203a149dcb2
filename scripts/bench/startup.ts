/**
 * Start-up of the compiled binary: builds dist/staticecs if it is missing,
 * copies it with a small scene into an empty temporary folder, and runs
 * `staticecs run scene.ts --ticks 1 --json` several times, reporting the
 * median time from process start to the end of the first frame (as the
 * binary reports it) and the median wall time of the whole command, against
 * the same scene run from the sources with `bun cli/main.ts`.
 * `npx bun scripts/bench/startup.ts [--rounds N] [--quick] [--json]` (rounds: runs of each).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { benchOptions } from "./_harness.ts";
import { buildBinary, DEFAULT_OUTFILE, ROOT } from "../build.ts";

const options = benchOptions({
  script: "startup.ts",
  usage: "usage: startup.ts [--json] [--quick] [--rounds N]",
  rounds: { quick: 5, full: 15 },
  options: {},
}, (args) => args);
const runs = options.rounds;

if (!existsSync(DEFAULT_OUTFILE)) buildBinary();
const folder = mkdtempSync(path.join(tmpdir(), "staticecs-startup-"));
copyFileSync(DEFAULT_OUTFILE, path.join(folder, "staticecs"));
copyFileSync(path.join(ROOT, "tests/fixtures/tiny_scene.ts"), path.join(folder, "scene.ts"));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(
  command: string,
  args: string[],
  cwd: string,
): { firstFrame: number; wall: number } {
  const firstFrames: number[] = [];
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const ran = spawnSync(command, args, { cwd, encoding: "utf8" });
    walls.push(performance.now() - started);
    if (ran.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${ran.stderr}`);
    firstFrames.push(JSON.parse(ran.stdout).firstFrameMs);
  }
  return { firstFrame: median(firstFrames), wall: median(walls) };
}

const runArgs = ["run", "scene.ts", "--ticks", "1", "--json"];
const binary = measure(path.join(folder, "staticecs"), runArgs, folder);
const bun = path.join(ROOT, "node_modules/.bin/bun");
const source = measure(bun, [path.join(ROOT, "cli/main.ts"), ...runArgs], folder);
rmSync(folder, { recursive: true, force: true });
const sizeMiB = statSync(DEFAULT_OUTFILE).size / 2 ** 20;
const rows = [
  { case: "first_frame", subject: "binary", value: binary.firstFrame, unit: "ms" },
  { case: "first_frame", subject: "bun_sources", value: source.firstFrame, unit: "ms" },
  { case: "command_wall", subject: "binary", value: binary.wall, unit: "ms" },
  { case: "command_wall", subject: "bun_sources", value: source.wall, unit: "ms" },
  { case: "size", subject: "binary", value: sizeMiB, unit: "MiB" },
];
const ratios = { first_frame_binary_vs_sources: source.firstFrame / binary.firstFrame };
if (options.json) {
  console.log(JSON.stringify({ bench: "startup", runtime: "bun", runs, rows, ratios }));
} else {
  console.log(`median of ${runs} runs of: staticecs ${runArgs.join(" ")}`);
  for (const row of rows) {
    console.log(
      `${row.case.padEnd(14)} ${row.subject.padEnd(12)} ${row.value.toFixed(1)} ${row.unit}`,
    );
  }
}
