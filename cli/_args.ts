/**
 * Argument helpers shared by the subcommands: `node:util` parseArgs errors
 * rephrased to name the flag and point at `--help`, and number parsing that
 * names the flag, the accepted range and what was given.
 *
 * @module
 */

import { BadInput } from "./_failure.ts";
import { HZ_MAX, SEED_MAX } from "../core/runtime.ts";

/** The runtime's bounds that flags check: `--hz` and `--seed`. */
export { HZ_MAX, SEED_MAX };

/**
 * Turns an error thrown by strict `parseArgs` into a one-line {@linkcode BadInput}
 * for `command` (e.g. "run"); other errors pass through unchanged.
 *
 * @example
 * ```ts
 * import { rephraseParseError } from "./_args.ts";
 * const error = Object.assign(new Error("Unknown option '--tick'"), {
 *   code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
 * });
 * rephraseParseError("run", error); // BadInput: unknown option --tick for "staticecs run"; ...
 * ```
 */
export function rephraseParseError(
  command: string,
  error: unknown,
  args: readonly string[] = [],
): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error) || typeof code !== "string") return error;
  const help = `see staticecs ${command} --help`;
  const flag = /'(-[^' ]*)/.exec(error.message)?.[1] ?? "";
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new BadInput(`unknown option ${flag} for "staticecs ${command}"; ${help}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(error.message)) {
        return new BadInput(`${flag} takes no value; write ${flag} alone (${help})`);
      }
      return new BadInput(
        `${flag} needs a value, as in ${flag} <value>${given(flag, args)}; ${help}`,
      );
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new BadInput(`unexpected argument "${quoted}" for "staticecs ${command}"; ${help}`);
    default:
      return new BadInput(`${error.message.split("\n")[0]} (${help})`);
  }
}

/** A hint when what followed `flag` is a negative number, which parseArgs reads as an option. */
function given(flag: string, args: readonly string[]): string {
  const next = args[args.indexOf(flag) + 1];
  if (args.indexOf(flag) < 0 || next === undefined || !/^-[\d.]/.test(next)) return "";
  return `; got ${next}, read as an option (write ${flag}=${next} to pass it as the value)`;
}

/**
 * Parses a flag's value as an integer from 1 to 2^53 - 1.
 *
 * @example
 * ```ts
 * import { parsePositiveInteger } from "./_args.ts";
 * parsePositiveInteger("--ticks", "100"); // 100
 * ```
 */
export function parsePositiveInteger(flag: string, text: string): number {
  const value = wholeNumber(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BadInput(`${flag} must be a positive integer; got ${text}`);
  }
  return value;
}

/**
 * Parses a flag's value as an integer from 0 to 2^53 - 1.
 *
 * @example
 * ```ts
 * import { parseNonNegativeInteger } from "./_args.ts";
 * parseNonNegativeInteger("--min-parallel-work", "0"); // 0
 * ```
 */
export function parseNonNegativeInteger(flag: string, text: string): number {
  const value = wholeNumber(text);
  if (!Number.isSafeInteger(value)) {
    throw new BadInput(`${flag} must be an integer of 0 or more; got ${text}`);
  }
  return value;
}

/** The decimal digits of `text` (spaces around allowed) as a number; NaN for anything else. */
function wholeNumber(text: string): number {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
}

/**
 * Parses a flag's value as a whole number from 1 to `max`.
 *
 * @example
 * ```ts
 * import { parseBoundedInteger } from "./_args.ts";
 * const workers = parseBoundedInteger("--workers", "3", 256);
 * ```
 */
export function parseBoundedInteger(flag: string, text: string, max: number): number {
  const value = parsePositiveInteger(flag, text);
  if (value > max) throw new BadInput(`${flag} must be at most ${max}; got ${text}`);
  return value;
}

/**
 * Parses a flag's value as a finite number above 0 and at most `max`.
 *
 * @example
 * ```ts
 * import { parsePositiveNumber } from "./_args.ts";
 * parsePositiveNumber("--duration", "0.5"); // 0.5
 * ```
 */
export function parsePositiveNumber(flag: string, text: string, max = Infinity): number {
  const value = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    const range = max === Infinity ? "" : ` up to ${max}`;
    throw new BadInput(`${flag} must be a positive number${range}; got ${text}`);
  }
  return value;
}

/**
 * Parses a seed: an integer from 0 to 2^32 - 1, decimal or 0x-prefixed hex.
 *
 * @example
 * ```ts
 * import { parseSeed } from "./_args.ts";
 * parseSeed("0x5eed"); // 24301
 * ```
 */
export function parseSeed(text: string): number {
  const value = /^\s*(\d+|0x[0-9a-f]+)\s*$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 0 || value > SEED_MAX) {
    throw new BadInput(`--seed must be an integer from 0 to ${SEED_MAX}; got ${text}`);
  }
  return value;
}

/**
 * True if `args` asks for help (`--help` or `-h` before any `--`), so that help
 * wins over every other flag, even a wrong one.
 *
 * @example
 * ```ts
 * import { wantsHelp } from "./_args.ts";
 * wantsHelp(["scene.ts", "--help"]); // true
 * ```
 */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  const flags = end < 0 ? args : args.slice(0, end);
  return flags.includes("--help") || flags.includes("-h");
}

/** Text that reads as HOST:PORT (an IPv6 host in brackets), the form optional addresses take. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * Gives `flag`, whose HOST:PORT value is optional, its `fallback` where no
 * address follows it, so that strict parseArgs can read it as a string
 * option: `--inspect` alone (or before another flag or a scene file) becomes
 * `--inspect=<fallback>`; `--inspect 0.0.0.0:7477` and `--inspect=...` stay.
 *
 * @example
 * ```ts
 * import { withOptionalAddress } from "./_args.ts";
 * withOptionalAddress(["--inspect", "scene.ts"], "--inspect", "127.0.0.1:7477");
 * // ["--inspect=127.0.0.1:7477", "scene.ts"]
 * ```
 */
export function withOptionalAddress(
  args: readonly string[],
  flag: string,
  fallback: string,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return [...out, ...args.slice(i)];
    if (args[i] === flag && !HOST_PORT.test(args[i + 1] ?? "")) out.push(`${flag}=${fallback}`);
    else out.push(args[i]);
  }
  return out;
}
