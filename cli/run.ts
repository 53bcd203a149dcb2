/**
 * `staticecs run <scene.ts>`: runs a scene for a number of ticks, for a
 * duration, or until SIGINT/SIGTERM, unpaced or paced in real time, and
 * prints a summary (a table, or one JSON object with `--json`).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { DEFAULT_MIN_PARALLEL_WORK, WORKERS_MAX } from "../core/scheduler/work_stealing.ts";
import { DEFAULT_SEED, type Runtime } from "../core/runtime.ts";
import {
  HZ_MAX,
  parseBoundedInteger,
  parseNonNegativeInteger,
  parsePositiveInteger,
  parsePositiveNumber,
  parseSeed,
  rephraseParseError,
  wantsHelp,
  withOptionalAddress,
} from "./_args.ts";
import {
  backendFactory,
  BACKENDS,
  DEFAULT_BACKEND,
  IO_BACKENDS,
  PARALLEL_BACKENDS,
} from "./_backends.ts";
import { BadInput, EXIT_OK, EXIT_SYSTEM_ERRORS, firstLine } from "./_failure.ts";
import { FrameObserver } from "./_frame_observer.ts";
import { loadScene } from "./_load_scene.ts";
import { type LoopLimits, runLoop } from "./_run_loop.ts";
import { startRuntime } from "./_start_runtime.ts";
import { buildSummary, formatSummary } from "./_summary.ts";
import { listenForStop } from "./_stop_signals.ts";
import { parseHostPort } from "../cluster/transport.ts";
import { DEFAULT_RUN_INSPECT_ADDRESS, RunInspector, SwitchLog } from "../inspect/run_inspector.ts";
import { RunControl } from "../inspect/run_control.ts";

export { HZ_MAX };

/** Usage of `staticecs run`. */
export const RUN_USAGE = `Usage: staticecs run <scene.ts> [options]

Runs the scene file's default export (a scene made with defineScene()).
Without --ticks or --duration it runs until Ctrl-C (SIGINT) or SIGTERM.

Options:
  --ticks N         run N ticks, then stop
  --duration S      run for S seconds of wall time, then stop
  --hz H            pace ticks in real time, H per second (dt = 1/H);
                    without it ticks run as fast as they can, dt = 1/60
  --backend NAME    one of: ${Object.keys(BACKENDS).join(", ")} (default ${DEFAULT_BACKEND})
  --workers N       worker threads for --backend work-stealing or adaptive, besides the
                    calling thread, which works too (default: cores - 1, at least 1)
  --min-parallel-work N
                    for work-stealing or adaptive: entities times cost below which a
                    stage runs inline (default ${DEFAULT_MIN_PARALLEL_WORK}; without it, adaptive's
                    estimator decides); 0 sends every stage with two or more chunks or systems
                    to the pool, to check a small scene's determinism against blocking
  --seed S          integer seed, 0 to 4294967295 (default ${DEFAULT_SEED})
  --check-access    hash every column and resource a system declares only as read,
                    before and after it runs, and fail a system that wrote one
                    (finds undeclared writes the always-on check cannot; slower)
  --inspect [HOST:PORT]
                    serve a live page of the run (default ${DEFAULT_RUN_INSPECT_ADDRESS}; port 0
                    picks a free one); it prints the address and a token that pausing,
                    stepping and pacing need (and everything, off loopback)
  --paused          with --inspect: start paused, after setup, until the page resumes it
  --json            print the summary as one JSON object on stdout
  --verbose         say what is happening on stderr; stack traces on errors
  -h, --help        show this help

Exit codes: 0 done, 1 a system failed, 2 bad arguments or scene file,
130 (143) Ctrl-C (SIGTERM) during setup.
`;

/** The parsed options of `staticecs run`. */
export interface RunOptions {
  readonly file: string;
  readonly limits: LoopLimits;
  readonly hz: number | undefined;
  readonly backend: string;
  /** `--workers`, if given. */
  readonly workers: number | undefined;
  /** `--min-parallel-work`, if given. */
  readonly minParallelWork: number | undefined;
  readonly seed: number;
  /** `--check-access`: RuntimeOptions.checkAccess. */
  readonly checkAccess: boolean;
  /** `--inspect`: where the inspector listens; undefined without it. */
  readonly inspect: { readonly host: string; readonly port: number } | undefined;
  /** `--paused`: start paused (with --inspect). */
  readonly paused: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
}

/**
 * Parses the arguments after `run`; throws BadInput naming the wrong one.
 *
 * @example
 * ```ts
 * import { parseRunArgs } from "./run.ts";
 * const options = parseRunArgs(["scene.ts", "--ticks", "100", "--json"]);
 * ```
 */
export function parseRunArgs(args: string[]): RunOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: withOptionalAddress(args, "--inspect", DEFAULT_RUN_INSPECT_ADDRESS),
      strict: true,
      allowPositionals: true,
      options: {
        ticks: { type: "string" },
        duration: { type: "string" },
        hz: { type: "string" },
        backend: { type: "string", default: DEFAULT_BACKEND },
        workers: { type: "string" },
        "min-parallel-work": { type: "string" },
        seed: { type: "string" },
        "check-access": { type: "boolean", default: false },
        inspect: { type: "string" },
        paused: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw rephraseParseError("run", error, args);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    throw new BadInput("run needs a scene file: staticecs run <scene.ts> (see --help)");
  }
  if (positionals.length > 1) {
    throw new BadInput(
      `run takes one scene file; got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  if (values.ticks !== undefined && values.duration !== undefined) {
    throw new BadInput("--ticks and --duration cannot be used together; give one of them");
  }
  const pool = parsePoolFlags(values.backend, values.workers, values["min-parallel-work"]);
  const hz = values.hz === undefined ? undefined : parsePositiveNumber("--hz", values.hz, HZ_MAX);
  return {
    file: positionals[0],
    limits: {
      ticksMax: values.ticks === undefined
        ? undefined
        : parsePositiveInteger("--ticks", values.ticks),
      durationSeconds: values.duration === undefined
        ? undefined
        : parsePositiveNumber("--duration", values.duration),
      paced: hz !== undefined,
    },
    hz,
    backend: values.backend,
    ...pool,
    seed: values.seed === undefined ? DEFAULT_SEED : parseSeed(values.seed),
    checkAccess: values["check-access"],
    ...parseInspectFlags(values.inspect, values.paused),
    json: values.json,
    verbose: values.verbose,
  };
}

/** Checks `--inspect`'s address, and that `--paused` comes with it. */
function parseInspectFlags(
  inspect: string | undefined,
  paused: boolean,
): Pick<RunOptions, "inspect" | "paused"> {
  if (paused && inspect === undefined) {
    throw new BadInput("--paused needs --inspect: only the inspector's page can resume the run");
  }
  if (inspect === undefined) return { inspect: undefined, paused };
  try {
    return { inspect: parseHostPort(inspect), paused };
  } catch (error) {
    throw new BadInput(`--inspect: ${(error as Error).message}`);
  }
}

/**
 * Checks `--backend`, and `--workers` and `--min-parallel-work`, which only the parallel
 * backends take.
 */
function parsePoolFlags(
  backend: string,
  workers: string | undefined,
  minParallelWork: string | undefined,
): Pick<RunOptions, "workers" | "minParallelWork"> {
  backendFactory(backend);
  for (const [flag, value] of [["--workers", workers], ["--min-parallel-work", minParallelWork]]) {
    if (value !== undefined && !PARALLEL_BACKENDS.includes(backend)) {
      throw new BadInput(
        `${flag} is for --backend ${PARALLEL_BACKENDS.join(" or ")}; ` +
          `--backend ${backend} runs on the calling thread`,
      );
    }
  }
  return {
    workers: workers === undefined
      ? undefined
      : parseBoundedInteger("--workers", workers, WORKERS_MAX),
    minParallelWork: minParallelWork === undefined
      ? undefined
      : parseNonNegativeInteger("--min-parallel-work", minParallelWork),
  };
}

/**
 * Runs `staticecs run` with the arguments after `run`; resolves to the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await runCommand(["examples/boids.ts", "--ticks", "100"]);
 * ```
 */
export async function runCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(RUN_USAGE);
    return EXIT_OK;
  }
  const options = parseRunArgs(args);
  const loaded = await loadScene(options.file);
  const switches = options.inspect === undefined ? undefined : new SwitchLog();
  const runtime = await startRuntime(loaded, {
    seed: options.seed,
    hz: options.hz,
    backend: backendFactory(options.backend),
    workers: options.workers,
    minParallelWork: options.minParallelWork,
    directIo: !IO_BACKENDS.includes(options.backend),
    checkAccess: options.checkAccess,
    trace: switches?.hooks,
  });
  const io = runtime.backend.io;
  if (io !== undefined && io.kind !== "io_uring") process.stderr.write(`staticecs: ${io.reason}\n`);
  try {
    return await runStarted(runtime, options, loaded.name, switches);
  } finally {
    await runtime.close();
  }
}

/** The inspector of a run with --inspect: its control, started server, and how to stop it. */
interface Inspected {
  readonly control: RunControl;
  readonly inspector: RunInspector;
}

async function startInspector(
  runtime: Runtime,
  options: RunOptions,
  observer: FrameObserver,
  sceneName: string,
  switches: SwitchLog,
): Promise<Inspected> {
  const { host, port } = options.inspect!;
  const control = new RunControl(runtime, { paused: options.paused, paceHz: options.hz });
  const inspector = await RunInspector.start({
    host,
    port,
    runtime,
    frames: observer.ticks,
    control,
    switches,
    sceneName,
    sceneFile: options.file,
  }).catch((error) => {
    throw new BadInput(
      `--inspect: cannot listen on ${host}:${port}: ${firstLine(error)}; give another ` +
        `address (port 0 picks a free one)`,
      { cause: error },
    );
  });
  process.stderr.write(inspector.banner() + "\n");
  return { control, inspector };
}

async function runStarted(
  runtime: Runtime,
  options: RunOptions,
  sceneName: string,
  switches: SwitchLog | undefined,
): Promise<number> {
  const stop = listenForStop();
  if (options.verbose) {
    process.stderr.write(
      `staticecs: running ${options.file} (scene ${sceneName}, ${runtime.world.entityCount} ` +
        `entities) on ${runtime.backend.name}, seed ${runtime.seed}\n`,
    );
  }
  const observer = new FrameObserver(runtime, {
    verbose: options.verbose,
    statusLine: !options.json && process.stderr.isTTY === true,
    stopRequested: () => stop.signal !== undefined,
  });
  const inspected = switches === undefined
    ? undefined
    : await startInspector(runtime, options, observer, sceneName, switches).catch((error) => {
      stop.dispose();
      throw error;
    });
  const startedMs = performance.now();
  let stopReason;
  try {
    const limits = { ...options.limits, control: inspected?.control };
    stopReason = await runLoop(runtime, limits, observer);
  } finally {
    stop.dispose();
    observer.finish();
    inspected?.control.finish("the run has ended");
    await inspected?.inspector.close();
  }
  const summary = buildSummary(runtime, {
    sceneName,
    sceneFile: options.file,
    paced: options.limits.paced,
    wallSeconds: (performance.now() - startedMs) / 1000,
    pausedSeconds: inspected?.control.pausedSeconds() ?? 0,
    stopReason,
    ticks: observer.ticks,
    errors: observer.errors,
    errorCount: observer.errorCount,
    firstFrameMs: observer.firstFrameMs,
  });
  process.stdout.write(options.json ? JSON.stringify(summary) + "\n" : formatSummary(summary));
  return summary.errorCount > 0 ? EXIT_SYSTEM_ERRORS : EXIT_OK;
}
