/**
 * liburing through `Deno.dlopen`. Only Deno loads this file (see `_open.ts`); it needs
 * `--allow-ffi`.
 *
 * @module
 */

import type { Liburing, LiburingSymbol, RingMemory } from "./_types.ts";

const SYMBOLS = {
  io_uring_queue_init: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  io_uring_queue_exit: { parameters: ["buffer"], result: "void" },
  io_uring_get_sqe: { parameters: ["buffer"], result: "pointer" },
  io_uring_submit: { parameters: ["buffer"], result: "i32" },
  io_uring_submit_and_wait: { parameters: ["buffer", "u32"], result: "i32" },
} as const satisfies Record<LiburingSymbol, Deno.ForeignFunction>;

/**
 * Opens liburing with `Deno.dlopen`; throws Deno's error if the library or a symbol is
 * missing, or `Deno.errors.NotCapable` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { openLiburing } from "./deno.ts";
 * const lib = openLiburing("liburing.so.2");
 * lib.close();
 * ```
 */
export function openLiburing(libraryPath: string): Liburing {
  const library = Deno.dlopen(libraryPath, SYMBOLS);
  const native = library.symbols;
  return {
    libraryPath,
    queueInit: (entries: number, ring: RingMemory, flags: number) =>
      native.io_uring_queue_init(entries, ring, flags),
    queueExit: (ring: RingMemory) => native.io_uring_queue_exit(ring),
    getSqe: (ring: RingMemory) => Deno.UnsafePointer.value(native.io_uring_get_sqe(ring)),
    submit: (ring: RingMemory) => native.io_uring_submit(ring),
    submitAndWait: (ring: RingMemory, waitCount: number) =>
      native.io_uring_submit_and_wait(ring, waitCount),
    memoryAt: (address: bigint, byteLength: number) => {
      const pointer = Deno.UnsafePointer.create(address);
      if (pointer === null) throw new RangeError("memoryAt: NULL address");
      return Deno.UnsafePointerView.getArrayBuffer(pointer, byteLength);
    },
    close: () => library.close(),
  };
}
