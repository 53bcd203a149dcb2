/**
 * I/O executors for the runtime: `RingExecutor` runs a phase's intents as
 * io_uring operations (one `io_uring_enter` for the whole batch while the
 * submission queue holds it; a larger batch is submitted and refilled, never
 * cut short), and `openIoExecutor` picks it where io_uring is usable, or the
 * portable path with the reason otherwise.
 *
 * An fsync or a close carries IOSQE_IO_DRAIN, so it starts only after every
 * operation submitted before it in the batch completed, as on the portable
 * path, which runs intents one by one in record order.
 *
 * @module
 */

import { IO_OP, type IoBatch, type IoExecutor } from "../core/io.ts";
import type { IoPair } from "../core/scheduler/adaptive.ts";
import { PortableExecutor } from "./portable.ts";
import { ErrnoTally } from "./_errno.ts";
import {
  AT_FDCWD,
  COMPLETION_FIELDS,
  COMPLETION_RESULT,
  COMPLETION_USER_DATA,
  IoUringUnavailableError,
  openRing,
  pathBytes,
  type Ring,
  SQE_FLAG,
} from "./ring.ts";

/**
 * Submission queue entries of the executor's ring unless told otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_RING_ENTRIES, openIoExecutor } from "staticecs/backend";
 * const io = await openIoExecutor({ entries: 4 * DEFAULT_RING_ENTRIES });
 * io.close();
 * ```
 */
export const DEFAULT_RING_ENTRIES = 256;

/**
 * Runs batches through one io_uring ring.
 *
 * @example
 * ```ts
 * import { openIoExecutor, RingExecutor } from "staticecs/backend";
 * const io = await openIoExecutor();
 * io instanceof RingExecutor; // true where io_uring is usable (io.reason says why not)
 * io.close();
 * ```
 */
export class RingExecutor implements IoExecutor {
  readonly kind = "io_uring";
  readonly reason: string;
  private readonly ring: Ring;
  private readonly completions: Float64Array;
  private operations = 0;
  private enters = 0;
  private batches = 0;
  private readonly failures = new ErrnoTally();

  constructor(ring: Ring, reason: string) {
    this.ring = ring;
    this.reason = reason;
    this.completions = new Float64Array(ring.inFlightMax * COMPLETION_FIELDS);
  }

  run(batch: IoBatch): void {
    const ring = this.ring;
    let prepared = 0;
    let done = 0;
    while (prepared < batch.count) {
      if (this.prep(batch, prepared)) {
        prepared++;
        continue;
      }
      // No room: hand the kernel what is prepared; if the ring is at its in-flight bound,
      // wait for a completion to free a slot.
      const mustWait = ring.sqeAvailable() === 0 && ring.pendingCount === 0;
      this.enter(mustWait ? 1 : 0);
      done += this.reap(batch);
    }
    while (done < batch.count) {
      // Everything is prepared: one enter submits the rest and waits for all of it.
      this.enter(ring.inFlightCount);
      done += this.reap(batch);
    }
    this.operations += batch.count;
    this.batches++;
  }

  stats(): Record<string, number> {
    return {
      ioOperations: this.operations,
      ioBatches: this.batches,
      ioEnterCalls: this.enters,
    };
  }

  errors(): Record<string, number> {
    return this.failures.byName();
  }

  close(): void {
    this.ring.close();
  }

  /** One io_uring_enter: submits what is prepared and waits for `wait` completions. */
  private enter(wait: number): void {
    this.enters++;
    if (wait > 0) this.ring.submitAndWait(Math.min(wait, this.ring.inFlightCount));
    else this.ring.submit();
  }

  /** Copies ready completions into the batch's results; returns how many. */
  private reap(batch: IoBatch): number {
    const out = this.completions;
    const count = this.ring.reapCompletions(out);
    for (let c = 0; c < count; c++) {
      const i = out[c * COMPLETION_FIELDS + COMPLETION_USER_DATA];
      batch.result[i] = out[c * COMPLETION_FIELDS + COMPLETION_RESULT];
      this.failures.note(batch.result[i]);
    }
    return count;
  }

  /** Prepares intent `i` (user_data = i); false if the ring has no room now. */
  private prep(batch: IoBatch, i: number): boolean {
    const ring = this.ring;
    const fd = batch.fd[i];
    switch (batch.op[i]) {
      case IO_OP.write:
        return ring.prepWrite(i, fd, batch.buffers[i]!, batch.offset[i]);
      case IO_OP.read:
        return ring.prepRead(i, fd, batch.buffers[i]!, batch.offset[i]);
      case IO_OP.fsync:
        return ring.prepFsync(i, fd, batch.flags[i], SQE_FLAG.ioDrain);
      case IO_OP.close:
        return ring.prepClose(i, fd, SQE_FLAG.ioDrain);
      case IO_OP.open:
        return ring.prepOpenat(
          i,
          AT_FDCWD,
          pathBytes(batch.paths[i]!),
          batch.flags[i],
          batch.mode[i],
        );
      default:
        throw new RangeError(`intent ${i}: unknown I/O op ${batch.op[i]}`);
    }
  }
}

/**
 * How to open an executor.
 *
 * @example
 * ```ts ignore
 * import { openIoExecutor, type OpenIoOptions } from "staticecs/backend";
 * const options: OpenIoOptions = { entries: 1024 }; // a larger ring for large batches
 * const io = await openIoExecutor(options);
 * io.close();
 * ```
 */
export interface OpenIoOptions {
  /** Ring entries (DEFAULT_RING_ENTRIES if omitted). */
  readonly entries?: number;
  /** Environment read for STATICECS_IO_URING=off (the process's if omitted). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Library name or path (liburing.so.2 if omitted). */
  readonly libraryPath?: string;
}

/**
 * The io_uring executor where io_uring is usable, else the portable one
 * whose `reason` says why io_uring is not used.
 *
 * @example
 * ```ts ignore
 * import { openIoExecutor } from "./executor.ts";
 * const io = await openIoExecutor();
 * console.log(io.kind, io.reason);
 * io.close();
 * ```
 */
export async function openIoExecutor(options: OpenIoOptions = {}): Promise<IoExecutor> {
  try {
    const ring = await openRing({
      entries: options.entries ?? DEFAULT_RING_ENTRIES,
      env: options.env,
      libraryPath: options.libraryPath,
    });
    return new RingExecutor(ring, `io_uring via liburing, ${ring.sqEntries} entries`);
  } catch (error) {
    if (!(error instanceof IoUringUnavailableError)) throw error;
    return new PortableExecutor(`io_uring not used: ${error.reason}; using portable I/O`);
  }
}

/**
 * io_uring (if usable) and the direct path, for the adaptive backend to
 * choose between per phase; where io_uring is unusable, direct only, with
 * the reason.
 *
 * @example
 * ```ts ignore
 * import { openIoPair } from "./executor.ts";
 * const pair = await openIoPair();
 * console.log(pair.batched?.kind, pair.reason);
 * ```
 */
export async function openIoPair(options: OpenIoOptions = {}): Promise<IoPair> {
  const io = await openIoExecutor(options);
  if (io.kind !== "io_uring") return { direct: io, reason: io.reason };
  return { batched: io, direct: new PortableExecutor("direct I/O"), reason: io.reason };
}
