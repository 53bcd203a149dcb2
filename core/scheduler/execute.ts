/**
 * Runs one system on the calling thread: each non-empty matching chunk in
 * archetype then chunk order, or the `run` body once. Shared by every
 * backend's inline path.
 *
 * @module
 */

import type { ScheduledSystem } from "../schedule.ts";
import type { RuntimeState } from "./backend.ts";

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
      return;
    }
    const runChunk = ctx.chunkBody!;
    const archetypes = query.archetypes;
    for (let a = 0; a < archetypes.length; a++) {
      const chunks = archetypes[a].chunks;
      for (let c = 0; c < chunks.length; c++) {
        const chunk = chunks[c];
        if (chunk.count === 0) break;
        ctx.beginChunk(chunk.archetype.id, c);
        runChunk(chunk, ctx);
      }
    }
  } finally {
    ctx.finish();
  }
}
