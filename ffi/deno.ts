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
  io_uring_get_probe_ring: { parameters: ["buffer"], result: "pointer" },
  io_uring_free_probe: { parameters: ["pointer"], result: "void" },
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
    getProbeRing: (ring: RingMemory) =>
      Deno.UnsafePointer.value(native.io_uring_get_probe_ring(ring)),
    freeProbe: (probe: bigint) => native.io_uring_free_probe(Deno.UnsafePointer.create(probe)),
    addressOf,
    memoryAt: (address: bigint, byteLength: number) => {
      const pointer = Deno.UnsafePointer.create(address);
      if (pointer === null) throw new RangeError("memoryAt: NULL address");
      return Deno.UnsafePointerView.getArrayBuffer(pointer, byteLength);
    },
    close: () => library.close(),
  };
}

/**
 * Base address of each ArrayBuffer or SharedArrayBuffer seen, so that an address costs a
 * WeakMap lookup (about 40 ns) instead of a pointer object and a BigInt (about 800 ns) per
 * call. Sound because V8 never moves a buffer's backing store; a growable buffer reserves its
 * maximum size up front, and a detached buffer has no views left to ask about.
 */
const bufferBaseAddresses = new WeakMap<ArrayBufferLike, number>();

function addressOf(view: ArrayBufferView): number {
  if (view.byteLength === 0) return 0;
  const buffer = view.buffer;
  let base = bufferBaseAddresses.get(buffer);
  if (base === undefined) {
    const whole = new Uint8Array(buffer) as Uint8Array<ArrayBuffer>;
    base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(whole)));
    bufferBaseAddresses.set(buffer, base);
  }
  return base + view.byteOffset;
}
