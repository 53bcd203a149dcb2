/**
 * Child processes for the benchmarks: a runtime process (this runtime, Bun
 * or Deno) running a script, with its stderr kept and its stdout split into
 * lines, killed for certain however the benchmark ends; or run to its end
 * for the JSON line it prints (ecs.ts and moves.ts run each case so).
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { runtimeName } from "./_harness.ts";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));
/** cli/main.ts, the `staticecs` command from the sources. */
export const CLI: string = path.join(ROOT, "cli", "main.ts");

/** Bytes of a child's stderr kept (the last ones): a log that runs for minutes stays bounded. */
const STDERR_CHARS_MAX = 4 * 1024 * 1024;
/** Stdout lines kept undelivered. */
const STDOUT_LINES_MAX = 10_000;

/** A child process of this runtime. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** stderr so far (its last STDERR_CHARS_MAX characters). */
  stderr(): string;
  /** The next stdout line starting with `prefix` (the prefix removed), within `ms`. */
  nextLine(prefix: string, ms: number): Promise<string>;
  /** Resolves with the exit code (null after a signal) once stdout and stderr are closed. */
  readonly exited: Promise<number | null>;
  /** True until the process has exited. */
  alive(): boolean;
}

/** Every child started and not yet reaped: killAll() ends them. */
const started: Child[] = [];

/**
 * The arguments that run `script` on this runtime (`run -A script` under Deno).
 *
 * @example
 * ```ts
 * import { scriptArgs } from "./_cluster_child.ts";
 * scriptArgs("cli/main.ts").at(-1); // "cli/main.ts"
 * ```
 */
export function scriptArgs(script: string): string[] {
  return runtimeName() === "deno" ? ["run", "-A", script] : [script];
}

/**
 * Runs `script args` on this runtime to its end and returns the JSON object
 * its last stdout line holds; its stderr goes to this process's. Throws
 * naming `what` if it fails, outlives `timeoutMs` (when given) or prints no
 * such line.
 *
 * @example
 * ```ts ignore
 * const result = jsonFromScript<{ rows: Row[] }>("ecs.ts", ["--cases", "packed_5"], "packed_5");
 * ```
 */
export function jsonFromScript<T>(
  script: string,
  args: readonly string[],
  what: string,
  timeoutMs?: number,
): T {
  const child = spawnSync(process.execPath, [...scriptArgs(script), ...args], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const last = child.stdout.trim().split("\n").at(-1) ?? "";
  if (child.status !== 0 || !last.startsWith("{")) {
    throw new Error(`the child process for ${what} exited ${child.status}: ${last.slice(0, 300)}`);
  }
  return JSON.parse(last) as T;
}

/** How long one measurement in a child process may run, unless a bench says otherwise. */
const CHILD_TIMEOUT_MS = 300_000;

/**
 * Runs the bench `script` (its own file) again in a child process, with this
 * run's `--rounds` and `--quick` and then `args` (what selects one
 * measurement), and returns the JSON object it prints: one measurement per
 * process, so no case's type feedback reaches another's.
 *
 * @example
 * ```ts ignore
 * const one = measurementInChild(import.meta.url, options, ["--case", "add_remove"], "add_remove");
 * ```
 */
export function measurementInChild<T>(
  scriptUrl: string,
  run: { readonly rounds: number; readonly quick: boolean },
  args: readonly string[],
  what: string,
): T {
  const passed = ["--rounds", String(run.rounds), ...(run.quick ? ["--quick"] : [])];
  return jsonFromScript(fileURLToPath(scriptUrl), [...passed, ...args], what, CHILD_TIMEOUT_MS);
}

/**
 * Starts `script args` on this runtime in `cwd`, with `env` added to this
 * process's environment.
 *
 * @example
 * ```ts ignore
 * const child = spawnScript("member", "cli/main.ts", ["cluster", "status", "127.0.0.1:7400"]);
 * await child.exited;
 * ```
 */
export function spawnScript(
  name: string,
  script: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: Record<string, string> } = {},
): Child {
  const child = spawn(process.execPath, [...scriptArgs(script), ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += String(chunk);
    if (stderr.length > STDERR_CHARS_MAX) stderr = stderr.slice(-STDERR_CHARS_MAX);
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const at = waiters.findIndex((w) => line.startsWith(w.prefix));
    if (at >= 0) {
      const waiter = waiters.splice(at, 1)[0];
      return waiter.resolve(line.slice(waiter.prefix.length));
    }
    if (lines.length < STDOUT_LINES_MAX) lines.push(line);
  });
  // Set on "exit", not from child.exitCode or signalCode: Deno's node:child_process (2.9.6)
  // sets signalCode when kill() sends a signal, so a SIGSTOPped child would look gone.
  let ended = false;
  child.on("exit", () => ended = true);
  // "close", not "exit": it comes after stdout and stderr have been read to their end.
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      ended = true;
      resolve(code);
    })
  );
  const handle: Child = {
    name,
    process: child,
    stderr: () => stderr,
    exited,
    alive: () => !ended,
    nextLine(prefix, ms) {
      const kept = lines.findIndex((line) => line.startsWith(prefix));
      if (kept >= 0) return Promise.resolve(lines.splice(kept, 1)[0].slice(prefix.length));
      return new Promise<string>((resolve, reject) => {
        const waiter = {
          prefix,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${name}: no "${prefix}" line within ${ms} ms; stderr:\n${stderr}`));
        }, ms);
        waiters.push(waiter);
        void exited.then((code) => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before "${prefix}"; stderr:\n${stderr}`));
        });
      });
    },
  };
  started.push(handle);
  return handle;
}

/** The signals the benchmark sends. */
export type Signal = "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM";

/**
 * Sends `signal` to a child that is still running; returns false if it had exited.
 *
 * @example
 * ```ts ignore
 * signalChild(child, "SIGSTOP");
 * ```
 */
export function signalChild(child: Child, signal: Signal): boolean {
  const pid = child.process.pid;
  if (!child.alive() || pid === undefined) return false;
  try {
    // process.kill, not child.kill: Deno's ChildProcess.kill (2.9.6) sends nothing after its
    // first signal, so a SIGSTOPped child could never be killed.
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills (SIGKILL, then SIGCONT in case it was stopped) every child started
 * that is still running, and waits for each to exit, at most `ms` in all.
 *
 * @example
 * ```ts ignore
 * try { ... } finally { await killAll(); }
 * ```
 */
export async function killAll(ms = 10_000): Promise<void> {
  const children = started.splice(0);
  for (const child of children) {
    signalChild(child, "SIGKILL");
    signalChild(child, "SIGCONT");
  }
  const deadline = sleep(ms);
  await Promise.race([Promise.all(children.map((c) => c.exited)), deadline.promise]);
  deadline.cancel();
}

/**
 * A promise resolved after `ms`, and a way to cancel its timer.
 *
 * @example
 * ```ts
 * import { sleep } from "./_cluster_child.ts";
 * await sleep(1).promise;
 * ```
 */
export function sleep(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Polling with a deadline: the tests' helper (its positional `ms`, `everyMs`). */
export { until } from "../../tests/fixtures/until.ts";
