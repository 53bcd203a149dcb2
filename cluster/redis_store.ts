/**
 * The cluster store in Redis (store.ts says what a store holds and promises), through `ioredis`,
 * which runs unchanged under Bun and Deno (its Node `net` use is what both runtimes provide).
 *
 * Keys, under a prefix (`staticecs` by default): `epoch` (the newest leader's epoch, an
 * integer), `leader` (`EPOCH ADDRESS`, set with NX and PX: the lease), `meta` (msgpackr of the
 * cluster-wide facts), `members` (a hash: member id to msgpackr of its record), `log:ID` (a list:
 * one msgpackr entry each), `part:P` (a hash: `owner`, `basePos`), `base:P` (the msgpackr bytes
 * of the partition's checkpoint) and `held:P` (a list of msgpackr batches).
 *
 * Every write is one Lua script that first compares `epoch` with the writer's and refuses the
 * whole write if they differ, so writes are fenced. It then compares `written` (`EPOCH SEQ` of
 * the last write applied) with the write before it in the writer's order and refuses the write
 * unless it follows (store.ts, Order): ioredis resends a command whose reply a dropped connection
 * lost, and it may already have run. And it checks that every staged checkpoint it renames is
 * there before it changes anything, since Redis does not undo a script's earlier commands when a
 * later one fails; so a write applies all or nothing, once, in order.
 *
 * `rediss://` connects over TLS (managed Redis services require it); the server's certificate is
 * checked against the system's CAs, or against the PEM file STATICECS_REDIS_CA_FILE names.
 *
 * @module
 */

import { Redis } from "ioredis";
import { Packr } from "msgpackr";
import { readFileSync } from "node:fs";
import process from "node:process";
import type { EntityBatch } from "./batch.ts";
import { ClusterError } from "./errors.ts";
import type { LogEntry } from "./recovery_log.ts";
import {
  type ClusterStore,
  FencedError,
  type Leadership,
  type StoredCluster,
  type StoredMember,
  type StoredMeta,
  type StoredPartition,
  type StoreWrite,
  WriteOrderError,
} from "./store.ts";

/** The environment variable a Redis password may come from, instead of the URL. */
export const REDIS_PASSWORD_ENV_VARIABLE = "STATICECS_REDIS_PASSWORD";
/** The environment variable naming a PEM file of CAs to trust for `rediss://`. */
export const REDIS_CA_FILE_ENV_VARIABLE = "STATICECS_REDIS_CA_FILE";

/** Arguments of one Redis command inside the write script (Lua's unpack has a stack bound). */
const SCRIPT_COMMAND_ARGS_MAX = 1_000;
/**
 * A checkpoint at least this big is not passed through the script (Lua copies its arguments:
 * 1M entities of 32 bytes took 1.2 s so, 0.35 s as plain SETs): it is SET first under a
 * staging key that expires, and the fenced script RENAMEs it into place. A fenced writer's
 * staged bytes are never renamed, and expire.
 */
const STAGED_BYTES_MIN = 64 * 1024;
/** How long staged bytes live unless a write renames them into place. */
const STAGED_TTL_MS = 60_000;

/** A parsed `redis://` or `rediss://` URL. */
export interface RedisAddress {
  /** True for `rediss://`: TLS. */
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The URL without its password, for logs. */
  readonly safe: string;
}

const USAGE = "redis[s]://[user:password@]host:port[/db], e.g. redis://127.0.0.1:6379/0";

/**
 * Parses `redis://[user:pass@]host:port[/db]` (`rediss://` for TLS); the password may instead
 * come from STATICECS_REDIS_PASSWORD. Throws ClusterError naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseRedisUrl } from "./redis_store.ts";
 * parseRedisUrl("redis://127.0.0.1:6379/2", {}).db; // 2
 * ```
 */
export function parseRedisUrl(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RedisAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClusterError(`--store ${text}: not a URL; give ${USAGE}, or "memory"`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ClusterError(
      `--store ${text}: the scheme must be redis:// (or rediss:// for TLS); give ${USAGE}, or ` +
        `"memory"`,
    );
  }
  const port = url.port === "" ? 6379 : Number(url.port);
  if (url.hostname === "") throw new ClusterError(`--store ${text}: no host; give ${USAGE}`);
  const dbText = url.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15 || !/^\d*$/.test(dbText)) {
    throw new ClusterError(
      `--store ${text}: the database must be a number from 0 to 15; got ${dbText}`,
    );
  }
  const password = url.password !== ""
    ? decodeURIComponent(url.password)
    : env[REDIS_PASSWORD_ENV_VARIABLE] || undefined;
  const username = url.username === "" ? undefined : decodeURIComponent(url.username);
  const safe = `${url.protocol}//${
    username === undefined ? "" : `${username}@`
  }${url.hostname}:${port}/${db}`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return { tls: url.protocol === "rediss:", host, port, db, username, password, safe };
}

const CAMPAIGN = `
local e = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
if not redis.call('SET', KEYS[2], e .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], e)
return e`;

const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[1] .. ' ' .. ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return 1`;

const RESIGN = `
if redis.call('GET', KEYS[2]) == ARGV[1] .. ' ' .. ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1`;

/**
 * KEYS: epoch, written. ARGV: the writer's epoch, the `written` its write follows ('' for its
 * first: then no write of its epoch may be there), its own `written`, then each command as a
 * count and the command's words.
 */
const WRITE = `
local newest = redis.call('GET', KEYS[1])
if newest ~= ARGV[1] then return redis.error_reply('FENCED ' .. tostring(newest)) end
local written = redis.call('GET', KEYS[2]) or ''
local mine = string.sub(written, 1, #ARGV[1] + 1) == ARGV[1] .. ' '
if (ARGV[2] == '' and mine) or (ARGV[2] ~= '' and written ~= ARGV[2]) then
  return redis.error_reply('ORDER ' .. written)
end
local i = 4
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  if ARGV[i + 1] == 'RENAME' and redis.call('EXISTS', ARGV[i + 2]) == 0 then
    return redis.error_reply('STAGED ' .. ARGV[i + 2] .. ' is gone')
  end
  i = i + n + 1
end
redis.call('SET', KEYS[2], ARGV[3])
i = 4
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1`;

/**
 * The Redis store.
 *
 * @example
 * ```ts ignore
 * import { RedisStore } from "./redis_store.ts";
 * const store = await RedisStore.connect("redis://127.0.0.1:6379/0");
 * console.log(await store.leader());
 * await store.close();
 * ```
 */
export class RedisStore implements ClusterStore {
  readonly name: string;
  readonly shared = true;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #packr = new Packr({ useRecords: false });
  #staged = 0;

  private constructor(redis: Redis, name: string, prefix: string) {
    this.#redis = redis;
    this.name = name;
    this.#prefix = prefix;
  }

  /**
   * Connects and checks the password and database; throws ClusterError saying what to fix when
   * Redis is unreachable or refuses.
   */
  static async connect(
    url: string,
    options: { prefix?: string; timeoutMs?: number; env?: Record<string, string | undefined> } = {},
  ): Promise<RedisStore> {
    const env = options.env ?? process.env;
    const address = parseRedisUrl(url, env);
    const timeoutMs = options.timeoutMs ?? 3_000;
    const redis = new Redis({
      tls: address.tls ? tlsOptions(env) : undefined,
      host: address.host,
      port: address.port,
      db: address.db,
      username: address.username,
      password: address.password,
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      // Reconnects for a while after a drop; a lost Redis shows as failed renewals meanwhile.
      retryStrategy: (attempt) => (attempt > 50 ? null : Math.min(50 * attempt, 500)),
    });
    const errors: Error[] = [];
    redis.on("error", (error: Error) => errors.push(error));
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new ClusterError(redisFailure(address, (errors[0] ?? error) as Error), {
        cause: error,
      });
    }
    return new RedisStore(redis, address.safe, options.prefix ?? "staticecs");
  }

  async campaign(address: string, leaseMs: number): Promise<number | undefined> {
    const epoch = Number(
      await this.#redis.eval(
        CAMPAIGN,
        2,
        this.#key("epoch"),
        this.#key("leader"),
        address,
        leaseMs,
      ),
    );
    return epoch === 0 ? undefined : epoch;
  }

  async renew(epoch: number, address: string, leaseMs: number): Promise<boolean> {
    const ok = await this.#redis.eval(
      RENEW,
      2,
      this.#key("epoch"),
      this.#key("leader"),
      String(epoch),
      address,
      leaseMs,
    );
    return Number(ok) === 1;
  }

  async resign(epoch: number, address: string): Promise<void> {
    await this.#redis.eval(
      RESIGN,
      2,
      this.#key("epoch"),
      this.#key("leader"),
      String(epoch),
      address,
    );
  }

  async leader(): Promise<Leadership | undefined> {
    const value = await this.#redis.get(this.#key("leader"));
    if (value === null) return undefined;
    const space = value.indexOf(" ");
    return { epoch: Number(value.slice(0, space)), address: value.slice(space + 1) };
  }

  async write(epoch: number, seq: number, writes: readonly StoreWrite[]): Promise<void> {
    const follows = seq === 1 ? "" : `${epoch} ${seq - 1}`;
    const args: (string | number | Uint8Array)[] = [String(epoch), follows, `${epoch} ${seq}`];
    const staged: Promise<unknown>[] = [];
    for (const w of writes) this.#commands(w, args, staged, epoch);
    try {
      // Sent before the script on the same connection, so Redis runs them first.
      const script = this.#redis.eval(
        WRITE,
        2,
        this.#key("epoch"),
        this.#key("written"),
        ...(args as string[]),
      );
      // Together: a script refused while a staged SET is pending is never unhandled.
      await Promise.all([...staged, script]);
    } catch (error) {
      const message = (error as Error).message;
      const fenced = /FENCED (\S+)/.exec(message);
      if (fenced !== null) throw new FencedError(epoch, fenced[1]);
      const order = /^ORDER ?(.*)$/.exec(message);
      if (order !== null) throw new WriteOrderError(epoch, seq, order[1]);
      throw error;
    }
  }

  /** Reads everything in two round trips (commands sent together are pipelined). */
  async load(): Promise<StoredCluster> {
    const r = this.#redis;
    const [metaBytes, records] = await Promise.all([
      r.getBuffer(this.#key("meta")),
      r.hgetallBuffer(this.#key("members")),
    ]);
    const meta = metaBytes === null ? undefined : this.#packr.unpack(metaBytes) as StoredMeta;
    const stored = Object.values(records).map((bytes) => this.#packr.unpack(bytes) as StoredMember);
    const count = meta?.partitions ?? 0;
    const [logs, hashes, bases, helds] = await Promise.all([
      Promise.all(stored.map((m) => r.lrangeBuffer(this.#key(`log:${m.id}`), 0, -1))),
      Promise.all(Array.from({ length: count }, (_, p) => r.hgetallBuffer(this.#key(`part:${p}`)))),
      Promise.all(Array.from({ length: count }, (_, p) => r.getBuffer(this.#key(`base:${p}`)))),
      Promise.all(
        Array.from({ length: count }, (_, p) => r.lrangeBuffer(this.#key(`held:${p}`), 0, -1)),
      ),
    ]);
    const members = new Map<number, { member: StoredMember; log: LogEntry[] }>();
    stored.forEach((member, k) => {
      members.set(member.id, { member, log: logs[k].map((b) => this.#unpackEntry(b)) });
    });
    const partitions = new Map<number, StoredPartition>();
    for (let p = 0; p < count; p++) {
      const hash = hashes[p];
      const owner = hash.owner === undefined ? "" : hash.owner.toString();
      partitions.set(p, {
        owner: owner === "" ? null : Number(owner),
        basePos: hash.basePos === undefined ? 0 : Number(hash.basePos.toString()),
        base: bases[p] === null ? { groups: [] } : this.#packr.unpack(bases[p]!) as EntityBatch,
        held: helds[p].map((b) => this.#packr.unpack(b) as EntityBatch),
      });
    }
    return { meta, members, partitions };
  }

  /** Deletes every key of this store's prefix (tests and benchmarks start clean). */
  async clear(): Promise<void> {
    const keys = await this.#redis.keys(`${this.#prefix}:*`);
    if (keys.length > 0) await this.#redis.del(...keys);
  }

  /** The client, for benchmarks that read INFO. */
  get client(): Redis {
    return this.#redis;
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #key(name: string): string {
    return `${this.#prefix}:${name}`;
  }

  /** Appends `w` as commands for the write script: a count, then the command and its args. */
  #commands(
    w: StoreWrite,
    out: (string | number | Uint8Array)[],
    staged: Promise<unknown>[],
    epoch: number,
  ): void {
    const command = (...parts: (string | number | Uint8Array)[]): void => {
      out.push(parts.length, ...parts);
    };
    const pushAll = (key: string, values: Uint8Array[]) => {
      for (let i = 0; i < values.length; i += SCRIPT_COMMAND_ARGS_MAX) {
        command("RPUSH", key, ...values.slice(i, i + SCRIPT_COMMAND_ARGS_MAX));
      }
    };
    switch (w.op) {
      case "meta":
        return command("SET", this.#key("meta"), this.#packr.pack(w.meta));
      case "member":
        return command("HSET", this.#key("members"), w.member.id, this.#packr.pack(w.member));
      case "dropMember":
        command("HDEL", this.#key("members"), w.id);
        return command("DEL", this.#key(`log:${w.id}`));
      case "appendLog":
        return pushAll(this.#key(`log:${w.id}`), w.entries.map((e) => this.#packEntry(e)));
      case "rewriteLog":
        command("DEL", this.#key(`log:${w.id}`));
        return pushAll(this.#key(`log:${w.id}`), w.entries.map((e) => this.#packEntry(e)));
      case "owner":
        return command(
          "HSET",
          this.#key(`part:${w.partition}`),
          "owner",
          w.owner ?? "",
          "basePos",
          w.basePos,
        );
      case "base": {
        const bytes = this.#packr.pack(w.base);
        const key = this.#key(`base:${w.partition}`);
        command("HSET", this.#key(`part:${w.partition}`), "basePos", w.basePos);
        if (bytes.byteLength < STAGED_BYTES_MIN) return command("SET", key, bytes);
        // Named by epoch too: a deposed leader's staging can never be renamed by the next one.
        const staging = this.#key(`staging:${epoch}:${++this.#staged}`);
        staged.push(this.#redis.set(staging, bytes as Buffer, "PX", STAGED_TTL_MS));
        command("RENAME", staging, key);
        return command("PERSIST", key);
      }
      case "held":
        command("DEL", this.#key(`held:${w.partition}`));
        return pushAll(this.#key(`held:${w.partition}`), w.held.map((b) => this.#packr.pack(b)));
    }
  }

  #packEntry(entry: LogEntry): Uint8Array {
    if (entry.kind !== "depart") return this.#packr.pack(entry);
    const ids = new Uint8Array(entry.ids.buffer, entry.ids.byteOffset, entry.ids.byteLength);
    return this.#packr.pack({ kind: "depart", ids });
  }

  #unpackEntry(bytes: Uint8Array): LogEntry {
    const value = this.#packr.unpack(bytes) as Record<string, unknown>;
    if (value.kind !== "depart") return value as unknown as LogEntry;
    const raw = value.ids as Uint8Array;
    const copy = new Uint8Array(raw); // aligned for the Float64Array view
    return { kind: "depart", ids: new Float64Array(copy.buffer, 0, copy.byteLength / 8) };
  }
}

/** ioredis's `tls` for `rediss://`: the system's CAs, or those of STATICECS_REDIS_CA_FILE. */
function tlsOptions(env: Readonly<Record<string, string | undefined>>): { ca?: string } {
  const file = env[REDIS_CA_FILE_ENV_VARIABLE];
  if (file === undefined || file === "") return {};
  try {
    return { ca: readFileSync(file, "utf8") };
  } catch (error) {
    throw new ClusterError(
      `${REDIS_CA_FILE_ENV_VARIABLE}=${file}: cannot read it (${(error as Error).message}); ` +
        `give the path of a PEM file of the CAs to trust, or unset it to trust the system's`,
    );
  }
}

/** Why Redis could not be used, and what to do about it. */
function redisFailure(address: RedisAddress, error: Error): string {
  const where = `Redis at ${address.safe}`;
  const message = error.message;
  if (address.tls && /certificate|self[- ]signed|SSL|TLS|handshake|CERT/i.test(message)) {
    return `${where}: TLS failed (${message.split("\n")[0]}): if its certificate comes from a ` +
      `CA of your own, name that CA's PEM file in ${REDIS_CA_FILE_ENV_VARIABLE}; if the server ` +
      `does not speak TLS, use redis://`;
  }
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return `${where} refused the credentials (${message.split("\n")[0]}): put the right ` +
      `password in the URL (redis://:PASSWORD@host:port) or in ${REDIS_PASSWORD_ENV_VARIABLE}`;
  }
  if (/NOAUTH|Authentication required/i.test(message)) {
    return `${where} requires a password: put it in the URL (redis://:PASSWORD@host:port) or in ` +
      `${REDIS_PASSWORD_ENV_VARIABLE}`;
  }
  if (/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|connect|closed|timeout/i.test(message)) {
    return `cannot reach ${where}: ${message.split("\n")[0]}; start redis-server there ` +
      `(redis-server --port ${address.port}) or fix --store`;
  }
  return `${where}: ${message.split("\n")[0]}`;
}
