/**
 * The run inspector without a browser, under both runtimes: a real
 * `staticecs run --inspect --paused` child process on loopback, its stream's
 * messages checked against the schema (messages.ts), control refused without
 * the token and obeyed with it (a step advances the tick by exactly one),
 * entity lookups (live and stale handles) and query pages, requests for
 * another host name refused; and the run ends with the checksum a plain run
 * of as many ticks gives, however it was paused, stepped and paced. Plus the
 * guard's rules off loopback, the schema checker, and the embedded chart
 * library being what the uplot package holds.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { readFileSync } from "node:fs";
import { Guard } from "../inspect/_guard.ts";
import { RUN_MESSAGES } from "../inspect/messages.ts";
import { validate } from "../inspect/schema.ts";
import { UPLOT_MODULE, uplotModule } from "../scripts/inspect_assets.ts";
import { cli } from "./fixtures/cli.ts";
import { control, readStream, startInspected } from "./fixtures/inspect.ts";
import { until } from "./fixtures/until.ts";

const TICKS = 1000;
/** Ticks a particle lives at most (3 simulated seconds at 60 Hz), and then some. */
const LIFETIME_TICKS_MAX = 200;
const LONG = { timeout: 120_000 };

/** Every message's schema errors, by type and position. */
function schemaErrors(messages: readonly Record<string, unknown>[]): string[] {
  return messages.flatMap((message, i) => {
    const schema = RUN_MESSAGES[String(message.type)];
    if (schema === undefined) return [`message ${i}: unknown type ${message.type}`];
    return validate(schema, message).map((error) => `${message.type} ${i}: ${error}`);
  });
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** The status line of a raw request for `path` whose Host header names `host`. */
function rawStatus(url: string, host: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let text = "";
    socket.on("data", (chunk) => text += chunk);
    socket.on("end", () => resolve(text.split("\r\n")[0]));
    socket.on("error", reject);
  });
}

const tickOf = (answer: Record<string, unknown>) => (answer.state as { tick: number }).tick;

/** Control without the token, or with a wrong one, is refused and nothing moves. */
async function refusedWithoutToken(url: string, token: string): Promise<void> {
  for (const wrong of [undefined, "0".repeat(32), token.slice(1)]) {
    const refused = await control(url, { action: "resume" }, wrong);
    assert.equal(refused.status, 401);
    assert.match(String(refused.answer.error), /token printed when it started/);
  }
}

/** Five particles from the age system's query; the first looked up, alive. */
async function liveParticles(url: string): Promise<number[]> {
  const walk = await getJson(`${url}api/query?system=age&limit=5`);
  assert.equal(walk.status, 200);
  const particles = walk.body.entities as number[];
  assert.equal(particles.length, 5);
  const alive = await getJson(`${url}api/entity?handle=%23${particles[0]}`);
  assert.equal(alive.body.alive, true);
  const names = (alive.body.components as { name: string }[]).map((c) => c.name);
  assert.ok(names.includes("Lifetime"), names.join());
  return particles;
}

/** Bad requests, unknown routes and requests for another host name are refused. */
async function badRequestsRefused(url: string, token: string): Promise<void> {
  const bad = await control(url, { action: "pace", hz: -1 }, token);
  assert.equal(bad.status, 400);
  assert.match(String(bad.answer.error), /hz must be a number/);
  assert.equal((await getJson(`${url}api/entity?handle=x1`)).status, 400);
  assert.equal((await getJson(`${url}api/query?all=Nope`)).status, 400);
  assert.equal((await getJson(`${url}nothing-here`)).status, 404);
  assert.equal((await getJson(`${url}api/control`)).status, 405);
  assert.match(await rawStatus(url, "evil.example:80", "/api/entity?handle=1"), / 403 /);
  assert.match(await rawStatus(url, "localhost", "/api/entity?handle=1"), / 200 /);
}

describe("run inspector", () => {
  it("streams messages that match the schema; controls need the token", LONG, async () => {
    const { run, url, token } = await startInspected([
      "run",
      "examples/lifecycle.ts",
      "--backend",
      "adaptive",
      "--workers",
      "1",
      "--ticks",
      String(TICKS),
      "--json",
      "--inspect",
      "127.0.0.1:0",
      "--paused",
    ]);
    const stream = readStream(url);
    try {
      const start = { tick: 0, paused: true, paceHz: null, entities: 2008 };
      assert.deepEqual((await until("hello", () => stream.ofType("hello")[0])).state, start);
      await refusedWithoutToken(url, token);
      assert.deepEqual(
        (await until("a sample", () => stream.ofType("sample").at(-1))).state,
        start,
      );
      for (const expected of [1, 2, 3]) {
        assert.equal(tickOf((await control(url, { action: "step" }, token)).answer), expected);
      }
      const particles = await liveParticles(url);
      const paced = await control(url, { action: "pace", hz: 100 }, token);
      assert.equal((paced.answer.state as { paceHz: number }).paceHz, 100);
      await control(url, { action: "resume" }, token);
      await until(
        "a running sample",
        () => stream.ofType("sample").find((s) => !(s.state as { paused: boolean }).paused),
      );
      await control(url, { action: "pause" }, token);
      // Step until the first particle has died: its handle is then stale.
      let stale: { status: number; body: Record<string, unknown> } | undefined;
      for (let step = 0; step < LIFETIME_TICKS_MAX && stale === undefined; step++) {
        await control(url, { action: "step" }, token);
        const looked = await getJson(`${url}api/entity?handle=${particles[0]}`);
        if (looked.body.alive === false) stale = looked;
      }
      assert.ok(stale !== undefined, `particle ${particles[0]} still alive`);
      assert.match(String(stale.body.why), /^stale: /);
      const pausedTick = tickOf((await control(url, { action: "step" }, token)).answer);
      assert.equal(tickOf((await control(url, { action: "step" }, token)).answer), pausedTick + 1);
      await badRequestsRefused(url, token);
      await control(url, { action: "pace", hz: null }, token);
      await control(url, { action: "resume" }, token);
      const end = await run.ended;
      assert.equal(end.code, 0, run.stderr());
      const summary = JSON.parse(run.stdout());
      assert.equal(summary.ticks, TICKS);
      assert.ok(summary.pausedSeconds > 0);
      const plain = JSON.parse(
        cli(["run", "examples/lifecycle.ts", "--ticks", String(TICKS), "--json"]).stdout,
      );
      assert.equal(summary.checksum, plain.checksum, "paused, stepped and paced: the same world");
      assert.deepEqual(schemaErrors(stream.messages), []);
      const types = new Set(stream.messages.map((m) => m.type));
      for (const type of ["hello", "sample", "threads", "world", "backend"]) {
        assert.ok(types.has(type), `a ${type} message (got ${[...types]})`);
      }
      const world = stream.ofType("world").at(-1)!;
      assert.ok((world.events as { name: string }[]).some((e) => e.name === "Died"));
    } finally {
      stream.close();
      if (run.child.exitCode === null) run.child.kill("SIGKILL");
    }
  });
});

describe("inspector guard", () => {
  const token = "0123456789abcdef0123456789abcdef";
  const request = (path: string, host: string, auth?: string) =>
    new Request(`http://${host}${path}`, {
      headers: auth === undefined ? { host } : { host, authorization: `Bearer ${auth}` },
    });

  it("off loopback, needs the token for data as well as control", () => {
    const guard = new Guard("0.0.0.0", token);
    assert.equal(guard.loopback, false);
    assert.equal(guard.check(request("/", "10.1.2.3:7477"), "page"), undefined);
    assert.equal(guard.check(request("/stream", "10.1.2.3:7477"), "read")?.status, 401);
    assert.equal(guard.check(request("/stream", "10.1.2.3:7477", token), "read"), undefined);
    assert.equal(
      guard.check(request("/api/control", "h:1", token.toUpperCase()), "control")?.status,
      401,
    );
    assert.equal(guard.check(request("/api/control", "h:1", token), "control"), undefined);
  });

  it("on loopback, reads are open to loopback host names only; control needs the token", () => {
    const guard = new Guard("127.0.0.1", token);
    assert.equal(guard.check(request("/stream", "127.0.0.1:7477"), "read"), undefined);
    assert.equal(guard.check(request("/stream", "[::1]:7477"), "read"), undefined);
    assert.equal(guard.check(request("/stream", "rebound.example:7477"), "read")?.status, 403);
    assert.equal(guard.check(request("/api/control", "127.0.0.1:7477"), "control")?.status, 401);
  });
});

describe("inspector schema and assets", () => {
  it("validate names every mismatch with its path", () => {
    const schema = { object: { a: { array: "number" }, b: { nullable: "string" } } } as const;
    assert.deepEqual(validate(schema, { a: [1, 2], b: null }), []);
    assert.deepEqual(validate(schema, { a: [1, "2"], b: 3, c: 1 }), [
      "$.a[1]: expected number, got string",
      "$.b: expected string, got number",
      "$.c: not in the schema",
    ]);
  });

  it("the embedded uPlot is what scripts/inspect_assets.ts writes from the uplot package", () => {
    assert.equal(readFileSync(UPLOT_MODULE, "utf8"), uplotModule());
  });
});
