/**
 * The runtime-neutral shape of liburing as the per-runtime bindings (`bun.ts`, `deno.ts`)
 * expose it. Native addresses cross this boundary as `bigint` (0n is NULL) so that the ring
 * code above it never sees Bun's number pointers or Deno's pointer objects.
 *
 * To bind another liburing function: add its name to {@linkcode LIBURING_SYMBOLS}, a method to
 * {@linkcode Liburing}, and an entry to the symbol table of each binding (both tables are
 * checked against {@linkcode LiburingSymbol}, so `deno check` names any binding left behind).
 *
 * @module
 */

/** The file name liburing 2.x is loaded by when no path is given. */
export const LIBURING_DEFAULT_PATH = "liburing.so.2";

/** The liburing 2.3 functions the bindings open. */
export const LIBURING_SYMBOLS = [
  "io_uring_queue_init",
  "io_uring_queue_exit",
  "io_uring_get_sqe",
  "io_uring_submit",
  "io_uring_submit_and_wait",
  "io_uring_get_probe_ring",
  "io_uring_free_probe",
] as const;

/** The name of one bound liburing function. */
export type LiburingSymbol = typeof LIBURING_SYMBOLS[number];

/** Memory holding one `struct io_uring`, owned by JavaScript and passed to every call. */
export type RingMemory = Uint8Array<ArrayBuffer>;

/**
 * liburing, opened by one runtime's FFI. Results are liburing's: negative errno on failure.
 *
 * @example
 * ```ts
 * import type { Liburing } from "./_types.ts";
 * // Code written against Liburing runs unchanged on Bun and on Deno.
 * function describeLibrary(lib: Liburing): string {
 *   return `liburing opened from ${lib.libraryPath}`;
 * }
 * ```
 */
export interface Liburing {
  /** The name or path the library was opened by. */
  readonly libraryPath: string;
  /** `io_uring_queue_init(entries, ring, flags)`: 0, or a negative errno. */
  queueInit(entries: number, ring: RingMemory, flags: number): number;
  /** `io_uring_queue_exit(ring)`: unmaps the rings and closes the ring fd. */
  queueExit(ring: RingMemory): void;
  /** `io_uring_get_sqe(ring)`: the address of a free SQE, or 0n when the SQ ring is full. */
  getSqe(ring: RingMemory): bigint;
  /** `io_uring_submit(ring)`: the number of SQEs submitted, or a negative errno. */
  submit(ring: RingMemory): number;
  /** `io_uring_submit_and_wait(ring, waitCount)`: submitted count, or a negative errno. */
  submitAndWait(ring: RingMemory, waitCount: number): number;
  /**
   * `io_uring_get_probe_ring(ring)`: the address of a malloc'd `struct io_uring_probe` listing
   * the opcodes the kernel supports, or 0n on failure; release it with {@linkcode freeProbe}.
   */
  getProbeRing(ring: RingMemory): bigint;
  /** `io_uring_free_probe(probe)`: frees what {@linkcode getProbeRing} returned. */
  freeProbe(probe: bigint): void;
  /**
   * The native address of the first byte of `view` (its `byteOffset` included), as a number:
   * user-space addresses on x86-64 fit in 47 bits. 0 for an empty view. JavaScript buffers do
   * not move, but the caller must keep `view` reachable (and not detach it) while native code
   * uses the address.
   */
  addressOf(view: ArrayBufferView): number;
  /** An ArrayBuffer over `byteLength` bytes of native memory at `address` (no copy). */
  memoryAt(address: bigint, byteLength: number): ArrayBuffer;
  /** Closes the library; no method may be called afterwards. */
  close(): void;
}

/** Opens liburing by name or path with one runtime's FFI; throws if it cannot. */
export type OpenLiburing = (libraryPath: string) => Liburing;
