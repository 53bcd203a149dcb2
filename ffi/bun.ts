/**
 * liburing through `bun:ffi`. Only Bun loads this file (see `_open.ts`).
 *
 * @module
 */

import { dlopen, type FFIFunction, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import type { Liburing, LiburingSymbol, RingMemory } from "./_types.ts";

const SYMBOLS = {
  io_uring_queue_init: { args: ["u32", "ptr", "u32"], returns: "i32" },
  io_uring_queue_exit: { args: ["ptr"], returns: "void" },
  io_uring_get_sqe: { args: ["ptr"], returns: "ptr" },
  io_uring_submit: { args: ["ptr"], returns: "i32" },
  io_uring_submit_and_wait: { args: ["ptr", "u32"], returns: "i32" },
  io_uring_get_probe_ring: { args: ["ptr"], returns: "ptr" },
  io_uring_free_probe: { args: ["ptr"], returns: "void" },
} as const satisfies Record<LiburingSymbol, FFIFunction>;

/**
 * Opens liburing with `bun:ffi`; throws Bun's dlopen error if the library or a symbol is missing.
 *
 * @example
 * ```ts ignore
 * import { openLiburing } from "./bun.ts";
 * const lib = openLiburing("liburing.so.2");
 * lib.close();
 * ```
 */
export function openLiburing(libraryPath: string): Liburing {
  const library = dlopen(libraryPath, SYMBOLS);
  const native = library.symbols;
  return {
    libraryPath,
    queueInit: (entries: number, ring: RingMemory, flags: number) =>
      native.io_uring_queue_init(entries, ring, flags) as number,
    queueExit: (ring: RingMemory) => void native.io_uring_queue_exit(ring),
    getSqe: (ring: RingMemory) => BigInt((native.io_uring_get_sqe(ring) as number | null) ?? 0),
    submit: (ring: RingMemory) => native.io_uring_submit(ring) as number,
    submitAndWait: (ring: RingMemory, waitCount: number) =>
      native.io_uring_submit_and_wait(ring, waitCount) as number,
    getProbeRing: (ring: RingMemory) =>
      BigInt((native.io_uring_get_probe_ring(ring) as number | null) ?? 0),
    freeProbe: (probe: bigint) => void native.io_uring_free_probe(Number(probe) as Pointer),
    // ptr() throws on an empty view ("a pointer to empty memory doesn't work"): no address then.
    addressOf: (view: ArrayBufferView) => view.byteLength === 0 ? 0 : ptr(view),
    memoryAt: (address: bigint, byteLength: number) => {
      if (address === 0n) throw new RangeError("memoryAt: NULL address");
      return toArrayBuffer(Number(address) as Pointer, 0, byteLength);
    },
    close: () => library.close(),
  };
}
