/**
 * Tests of ffi/probe.ts: the io_uring probe, under both `bun test` and `deno test -A`.
 * The ring tests use the real kernel and liburing (installed by .ci/run); where io_uring is
 * unusable they skip with the reason, or fail under CI (tests/fixtures/io_uring.ts).
 */

import { execFileSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { probeIoUring } from "../ffi/probe.ts";
import { nopRoundTrip } from "../ffi/_nop.ts";
import type { Liburing } from "../ffi/_types.ts";
import { ioUringSkip, requireIoUring } from "./fixtures/io_uring.ts";
import { hostRuntime } from "../core/_host.ts";

describe("probeIoUring on this machine", () => {
  it("completes a NOP through liburing.so.2", { skip: ioUringSkip() }, async () => {
    requireIoUring();
    const probe = await probeIoUring({ env: {} });
    assert.match(probe.reason, /^io_uring usable via liburing\.so\.2 \(liburing \d+\.\d+\)$/);
    assert.equal(probe.usable, true);
  });

  it("reports the kernel's errno when ring setup fails", { skip: ioUringSkip() }, async () => {
    requireIoUring();
    const probe = await probeIoUring({ env: {}, ringEntries: 0 });
    assert.deepEqual(probe, {
      usable: false,
      reason: "io_uring_queue_init failed: EINVAL (ring parameters rejected by the kernel)",
    });
  });

  it("says a missing library is not found and how to install it", async () => {
    const libraryPath = "/nonexistent/liburing.so.2";
    const probe = await probeIoUring({ env: {}, libraryPath, platform: "linux" });
    assert.deepEqual(probe, {
      usable: false,
      reason: `${libraryPath} not found: install liburing2 (apt-get install liburing2)`,
    });
  });
});

describe("probeIoUring without io_uring", () => {
  it("is disabled by STATICECS_IO_URING=off", async () => {
    const probe = await probeIoUring({ env: { STATICECS_IO_URING: "off" } });
    assert.deepEqual(probe, { usable: false, reason: "disabled by STATICECS_IO_URING=off" });
  });

  it("reads STATICECS_IO_URING from the process environment", () => {
    assert.deepEqual(probeInChild({ STATICECS_IO_URING: "off" }), {
      usable: false,
      reason: "disabled by STATICECS_IO_URING=off",
    });
  });

  it("names the platform when it is not Linux", async () => {
    const probe = await probeIoUring({ env: {}, platform: "darwin" });
    assert.deepEqual(probe, { usable: false, reason: "not Linux (darwin)" });
  });
});

describe("the io_uring test rule (tests/fixtures/io_uring.ts)", () => {
  const off = { STATICECS_IO_URING: "off", CI: "", STATICECS_REQUIRE_IO_URING: "" };

  it("skips with the reason where io_uring is unusable", () => {
    assert.deepEqual(testRuleInChild(off), {
      skip: "io_uring is not usable here: disabled by STATICECS_IO_URING=off",
      thrown: null,
    });
  });

  it("fails under CI=true, naming the reason and how to install liburing", () => {
    assert.deepEqual(testRuleInChild({ ...off, CI: "true" }), {
      skip: false,
      thrown: "io_uring is required here (CI=true) but unusable: disabled by " +
        "STATICECS_IO_URING=off. Where liburing is missing, install liburing2 (apt-get install " +
        "liburing2). To skip the io_uring tests instead, set STATICECS_REQUIRE_IO_URING=0.",
    });
  });

  it("is required by STATICECS_REQUIRE_IO_URING=1, and not under CI with =0", () => {
    const required = testRuleInChild({ ...off, STATICECS_REQUIRE_IO_URING: "1" });
    assert.match(
      String(required.thrown),
      /^io_uring is required here \(STATICECS_REQUIRE_IO_URING=1\)/,
    );
    const allowed = testRuleInChild({ ...off, CI: "true", STATICECS_REQUIRE_IO_URING: "0" });
    assert.equal(allowed.thrown, null);
    assert.match(String(allowed.skip), /disabled by STATICECS_IO_URING=off/);
  });
});

describe("nopRoundTrip failures", () => {
  it("explains EPERM from io_uring_queue_init", () => {
    const result = nopRoundTrip(fakeLiburing({ queueInit: () => -1 }), 8);
    assert.deepEqual(result, {
      ok: false,
      reason:
        "io_uring_queue_init failed: EPERM (io_uring disabled by seccomp or kernel.io_uring_disabled)",
    });
  });

  it("tears the ring down when no SQE is available", () => {
    let exits = 0;
    const lib = fakeLiburing({ getSqe: () => 0n, queueExit: () => void exits++ });
    const result = nopRoundTrip(lib, 8);
    assert.deepEqual(result, {
      ok: false,
      reason: "io_uring_get_sqe returned NULL on an empty ring",
    });
    assert.equal(exits, 1);
  });

  it("reports a failed submit by errno name", () => {
    const sqe = new ArrayBuffer(64);
    const lib = fakeLiburing({ getSqe: () => 1n, memoryAt: () => sqe, submitAndWait: () => -38 });
    const result = nopRoundTrip(lib, 8);
    assert.deepEqual(result, {
      ok: false,
      reason: "io_uring_submit_and_wait failed: ENOSYS (kernel without io_uring support)",
    });
    assert.equal(new Uint8Array(sqe)[0], 0, "the SQE holds a NOP opcode");
  });
});

/** Runs the probe in a child of this runtime with `env` added to the environment. */
function probeInChild(env: Record<string, string>): unknown {
  return evalInChild("../ffi/probe.ts", "await m.probeIoUring()", env);
}

/**
 * What the io_uring test rule decides in a child with `env` added: the skip option, and the
 * message requireIoUring() throws (or null).
 */
function testRuleInChild(env: Record<string, string>): { skip: unknown; thrown: unknown } {
  const expression = "{ skip: m.ioUringSkip(), thrown: (() => { try { m.requireIoUring(); " +
    "return null; } catch (error) { return error.message; } })() }";
  return evalInChild("./fixtures/io_uring.ts", expression, env) as {
    skip: unknown;
    thrown: unknown;
  };
}

/** Imports `module` as `m` in a child of this runtime and returns `expression` through JSON. */
function evalInChild(module: string, expression: string, env: Record<string, string>): unknown {
  const moduleUrl = new URL(module, import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(moduleUrl)});` +
    `console.log(JSON.stringify(${expression}));`;
  const args = hostRuntime().name === "bun" ? ["-e", code] : ["eval", code];
  const output = execFileSync(process.execPath, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  return JSON.parse(output);
}

/** A Liburing whose calls succeed unless overridden; it touches no native memory. */
function fakeLiburing(overrides: Partial<Liburing>): Liburing {
  return {
    libraryPath: "fake",
    queueInit: () => 0,
    queueExit: () => {},
    getSqe: () => 0n,
    submit: () => 0,
    submitAndWait: () => 0,
    getProbeRing: () => 0n,
    freeProbe: () => {},
    addressOf: () => 0,
    memoryAt: () => {
      throw new Error("fake memory");
    },
    close: () => {},
    ...overrides,
  };
}
