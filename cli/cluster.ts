/**
 * `staticecs cluster coordinator|join|status|secret`: runs a coordinator, joins one as a member
 * running a scene, asks one for its members and partitions, or prints a new secret. Every
 * connection authenticates with the shared secret (`--secret`, or the environment variable
 * STATICECS_SECRET) before anything else. The coordinator's bounds come from
 * cluster/limits.ts; an out-of-range value is reported with its flag.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { ClusterError } from "../cluster/errors.ts";
import {
  checkSecret,
  connectAuthenticated,
  generateSecret,
  saysSecretMismatch,
  SECRET_BYTES_MIN,
} from "../cluster/auth.ts";
import { Coordinator } from "../cluster/coordinator.ts";
import { CoordinatorRoles } from "../cluster/roles.ts";
import { RedisStore } from "../cluster/redis_store.ts";
import { type ClusterStore, MemoryStore } from "../cluster/store.ts";
import { transportLimitsOf } from "../cluster/transport.ts";
import {
  checkClusterLimit,
  ClusterLimitError,
  type ClusterLimitKey,
  type ClusterLimits,
  DEFAULT_CLUSTER_LIMITS,
  FAILURE_TIMEOUT_HEARTBEATS,
  resolveClusterLimits,
} from "../cluster/limits.ts";
import { ClusterMember } from "../cluster/member.ts";
import type { ClusterStatus } from "../cluster/protocol.ts";
import { tcpTransport } from "../cluster/tcp.ts";
import { parseHostPort } from "../cluster/transport.ts";
import { DEFAULT_SEED } from "../core/runtime.ts";
import { WORKERS_MAX } from "../core/scheduler/work_stealing.ts";
import {
  parseBoundedInteger,
  parsePositiveInteger,
  parsePositiveNumber,
  parseSeed,
  rephraseParseError,
  wantsHelp,
  withOptionalAddress,
} from "./_args.ts";
import {
  backendFactory,
  BACKENDS,
  DEFAULT_BACKEND,
  IO_BACKENDS,
  PARALLEL_BACKENDS,
} from "./_backends.ts";
import { BadInput, EXIT_OK, EXIT_SYSTEM_ERRORS, firstLine, Stopped } from "./_failure.ts";
import { loadScene } from "./_load_scene.ts";
import { startRuntime } from "./_start_runtime.ts";
import { listenForStop } from "./_stop_signals.ts";
import { HZ_MAX } from "./run.ts";
import {
  ClusterInspector,
  ClusterLog,
  DEFAULT_CLUSTER_INSPECT_ADDRESS,
} from "../inspect/cluster_inspector.ts";

/** The coordinator's flags for the cluster limits they set. */
const LIMIT_FLAGS = {
  partitions: "--partitions",
  heartbeatIntervalMs: "--heartbeat-ms",
  failureTimeoutMs: "--failure-ms",
  startTimeoutMs: "--start-timeout-ms",
  checkpointEveryTicks: "--checkpoint-every",
  handshakeTimeoutMs: "--handshake-ms",
  unauthenticatedConnectionsMax: "--unauthenticated-max",
  leaseMs: "--lease-ms",
} as const satisfies Partial<Record<ClusterLimitKey, string>>;

const defaults = DEFAULT_CLUSTER_LIMITS;

/** Usage of `staticecs cluster`. */
export const CLUSTER_USAGE = `Usage: staticecs cluster <coordinator|join|status|secret> [options]

  staticecs cluster coordinator --listen HOST:PORT --partitions P [options]
      run a coordinator until Ctrl-C (SIGINT) or SIGTERM, which stops every member
      --heartbeat-ms N     members' heartbeat interval (default ${defaults.heartbeatIntervalMs})
      --failure-ms N       silence after which a member is failed (default ${FAILURE_TIMEOUT_HEARTBEATS} intervals);
                           time the coordinator itself was stalled does not count
      --start-timeout-ms N time a member that joined has to start (make its runtime, and run
                           setup on the first member) before heartbeats are due (default
                           ${defaults.startTimeoutMs})
      --checkpoint-every K ticks between members' checkpoints (default ${defaults.checkpointEveryTicks})
      --handshake-ms N     time a connection has to authenticate, then to send its first
                           message (default ${defaults.handshakeTimeoutMs})
      --unauthenticated-max N  connections authenticating at once; one more evicts the oldest
                           (default ${defaults.unauthenticatedConnectionsMax})
      --seed S             seed the members' runtimes derive theirs from (default ${DEFAULT_SEED})
      --store memory|redis[s]://[user:password@]host:port[/db]
                           where the cluster's state lives (default memory); with Redis, any
                           number of coordinators share it: one leads, the others stand by
                           (password also from STATICECS_REDIS_PASSWORD; rediss:// is TLS,
                           trusting the system's CAs or the PEM file STATICECS_REDIS_CA_FILE)
      --lease-ms N         the leader's lease in a shared store (default ${defaults.leaseMs}): a
                           standby takes over about this long after the leader dies
      --inspect [HOST:PORT] serve a live page of members, partitions and handoffs
                           (default ${DEFAULT_CLUSTER_INSPECT_ADDRESS}; port 0 picks a free one)

  staticecs cluster join HOST:PORT[,HOST:PORT...] <scene.ts> [options]
      run the scene for the partitions the coordinator assigns, until it says stop; give
      every coordinator (leader and standbys): a member that loses its coordinator keeps
      running and tries them all until one takes it back;
      Ctrl-C or SIGTERM hands every partition over first (a second signal exits at once);
      during setup it stops the member at once (exit 130, or 143 for SIGTERM)
      --backend NAME       one of: ${Object.keys(BACKENDS).join(", ")} (default ${DEFAULT_BACKEND})
      --workers N          worker threads for work-stealing or adaptive
      --hz H               ticks per second (default 60)
      --coordinator-grace-ms N  how long to keep running without a coordinator, looking for
                           one, before exiting 1 (default ${defaults.coordinatorGraceMs})

  staticecs cluster status HOST:PORT [--json]
      print members and partitions (--json: one object with members and partitions)

  staticecs cluster secret
      print a new random secret (64 hex digits): export STATICECS_SECRET=$(staticecs cluster secret)

Common options:
  --secret S       the cluster's shared secret (or set STATICECS_SECRET); at least ${SECRET_BYTES_MIN} bytes
                   that are not whitespace
  --verbose        stack traces on errors
  -h, --help       show this help

The scene must declare a partition key: defineScene({ ..., cluster: { key: Cell.id } }).
Run members so that signals reach them: the staticecs binary, or the runtime itself
(exec bun cli/main.ts ...); through npx, a signal stops npm and leaves the member running.
Exit codes: 0 done, 1 the member lost its coordinator, 2 bad arguments, scene or secret.
`;

const SUBCOMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  coordinator: coordinatorCommand,
  join: joinCommand,
  status: statusCommand,
  secret: secretCommand,
};

/**
 * Runs `staticecs cluster ...`; resolves to the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await clusterCommand(["status", "127.0.0.1:7400", "--json"]);
 * ```
 */
export async function clusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new BadInput(
      "cluster needs a command: coordinator, join, status or secret (see staticecs cluster --help)",
    );
  }
  if (sub === "--help" || sub === "-h" || wantsHelp([sub])) {
    process.stdout.write(CLUSTER_USAGE);
    return EXIT_OK;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined) {
    throw new BadInput(
      `unknown cluster command "${sub}"; use coordinator, join, status or secret (see staticecs cluster --help)`,
    );
  }
  if (wantsHelp(rest)) {
    process.stdout.write(CLUSTER_USAGE);
    return EXIT_OK;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof ClusterError) {
      throw new BadInput(withFlagHint(error.message), { cause: error });
    }
    throw error;
  }
}

/** Every option key a cluster message may name, with the flag that sets it here. */
const OPTION_FLAGS: Readonly<Partial<Record<ClusterLimitKey, string>>> = {
  ...LIMIT_FLAGS,
  coordinatorGraceMs: "--coordinator-grace-ms",
};

/**
 * A cluster error as the CLI says it: an option key the library names in parentheses
 * ("(coordinatorGraceMs)") gets its flag beside it, and a wrong secret says where the secret is
 * given.
 */
function withFlagHint(message: string): string {
  const flagged = message.replace(/\((\w+)\)/g, (whole, key: string) => {
    const flag = OPTION_FLAGS[key as ClusterLimitKey];
    return flag === undefined ? whole : `(${key}, ${flag})`;
  });
  return saysSecretMismatch(flagged)
    ? `${flagged}; the secret is --secret or STATICECS_SECRET on every command`
    : flagged;
}

/** Parsed flags, by name; values are checked where they are used. */
interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

function parse(
  sub: string,
  args: string[],
  options: Record<string, { type: "string" | "boolean"; default?: string | boolean }>,
): Parsed {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        secret: { type: "string" },
        verbose: { type: "boolean", default: false },
        ...options,
      },
    });
  } catch (error) {
    throw rephraseParseError(`cluster ${sub}`, error, args);
  }
}

function stamp(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

async function coordinatorCommand(args: string[]): Promise<number> {
  const inspectArgs = withOptionalAddress(args, "--inspect", DEFAULT_CLUSTER_INSPECT_ADDRESS);
  const flagOptions = Object.fromEntries(
    Object.values(LIMIT_FLAGS).map((flag) => [flag.slice(2), { type: "string" as const }]),
  );
  const { values, positionals } = parse("coordinator", inspectArgs, {
    inspect: { type: "string" },
    listen: { type: "string" },
    seed: { type: "string" },
    store: { type: "string" },
    ...flagOptions,
  });
  if (positionals.length > 0) {
    throw new BadInput(`cluster coordinator takes no file; got ${positionals[0]}`);
  }
  if (values.listen === undefined) {
    throw new BadInput(
      "cluster coordinator needs --listen HOST:PORT, e.g. --listen 127.0.0.1:7400",
    );
  }
  if (values.partitions === undefined) {
    throw new BadInput("cluster coordinator needs --partitions P, e.g. --partitions 16");
  }
  const { host, port } = parseHostPort(String(values.listen));
  const secret = resolveSecret(values.secret as string | undefined);
  const options = withFlags(() => ({
    ...resolveClusterLimits({
      ...limitsFromFlags(values),
      partitions: parsePositiveInteger("--partitions", String(values.partitions)),
    }),
    secret,
    seed: values.seed === undefined ? DEFAULT_SEED : parseSeed(String(values.seed)),
    log: (line: string) => stamp(`coordinator: ${line}`),
  }));
  const store = await openStore(values.store as string | undefined);
  const roles = new CoordinatorRoles(options, store);
  const listener = await tcpTransport().listen(
    host,
    port,
    (connection) => roles.accept(connection),
    transportLimitsOf(options),
  ).catch(async (error) => {
    await store.close();
    throw new BadInput(`cannot listen on ${host}:${port}: ${firstLine(error)}`, { cause: error });
  });
  const address = `${listener.host}:${listener.port}`;
  stamp(
    `coordinator: listening on ${address}, ${options.partitions} partitions, heartbeat ` +
      `${options.heartbeatIntervalMs} ms, failure after ${options.failureTimeoutMs} ms, store ` +
      `${store.name}${store.shared ? `, lease ${options.leaseMs} ms` : ""}`,
  );
  const stopped = new Promise<string>((resolve) => {
    const stop = listenForStop((name) => {
      stop.dispose();
      resolve(name);
    });
  });
  const clusterLog = values.inspect === undefined ? undefined : new ClusterLog();
  let inspector: ClusterInspector | undefined;
  const signal = await roles.run(address, stopped, async (coordinator) => {
    if (clusterLog === undefined || inspector !== undefined) return;
    inspector = await startInspector(String(values.inspect), coordinator, clusterLog, listener);
  }, clusterLog?.onEvent);
  await inspector?.close();
  await listener.close();
  await store.close();
  stamp(`coordinator: ${signal}: stopped`);
  return EXIT_OK;
}

/** `--store`: memory (the default) or a Redis URL, reached and checked now. */
async function openStore(text: string | undefined): Promise<ClusterStore> {
  if (text === undefined || text === "memory") return new MemoryStore();
  try {
    return await RedisStore.connect(text);
  } catch (error) {
    throw new BadInput(firstLine(error), { cause: error });
  }
}

/** The limits given as flags, each a whole number; their ranges are checked by limits.ts. */
function limitsFromFlags(values: Parsed["values"]): Partial<ClusterLimits> {
  const limits: Partial<Record<ClusterLimitKey, number>> = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [ClusterLimitKey, string][]) {
    const text = values[flag.slice(2)];
    if (text !== undefined) limits[key] = parsePositiveInteger(flag, String(text));
  }
  return limits;
}

/** Runs `build`, turning a cluster limit out of range into bad input that names its flag. */
function withFlags<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof ClusterLimitError)) throw error;
    throw new BadInput(error.render((key) => OPTION_FLAGS[key] ?? key), { cause: error });
  }
}

function secretCommand(args: string[]): Promise<number> {
  if (args.length > 0) {
    throw new BadInput(`cluster secret takes no arguments; got ${args[0]}`);
  }
  process.stdout.write(generateSecret() + "\n");
  return Promise.resolve(EXIT_OK);
}

/** Starts the coordinator's inspector on `address` (`--inspect`); closes `listener` if it fails. */
async function startInspector(
  address: string,
  coordinator: Coordinator,
  log: ClusterLog,
  listener: { close(): Promise<void> },
): Promise<ClusterInspector> {
  try {
    const { host, port } = parseHostPort(address);
    const inspector = await ClusterInspector.start({ host, port, coordinator, log });
    stamp(`coordinator: ${inspector.banner()}`);
    return inspector;
  } catch (error) {
    await listener.close();
    throw new BadInput(
      `--inspect ${address}: ${firstLine(error)}; give another HOST:PORT (port 0 picks a free one)`,
      { cause: error },
    );
  }
}

async function joinCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("join", args, {
    backend: { type: "string", default: DEFAULT_BACKEND },
    workers: { type: "string" },
    hz: { type: "string" },
    "coordinator-grace-ms": { type: "string" },
  });
  if (positionals.length !== 2) {
    throw new BadInput(
      "cluster join needs HOST:PORT (or several, A,B,C: the coordinator and its standbys) and a " +
        "scene file: staticecs cluster join 127.0.0.1:7400 scene.ts",
    );
  }
  const addresses = positionals[0].split(",").map((a) => parseHostPort(a.trim()));
  const { host, port } = addresses[0];
  const graceText = values["coordinator-grace-ms"];
  const coordinatorGraceMs = graceText === undefined
    ? undefined
    : withFlags(() =>
      checkClusterLimit(
        "coordinatorGraceMs",
        parsePositiveInteger("--coordinator-grace-ms", String(graceText)),
      )
    );
  const backend = String(values.backend);
  backendFactory(backend);
  if (values.workers !== undefined && !PARALLEL_BACKENDS.includes(backend)) {
    throw new BadInput(`--workers is for --backend ${PARALLEL_BACKENDS.join(" or ")}`);
  }
  const workers = values.workers === undefined
    ? undefined
    : parseBoundedInteger("--workers", String(values.workers), WORKERS_MAX);
  const hz = values.hz === undefined
    ? undefined
    : parsePositiveNumber("--hz", String(values.hz), HZ_MAX);
  const secret = resolveSecret(values.secret as string | undefined);
  const loaded = await loadScene(positionals[1]);
  if (loaded.scene.cluster === undefined) {
    throw new BadInput(
      `${
        positionals[1]
      }: the scene has no partition key; add cluster: { key: <Component>.<field> } to defineScene`,
    );
  }
  // Listening from the start: a signal while joining becomes a leave as soon as it joined
  // (the partitions it may have been given are handed over, not lost with the process).
  const joined: { member?: ClusterMember } = {};
  const stop = listenForStop(() => void joined.member?.leave());
  const member = await ClusterMember.join({
    transport: await tcpTransport(),
    host,
    port,
    alternates: addresses.slice(1),
    coordinatorGraceMs,
    secret,
    scene: loaded.scene,
    ticksPerSecond: hz,
    log: (line) => stamp(line),
    createRuntime: ({ seed, skipSetup }) =>
      startRuntime(loaded, {
        seed,
        hz,
        backend: backendFactory(backend),
        workers,
        directIo: !IO_BACKENDS.includes(backend),
        skipSetup,
      }),
  }).catch((error) => {
    stop.dispose();
    // A signal during setup (the first member runs it) stops the member with its own line.
    if (error instanceof Stopped) throw error;
    throw new BadInput(`cannot join ${positionals[0]}: ${withFlagHint(firstLine(error))}`, {
      cause: error,
    });
  });
  joined.member = member;
  stamp(
    `member ${member.memberId}: joined ${host}:${port} running ${loaded.name} on ${member.runtime.backend.name}`,
  );
  if (stop.signal !== undefined) void member.leave();
  try {
    const reason = await member.done;
    const stats = member.stats();
    stamp(
      `member ${member.memberId}: stopped (${
        withFlagHint(reason)
      }) after ${stats.ticks} ticks; sent ${stats.sentEntities} ` +
        `entities, received ${stats.receivedEntities}, ${stats.checkpoints} checkpoints`,
    );
  } finally {
    stop.dispose();
    await member.runtime.close();
  }
  return member.failed ? EXIT_SYSTEM_ERRORS : EXIT_OK;
}

async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("status", args, {
    json: { type: "boolean", default: false },
  });
  if (positionals.length !== 1) {
    throw new BadInput("cluster status needs HOST:PORT: staticecs cluster status 127.0.0.1:7400");
  }
  const { host, port } = parseHostPort(positionals[0]);
  const secret = resolveSecret(values.secret as string | undefined);
  const status = await fetchStatus(host, port, secret).catch((error) => {
    throw new BadInput(`cluster status ${host}:${port}: ${withFlagHint(firstLine(error))}`, {
      cause: error,
    });
  });
  process.stdout.write(values.json ? JSON.stringify(status) + "\n" : formatStatus(status));
  return EXIT_OK;
}

/**
 * Asks a coordinator for its status, authenticating with `secret`.
 *
 * @example
 * ```ts ignore
 * const status = await fetchStatus("127.0.0.1", 7400, "s3cret-s3cret");
 * ```
 */
export async function fetchStatus(
  host: string,
  port: number,
  secret: string,
  timeoutMs = 5_000,
): Promise<ClusterStatus> {
  const connection = await connectAuthenticated(tcpTransport(), host, port, { secret, timeoutMs });
  try {
    return await new Promise<ClusterStatus>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ClusterError(`no status within ${timeoutMs} ms`)),
        timeoutMs,
      );
      connection.onClose = (reason) =>
        reject(new ClusterError(`the coordinator closed the connection: ${reason}`));
      connection.onMessage = (message) => {
        clearTimeout(timer);
        if (message.t === "status") resolve(message.status as ClusterStatus);
        else reject(new ClusterError(`expected a status, got ${message.t}`));
      };
      connection.send({ t: "status?" });
    });
  } finally {
    connection.close("status received");
  }
}

function formatStatus(status: ClusterStatus): string {
  const lines = [
    `members (heartbeat ${status.heartbeatIntervalMs} ms, failure after ${status.failureTimeoutMs} ms, ` +
    `checkpoint every ${status.checkpointEveryTicks} ticks):`,
  ];
  for (const m of status.members) {
    lines.push(
      `  ${String(m.id).padStart(4)}  ${m.state.padEnd(8)} ${
        m.address.padEnd(22)
      } tick ${m.tick}, ` +
        `${m.entities} entities, partitions ${m.partitions.join(",") || "-"}`,
    );
  }
  lines.push("partitions:");
  for (const p of status.partitions) {
    lines.push(
      `  ${String(p.id).padStart(4)}  owner ${String(p.owner ?? "-").padEnd(5)} ${
        p.state.padEnd(8)
      } ${p.entities} entities`,
    );
  }
  const total = status.partitions.reduce((n, p) => n + p.entities, 0);
  lines.push(
    `${total} entities in ${status.partitions.length} partitions; ${status.failovers} failovers; ${status.transfers.entities} entities transferred`,
  );
  return lines.join("\n") + "\n";
}

/**
 * The cluster secret: the `--secret` flag if given, else STATICECS_SECRET. Throws ClusterError
 * naming where it came from when neither is set, or when it is too weak (checkSecret).
 *
 * @example
 * ```ts
 * import { resolveSecret } from "./cluster.ts";
 * resolveSecret(undefined, { STATICECS_SECRET: "correct horse battery staple" }); // the same
 * ```
 */
export function resolveSecret(
  flag: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  const secret = flag ?? (env.STATICECS_SECRET === "" ? undefined : env.STATICECS_SECRET);
  if (secret === undefined) {
    throw new ClusterError(
      "no cluster secret: pass --secret or set STATICECS_SECRET (generate one with " +
        "`staticecs cluster secret`)",
    );
  }
  return checkSecret(secret, flag !== undefined ? "--secret" : "STATICECS_SECRET");
}
