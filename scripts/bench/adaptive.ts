/**
 * The adaptive benchmark: the adaptive backend against each fixed backend
 * (blocking, work-stealing, io-uring) on a mixed scene (scenes/mixed.ts):
 * six small systems (inline is best), one heavy compute system (parallel is
 * best) and one I/O system writing 16 blocks a frame (batched is best where
 * io_uring is usable). Backends without an I/O executor of their own get
 * the direct (portable) one, as the CLI gives them.
 *
 * Each part is timed per frame: small and heavy from the stage trace hook,
 * I/O as the frame's time outside its stages (the phase's batch and its
 * completions). Every subject first runs `--warmup` frames (the adaptive
 * backend settles its choices there), then the subjects take turns, one
 * slice of frames each per round, and the median of the rounds is
 * reported. The figure that matters: adaptive's ms per frame over the best
 * fixed backend's, per part (target at most 1.10) and for the whole frame
 * (target below 1.00, i.e. better than every fixed backend).
 *
 * Usage:
 *   npx bun scripts/bench/adaptive.ts [--json] [--quick] [--rounds N] [--workers N]
 *   npx deno run -A scripts/bench/adaptive.ts [same options]
 *
 * @module
 */

import { rmSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  AdaptiveBackend,
  type Backend,
  BlockingBackend,
  IoUringBackend,
  Runtime,
  WorkStealingBackend,
} from "staticecs";
import { openIoExecutor, openIoPair } from "../../ffi/executor.ts";
import { PortableExecutor } from "../../ffi/portable.ts";
import scene, { scratchPath } from "./scenes/mixed.ts";
import {
  formatNumber,
  formatTable,
  median,
  parseRounds,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";

const SCENE_URL = new URL("./scenes/mixed.ts", import.meta.url).href;
const PARTS = ["small", "heavy", "io", "frame"] as const;
type Part = typeof PARTS[number];
const PHASE_PART: Readonly<Record<string, Part>> = { pre_update: "small", update: "heavy" };

interface Options {
  readonly json: boolean;
  readonly rounds: number;
  readonly warmupFrames: number;
  readonly sliceFrames: number;
  readonly workers: number | undefined;
}

/** One backend running the scene, with its part times since the last `take`. */
interface Subject {
  readonly name: string;
  readonly runtime: Runtime;
  readonly totals: Record<Part, number>;
  /** Per part, each round's ms per frame. */
  readonly samples: Record<Part, number[]>;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      json: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      workers: { type: "string" },
    },
  });
  const quick = values.quick === true;
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) {
    throw new Error(`--workers must be an integer from 1 to 256; got ${values.workers}`);
  }
  return {
    json: values.json === true,
    rounds: parseRounds(values.rounds, quick, { quick: 3, full: 9 }),
    warmupFrames: quick ? 200 : 400,
    sliceFrames: quick ? 50 : 100,
    workers,
  };
}

async function start(name: string, options: Options): Promise<Subject> {
  const workers = options.workers;
  const direct = () => new PortableExecutor("direct I/O");
  const made: { backend: Backend; io?: PortableExecutor } = name === "blocking"
    ? { backend: new BlockingBackend(), io: direct() }
    : name === "work-stealing"
    ? { backend: new WorkStealingBackend({ sceneUrl: SCENE_URL, workers }), io: direct() }
    : name === "io-uring"
    ? { backend: new IoUringBackend({ open: () => openIoExecutor() }) }
    : { backend: new AdaptiveBackend({ sceneUrl: SCENE_URL, workers, openIo: openIoPair }) };
  const totals: Record<Part, number> = { small: 0, heavy: 0, io: 0, frame: 0 };
  let stagesMs = 0;
  const runtime = await Runtime.create(scene, {
    backend: made.backend,
    io: made.io,
    trace: {
      onStage(event) {
        stagesMs += event.ms;
        const part = PHASE_PART[event.phase];
        if (part !== undefined) totals[part] += event.ms;
      },
      onTick(event) {
        totals.frame += event.ms;
        totals.io += Math.max(0, event.ms - stagesMs);
        stagesMs = 0;
      },
    },
  });
  const samples = { small: [], heavy: [], io: [], frame: [] } as Record<Part, number[]>;
  return { name, runtime, totals, samples };
}

function runSlice(subject: Subject, frames: number, record: boolean): void {
  for (const part of PARTS) subject.totals[part] = 0;
  const result = subject.runtime.run(frames);
  if (result !== undefined && !result.ok) {
    throw new Error(`${subject.name}: ${result.errors.map((e) => e.message).join("; ")}`);
  }
  if (!record) return;
  for (const part of PARTS) subject.samples[part].push(subject.totals[part] / frames);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const names = ["blocking", "work-stealing", "io-uring", "adaptive"];
  const subjects: Subject[] = [];
  try {
    for (const name of names) subjects.push(await start(name, options));
    const ioReason = subjects[3].runtime.backend.io?.reason ?? "no I/O executor";
    for (const subject of subjects) runSlice(subject, options.warmupFrames, false);
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < subjects.length; k++) {
        runSlice(subjects[(round + k) % subjects.length], options.sliceFrames, true);
      }
    }
    report(subjects, options, ioReason);
  } finally {
    for (const subject of subjects) await subject.runtime.close();
    rmSync(scratchPath(), { force: true });
  }
}

function report(subjects: readonly Subject[], options: Options, ioReason: string): void {
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const msOf = (subject: Subject, part: Part) => median(subject.samples[part]);
  for (const part of PARTS) {
    for (const subject of subjects) {
      rows.push({
        case: part,
        subject: subject.name,
        value: msOf(subject, part),
        unit: "ms/frame",
      });
    }
    const fixed = subjects.filter((s) => s.name !== "adaptive").map((s) => msOf(s, part));
    const adaptive = msOf(subjects.find((s) => s.name === "adaptive")!, part);
    ratios[`${part}: adaptive / best fixed`] = adaptive / Math.min(...fixed);
  }
  if (options.json) {
    printJson({
      bench: "adaptive",
      runtime: runtimeName(),
      rows,
      ratios,
      io: ioReason,
      adaptiveStats: subjects[3].runtime.backend.stats(),
    });
    return;
  }
  const header = ["part (ms/frame)", ...subjects.map((s) => s.name), "adaptive/best", "target"];
  const body = PARTS.map((part) => [
    part,
    ...subjects.map((s) => formatNumber(msOf(s, part), 3)),
    formatNumber(ratios[`${part}: adaptive / best fixed`], 2),
    part === "frame" ? "< 1.00" : "<= 1.10",
  ]);
  console.log(`adaptive benchmark on ${runtimeName()}, median of ${options.rounds} rounds`);
  console.log(`I/O: ${ioReason}`);
  console.log(formatTable(header, body));
  const stages = subjects[3].runtime.backend.stats().stages as Record<string, unknown>[];
  for (const stage of stages ?? []) console.log(`  adaptive ${stage.stage}: ${stage.why}`);
  const io = subjects[3].runtime.backend.stats().io as Record<string, unknown>[] | undefined;
  for (const phase of io ?? []) {
    console.log(`  adaptive ${phase.phase} I/O: ${phase.mode}, ${phase.why}`);
  }
}

await main();
