/**
 * Which JavaScript runtime the CLI is running under, and its version. The only
 * place the CLI tells Bun and Deno apart.
 *
 * @module
 */

import process from "node:process";

/** The runtimes StaticECS supports. */
export type HostRuntimeName = "bun" | "deno";

/** The runtime the process runs under. */
export interface HostRuntime {
  readonly name: HostRuntimeName;
  readonly version: string;
}

/**
 * Names the runtime from `process.versions`, which both runtimes fill in.
 *
 * @example
 * ```ts
 * import { hostRuntime } from "./_host.ts";
 * const { name, version } = hostRuntime(); // e.g. "bun", "1.4.5"
 * ```
 */
export function hostRuntime(): HostRuntime {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return { name: "bun", version: versions.bun };
  if (versions.deno !== undefined) return { name: "deno", version: versions.deno };
  throw new Error(
    `staticecs runs under Bun or Deno; this runtime is neither (node ${process.version}?)`,
  );
}
