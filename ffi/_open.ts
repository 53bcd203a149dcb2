/**
 * Picks the liburing binding of the runtime this code runs on. Each binding is imported
 * dynamically so that one runtime never loads the other's FFI module.
 *
 * @module
 */

import type { Liburing } from "./_types.ts";
import { hostName } from "../core/_host.ts";

/** The JavaScript runtimes StaticECS knows how to bind liburing on. */
export type FfiRuntime = "bun" | "deno";

/**
 * The runtime this code runs on, or `undefined` for one without a liburing binding.
 *
 * @example
 * ```ts
 * import { detectFfiRuntime } from "./_open.ts";
 * detectFfiRuntime(); // "deno" under Deno, "bun" under Bun
 * ```
 */
export function detectFfiRuntime(): FfiRuntime | undefined {
  return hostName();
}

/**
 * Opens liburing with the current runtime's FFI; throws what that runtime's dlopen throws, or
 * an Error naming the runtime when there is no binding for it.
 *
 * @example
 * ```ts ignore
 * import { openLiburing } from "./_open.ts";
 * const lib = await openLiburing("liburing.so.2");
 * lib.close();
 * ```
 */
export async function openLiburing(libraryPath: string): Promise<Liburing> {
  const runtime = detectFfiRuntime();
  if (runtime === "bun") return (await import("./bun.ts")).openLiburing(libraryPath);
  if (runtime === "deno") return (await import("./deno.ts")).openLiburing(libraryPath);
  throw new Error("no liburing binding for this runtime: StaticECS binds FFI on Bun and Deno");
}
