/**
 * Runs one system on the calling thread: each non-empty matching chunk in
 * archetype then chunk order, or the `run` body once. Shared by every
 * backend's inline path.
 *
 * @module
 */

import type { ScheduledSystem } from "../schedule.ts";
import type { RuntimeState } from "./backend.ts";
import type { Chunk } from "../archetype.ts";
import { arena } from "../_world_internal.ts";
import type { SystemContext } from "../context.ts";

/**
 * Runs `entry` over all its chunks (or once), recording into its context's commands.
 *
 * @example
 * ```ts
 * import { executeSystem, type RuntimeState, type Stage } from "staticecs/backend";
 * function runInline(state: RuntimeState, stage: Stage): void {
 *   for (const entry of stage.systems) executeSystem(state, entry);
 * }
 * ```
 */
export function executeSystem(state: RuntimeState, entry: ScheduledSystem): void {
  const ctx = state.contexts[entry.index];
  ctx.commands.beginSegment(entry.index);
  try {
    const query = state.queries[entry.index];
    if (query === undefined) {
      ctx.beginRun();
      ctx.runBody!(ctx);
    } else {
      runChunks(query.chunks(state.world[arena].chunkLayoutVersion), ctx);
    }
  } finally {
    ctx.finish();
  }
}

/**
 * The chunk loop (one flat loop: see Query.chunks), outside the try block above: a body that the JIT inlines
 * here keeps its loop out of a try region (on V8, a loop inlined into one ran
 * about 3x slower, its values kept for the exception handler).
 */
function runChunks(chunks: readonly Chunk[], ctx: SystemContext): void {
  const runChunk = ctx.chunkBody!;
  ctx.beginChunks();
  for (let k = 0; k < chunks.length; k++) {
    const chunk = chunks[k];
    if (chunk.count === 0) continue;
    ctx.beginChunk(chunk.archetype.id, chunk.index);
    runChunk(chunk, ctx);
  }
}
