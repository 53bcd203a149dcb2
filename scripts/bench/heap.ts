/**
 * Heap growth per frame of the example scenes a new user runs first, on the
 * blocking backend and on work-stealing (one worker, every stage of two or
 * more chunks on the pool), against the baseline of an empty scene on the
 * same backend in the same run: the runtime's own frame. A scene's systems
 * should allocate nothing per frame; where one does, a float boxed by V8
 * (a variable that may also hold an integer constant, a double returned from
 * a call that is not inlined) is the usual cause, and it shows here long
 * before it shows in ticks per second.
 *
 * Each scene and backend runs in a child process of its own: in one process
 * the runtime's code would see every scene in turn, and its type feedback
 * (and so what V8 boxes) would not be that of a real run. Prints, per scene
 * and backend, bytes per frame, the bytes over the empty scene's, frames per
 * second, and work-stealing's frames ÷ blocking's. On Bun the bytes are
 * heapPerOp's (_harness.ts: heap growth over batches after a full GC); on
 * Deno they come from V8's sampling heap profiler over 2,000 frames, which
 * counts collected objects too, and the function that allocated the most is
 * named.
 *
 * Usage:
 *   npx bun scripts/bench/heap.ts [--json] [--quick] [--rounds N]
 *   npx deno run -A scripts/bench/heap.ts [same options]
 *   (`--scene NAME --backend blocking|work-stealing` measures one, in this process: what a
 *   child does)
 *
 * @module
 */

import { Session } from "node:inspector";
import process from "node:process";
import { BlockingBackend, Runtime, type Scene, WorkStealingBackend } from "staticecs";
import {
  benchOptions,
  formatNumber,
  formatTable,
  frameTiming,
  heapPerOp,
  interleave,
  median,
  prepareRunner,
  printJson,
  type Row,
  runtimeName,
} from "./_harness.ts";
import { measurementInChild } from "./_cluster_child.ts";

const options = benchOptions({
  script: "heap.ts",
  usage: "usage: heap.ts [--json] [--quick] [--rounds N] [--scene NAME --backend NAME]",
  rounds: { quick: 3, full: 7 },
  options: { scene: "string", backend: "string" },
}, (args) => args);
const { rounds } = options;
const timing = frameTiming(options);

/** The examples measured, by file under examples/; "empty" (scenes/empty.ts) is the baseline. */
const SCENES = ["empty", "hello", "boids", "lifecycle", "tour"] as const;
const BACKENDS = ["blocking", "work-stealing"] as const;
/** Frames run before measuring, so every system is compiled by the optimizing tier. */
const WARMUP_FRAMES = 300;
/** Most frames one heap batch may take. */
const HEAP_OPS_MAX = 2_000;
const THROUGHPUT = { frameTiming: false, systemTimingEvery: 0 } as const;

async function load(name: typeof SCENES[number]): Promise<{ scene: Scene; url: string }> {
  const file = name === "empty" ? "./scenes/empty.ts" : `../../examples/${name}.ts`;
  const url = new URL(file, import.meta.url).href;
  return { scene: (await import(url)).default as Scene, url };
}

/** Frames the V8 allocation sampler watches. */
const SAMPLED_FRAMES = 2_000;
/** Bytes between two samples of V8's sampling heap profiler: small, so the figure is close. */
const SAMPLING_INTERVAL_BYTES = 64;

interface Measured {
  bytes: number;
  frames: number;
  /** Where V8 sampled the most bytes (function file:line), or "" on Bun or with none. */
  site: string;
}

async function measure(
  name: typeof SCENES[number],
  backendName: typeof BACKENDS[number],
): Promise<Measured> {
  const { scene, url } = await load(name);
  const backend = backendName === "blocking"
    ? new BlockingBackend()
    : new WorkStealingBackend({ sceneUrl: url, workers: 1, minParallelWork: 0 });
  const runtime = await Runtime.create(scene, { ...THROUGHPUT, backend });
  try {
    runtime.run(WARMUP_FRAMES);
    const runner = await prepareRunner(`${name} ${backendName}`, () => runtime.tick());
    const [frames] = (await interleave([runner], timing)).map(median);
    if (runtimeName() === "bun") {
      return {
        bytes: (await heapPerOp(runner, rounds, HEAP_OPS_MAX)).grownBytes,
        frames,
        site: "",
      };
    }
    const sampled = await sampleAllocations(() => runtime.run(SAMPLED_FRAMES));
    return { bytes: sampled.bytes / SAMPLED_FRAMES, frames, site: sampled.site };
  } finally {
    await runtime.close();
  }
}

/**
 * Bytes V8 allocated on this thread while `work` ran, garbage included, from its sampling heap
 * profiler (through node:inspector), and the function that allocated the most. V8's
 * `total_allocated_bytes` (what heapPerOp reads) also counts what young-generation collections
 * copy, and read 0.2 to 28 KB a frame for a scene whose frames allocate nothing.
 */
async function sampleAllocations(work: () => void): Promise<{ bytes: number; site: string }> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (error, result) => error ? reject(error) : resolve(result as T))
    );
  try {
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", {
      samplingInterval: SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
    work();
    const { profile } = await post<{ profile: { head: SampledNode } }>("HeapProfiler.stopSampling");
    const bySite = new Map<string, number>();
    let bytes = 0;
    const walk = (node: SampledNode) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const site = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`;
      bytes += node.selfSize;
      if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    const top = [...bySite].sort((a, b) => b[1] - a[1])[0];
    return { bytes, site: top === undefined ? "" : top[0] };
  } finally {
    session.disconnect();
  }
}

interface SampledNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SampledNode[];
}

const { scene: sceneArg, backend: backendArg } = options.values;
if (sceneArg !== undefined || backendArg !== undefined) {
  const name = sceneArg as typeof SCENES[number],
    backendName = backendArg as typeof BACKENDS[number];
  if (!SCENES.includes(name) || !BACKENDS.includes(backendName)) {
    throw new Error(`--scene takes ${SCENES.join(", ")} and --backend ${BACKENDS.join(" or ")}`);
  }
  console.log(JSON.stringify(await measure(name, backendName)));
  process.exit(0);
}

const rows: Row[] = [];
const table: string[][] = [];
const baseline: Record<string, number> = {};
/** Where each scene allocates most (V8 only). */
const sites: Record<string, string> = {};
/** Bytes a frame below which the table leaves the allocation site out (sampling noise). */
const SITE_SHOWN_BYTES_MIN = 16;
/** Frames per second on work-stealing ÷ on blocking, per scene. */
const ratios: Record<string, number> = {};
for (const name of SCENES) {
  const framesBy: Record<string, number> = {};
  for (const backendName of BACKENDS) {
    const { bytes, frames, site } = measurementInChild<Measured>(
      import.meta.url,
      options,
      ["--scene", name, "--backend", backendName],
      `${name} (${backendName})`,
    );
    if (name === "empty") baseline[backendName] = bytes;
    framesBy[backendName] = frames;
    rows.push({ case: name, subject: backendName, value: bytes, unit: "B/frame" });
    rows.push({ case: name, subject: backendName, value: frames, unit: "frames/s" });
    table.push([
      name,
      backendName,
      formatNumber(bytes, 1),
      formatNumber(bytes - baseline[backendName], 1),
      formatNumber(frames, 0),
      bytes >= SITE_SHOWN_BYTES_MIN ? site : "",
    ]);
    if (site !== "") sites[`${name} ${backendName}`] = site;
  }
  ratios[name] = framesBy["work-stealing"] / framesBy.blocking;
}

if (options.json) {
  printJson({ bench: "heap", runtime: runtimeName(), rows, ratios, baseline, sites });
} else {
  console.log(
    `heap growth per frame on ${runtimeName()}, after ${WARMUP_FRAMES} frames of warm-up, ` +
      `median of ${rounds} batches; work-stealing runs one worker and puts every stage of two ` +
      `or more chunks on the pool`,
  );
  console.log(formatTable(
    ["scene", "backend", "bytes/frame", "over the empty scene", "frames/s", "allocates most"],
    table,
  ));
  console.log(
    `frames/s on work-stealing ÷ blocking: ` +
      SCENES.map((name) => `${name} ${formatNumber(ratios[name], 2)}`).join(", "),
  );
}
