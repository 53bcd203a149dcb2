/**
 * Which JavaScript runtime StaticECS runs under, and its version: the only
 * place the library, the CLI, the scripts and the tests tell Bun and Deno
 * apart. It reads the runtimes' own globals (`Bun.version`,
 * `Deno.version.deno`), so core may import it without leaving web standards.
 *
 * @module
 */

/** The runtimes StaticECS supports. */
export type HostRuntimeName = "bun" | "deno";

/** The runtime the process runs under. */
export interface HostRuntime {
  readonly name: HostRuntimeName;
  readonly version: string;
}

interface RuntimeGlobals {
  readonly Bun?: { readonly version: string };
  readonly Deno?: { readonly version: { readonly deno: string } };
}

const HOST: HostRuntime | undefined = detect(globalThis as RuntimeGlobals);

function detect(globals: RuntimeGlobals): HostRuntime | undefined {
  if (globals.Bun !== undefined) return { name: "bun", version: globals.Bun.version };
  if (globals.Deno !== undefined) return { name: "deno", version: globals.Deno.version.deno };
  return undefined;
}

/**
 * The runtime, or undefined under one StaticECS does not support (Node): for
 * code that picks an adapter and reports the miss in its own words.
 *
 * @example
 * ```ts
 * import { detectHost } from "./_host.ts";
 * detectHost()?.name; // "bun" under Bun, "deno" under Deno
 * ```
 */
export function detectHost(): HostRuntime | undefined {
  return HOST;
}

/**
 * The runtime's name, or undefined under one StaticECS does not support.
 *
 * @example
 * ```ts
 * import { hostName } from "./_host.ts";
 * const command = hostName() === "deno" ? "deno run -A" : "bun";
 * ```
 */
export function hostName(): HostRuntimeName | undefined {
  return HOST?.name;
}

/**
 * The runtime; throws under one StaticECS does not support.
 *
 * @example
 * ```ts
 * import { hostRuntime } from "./_host.ts";
 * const { name, version } = hostRuntime(); // e.g. "bun", "1.4.5"
 * ```
 */
export function hostRuntime(): HostRuntime {
  if (HOST !== undefined) return HOST;
  throw new Error("staticecs runs under Bun or Deno; this runtime is neither (Node?)");
}
