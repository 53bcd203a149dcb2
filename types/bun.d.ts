/**
 * The subset of Bun's `bun:ffi` module that StaticECS uses, declared so that `deno check`
 * type-checks the Bun-only files (there is no `@types/bun` here). Bun ignores this file.
 * Add a declaration here when a Bun-only file starts using more of `bun:ffi`.
 */
declare module "bun:ffi" {
  /** A native address as Bun passes it: a number, branded so it is not mixed with sizes. */
  export type Pointer = number & { readonly __pointer__: null };

  /** The argument and result type labels of bun:ffi that StaticECS uses. */
  export type FFITypeLabel =
    | "void"
    | "bool"
    | "i8"
    | "u8"
    | "i16"
    | "u16"
    | "i32"
    | "u32"
    | "i64"
    | "u64"
    | "f32"
    | "f64"
    | "ptr";

  /** How one native function is called. */
  export interface FFIFunction {
    readonly args?: readonly FFITypeLabel[];
    readonly returns?: FFITypeLabel;
  }

  /** An opened shared library with its bound symbols. */
  export interface Library<Fns extends Record<string, FFIFunction>> {
    readonly symbols: { readonly [K in keyof Fns]: (...args: unknown[]) => unknown };
    close(): void;
  }

  /** Opens a shared library by name or path and binds the given symbols; throws if either fails. */
  export function dlopen<Fns extends Record<string, FFIFunction>>(
    name: string,
    symbols: Fns,
  ): Library<Fns>;

  /** The native address of a view's (or buffer's) first byte, plus `byteOffset`; throws if empty. */
  export function ptr(
    view: ArrayBufferLike | ArrayBufferView,
    byteOffset?: number,
  ): Pointer;

  /** An ArrayBuffer over native memory, without copying. */
  export function toArrayBuffer(
    ptr: Pointer,
    byteOffset?: number,
    byteLength?: number,
  ): ArrayBuffer;
}
