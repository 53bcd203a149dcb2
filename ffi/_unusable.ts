/**
 * Why io_uring cannot be used here, in the words both {@linkcode probeIoUring} (probe.ts) and
 * `openRing` (ring.ts) report: one source for every reason a user may read.
 *
 * @module
 */

import process from "node:process";

/** The environment variable that, set to `off`, keeps StaticECS away from io_uring. */
export const IO_URING_ENV_VARIABLE = "STATICECS_IO_URING";

/** How to get liburing on Debian and Ubuntu, as every "not found" reason says it. */
export const LIBURING_INSTALL_HINT = "install liburing2 (apt-get install liburing2)";

/** An environment as the probe and the ring read it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The reason io_uring is off before any library is opened: disabled by the environment, or not
 * Linux. `undefined` when neither applies.
 *
 * @example
 * ```ts
 * import { reasonBeforeOpening } from "./_unusable.ts";
 * reasonBeforeOpening({ STATICECS_IO_URING: "off" }, "linux"); // "disabled by STATICECS_IO_URING=off"
 * ```
 */
export function reasonBeforeOpening(env: Environment, platform: string): string | undefined {
  if (env[IO_URING_ENV_VARIABLE] === "off") return `disabled by ${IO_URING_ENV_VARIABLE}=off`;
  if (platform !== "linux") return `not Linux (${platform})`;
  return undefined;
}

/**
 * The part of the process environment io_uring looks at; empty when Deno runs without
 * `--allow-env` (the variable cannot be set as far as this process can see).
 *
 * @example
 * ```ts
 * import { processEnvironment } from "./_unusable.ts";
 * processEnvironment().STATICECS_IO_URING; // undefined unless set
 * ```
 */
export function processEnvironment(): Environment {
  try {
    return { [IO_URING_ENV_VARIABLE]: process.env[IO_URING_ENV_VARIABLE] };
  } catch {
    return {};
  }
}

/** The platform as `process.platform` names it. */
export function processPlatform(): string {
  return process.platform;
}

/**
 * Says why liburing could not be loaded: FFI not permitted, library missing (and how to
 * install it), or the loader's own message.
 *
 * @example
 * ```ts
 * import { describeOpenError } from "./_unusable.ts";
 * describeOpenError("liburing.so.2", new Error("liburing.so.2: cannot open shared object file"));
 * // "liburing.so.2 not found: install liburing2 (apt-get install liburing2)"
 * ```
 */
export function describeOpenError(libraryPath: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === "NotCapable") {
    return `FFI not permitted: run Deno with --allow-ffi (${message})`;
  }
  if (/cannot open shared object file|no such file/i.test(message)) {
    return `${libraryPath} not found: ${LIBURING_INSTALL_HINT}`;
  }
  return `${libraryPath} could not be loaded: ${message}`;
}
