/**
 * What the inspector sends: the messages of the live stream (`GET /stream`,
 * one JSON object per server-sent event, told apart by `type`) and the
 * answers of its API, each declared once as a schema (schema.ts) with its
 * type inferred from it. Times called `...Ms` in stream messages are
 * milliseconds on the inspected process's clock (`performance.now()`), so a
 * page compares them with each other, never with its own clock; `atMs` is
 * wall-clock time (ms since 1970).
 *
 * Run stream: `hello` first, then `sample` (about 10 a second, written ten
 * at a time), `threads` (parallel backends), `world` and `backend` (with each
 * write, about one a second) and `switch` (as the adaptive backend switches).
 * Cluster stream: `hello`, then `cluster` (a few a second) and `log`.
 *
 * @module
 */

import type { Infer, Schema } from "./schema.ts";

const STRINGS = { array: "string" } as const satisfies Schema;
const NUMBERS = { array: "number" } as const satisfies Schema;
/** A row of backend counters: numbers (null where not measured yet), or a label. */
const ROW = { record: { oneOf: ["number", "string", "null"] } } as const satisfies Schema;

/** Where a run is: its tick, whether it is paused, how it is paced. */
export const RUN_STATE = {
  object: {
    /** Ticks run so far (the next tick's number). */
    tick: "number",
    paused: "boolean",
    /** Ticks per wall-clock second it is paced at; null: as fast as it can. */
    paceHz: { nullable: "number" },
    entities: "number",
  },
} as const satisfies Schema;
/** Where a run is. */
export type RunState = Infer<typeof RUN_STATE>;

/** An adaptive backend's switch, from the `onSwitch` trace hook. */
export const SWITCH_ENTRY = {
  object: {
    tMs: "number",
    tick: "number",
    /** `phase:index` for a stage, `phase:io` for a phase's I/O. */
    stage: "string",
    from: "string",
    to: "string",
    reason: "string",
  },
} as const satisfies Schema;
/** One switch. */
export type SwitchEntry = Infer<typeof SWITCH_ENTRY>;

/** The first message on the run stream: what does not change while the scene runs. */
export const RUN_HELLO = {
  object: {
    type: { literal: "hello" },
    kind: { literal: "run" },
    scene: "string",
    sceneFile: "string",
    /** "bun 1.4.5" or "deno 2.9.6". */
    runtime: "string",
    backend: "string",
    seed: "number",
    /** Simulated ticks per simulated second: dt = 1 / hz. */
    hz: "number",
    /** Threads that run systems: the pool's workers plus the calling thread, or 1. */
    threads: "number",
    /** The stream and API need the token (the inspector listens on a non-loopback address). */
    readNeedsToken: "boolean",
    systems: {
      array: {
        object: { name: "string", phase: "string", query: { nullable: "string" }, cost: "number" },
      },
    },
    components: { array: { object: { name: "string", fields: STRINGS } } },
    resources: STRINGS,
    events: STRINGS,
    stages: { array: { object: { phase: "string", index: "number", systems: STRINGS } } },
    access: {
      record: { object: { reads: STRINGS, writes: STRINGS, undeclared: "boolean" } },
    },
    /** Systems of one phase in different stages, and what keeps them apart. */
    apart: { array: { object: { first: "string", second: "string", why: "string" } } },
    /** The adaptive backend's switches so far (the newest ones). */
    switches: { array: SWITCH_ENTRY },
    /** The newest frame durations, as in a sample. */
    frames: { object: { firstTick: "number", ms: NUMBERS } },
    state: RUN_STATE,
  },
} as const satisfies Schema;
/** The run stream's first message. */
export type RunHello = Infer<typeof RUN_HELLO>;

/** Frames since the last sample, and time per system over the same window. */
export const RUN_SAMPLE = {
  object: {
    type: { literal: "sample" },
    tMs: "number",
    state: RUN_STATE,
    /** Durations of the frames since the last sample (the newest ones, if there were many). */
    frames: { object: { firstTick: "number", ms: NUMBERS } },
    /** Per system (scene order): mean ms per call over the window; null if it was not timed. */
    systemMs: { array: { nullable: "number" } },
    /** Ticks per wall-clock second over the window. */
    ticksPerSecond: "number",
  },
} as const satisfies Schema;
/** A sample. */
export type RunSample = Infer<typeof RUN_SAMPLE>;

/** The pool's last frames: one lane per thread. */
export const RUN_THREADS = {
  object: {
    type: { literal: "threads" },
    fromMs: "number",
    toMs: "number",
    /** [startMs, endMs, stage (schedule position), tick, parallel 0 or 1] */
    stages: { array: { tuple: ["number", "number", "number", "number", "number"] } },
    /** [thread, startMs, endMs, system, archetype (-1 run, -2 whole query), first, end chunk, stolen 0 or 1] */
    tasks: {
      array: {
        tuple: ["number", "number", "number", "number", "number", "number", "number", "number"],
      },
    },
    /** [thread, startMs, endMs] */
    parks: { array: { tuple: ["number", "number", "number"] } },
    /** Counters per thread since start (0 is the calling thread). */
    threads: { array: ROW },
  },
} as const satisfies Schema;
/** Thread lanes. */
export type RunThreads = Infer<typeof RUN_THREADS>;

/** Archetypes, resources and event queues. */
export const RUN_WORLD = {
  object: {
    type: { literal: "world" },
    tick: "number",
    entities: "number",
    /** Archetypes that exist but hold no entity now (not listed). */
    emptyArchetypes: "number",
    archetypes: {
      array: {
        object: {
          id: "number",
          components: STRINGS,
          entities: "number",
          chunks: "number",
          bytes: "number",
        },
      },
    },
    resources: {
      array: {
        object: {
          name: "string",
          fields: {
            array: {
              object: {
                name: "string",
                type: "string",
                /** The value, or an array field's first elements (see length). */
                values: NUMBERS,
                length: "number",
              },
            },
          },
        },
      },
    },
    events: {
      array: {
        object: {
          name: "string",
          capacity: "number",
          /** Emitted during the last frame that ran. */
          lastFrame: "number",
          frameBefore: "number",
          /** Events emitted since start. */
          total: "number",
        },
      },
    },
  },
} as const satisfies Schema;
/** The world view. */
export type RunWorld = Infer<typeof RUN_WORLD>;

/** The backend's counters and choices. */
export const RUN_BACKEND = {
  object: {
    type: { literal: "backend" },
    tMs: "number",
    name: "string",
    /** The backend's numeric counters. */
    counters: { record: "number" },
    /** Adaptive: per stage, the mode, runs, mean ms per mode, switches, and why. */
    stages: { nullable: { array: ROW } },
    /** Adaptive: per phase with I/O, the same for batched and direct I/O. */
    io: { nullable: { array: ROW } },
    /** The I/O executor, if the scene does I/O: its counters and failed operations by errno. */
    executor: {
      nullable: {
        object: {
          kind: "string",
          reason: "string",
          counters: { record: "number" },
          errors: { record: "number" },
        },
      },
    },
  },
} as const satisfies Schema;
/** The backend view. */
export type RunBackend = Infer<typeof RUN_BACKEND>;

/** A switch, as it happens. */
export const RUN_SWITCH = {
  object: { type: { literal: "switch" }, ...SWITCH_ENTRY.object },
} as const satisfies Schema;

/** Every message of the run stream, by type. */
export const RUN_MESSAGES: Readonly<Record<string, Schema>> = {
  hello: RUN_HELLO,
  sample: RUN_SAMPLE,
  threads: RUN_THREADS,
  world: RUN_WORLD,
  backend: RUN_BACKEND,
  switch: RUN_SWITCH,
};

/** `GET /api/entity?handle=N`: one entity, or why the handle names none. */
export const ENTITY_ANSWER = {
  object: {
    handle: "number",
    alive: "boolean",
    /** Why a handle names no live entity (stale, never used, out of range). */
    why: { nullable: "string" },
    index: "number",
    generation: "number",
    archetype: { nullable: "number" },
    components: { array: { object: { name: "string", values: { record: "number" } } } },
  },
} as const satisfies Schema;
/** An entity lookup's answer. */
export type EntityAnswer = Infer<typeof ENTITY_ANSWER>;

/** `GET /api/query?...`: a page of a query's entities. */
export const QUERY_ANSWER = {
  object: {
    /** The query, in words. */
    query: "string",
    total: "number",
    offset: "number",
    entities: NUMBERS,
  },
} as const satisfies Schema;
/** A query page. */
export type QueryAnswer = Infer<typeof QUERY_ANSWER>;

/** `POST /api/control`: the run's state after the action. */
export const CONTROL_ANSWER = {
  object: { state: RUN_STATE },
} as const satisfies Schema;

/** A refusal or a bad request. */
export const ERROR_ANSWER = { object: { error: "string" } } as const satisfies Schema;

/** A line of the cluster log. */
export const LOG_ENTRY = {
  object: {
    /** Wall-clock time, ms since 1970. */
    atMs: "number",
    /** "failover", "handoff", "transfer" or "info". */
    kind: "string",
    text: "string",
    /** How long it took, where that is known (a handoff: revoke to arrival). */
    ms: { nullable: "number" },
  },
} as const satisfies Schema;
/** A log entry. */
export type LogEntry = Infer<typeof LOG_ENTRY>;

/** The first message on the cluster stream. */
export const CLUSTER_HELLO = {
  object: {
    type: { literal: "hello" },
    kind: { literal: "cluster" },
    partitions: "number",
    heartbeatIntervalMs: "number",
    failureTimeoutMs: "number",
    checkpointEveryTicks: "number",
    readNeedsToken: "boolean",
    log: { array: LOG_ENTRY },
  },
} as const satisfies Schema;
/** The cluster stream's first message. */
export type ClusterHello = Infer<typeof CLUSTER_HELLO>;

/** Members and partitions now. */
export const CLUSTER_STATE = {
  object: {
    type: { literal: "cluster" },
    tMs: "number",
    uptimeMs: "number",
    members: {
      array: {
        object: {
          id: "number",
          address: "string",
          state: "string",
          partitions: NUMBERS,
          tick: "number",
          /** Over the last second or so, from the ticks its heartbeats reported. */
          ticksPerSecond: "number",
          tickMsMean: "number",
          /** Fraction of wall time the member spends in frames: tickMsMean * ticks/s / 1000. */
          load: "number",
          entities: "number",
          lastHeartbeatAgoMs: "number",
        },
      },
    },
    partitions: {
      array: {
        object: {
          id: "number",
          owner: { nullable: "number" },
          entities: "number",
          state: "string",
        },
      },
    },
    transfers: {
      object: { entities: "number", frames: "number", entitiesPerSecond: "number" },
    },
    failovers: "number",
  },
} as const satisfies Schema;
/** The cluster view. */
export type ClusterState = Infer<typeof CLUSTER_STATE>;

/** New log entries. */
export const CLUSTER_LOG = {
  object: { type: { literal: "log" }, entries: { array: LOG_ENTRY } },
} as const satisfies Schema;

/** Every message of the cluster stream, by type. */
export const CLUSTER_MESSAGES: Readonly<Record<string, Schema>> = {
  hello: CLUSTER_HELLO,
  cluster: CLUSTER_STATE,
  log: CLUSTER_LOG,
};
