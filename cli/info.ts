/**
 * `staticecs info`: what this machine and runtime offer StaticECS: the
 * runtime and its version, OS and CPU, cores, and whether io_uring works.
 *
 * @module
 */

import os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { probeIoUring } from "../ffi/probe.ts";
import { rephraseParseError, wantsHelp } from "./_args.ts";
import { EXIT_OK } from "./_failure.ts";
import { hostRuntime } from "../core/_host.ts";
import { VERSION } from "./version.ts";

/** Usage of `staticecs info`. */
export const INFO_USAGE = `Usage: staticecs info [options]

Prints the runtime and its version, OS and CPU architecture, core count, and
whether io_uring is usable here (and if not, why).

Options:
  --json        print one JSON object on stdout
  -h, --help    show this help
`;

/** What `staticecs info --json` prints. */
export interface HostInfo {
  readonly runtime: "bun" | "deno";
  readonly version: string;
  readonly cores: number;
  readonly ioUring: { readonly usable: boolean; readonly reason: string };
  readonly staticecsVersion: string;
  readonly os: string;
  readonly arch: string;
}

/**
 * Gathers the facts `staticecs info` prints.
 *
 * @example
 * ```ts
 * import { collectHostInfo } from "./info.ts";
 * const info = await collectHostInfo();
 * console.log(info.runtime, info.cores, info.ioUring.usable);
 * ```
 */
export async function collectHostInfo(): Promise<HostInfo> {
  const runtime = hostRuntime();
  const probe = await probeIoUring();
  return {
    runtime: runtime.name,
    version: runtime.version,
    cores: navigator.hardwareConcurrency ?? os.cpus().length,
    ioUring: { usable: probe.usable, reason: probe.reason },
    staticecsVersion: VERSION,
    os: process.platform,
    arch: process.arch,
  };
}

/**
 * Runs `staticecs info` with the arguments after `info`; resolves to the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await infoCommand(["--json"]);
 * ```
 */
export async function infoCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(INFO_USAGE);
    return EXIT_OK;
  }
  let json: boolean;
  try {
    json = parseArgs({ args, strict: true, options: { json: { type: "boolean", default: false } } })
      .values.json;
  } catch (error) {
    throw rephraseParseError("info", error, args);
  }
  const info = await collectHostInfo();
  process.stdout.write(json ? JSON.stringify(info) + "\n" : formatHostInfo(info));
  return EXIT_OK;
}

function formatHostInfo(info: HostInfo): string {
  const ioUring = `${info.ioUring.usable ? "usable" : "not usable"}: ${info.ioUring.reason}`;
  const rows: [string, string][] = [
    ["staticecs", info.staticecsVersion],
    ["runtime", `${info.runtime} ${info.version}`],
    ["os", `${info.os} ${info.arch}`],
    ["cores", String(info.cores)],
    ["io_uring", ioUring],
  ];
  return rows.map(([label, value]) => label.padEnd(12) + value).join("\n") + "\n";
}
