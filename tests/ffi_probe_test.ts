/**
 * Tests of ffi/probe.ts: the io_uring probe, under both `bun test` and `deno test -A`.
 * The ring tests use the real kernel and liburing (installed by .ci/run).
 */

import { execFileSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { probeIoUring } from "../ffi/probe.ts";
import { nopRoundTrip } from "../ffi/_nop.ts";
import type { Liburing } from "../ffi/_types.ts";

const onLinux = process.platform === "linux";

describe("probeIoUring on this machine", () => {
  it("completes a NOP through liburing.so.2", { skip: !onLinux && "not Linux" }, async () => {
    const probe = await probeIoUring({ env: {} });
    assert.equal(probe.reason, "io_uring usable via liburing.so.2 (liburing 2.3)");
    assert.equal(probe.usable, true);
  });

  it("reports the kernel's errno when ring setup fails", { skip: !onLinux }, async () => {
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
  const probeUrl = new URL("../ffi/probe.ts", import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(probeUrl)});` +
    "console.log(JSON.stringify(await m.probeIoUring()));";
  const args = "Bun" in globalThis ? ["-e", code] : ["eval", code];
  const output = execFileSync(process.execPath, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
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
