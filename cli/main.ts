/**
 * The `staticecs` command: dispatches to a subcommand, answers `--help` and
 * `--version`, and turns failures into exit codes: bad input prints one line
 * `staticecs: <what was wrong and how to fix it>` and exits 2 (with the stack
 * under `--verbose`); a signal during setup prints one line and exits at once
 * with 128 + the signal's number.
 *
 * Run it as `bun cli/main.ts ...` or `deno run -A cli/main.ts ...`. Under
 * Deno, scenes anywhere on disk resolve "staticecs" through this project's
 * deno.json, which Deno finds from the main module's folder whatever the
 * working directory; under Bun, cli/_bun_plugin.ts maps it.
 *
 * @module
 */

import process from "node:process";
import {
  BadInput,
  EXIT_BAD_INPUT,
  EXIT_OK,
  EXIT_SYSTEM_ERRORS,
  firstLine,
  Stopped,
} from "./_failure.ts";
import { hostRuntime } from "../core/_host.ts";
import { checkCommand } from "./check.ts";
import { clusterCommand } from "./cluster.ts";
import { infoCommand } from "./info.ts";
import { runCommand } from "./run.ts";
import { VERSION } from "./version.ts";

/** The subcommands, by name. */
export const COMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  run: runCommand,
  check: checkCommand,
  info: infoCommand,
  cluster: clusterCommand,
};

/** Usage of `staticecs`. */
export const USAGE = `Usage: staticecs <command> [options]

Commands:
  run <scene.ts>   run a scene: for N ticks, a duration, or until Ctrl-C
  check <scene.ts> validate a scene without running it: print its stage plan, type-check it
  info             show the runtime, cores and io_uring support
  cluster          run a cluster coordinator, join one with a scene, or ask its status

Options:
  -h, --help       show this help (or a command's: staticecs run --help)
  -V, --version    show the version

Exit codes: 0 success, 1 a system failed, 2 bad arguments or scene file,
130 (143) Ctrl-C (SIGTERM) during setup.
`;

/**
 * Runs the command line `args` (without the runtime and script); resolves to the exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["--version"]); // prints "staticecs 0.1.0 (bun 1.4.5)"; 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (error) {
    return reportFailure(error, args.includes("--verbose"));
  }
}

/** `staticecs <version> (<runtime> <runtime version>)`. */
export function versionLine(): string {
  const runtime = hostRuntime();
  return `staticecs ${VERSION} (${runtime.name} ${runtime.version})`;
}

function dispatch(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    throw new BadInput(
      `missing command; try staticecs run <scene.ts> (commands: ${commandNames()}; see --help)`,
    );
  }
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(USAGE);
    return Promise.resolve(EXIT_OK);
  }
  if (first === "--version" || first === "-V") {
    process.stdout.write(versionLine() + "\n");
    return Promise.resolve(EXIT_OK);
  }
  if (first.startsWith("-")) {
    throw new BadInput(`unknown option ${first}; put it after a command (see staticecs --help)`);
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    throw new BadInput(
      `unknown command "${first}"; commands are ${commandNames()} (see staticecs --help)`,
    );
  }
  return COMMANDS[first](rest);
}

function reportFailure(error: unknown, verbose: boolean): number {
  if (error instanceof Stopped) {
    process.stderr.write(`staticecs: ${error.message}\n`);
    // At once: the scene's code may still be busy in a worker that terminate() does not end
    // (Deno 2.9 lets a busy worker run on), which would keep the process alive.
    process.exit(error.exitCode);
  }
  if (error instanceof BadInput) {
    process.stderr.write(`staticecs: ${error.message}\n`);
    const cause = error.cause;
    if (verbose && cause !== undefined) process.stderr.write(`${stackOf(cause)}\n`);
    return EXIT_BAD_INPUT;
  }
  process.stderr.write(
    `staticecs: internal error: ${firstLine(error)}` +
      (verbose ? `\n${stackOf(error)}\n` : " (run with --verbose for the stack)\n"),
  );
  return EXIT_SYSTEM_ERRORS;
}

function stackOf(error: unknown): string {
  return error instanceof Error && error.stack !== undefined ? error.stack : String(error);
}

function commandNames(): string {
  return Object.keys(COMMANDS).join(", ");
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
