/**
 * O_DIRECT support for the I/O benchmark (io.ts): a file opened with O_DIRECT
 * on a filesystem that accepts it, and 4096-byte-aligned buffers.
 *
 * JS cannot choose where an ArrayBuffer lives, so an aligned buffer is a
 * subarray of a larger one, starting at its first 4096-aligned address. The
 * address comes from the liburing binding's `addressOf` (ffi/_open.ts), the
 * same helper the ring uses to hand buffers to the kernel.
 *
 * @module
 */

import {
  closeSync,
  constants,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open as openHandle } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { openLiburing } from "../../ffi/_open.ts";
import { type Liburing, LIBURING_DEFAULT_PATH } from "../../ffi/_types.ts";

/** The alignment O_DIRECT asks of buffers, offsets and lengths here (one page, 4 KiB). */
export const DIRECT_ALIGN = 4096;

/** Linux's O_DIRECT: node:fs's constant where the runtime defines it, else the kernel's number. */
export const O_DIRECT: number = (constants as Record<string, number | undefined>).O_DIRECT ??
  (process.arch === "arm64" || process.arch === "arm" ? 0o200000 : 0o40000);

/** A file opened with O_DIRECT, for the direct_write cases. */
export interface DirectFile {
  /** The folder the file is in (removed at the end if `ownFolder`). */
  readonly folder: string;
  readonly ownFolder: boolean;
  readonly file: string;
  /** Filesystem type of the file's mount (from /proc/self/mountinfo). */
  readonly filesystem: string;
  /** Opened O_RDWR | O_DIRECT, for the synchronous subjects and the executors. */
  readonly fd: number;
  /** Opened O_RDWR | O_DIRECT, for the promises subject. */
  readonly handle: FileHandle;
}

/** The open direct file, or why there is none; `tried` says what was tried. */
export type DirectOpen =
  | { readonly ok: true; readonly direct: DirectFile; readonly tried: readonly string[] }
  | { readonly ok: false; readonly reason: string };

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].slice(0, 160);
}

/** The fs type of the mount holding `file`: the longest mount point that prefixes its path. */
export function filesystemOf(file: string): string {
  try {
    const real = realpathSync(file);
    let best = "";
    let type = "unknown";
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const [left, right] = line.split(" - ");
      if (right === undefined) continue;
      const mountPoint = left.split(" ")[4].replace(/\\040/g, " ");
      const inside = real === mountPoint ||
        real.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
      if (inside && mountPoint.length >= best.length) {
        best = mountPoint;
        type = right.split(" ")[0];
      }
    }
    return type;
  } catch {
    return "unknown";
  }
}

/** Whether the kernel has O_DIRECT set on `fd` (the flags in /proc/self/fdinfo, in octal). */
export function hasDirectFlag(fd: number): boolean | undefined {
  try {
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    return flags === null ? undefined : (parseInt(flags[1], 8) & O_DIRECT) !== 0;
  } catch {
    return undefined;
  }
}

/**
 * Creates a `bytes`-long file in the first folder whose filesystem accepts
 * O_DIRECT, written whole with buffered I/O and synced (so its blocks are
 * allocated), then opens it with O_DIRECT twice (fd and FileHandle).
 * `candidates` are folders to use as they are, or (`create`) to make a
 * temporary folder in.
 */
export async function openDirectFile(
  candidates: readonly { readonly folder: string; readonly create: boolean }[],
  bytes: number,
): Promise<DirectOpen> {
  const failures: string[] = [];
  const tried: string[] = [];
  for (const candidate of candidates) {
    let folder = candidate.folder;
    let fd = -1;
    let handle: FileHandle | undefined;
    try {
      if (candidate.create) {
        folder = mkdtempSync(path.join(candidate.folder, "staticecs-io-direct-"));
      }
      const file = path.join(folder, "direct.bin");
      const filesystem = filesystemOf(folder);
      tried.push(`${folder} (${filesystem})`);
      if (filesystem === "tmpfs" || filesystem === "ramfs") {
        // Linux 6.6+ opens tmpfs files with O_DIRECT, but there is no device to write to.
        throw new Error(`${filesystem} is memory: O_DIRECT writes reach no device`);
      }
      fillFile(file, bytes);
      const flags = constants.O_RDWR | O_DIRECT;
      fd = openSync(file, flags);
      if (hasDirectFlag(fd) === false) {
        throw new Error("the runtime opened the file without O_DIRECT");
      }
      handle = await openHandle(file, flags);
      if (hasDirectFlag(handle.fd) === false) {
        throw new Error("the runtime opened the FileHandle without O_DIRECT");
      }
      return {
        ok: true,
        direct: { folder, ownFolder: candidate.create, file, filesystem, fd, handle },
        tried,
      };
    } catch (error) {
      failures.push(`${folder} (${filesystemOf(folder)}): ${describe(error)}`);
      await handle?.close();
      if (fd >= 0) closeSync(fd);
      if (candidate.create && folder !== candidate.folder) {
        rmSync(folder, { recursive: true, force: true });
      } else {
        rmSync(path.join(folder, "direct.bin"), { force: true });
      }
    }
  }
  return { ok: false, reason: `no folder accepts O_DIRECT: ${failures.join("; ")}` };
}

function fillFile(file: string, bytes: number): void {
  const fd = openSync(file, "w+", 0o600);
  try {
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 13 + 5) & 0xff;
    for (let at = 0; at < bytes; at += chunk.length) {
      if (writeSync(fd, chunk, 0, chunk.length, at) !== chunk.length) {
        throw new Error("short write while filling the O_DIRECT file");
      }
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function closeDirectFile(direct: DirectFile): Promise<void> {
  try {
    await direct.handle.close();
    closeSync(direct.fd);
  } finally {
    if (direct.ownFolder) rmSync(direct.folder, { recursive: true, force: true });
    else rmSync(direct.file, { force: true });
  }
}

/** Where buffer addresses come from: the liburing binding of this runtime. */
export interface AddressSource {
  readonly addressOf: (view: ArrayBufferView) => number;
  readonly close: () => void;
}

/** Opens liburing for its `addressOf`, or says why it cannot. */
export async function openAddressSource(): Promise<AddressSource | string> {
  let lib: Liburing;
  try {
    lib = await openLiburing(LIBURING_DEFAULT_PATH);
  } catch (error) {
    return `no buffer addresses (liburing's addressOf): ${describe(error)}`;
  }
  return { addressOf: (view) => lib.addressOf(view), close: () => lib.close() };
}

/**
 * `count` buffers of `bytes` each, each starting at a 4096-aligned address,
 * filled with the same per-buffer pattern as io.ts's unaligned buffers.
 * Throws if a buffer's address is not aligned (checked once per buffer).
 */
export function alignedBuffers(
  count: number,
  bytes: number,
  addressOf: (view: ArrayBufferView) => number,
): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  for (let b = 0; b < count; b++) {
    const whole = new Uint8Array(bytes + DIRECT_ALIGN);
    const address = addressOf(whole);
    const offset = (DIRECT_ALIGN - address % DIRECT_ALIGN) % DIRECT_ALIGN;
    const buffer = whole.subarray(offset, offset + bytes);
    const aligned = addressOf(buffer);
    if (aligned % DIRECT_ALIGN !== 0) {
      throw new Error(`buffer ${b} at 0x${aligned.toString(16)} is not ${DIRECT_ALIGN}-aligned`);
    }
    for (let i = 0; i < bytes; i++) buffer[i] = (b * 7 + i) & 0xff;
    buffers.push(buffer);
  }
  return buffers;
}
