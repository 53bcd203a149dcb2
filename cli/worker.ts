/**
 * The CLI's work-stealing worker entry: maps "staticecs" for the scene
 * (under Bun), then runs the pool worker. It is one entry point of the
 * compiled binary, so a worker thread of the binary has one copy of the API,
 * shared by the scene and the worker.
 *
 * @module
 */

import "./_bun_preload.ts";
import "../core/scheduler/worker.ts";
