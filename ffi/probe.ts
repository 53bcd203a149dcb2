/**
 * Whether io_uring can be used here through liburing, and if not, why. `staticecs info` prints
 * the reason; the io_uring backend falls back to portable I/O and tells the user once.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { nopRoundTrip } from "./_nop.ts";
import { openLiburing } from "./_open.ts";
import { type Liburing, LIBURING_DEFAULT_PATH } from "./_types.ts";
import {
  describeOpenError,
  processEnvironment,
  processPlatform,
  reasonBeforeOpening,
} from "./_unusable.ts";

export { IO_URING_ENV_VARIABLE } from "./_unusable.ts";

/** What {@linkcode probeIoUring} found. */
export interface IoUringProbe {
  /** True when a ring was set up and a NOP completed through it. */
  readonly usable: boolean;
  /** One line for a person: what works, or what failed and how to fix it. */
  readonly reason: string;
}

/** Inputs of {@linkcode probeIoUring}; each defaults to the real one of this process. */
export interface IoUringProbeOptions {
  /** Environment read for `STATICECS_IO_URING`; defaults to the process environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Library name or path to open; defaults to `liburing.so.2`. */
  readonly libraryPath?: string;
  /** Operating system as `process.platform` names it; defaults to this one. */
  readonly platform?: string;
  /** Entries of the probe ring; defaults to 8. */
  readonly ringEntries?: number;
}

const PROBE_RING_ENTRIES = 8;

/**
 * Opens liburing, sets up a ring, completes one NOP through it and tears it down.
 *
 * @example
 * ```ts
 * import { probeIoUring } from "./probe.ts";
 * const { usable, reason } = await probeIoUring();
 * console.log(usable ? "io_uring:" : "no io_uring:", reason);
 * ```
 */
export async function probeIoUring(options: IoUringProbeOptions = {}): Promise<IoUringProbe> {
  const env = options.env ?? processEnvironment();
  const reason = reasonBeforeOpening(env, options.platform ?? processPlatform());
  if (reason !== undefined) return { usable: false, reason };
  const libraryPath = options.libraryPath ?? LIBURING_DEFAULT_PATH;
  let lib: Liburing;
  try {
    lib = await openLiburing(libraryPath);
  } catch (error) {
    return { usable: false, reason: describeOpenError(libraryPath, error) };
  }
  try {
    const roundTrip = nopRoundTrip(lib, options.ringEntries ?? PROBE_RING_ENTRIES);
    if (!roundTrip.ok) return { usable: false, reason: roundTrip.reason };
    return { usable: true, reason: `io_uring usable via ${describeLibrary(libraryPath)}` };
  } finally {
    lib.close();
  }
}

function describeLibrary(libraryPath: string): string {
  const version = loadedLiburingVersion();
  return version === undefined ? libraryPath : `${libraryPath} (liburing ${version})`;
}

/** liburing 2.3 has no version function: read it from the file the loader mapped. */
function loadedLiburingVersion(): string | undefined {
  let maps: string;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return undefined;
  }
  return /\/liburing\.so\.(\d+\.\d+(?:\.\d+)?)$/m.exec(maps)?.[1];
}
