/**
 * A worker of the static even split (see _static_split.ts): it runs its one
 * slice each time the main thread bumps the frame counter, counts itself
 * done, and leaves its loop when the stop flag is set.
 *
 * @module
 */

import {
  awaitChange,
  runSlice,
  SPLIT_CONTROL,
  splitColumns,
  type SplitWorkerInit,
  type SplitWorkerReply,
} from "./_static_split.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: SplitWorkerReply): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event: MessageEvent) => {
  const init = event.data as SplitWorkerInit;
  try {
    scope.onmessage = null;
    const columns = splitColumns(init.columns, init.entities);
    const control = new Int32Array(init.control);
    // Read before saying ready: the main thread starts no frame before it hears that.
    let seen = Atomics.load(control, SPLIT_CONTROL.frame);
    scope.postMessage({ kind: "ready", thread: init.thread });
    for (;;) {
      seen = awaitChange(control, SPLIT_CONTROL.frame, seen);
      if (Atomics.load(control, SPLIT_CONTROL.stop) !== 0) break;
      runSlice(columns, init.begin, init.end);
      if (Atomics.sub(control, SPLIT_CONTROL.pending, 1) === 1) {
        Atomics.notify(control, SPLIT_CONTROL.pending);
      }
    }
    scope.postMessage({ kind: "stopped", thread: init.thread });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    scope.postMessage({ kind: "error", thread: init.thread, message });
  }
  scope.close();
};
