/**
 * World configuration: every bound the world enforces, with its default.
 *
 * @module
 */

import { SceneError } from "./errors.ts";
import { OPEN_FILES_LIMIT } from "./_io_handles.ts";

/**
 * Bounds and sizes of a world. All are fixed when the world is built.
 *
 * @example
 * ```ts
 * import { defineScene, type WorldConfig } from "staticecs";
 * const config: Partial<WorldConfig> = { maxEntities: 50_000, maxCommandsPerFrame: 4096 };
 * const scene = defineScene({ components: [], systems: [], config });
 * ```
 */
export interface WorldConfig {
  /** Most entities alive at once (handles are 32-bit; at most 16,777,215). */
  readonly maxEntities: number;
  /** Most archetypes (distinct component sets) the world may create. */
  readonly maxArchetypes: number;
  /** Rows per chunk, a power of two from 16 to 65,536: the unit of iteration and of parallel work. */
  readonly chunkRows: number;
  /** Most command records (spawn, despawn, add, remove, set, emit) one frame may record. */
  readonly maxCommandsPerFrame: number;
  /** Most bytes of component memory, summed over its shared-memory segments. */
  readonly maxMemoryBytes: number;
  /** Bytes per shared-memory segment that chunks are carved from (a larger chunk gets its own). */
  readonly segmentBytes: number;
  /** Most I/O intents (ctx.io) one phase may record. */
  readonly maxIoPerPhase: number;
  /** Most files open at once through ctx.io (the size of the runtime's handle table). */
  readonly maxOpenFiles: number;
}

/**
 * The defaults; `maxEntities` reaches 1,000,000 without any setting.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG } from "staticecs";
 * DEFAULT_CONFIG.maxEntities; // 1_000_000
 * ```
 */
export const DEFAULT_CONFIG: WorldConfig = Object.freeze({
  maxEntities: 1_000_000,
  maxArchetypes: 1024,
  chunkRows: 1024,
  maxCommandsPerFrame: 1 << 16,
  maxMemoryBytes: 1 << 30,
  segmentBytes: 1 << 22,
  maxIoPerPhase: 4096,
  maxOpenFiles: 1024,
});

const LIMITS: Record<keyof WorldConfig, [number, number]> = {
  maxEntities: [1, (1 << 24) - 1],
  maxArchetypes: [1, 1 << 16],
  chunkRows: [16, 1 << 16],
  maxCommandsPerFrame: [16, 1 << 24],
  maxMemoryBytes: [1 << 16, 2 ** 40],
  segmentBytes: [1 << 12, 1 << 30],
  maxIoPerPhase: [1, 1 << 20],
  maxOpenFiles: [1, OPEN_FILES_LIMIT],
};

/** Fills defaults and checks every value, naming the key and its range on error. */
export function resolveConfig(partial: Partial<WorldConfig> = {}): WorldConfig {
  const out: Record<string, number> = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(LIMITS, key)) {
      throw new SceneError(
        `config: unknown key "${key}"; known keys are ${Object.keys(LIMITS).join(", ")}`,
      );
    }
    const [low, high] = LIMITS[key as keyof WorldConfig];
    if (!Number.isInteger(value) || value < low || value > high) {
      throw new SceneError(
        `config.${key} must be an integer from ${low} to ${high}; got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  if ((out.chunkRows & (out.chunkRows - 1)) !== 0) {
    throw new SceneError(`config.chunkRows must be a power of two; got ${out.chunkRows}`);
  }
  return Object.freeze(out) as unknown as WorldConfig;
}
