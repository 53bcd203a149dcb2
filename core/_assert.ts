/**
 * The one assertion helper. An assertion states an invariant the code relies
 * on (deque indices, ring masks, a memory layout agreeing with its size
 * computation); one that fires is a bug report, not an error a user caused,
 * so it throws an `InvariantError` naming the invariant. Pass a function for
 * a message that costs something to build: hot paths then pay for it only
 * when the invariant breaks.
 *
 * @module
 */

/** An invariant of StaticECS's own code did not hold: a bug to report. */
export class InvariantError extends Error {
  override name = "InvariantError";
}

/**
 * Throws an InvariantError saying `invariant broken: <invariant>` when
 * `condition` is false.
 *
 * @example
 * ```ts
 * import { assert } from "./_assert.ts";
 * const entries = 8, mask = 7;
 * assert(mask === entries - 1, "ring: masks are entries - 1");
 * assert(entries > 0, () => `ring: ${entries} entries`);
 * ```
 */
export function assert(condition: boolean, invariant: string | (() => string)): asserts condition {
  if (condition) return;
  const what = typeof invariant === "string" ? invariant : invariant();
  throw new InvariantError(`invariant broken: ${what}`);
}
