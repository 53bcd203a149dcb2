import { benchOptions, printJson, runtimeName } from "./_harness.ts";

/**
 * Why component memory is segmented: times `x += vx; y += vy` over 1M rows
 * with typed arrays on an ArrayBuffer, a fixed SharedArrayBuffer and a
 * growable SharedArrayBuffer, in the same run. Run with
 * `npx bun scripts/bench/sab_views.ts [--json] [--quick] [--rounds N]` or
 * `npx deno run -A scripts/bench/sab_views.ts [same options]` (rounds: timed passes over the rows).
 *
 * @module
 */

const ROWS = 1_000_000;
const options = benchOptions({
  script: "sab_views.ts",
  usage: "usage: sab_views.ts [--json] [--quick] [--rounds N]",
  rounds: { quick: 10, full: 50 },
  options: {},
}, (args) => args);
const ROUNDS = options.rounds;

function views(kind: string): Float32Array[] {
  const bytes = ROWS * 16;
  const buffer = kind === "array_buffer"
    ? new ArrayBuffer(bytes)
    : kind === "shared"
    ? new SharedArrayBuffer(bytes)
    : new SharedArrayBuffer(bytes, { maxByteLength: bytes * 4 });
  return [0, 1, 2, 3].map((i) => new Float32Array(buffer, i * ROWS * 4, ROWS));
}

function step(x: Float32Array, y: Float32Array, vx: Float32Array, vy: Float32Array): void {
  for (let i = 0; i < ROWS; i++) {
    x[i] += vx[i];
    y[i] += vy[i];
  }
}

function measure(kind: string): number {
  const [x, y, vx, vy] = views(kind);
  vx.fill(1);
  vy.fill(2);
  for (let i = 0; i < 20; i++) step(x, y, vx, vy);
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) step(x, y, vx, vy);
  return (performance.now() - started) / ROUNDS;
}

const ms: Record<string, number> = {};
for (const kind of ["array_buffer", "shared", "growable_shared"]) ms[kind] = measure(kind);
const rows = Object.entries(ms).map(([subject, value]) => ({
  case: "sab_views",
  subject,
  value: ROWS / value / 1000,
  unit: "M updates/s",
}));
const ratios = { growable_vs_fixed_shared: ms.shared / ms.growable_shared };
if (options.json) {
  printJson({ bench: "sab_views", runtime: runtimeName(), rows, ratios });
} else {
  for (const row of rows) {
    console.log(`${row.subject.padEnd(16)} ${row.value.toFixed(0)} ${row.unit}`);
  }
  console.log(`growable / fixed shared: ${ratios.growable_vs_fixed_shared.toFixed(2)}x`);
}
