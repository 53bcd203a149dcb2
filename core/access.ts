/**
 * Declared access, enforced. A system's `reads` and `writes` are the contract
 * that lets a parallel backend run systems of one stage at the same time and
 * still end every frame with the blocking backend's world; a write the
 * declaration does not allow breaks that silently, so it is checked at three
 * levels:
 *
 * 1. Types: a system's chunk and context are typed from its declaration, so
 *    `chunk.write(Position.x)` without `Position` in `writes`, assigning
 *    through `chunk.read(...)`, or asking for an undeclared column does not
 *    type-check.
 * 2. Always, at run time, once per call (per chunk, never per entity): each
 *    thread's world has one {@linkcode AccessGate} holding the access table
 *    of the system running on that thread, and `chunk.read`, `chunk.write`,
 *    `ctx.get` and the world's field accessors consult it.
 * 3. Opt in (`checkAccess`): an {@linkcode AccessGuard} hashes every column
 *    and resource a system may not write before and after each chunk (or
 *    each `run` call) and names the field that changed.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import type { Field } from "./schema.ts";
import type { SparseFilter } from "./sparse.ts";
import type { AccessSet } from "./system.ts";

/** Access table value: the system may not touch the field. */
export const ACCESS_NONE = 0;
/** Access table value: the system may read the field. */
export const ACCESS_READ = 1;
/** Access table value: the system may read and write the field. */
export const ACCESS_WRITE = 2;

/**
 * The access of the system running now on this thread, by field id. `table`
 * is null outside systems and while a system that declares nothing runs
 * (such a system conflicts with every other, so it runs alone).
 */
export class AccessGate {
  table: Uint8Array | null = null;
  system = "";
  /** The running system's query's sparse terms (see sparse.ts), for `chunk.matches`. */
  filter: SparseFilter | null = null;

  /** Throws if a system runs and may not read `field`; `call` names the API for the message. */
  checkRead(field: Field, call: string): void {
    const table = this.table;
    if (table !== null && !(table[field?.id] >= ACCESS_READ)) this.deny(field, call, false);
  }

  /** Throws if a system runs and may not write `field`. */
  checkWrite(field: Field, call: string): void {
    const table = this.table;
    if (table !== null && table[field?.id] !== ACCESS_WRITE) this.deny(field, call, true);
  }

  /** Throws the UsageError for a denied access (call only while a table is set). */
  deny(field: Field | undefined, call: string, write: boolean): never {
    const declared = (this.table?.[field?.id ?? -1] ?? 0) >= ACCESS_READ;
    throw accessError(this.system, field, call, write, declared);
  }
}

/**
 * The access table of a system: per field id (below `fieldIdLimit`), what
 * it may do with the field; null for a system that declares nothing.
 *
 * @example
 * ```ts
 * import { defineComponent, defineSystem } from "staticecs";
 * import { accessTable } from "./access.ts";
 * import { accessOf } from "./system.ts";
 * const P = defineComponent("P", { x: "f32" });
 * const s = defineSystem({ name: "s", query: { all: [P] }, runChunk() {} });
 * const table = accessTable(accessOf(s), P.x.id + 1); // table[P.x.id] === ACCESS_READ
 * ```
 */
export function accessTable(access: AccessSet, fieldIdLimit: number): Uint8Array | null {
  if (access.undeclared) return null;
  const table = new Uint8Array(fieldIdLimit);
  for (const owner of access.reads) {
    for (const field of owner.fields) if (field.id < fieldIdLimit) table[field.id] = ACCESS_READ;
  }
  for (const owner of access.writes) {
    for (const field of owner.fields) if (field.id < fieldIdLimit) table[field.id] = ACCESS_WRITE;
  }
  return table;
}

/** The UsageError for a denied access, naming the system, the field and the fix. */
export function accessError(
  system: string,
  field: Field | undefined,
  call: string,
  write: boolean,
  declared: boolean,
): UsageError {
  if (field === null || typeof field !== "object" || typeof field.owner?.name !== "string") {
    return new UsageError(
      `system ${system}: ${call}() needs a field such as Position.x; got ${String(field)}`,
    );
  }
  const name = `${field.owner.name}.${field.name}`;
  const owner = field.owner.name;
  if (!declared) {
    return new UsageError(
      `system ${system} uses ${name} without declaring ${owner}; add ${owner} to the system's ` +
        `${write ? "writes" : "reads (or writes, or its query)"}`,
    );
  }
  return new UsageError(
    `system ${system}: ${call}(${name}) writes, but ${system} lists ${owner} only as read; add ` +
      `${owner} to writes, or read it with chunk.read(${name})`,
  );
}
