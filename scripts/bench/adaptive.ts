/**
 * The adaptive benchmark: the adaptive backend against each fixed backend
 * (blocking, work-stealing, io-uring) on a mixed scene (scenes/mixed.ts):
 * six small systems (inline is best), one heavy compute system (parallel is
 * best) and one I/O system writing 16 O_DIRECT blocks a frame (batched is best where
 * io_uring is usable). Backends without an I/O executor of their own get
 * the direct (portable) one, as the CLI gives them.
 *
 * Each subject runs in a child process of its own (this script with
 * `--subject NAME`), so worker pools of different backends never compete
 * for the cores. The parent drives the children one at a time through their
 * stdin: each first runs its warm-up frames (the adaptive backend settles
 * its choices there), then the subjects take turns, one slice of frames
 * each per round, while the others wait idle. Each part is timed per frame
 * in the child: small and heavy from the stage trace hook, I/O as the
 * frame's time outside its stages (the phase's batch and its completions).
 * The parent takes the median of the rounds. The figure that matters: adaptive's ms per frame over the best
 * fixed backend's, per part (target at most 1.10) and for the whole frame
 * (target below 1.00, i.e. better than every fixed backend).
 *
 * Usage:
 *   npx bun scripts/bench/adaptive.ts [--json] [--quick] [--rounds N] [--workers N]
 *   npx deno run -A scripts/bench/adaptive.ts [same options]
 *
 * A child (`--subject blocking|work-stealing|io-uring|adaptive`) reads one
 * command a line from stdin: `warmup N` or `slice N` runs N frames,
 * `samples` prints its per-round samples, stats and I/O reason as one JSON
 * line, and `quit` (or the end of stdin) closes it. Each answer is one line
 * starting with `@bench `.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  AdaptiveBackend,
  type Backend,
  BlockingBackend,
  IoUringBackend,
  Runtime,
  WORKERS_MAX,
  WorkStealingBackend,
} from "staticecs";
import { openIoExecutor, openIoPair } from "../../ffi/executor.ts";
import { PortableExecutor } from "../../ffi/portable.ts";
import scene, { ioMode, Scratch, scratchPath } from "./scenes/mixed.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  median,
  parseWorkers,
  printJson,
  type Row,
  runtimeName,
  withTimeout,
} from "./_harness.ts";

const SCENE_URL = new URL("./scenes/mixed.ts", import.meta.url).href;
const SUBJECTS = ["blocking", "work-stealing", "io-uring", "adaptive"] as const;
/** Prefix of a child's answer lines on stdout. */
const ANSWER = "@bench ";
/** Longest wait for one child answer. */
const ANSWER_TIMEOUT_MS = 300_000;
const PARTS = ["small", "heavy", "io", "frame"] as const;
type Part = typeof PARTS[number];
const PHASE_PART: Readonly<Record<string, Part>> = { pre_update: "small", update: "heavy" };

interface Options {
  readonly json: boolean;
  readonly rounds: number;
  readonly warmupFrames: number;
  readonly sliceFrames: number;
  readonly workers: number | undefined;
  /** Set in a child: the one subject it runs. */
  readonly subject: string | undefined;
}

/** What a child hands back after its rounds. */
interface Result {
  readonly name: string;
  readonly samples: Record<Part, number[]>;
  readonly stats: Record<string, unknown>;
  readonly ioReason: string;
  /** How the scene writes: O_DIRECT, or buffered and why. */
  readonly ioMode: string;
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
  return benchOptions({
    script: "adaptive.ts",
    usage: "usage: adaptive.ts [--json] [--quick] [--rounds N] [--workers N]",
    rounds: { quick: 3, full: 9 },
    options: { workers: "string", subject: "string" },
  }, ({ json, quick, rounds, values }) => {
    // Set by the parent for each child it launches: the one subject the child runs.
    const subject = values.subject;
    if (subject !== undefined && !(SUBJECTS as readonly string[]).includes(subject)) {
      throw new Error(`--subject: unknown "${subject}"; known are ${SUBJECTS.join(", ")}`);
    }
    return {
      json,
      rounds,
      warmupFrames: quick ? 200 : 400,
      sliceFrames: quick ? 50 : 100,
      workers: parseWorkers(values.workers, WORKERS_MAX, undefined),
      subject,
    };
  });
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
  const failures = subject.runtime.world.resource(Scratch).failures;
  if (failures > 0) throw new Error(`${subject.name}: ${failures} scratch writes failed`);
  if (!record) return;
  for (const part of PARTS) subject.samples[part].push(subject.totals[part] / frames);
}

/** Child: runs one subject, frames on command from stdin; answers on stdout. */
async function serve(name: string, options: Options): Promise<void> {
  const subject = await start(name, options);
  const answer = (value: unknown) => console.log(ANSWER + JSON.stringify(value));
  try {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      const [command, count] = line.trim().split(/\s+/);
      if (command === "warmup" || command === "slice") {
        runSlice(subject, Number(count), command === "slice");
        answer({ ok: true });
      } else if (command === "samples") {
        const result: Result = {
          name,
          samples: subject.samples,
          stats: subject.runtime.backend.stats() as Record<string, unknown>,
          ioReason: subject.runtime.backend.io?.reason ?? "direct I/O (portable)",
          ioMode,
        };
        answer(result);
      } else if (command === "quit") {
        break;
      } else if (command !== undefined && command !== "") {
        throw new Error(`unknown command "${line}"`);
      }
    }
  } finally {
    await subject.runtime.close();
    rmSync(scratchPath(), { force: true });
  }
  process.exit(0);
}

/** Parent's handle on one child: send a command, await its answer line. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  ask(command: string): Promise<unknown>;
}

function launch(name: string, options: Options): Child {
  const script = fileURLToPath(import.meta.url);
  const args = ["--subject", name];
  if (options.workers !== undefined) args.push("--workers", String(options.workers));
  const runtimeArgs = runtimeName() === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(process.execPath, [...runtimeArgs, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting: { resolve: (value: unknown) => void; reject: (error: Error) => void }[] = [];
  let exited: Error | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith(ANSWER)) return;
    waiting.shift()?.resolve(JSON.parse(line.slice(ANSWER.length)));
  });
  child.on("exit", (code) => {
    exited = new Error(`subject ${name} exited (code ${code})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return {
    name,
    process: child,
    ask(command) {
      if (exited !== undefined) return Promise.reject(exited);
      const reply = new Promise<unknown>((resolve, reject) => waiting.push({ resolve, reject }));
      child.stdin!.write(command + "\n");
      return withTimeout(reply, ANSWER_TIMEOUT_MS, `subject ${name}: ${command}`);
    },
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.subject !== undefined) return await serve(options.subject, options);
  const children = SUBJECTS.map((name) => launch(name, options));
  try {
    // One child at a time: the others wait idle on stdin, so none shares the cores.
    for (const child of children) await child.ask(`warmup ${options.warmupFrames}`);
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < children.length; k++) {
        await children[(round + k) % children.length].ask(`slice ${options.sliceFrames}`);
      }
    }
    const results: Result[] = [];
    for (const child of children) results.push(await child.ask("samples") as Result);
    report(results, options);
  } finally {
    for (const child of children) {
      if (child.process.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.process.once("exit", resolve));
      child.process.stdin!.end("quit\n");
      await withTimeout(exited, 30_000, `subject ${child.name} to quit`).catch(() =>
        child.process.kill()
      );
    }
  }
}

function report(subjects: readonly Result[], options: Options): void {
  const adaptiveResult = subjects.find((s) => s.name === "adaptive")!;
  const ioReason = adaptiveResult.ioReason;
  const adaptiveStats = adaptiveResult.stats;
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const msOf = (subject: Result, part: Part) => median(subject.samples[part]);
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
      writes: adaptiveResult.ioMode,
      adaptiveStats,
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
  console.log(`I/O: ${ioReason}; the scene's writes: ${adaptiveResult.ioMode}`);
  console.log(formatTable(header, body));
  console.log("(each subject in a child process of its own; one runs at a time)");
  const stages = adaptiveStats.stages as Record<string, unknown>[] | undefined;
  for (const stage of stages ?? []) console.log(`  adaptive ${stage.stage}: ${stage.why}`);
  const io = adaptiveStats.io as Record<string, unknown>[] | undefined;
  for (const phase of io ?? []) {
    console.log(
      `  adaptive ${phase.phase} I/O: ${phase.mode}, ${phase.why} (batched ` +
        `${phase.batchedRuns} runs, ${phase.batchedMsPerOp} ms/op; direct ${phase.directRuns} ` +
        `runs, ${phase.directMsPerOp} ms/op)`,
    );
  }
}

await main();
