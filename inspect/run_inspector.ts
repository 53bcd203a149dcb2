/**
 * The run inspector: `staticecs run scene.ts --inspect [HOST:PORT]` serves a
 * page and a live stream of the scene while it runs.
 *
 * The model. The runtime already keeps what the page shows: frame durations
 * (the run's tick ring), time per system, the backend's counters and the
 * adaptive backend's choices, the I/O executor's counters, the world's
 * archetypes, resources and event queues. A timer on the calling thread
 * samples them about ten times a second (SAMPLE_INTERVAL_MS), between ticks
 * (the run loop yields every 50 ms or so), and only while a page watches:
 * with no page open the inspector does nothing but listen, and with
 * `--inspect` off it does not exist. The one record kept per task (for the
 * Threads lanes) is written by the pool's threads only while a page watches
 * (core/scheduler/task_trace.ts). Reads happen between frames, so they see
 * whole frames, and never write: the only way the page changes anything is
 * the control route (pause, step, resume, pace), which needs the token
 * printed at start and acts through the run loop, between ticks, without
 * touching `dt`. See `_guard.ts` for who may do what.
 *
 * Routes: `/` the page (and its script, styles and chart library),
 * `/stream` the live stream (messages.ts), `/api/entity?handle=N`,
 * `/api/query?system=S` or `?all=A,B&none=C` (with `offset`, `limit`),
 * `POST /api/control` with `{"action": "pause" | "resume" | "step" | "pace",
 * "hz": H | null}`.
 *
 * @module
 */

import type { Runtime, TraceHooks } from "../core/runtime.ts";
import { describeSchedule } from "../core/schedule.ts";
import { type Component, ownerOf } from "../core/schema.ts";
import type { QuerySpec } from "../core/query.ts";
import type { TickStats } from "../cli/_tick_stats.ts";
import { hostRuntime } from "../core/_host.ts";
import { HZ_MAX } from "../core/runtime.ts";
import { formatHostPort } from "../cluster/transport.ts";
import { Guard, newToken } from "./_guard.ts";
import { type HttpServer, serveHttp } from "./http.ts";
import type { RunHello, RunState, SwitchEntry } from "./messages.ts";
import { RUN_PAGE_ASSETS } from "./page/run_page.ts";
import { RunSampler } from "./_run_sampler.ts";
import { type Route, siteHandler } from "./_site.ts";
import { LiveStream } from "./_stream.ts";
import { ControlRefused, type RunControl } from "./run_control.ts";
import { describeEntity, parseHandle, queryPage, ViewError, worldMessage } from "./_world_view.ts";
import { resourceStores, sceneComponents } from "../core/_world_internal.ts";

/** Where `--inspect` listens when given no address. */
export const DEFAULT_RUN_INSPECT_ADDRESS = "127.0.0.1:7477";
/** Milliseconds between samples while a page watches (about 10 a second). */
export const SAMPLE_INTERVAL_MS = 100;
/**
 * Samples sent to the pages in one write (about one write a second), with the
 * thread lanes, world and backend messages of that moment: each write wakes a
 * browser's network, IPC and script machinery once, and a browser on the
 * run's own cores takes those moments from the run (on work-stealing a
 * preempted worker holds up the whole stage). The page redraws once a
 * second, on the write, so it loses nothing.
 */
export const SAMPLES_PER_WRITE = 10;
/** Adaptive switches a page gets when it opens (the newest). */
export const SWITCHES_KEPT_MAX = 200;

/**
 * The adaptive backend's switches as they happen (its `onSwitch` trace
 * hook), kept for pages that open later and passed on to those watching.
 *
 * @example
 * ```ts ignore
 * const switches = new SwitchLog();
 * const runtime = await Runtime.create(scene, { backend, trace: switches.hooks });
 * ```
 */
export class SwitchLog {
  readonly entries: SwitchEntry[] = [];
  /** Where new switches go once the inspector runs. */
  onEntry: (entry: SwitchEntry) => void = () => {};
  private readonly startedMs = performance.now();

  /** The trace hooks to give the runtime: only `onSwitch`, which fires on a switch alone. */
  readonly hooks: TraceHooks = {
    onSwitch: (event) => {
      const entry = { tMs: performance.now() - this.startedMs, ...event };
      this.entries.push(entry);
      if (this.entries.length > SWITCHES_KEPT_MAX) this.entries.shift();
      this.onEntry(entry);
    },
  };
}

/** What the run inspector inspects, and where it listens. */
export interface RunInspectorOptions {
  readonly host: string;
  readonly port: number;
  readonly runtime: Runtime;
  /** The run's frame durations. */
  readonly frames: TickStats;
  readonly control: RunControl;
  readonly switches: SwitchLog;
  readonly sceneName: string;
  readonly sceneFile: string;
  /** Given, instead of a new random one (tests). */
  readonly token?: string;
}

/**
 * A running inspector.
 *
 * @example
 * ```ts ignore
 * const inspector = await RunInspector.start({ host: "127.0.0.1", port: 7477, ... });
 * console.error(inspector.banner());
 * await inspector.close();
 * ```
 */
export class RunInspector {
  readonly token: string;
  readonly server: HttpServer;
  private readonly runtime: Runtime;
  private readonly stream: LiveStream;
  private readonly sampler: RunSampler;
  private timer: ReturnType<typeof setInterval> | undefined;
  private samples = 0;
  /** Messages sampled since the last write. */
  private unsent: unknown[] = [];

  private constructor(
    token: string,
    server: HttpServer,
    stream: LiveStream,
    sampler: RunSampler,
    runtime: Runtime,
  ) {
    this.token = token;
    this.server = server;
    this.stream = stream;
    this.sampler = sampler;
    this.runtime = runtime;
  }

  /** Starts listening; rejects if the address cannot be bound. */
  static async start(options: RunInspectorOptions): Promise<RunInspector> {
    const token = options.token ?? newToken();
    const guard = new Guard(options.host, token);
    const sampler = new RunSampler(options.runtime, options.frames, options.control);
    const stream = new LiveStream(() => hello(options, sampler, guard.loopback));
    const site = {
      assets: RUN_PAGE_ASSETS,
      stream,
      routes: runRoutes(options),
      isBadRequest: (error: unknown) =>
        error instanceof ViewError || error instanceof ControlRefused,
    };
    const server = await serveHttp(options.host, options.port, siteHandler(site, guard));
    const inspector = new RunInspector(token, server, stream, sampler, options.runtime);
    stream.onWatchers = (count) => inspector.watchersChanged(count);
    options.switches.onEntry = (entry) => stream.send({ type: "switch", ...entry });
    return inspector;
  }

  /** The page's address. */
  get url(): string {
    return `http://${formatHostPort(this.server.host, this.server.port)}/`;
  }

  /** The lines to print at start: where the page is, and the token. */
  banner(): string {
    return `staticecs: inspector on ${this.url} (read-only there; to pause, step and pace open ` +
      `${this.url}#token=${this.token})`;
  }

  /** Ends the streams, stops sampling and listening. */
  async close(): Promise<void> {
    this.watchersChanged(0);
    this.stream.closeAll();
    await this.server.close();
  }

  private watchersChanged(count: number): void {
    if (count > 0 && this.timer === undefined) {
      this.sampler.startWatching();
      this.unsent = [];
      this.timer = setInterval(() => this.tick(), SAMPLE_INTERVAL_MS);
    } else if (count === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sampler.stopWatching();
    }
  }

  private tick(): void {
    const messages = this.unsent;
    messages.push(this.sampler.sample());
    if (++this.samples % SAMPLES_PER_WRITE !== 0) return;
    const lanes = this.sampler.threadLanes();
    if (lanes !== undefined) messages.push(lanes);
    messages.push(worldMessage(this.runtime.world, this.runtime.ticks), this.sampler.backend());
    this.stream.sendAll(messages);
    this.unsent = [];
  }
}

function hello(options: RunInspectorOptions, sampler: RunSampler, loopback: boolean): RunHello {
  const { runtime } = options;
  const { name, version } = hostRuntime();
  const scene = runtime.scene;
  return {
    type: "hello",
    kind: "run",
    scene: options.sceneName,
    sceneFile: options.sceneFile,
    runtime: `${name} ${version}`,
    backend: runtime.backend.name,
    seed: runtime.seed,
    hz: runtime.hz,
    threads: sampler.threads,
    readNeedsToken: !loopback,
    systems: runtime.schedule.systems.map((entry) => ({
      name: entry.system.name,
      phase: entry.system.phase!,
      query: entry.system.query === undefined ? null : describeQuery(entry.system.query),
      cost: entry.system.cost ?? 1,
    })),
    components: runtime.world[sceneComponents].map((c) => ({
      name: c.name,
      fields: c.fields.map((f) => f.name),
    })),
    resources: [...runtime.world[resourceStores].keys()].map((r) => r.name),
    events: (scene.events ?? []).map((e) => ownerOf(e).name),
    ...describeSchedule(runtime.schedule),
    switches: [...options.switches.entries],
    frames: sampler.recentFrames(),
    state: sampler.state(),
  };
}

/** A query in words: "all: Position, Velocity; none: Frozen". */
function describeQuery(spec: QuerySpec): string {
  const names = (list: readonly Component[] | undefined) =>
    (list ?? []).map((c) => ownerOf(c).name).join(", ");
  const parts = [`all: ${names(spec.all)}`];
  if ((spec.none ?? []).length > 0) parts.push(`none: ${names(spec.none)}`);
  if ((spec.optional ?? []).length > 0) parts.push(`optional: ${names(spec.optional)}`);
  return parts.join("; ");
}

function runRoutes(options: RunInspectorOptions): Record<string, Route> {
  const { runtime, control } = options;
  return {
    "/api/entity": {
      method: "GET",
      need: "read",
      handle: (url) =>
        Response.json(describeEntity(runtime.world, parseHandle(url.searchParams.get("handle")))),
    },
    "/api/query": {
      method: "GET",
      need: "read",
      handle: (url) => Response.json(queryPage(runtime.world, runtime.schedule, url.searchParams)),
    },
    "/api/control": {
      method: "POST",
      need: "control",
      handle: async (_url, body) => Response.json({ state: await applyControl(control, body) }),
    },
  };
}

/** Parses and applies one control request. */
async function applyControl(control: RunControl, body: string): Promise<RunState> {
  let request: { action?: unknown; hz?: unknown };
  try {
    request = JSON.parse(body);
  } catch {
    throw new ControlRefused(`the body must be JSON such as {"action": "pause"}; got ${body}`);
  }
  switch (request?.action) {
    case "pause":
      return control.pause();
    case "resume":
      return control.resume();
    case "step":
      return await control.step();
    case "pace":
      return control.pace(checkPace(request.hz));
    default:
      throw new ControlRefused(
        `action must be "pause", "resume", "step" or "pace"; got ${
          JSON.stringify(request?.action)
        }`,
      );
  }
}

function checkPace(hz: unknown): number | undefined {
  if (hz === null) return undefined;
  if (typeof hz !== "number" || !(hz > 0 && hz <= HZ_MAX)) {
    throw new ControlRefused(
      `hz must be a number of ticks per second above 0 and at most ${HZ_MAX}, or null to ` +
        `run as fast as it can; got ${JSON.stringify(hz)}`,
    );
  }
  return hz;
}
