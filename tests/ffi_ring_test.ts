/**
 * Tests of ffi/ring.ts, under both `bun test` and `deno test -A`. The first group checks the
 * SQE encoding and the bounds against a fake liburing (no kernel needed); the others do real
 * I/O through a real ring and are skipped, with the probe's reason, where io_uring is unusable.
 * The random-write test prints its seed; set STATICECS_TEST_SEED to replay one.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AT_FDCWD,
  COMPLETION_FIELDS,
  COMPLETION_RESULT,
  COMPLETION_USER_DATA,
  ERRNO,
  FSYNC_DATASYNC,
  IoUringUnavailableError,
  kernelTimespec,
  OPCODE,
  OPEN_FLAG,
  openRing,
  pathBytes,
  Ring,
  SQE_FLAG,
} from "../ffi/ring.ts";
import { InFlightTable } from "../ffi/_inflight.ts";
import { RING_OFFSET, RING_STRUCT_BYTES } from "../ffi/_layout.ts";
import type { Liburing, RingMemory } from "../ffi/_types.ts";
import { ioUringSkip, requireIoUring } from "./fixtures/io_uring.ts";

const skipKernel = ioUringSkip();

const BLOCK_BYTES = 4096;

// SQEs as liburing 2.3's own inline io_uring_prep_* + io_uring_sqe_set_data64(sqe, 7) write
// them over memory filled with 0xAB (printed by a C program built against liburing-dev):
// buffer address 0x1000, fd 5, length 4096 at offset 8192 unless stated.
const LIBURING_SQE_HEX = {
  nop: "00000000ffffffff0000000000000000000000000000000000000000000000000700000000000000",
  read: "16000000050000000020000000000000001000000000000000100000000000000700000000000000",
  write: "17000000050000000020000000000000001000000000000000100000000000000700000000000000",
  fsyncDatasync: "03000000050000000000000000000000000000000000000000000000010000000700000000000000",
  openat: "120000009cffffff00000000000000000010000000000000a4010000410000000700000000000000",
  close: "13000000050000000000000000000000000000000000000000000000000000000700000000000000",
  timeoutCount3: "0b000000ffffffff0300000000000000001000000000000001000000000000000700000000000000",
  acceptCloexec: "0d000000050000000020000000000000001000000000000000000000000008000700000000000000",
  sendNosignal: "1a000000050000000000000000000000001000000000000064000000004000000700000000000000",
  recvWaitall: "1b000000050000000000000000000000001000000000000064000000000100000700000000000000",
} as const;
/** The last 24 bytes of every SQE above: buf_index, personality, splice_fd_in, addr3, pad. */
const ZERO_TAIL_HEX = "00".repeat(24);

describe("Ring SQE encoding and bounds (fake liburing, no kernel)", () => {
  it("writes every SQE byte exactly as liburing's prep functions do", () => {
    const kernel = fakeKernel(16);
    const ring = new Ring(kernel.lib, 16);
    const buffer = new Uint8Array(BLOCK_BYTES);
    const small = new Uint8Array(100);
    const sockaddr = new Uint8Array(16);
    const sockaddrLength = new Uint32Array(1);
    kernel.addresses.set(sockaddrLength, 0x2000);
    assert.ok(ring.prepNop(7));
    assert.ok(ring.prepRead(7 + 1, 5, buffer, 8192));
    assert.ok(ring.prepWrite(7 + 2, 5, buffer, 8192));
    assert.ok(ring.prepFsync(7 + 3, 5, FSYNC_DATASYNC));
    const openFlags = OPEN_FLAG.writeOnly | OPEN_FLAG.create;
    assert.ok(ring.prepOpenat(7 + 4, AT_FDCWD, pathBytes("x"), openFlags, 0o644));
    assert.ok(ring.prepClose(7 + 5, 5));
    assert.ok(ring.prepTimeout(7 + 6, kernelTimespec(1), 3));
    assert.ok(ring.prepAccept(7 + 7, 5, sockaddr, sockaddrLength, OPEN_FLAG.closeOnExec));
    assert.ok(ring.prepSend(7 + 8, 5, small, 0x4000));
    assert.ok(ring.prepRecv(7 + 9, 5, small, 0x100));
    const expected = Object.values(LIBURING_SQE_HEX);
    for (let slot = 0; slot < expected.length; slot++) {
      // Same bytes but user_data, which each operation needs unique: patch byte 32.
      const want = expected[slot].slice(0, 64) + (7 + slot).toString(16).padStart(2, "0") +
        expected[slot].slice(66) + ZERO_TAIL_HEX;
      assert.equal(
        kernel.sqeHex(slot),
        want,
        `SQE ${slot} (${Object.keys(LIBURING_SQE_HEX)[slot]})`,
      );
    }
    assert.equal(sockaddrLength[0], 16, "ACCEPT sets the address length to the buffer size");
    assert.equal(ring.pendingCount, expected.length);
    ring.close();
  });

  it("returns false when the SQ is full, writes nothing, and succeeds after a submit", () => {
    const kernel = fakeKernel(4);
    const ring = new Ring(kernel.lib, 4);
    for (let userData = 0; userData < 4; userData++) assert.ok(ring.prepNop(userData));
    const before = kernel.sqeHex(0);
    assert.equal(ring.sqeAvailable(), 0);
    assert.equal(ring.prepNop(4), false);
    assert.equal(kernel.sqeHex(0), before, "a refused prep wrote nothing");
    assert.equal(ring.inFlightCount, 4);
    assert.equal(ring.submit(), 4);
    assert.ok(ring.prepNop(4), "room again once the kernel took the SQEs");
    ring.close();
  });

  it("bounds operations in flight by the CQ size and frees room as completions are reaped", () => {
    const kernel = fakeKernel(4);
    const ring = new Ring(kernel.lib, 4);
    assert.equal(ring.inFlightMax, 8);
    for (let userData = 0; userData < 8; userData++) {
      if (ring.prepNop(userData)) continue;
      assert.equal(ring.submit(), 4, "the SQ of 4 was full");
      assert.ok(ring.prepNop(userData));
    }
    ring.submit();
    assert.equal(ring.pendingCount, 0);
    assert.equal(ring.prepNop(8), false, "in-flight bound reached with an empty SQ");
    kernel.post(3, 0);
    kernel.post(5, 0);
    const completions = new Float64Array(4 * COMPLETION_FIELDS);
    assert.equal(ring.peekCompletions(completions), 2);
    assert.equal(ring.inFlightCount, 8, "peeking consumes nothing");
    assert.deepEqual([completions[0], completions[COMPLETION_FIELDS]], [3, 5]);
    ring.advance(2);
    assert.equal(ring.inFlightCount, 6);
    assert.equal(kernel.cqHead[0], 2, "advance stores the CQ head");
    assert.ok(ring.prepNop(3), "a reaped user_data may be used again");
    assert.throws(() => ring.prepNop(4), /user_data 4 is already in flight/);
    assert.throws(() => ring.advance(1), /advance\(1\): must be an integer from 0 to the 0 ready/);
    ring.close();
  });

  it("refuses bad arguments before touching the SQ", () => {
    const kernel = fakeKernel(4);
    const ring = new Ring(kernel.lib, 4);
    assert.throws(() => ring.prepNop(-1), /user_data must be an integer in \[0, 2\^53\)/);
    assert.throws(() => ring.prepNop(2 ** 53), /user_data must be an integer/);
    assert.throws(() => ring.prepNop(1, 64), /CQE_SKIP_SUCCESS/);
    assert.throws(
      () => ring.prepOpenat(1, AT_FDCWD, new TextEncoder().encode("x"), 0, 0),
      /path must end with a NUL byte/,
    );
    assert.throws(() => ring.prepTimeout(1, new Uint8Array(8)), /timespec must be 16 bytes/);
    assert.throws(() => ring.prepRead(1, 5, new Uint8Array(8), -2), /offset must be/);
    assert.throws(() => ring.submitAndWait(1), /submitAndWait\(1\): must be an integer from 0/);
    assert.equal(ring.pendingCount, 0);
    assert.equal(ring.inFlightCount, 0);
    ring.close();
    assert.throws(() => ring.prepNop(1), /ring is closed/);
    ring.close(); // a second close does nothing
  });

  it("turns a failed io_uring_queue_init into IoUringUnavailableError naming the errno", () => {
    const kernel = fakeKernel(4);
    const lib = { ...kernel.lib, queueInit: () => -ERRNO.EPERM };
    assert.throws(() => new Ring(lib, 4), (error: unknown) => {
      assert.ok(error instanceof IoUringUnavailableError);
      assert.equal(
        error.reason,
        "io_uring_queue_init failed: EPERM (io_uring disabled by seccomp or kernel.io_uring_disabled)",
      );
      return true;
    });
  });
});

describe("the ring's in-flight table", () => {
  it("agrees with a Map under random adds and removes, including keys near 2^53", () => {
    const seed = 20_261_127;
    const random = mulberry32(seed);
    const capacity = 64;
    const table = new InFlightTable(capacity);
    const model = new Map<number, unknown>();
    const keys = Array.from(
      { length: 200 },
      (_, index) => index % 2 === 0 ? index * 1024 : Number.MAX_SAFE_INTEGER - index,
    );
    for (let step = 0; step < 20_000; step++) {
      const key = keys[Math.floor(random() * keys.length)];
      if (model.has(key)) {
        assert.equal(table.remove(key), true);
        model.delete(key);
      } else if (model.size < capacity) {
        table.add(key, key, null);
        model.set(key, key);
      } else {
        assert.throws(() => table.add(key, key, null), /in-flight table full \(64 entries\)/);
      }
      assert.equal(table.count, model.size, `step ${step} (seed ${seed})`);
    }
    for (const key of keys) assert.equal(table.has(key), model.has(key), `key ${key}`);
    const held = [...model.keys()][0];
    assert.throws(() => table.add(held, null, null), new RegExp(`user_data ${held} is already`));
    assert.equal(table.remove(-5), false);
  });
});

describe("openRing refusals", () => {
  it("is disabled by STATICECS_IO_URING=off given through env", async () => {
    await assert.rejects(
      openRing({ entries: 8, env: { STATICECS_IO_URING: "off" } }),
      (error: unknown) => {
        assert.ok(error instanceof IoUringUnavailableError);
        assert.equal(error.reason, "disabled by STATICECS_IO_URING=off");
        assert.equal(error.message, "io_uring is unusable: disabled by STATICECS_IO_URING=off");
        return true;
      },
    );
  });

  it("names the platform when it is not Linux", async () => {
    await assert.rejects(
      openRing({ entries: 8, env: {}, platform: "darwin" }),
      { name: "IoUringUnavailableError", reason: "not Linux (darwin)" },
    );
  });

  it("says a missing liburing is not found and how to install it", async () => {
    const libraryPath = "/nonexistent/liburing.so.2";
    await assert.rejects(openRing({ entries: 8, env: {}, platform: "linux", libraryPath }), {
      reason: `${libraryPath} not found: install liburing2 (apt-get install liburing2)`,
    });
  });

  it("refuses entries out of bounds", async () => {
    const env = {}, platform = "linux";
    await assert.rejects(openRing({ entries: 0, env, platform }), RangeError);
    await assert.rejects(openRing({ entries: 65536, env, platform }), /from 1 to 32768/);
  });
});

describe("Ring on the kernel", () => {
  it("completes thousands of NOPs, each user_data exactly once", { skip: skipKernel }, async () => {
    requireIoUring();
    const ring = await openRing({ entries: 16 });
    try {
      const driver = new Driver(ring);
      const count = 3000;
      for (let userData = 0; userData < count; userData++) {
        driver.prep(() => ring.prepNop(userData));
      }
      driver.finish();
      assert.equal(driver.results.size, count);
      for (const result of driver.results.values()) assert.equal(result, 0);
      assert.ok(driver.sqFullCount > 0, "the full-SQ path ran");
      assert.equal(ring.inFlightCount, 0);
    } finally {
      ring.close();
    }
  });

  it("probes READ, WRITE and FSYNC among the supported opcodes", { skip: skipKernel }, async () => {
    requireIoUring();
    const ring = await openRing({ entries: 8 });
    try {
      const opcodes = ring.probeOpcodes();
      for (const name of ["nop", "read", "write", "fsync", "openat", "close", "timeout"] as const) {
        assert.ok(opcodes.has(OPCODE[name]), `${name} (${OPCODE[name]}) supported`);
      }
      assert.equal(ring.probeOpcodes(), opcodes, "computed once");
    } finally {
      ring.close();
    }
  });

  it(
    "writes 4096 4 KiB blocks at random offsets in batches larger than the SQ, reads them back",
    { skip: skipKernel, timeout: 20_000 },
    async () => {
      requireIoUring();
      const seed = Number(process.env.STATICECS_TEST_SEED ?? (Date.now() % 0x7fff_ffff));
      console.log(`ffi_ring_test: random writes seed=${seed} (STATICECS_TEST_SEED to replay)`);
      const random = mulberry32(seed);
      const blockCount = 4096;
      const batchOps = 256; // SQ of 64, in-flight bound 128: both bounds are hit
      const expected = new Uint8Array(new ArrayBuffer(blockCount * BLOCK_BYTES));
      const expectedWords = new Uint32Array(expected.buffer);
      for (let word = 0; word < expectedWords.length; word++) {
        expectedWords[word] = (random() * 0x1_0000_0000) >>> 0;
      }
      const directory = mkdtempSync(join(tmpdir(), "staticecs-ring-"));
      const ring = await openRing({ entries: 64 });
      try {
        const fd = openFile(
          ring,
          join(directory, "blocks"),
          OPEN_FLAG.readWrite | OPEN_FLAG.create,
        );
        const writer = new Driver(ring);
        runBatches(
          writer,
          shuffled(blockCount, random),
          batchOps,
          (block) => ring.prepWrite(block, fd, blockOf(expected, block), block * BLOCK_BYTES),
        );
        assertAllResults(writer, blockCount, BLOCK_BYTES);
        assert.ok(writer.sqFullCount > 0, "prep returned false on a full SQ and was retried");
        assert.ok(writer.inFlightFullCount > 0, "the in-flight bound was reached and waited on");

        const actual = new Uint8Array(new ArrayBuffer(blockCount * BLOCK_BYTES));
        const reader = new Driver(ring);
        runBatches(
          reader,
          shuffled(blockCount, random),
          batchOps,
          (block) => ring.prepRead(block, fd, blockOf(actual, block), block * BLOCK_BYTES),
        );
        assertAllResults(reader, blockCount, BLOCK_BYTES);
        assertSameBytes(actual, expected, "read back through the ring");
        assertSameBytes(readFileSync(join(directory, "blocks")), expected, "read with node:fs");
        closeFile(ring, fd);
      } finally {
        ring.close();
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );

  it("OPENATs a new file, then WRITE, FSYNC and CLOSE it as one linked batch", {
    skip: skipKernel,
  }, async () => {
    requireIoUring();
    const directory = mkdtempSync(join(tmpdir(), "staticecs-ring-"));
    const ring = await openRing({ entries: 8 });
    try {
      const path = join(directory, "new.txt");
      const flags = OPEN_FLAG.writeOnly | OPEN_FLAG.create | OPEN_FLAG.exclusive;
      const fd = openFile(ring, path, flags);
      const text = new TextEncoder().encode("written through io_uring\n");
      const driver = new Driver(ring);
      driver.prep(() => ring.prepWrite(1, fd, text, 0, SQE_FLAG.ioLink));
      driver.prep(() => ring.prepFsync(2, fd, 0, SQE_FLAG.ioLink));
      driver.prep(() => ring.prepFsync(3, fd, FSYNC_DATASYNC, SQE_FLAG.ioLink));
      driver.prep(() => ring.prepClose(4, fd));
      driver.finish();
      assert.deepEqual([...driver.results], [[1, text.length], [2, 0], [3, 0], [4, 0]]);
      assert.equal(readFileSync(path, "utf8"), "written through io_uring\n");
      const again = new Driver(ring);
      again.prep(() => ring.prepOpenat(5, AT_FDCWD, pathBytes(path), flags, 0o600));
      again.finish();
      assert.equal(again.results.get(5), -ERRNO.EEXIST, "O_EXCL on an existing file");
    } finally {
      ring.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("reads what a linked WRITE just wrote, in the same submission", {
    skip: skipKernel,
  }, async () => {
    requireIoUring();
    const directory = mkdtempSync(join(tmpdir(), "staticecs-ring-"));
    const ring = await openRing({ entries: 8 });
    try {
      const path = join(directory, "raw.bin");
      writeFileSync(path, new Uint8Array(3 * BLOCK_BYTES));
      const fd = openFile(ring, path, OPEN_FLAG.readWrite);
      const written = new Uint8Array(BLOCK_BYTES).map((_, index) => (index * 7 + 3) & 0xff);
      const read = new Uint8Array(new ArrayBuffer(BLOCK_BYTES + 8)).subarray(8); // byteOffset 8
      const driver = new Driver(ring);
      driver.prep(() => ring.prepWrite(1, fd, written, BLOCK_BYTES, SQE_FLAG.ioLink));
      driver.prep(() => ring.prepRead(2, fd, read, BLOCK_BYTES));
      driver.finish();
      assert.deepEqual([...driver.results], [[1, BLOCK_BYTES], [2, BLOCK_BYTES]]);
      assertSameBytes(read, written, "read after write");
      closeFile(ring, fd);
    } finally {
      ring.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it(
    "reports a READ on a bad fd as res = -EBADF, nothing thrown",
    { skip: skipKernel },
    async () => {
      requireIoUring();
      const ring = await openRing({ entries: 8 });
      try {
        const driver = new Driver(ring);
        driver.prep(() => ring.prepRead(41, 999_999, new Uint8Array(64), 0));
        driver.prep(() => ring.prepClose(42, 999_999));
        driver.finish();
        assert.equal(driver.results.get(41), -ERRNO.EBADF);
        assert.equal(driver.results.get(42), -ERRNO.EBADF);
      } finally {
        ring.close();
      }
    },
  );

  it("completes a 20 ms TIMEOUT with -ETIME", { skip: skipKernel }, async () => {
    requireIoUring();
    const ring = await openRing({ entries: 8 });
    try {
      const started = performance.now();
      assert.ok(ring.prepTimeout(9, kernelTimespec(20)));
      assert.equal(ring.submitAndWait(1), 1);
      const elapsedMs = performance.now() - started;
      const completions = new Float64Array(COMPLETION_FIELDS);
      assert.equal(ring.reapCompletions(completions), 1);
      assert.equal(completions[COMPLETION_USER_DATA], 9);
      assert.equal(completions[COMPLETION_RESULT], -ERRNO.ETIME);
      assert.ok(elapsedMs >= 15 && elapsedMs < 2000, `took ${elapsedMs.toFixed(1)} ms`);
    } finally {
      ring.close();
    }
  });

  it("close cancels a pending 60 s TIMEOUT instead of waiting for it", {
    skip: skipKernel,
  }, async () => {
    requireIoUring();
    const ring = await openRing({ entries: 8 });
    const timespec = kernelTimespec(60_000);
    assert.ok(ring.prepTimeout(1, timespec));
    assert.equal(ring.submit(), 1);
    const started = performance.now();
    ring.close();
    assert.ok(performance.now() - started < 2000, "close returned without the timer");
    assert.equal(ring.closed, true);
  });

  it("sends socket opcodes to the kernel (ENOTSOCK on a file)", { skip: skipKernel }, async () => {
    requireIoUring();
    const directory = mkdtempSync(join(tmpdir(), "staticecs-ring-"));
    const ring = await openRing({ entries: 8 });
    try {
      const opcodes = ring.probeOpcodes();
      const path = join(directory, "not-a-socket");
      writeFileSync(path, "x");
      const fd = openFile(ring, path, OPEN_FLAG.readWrite);
      const driver = new Driver(ring);
      const buffer = new Uint8Array(8);
      if (opcodes.has(OPCODE.accept)) driver.prep(() => ring.prepAccept(1, fd));
      if (opcodes.has(OPCODE.send)) driver.prep(() => ring.prepSend(2, fd, buffer));
      if (opcodes.has(OPCODE.recv)) driver.prep(() => ring.prepRecv(3, fd, buffer));
      driver.finish();
      for (const result of driver.results.values()) assert.equal(result, -ERRNO.ENOTSOCK);
      closeFile(ring, fd);
    } finally {
      ring.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

/**
 * Prepares operations with the ring's retry protocol (a false prep means: submit when the SQ
 * is full, wait and reap when the in-flight bound is reached) and records every result.
 */
class Driver {
  readonly results = new Map<number, number>();
  sqFullCount = 0;
  inFlightFullCount = 0;
  readonly #ring: Ring;
  readonly #completions: Float64Array;

  constructor(ring: Ring) {
    this.#ring = ring;
    this.#completions = new Float64Array(ring.cqEntries * COMPLETION_FIELDS);
  }

  prep(prepare: () => boolean): void {
    for (let attempt = 0; attempt < 8; attempt++) {
      if (prepare()) return;
      if (this.#ring.inFlightCount < this.#ring.inFlightMax) {
        this.sqFullCount++;
        assert.ok(this.#ring.submit() > 0);
      } else {
        this.inFlightFullCount++;
        this.#ring.submitAndWait(1);
        this.reap();
      }
    }
    throw new Error("prep still refused after making room 8 times");
  }

  /** Submits what is prepared and waits for everything in flight. */
  finish(): void {
    this.#ring.submit();
    while (this.#ring.inFlightCount > 0) {
      this.#ring.submitAndWait(1);
      this.reap();
    }
  }

  reap(): void {
    const count = this.#ring.reapCompletions(this.#completions);
    for (let index = 0; index < count; index++) {
      const userData = this.#completions[index * COMPLETION_FIELDS + COMPLETION_USER_DATA];
      assert.ok(!this.results.has(userData), `one completion per user_data (${userData})`);
      this.results.set(userData, this.#completions[index * COMPLETION_FIELDS + COMPLETION_RESULT]);
    }
  }
}

/** Prepares `blocks` in batches of `batchOps`, submitting at the end of each batch. */
function runBatches(
  driver: Driver,
  blocks: Uint32Array,
  batchOps: number,
  prepare: (block: number) => boolean,
): void {
  for (let start = 0; start < blocks.length; start += batchOps) {
    for (const block of blocks.subarray(start, start + batchOps)) {
      driver.prep(() => prepare(block));
    }
  }
  driver.finish();
}

function openFile(ring: Ring, path: string, flags: number): number {
  const driver = new Driver(ring);
  driver.prep(() => ring.prepOpenat(1_000_000, AT_FDCWD, pathBytes(path), flags, 0o600));
  driver.finish();
  const fd = driver.results.get(1_000_000) ?? -1;
  assert.ok(fd >= 0, `OPENAT ${path}: res ${fd}`);
  return fd;
}

function closeFile(ring: Ring, fd: number): void {
  const driver = new Driver(ring);
  driver.prep(() => ring.prepClose(1_000_001, fd));
  driver.finish();
  assert.equal(driver.results.get(1_000_001), 0);
}

function blockOf(bytes: Uint8Array, block: number): Uint8Array {
  return bytes.subarray(block * BLOCK_BYTES, (block + 1) * BLOCK_BYTES);
}

function assertAllResults(driver: Driver, count: number, result: number): void {
  assert.equal(driver.results.size, count);
  for (const [userData, actual] of driver.results) {
    if (actual !== result) assert.fail(`operation ${userData}: res ${actual}, expected ${result}`);
  }
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let index = 0; index < expected.length; index++) {
    if (actual[index] !== expected[index]) {
      assert.fail(`${what}: byte ${index} is ${actual[index]}, expected ${expected[index]}`);
    }
  }
}

/** 0..count-1 in a random order (Fisher-Yates). */
function shuffled(count: number, random: () => number): Uint32Array {
  const order = new Uint32Array(count).map((_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [order[index], order[other]] = [order[other], order[index]];
  }
  return order;
}

/** A small seeded PRNG: uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b_79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * A liburing over plain JavaScript memory: the ring's pointers lead to ArrayBuffers this fake
 * owns, so a test can read the SQEs the ring wrote and post CQEs as the kernel would.
 */
function fakeKernel(entries: number) {
  const regions = new Map<bigint, ArrayBuffer>();
  const word = (address: bigint, value: number) => {
    const memory = new Uint32Array(1);
    memory[0] = value;
    regions.set(address, memory.buffer);
    return memory;
  };
  const pointers: [number, bigint][] = [
    [RING_OFFSET.sqKhead, 0x100n],
    [RING_OFFSET.sqKringMask, 0x110n],
    [RING_OFFSET.sqKringEntries, 0x120n],
    [RING_OFFSET.cqKhead, 0x200n],
    [RING_OFFSET.cqKtail, 0x210n],
    [RING_OFFSET.cqKringMask, 0x220n],
    [RING_OFFSET.cqKringEntries, 0x230n],
    [RING_OFFSET.sqSqes, 0x10000n],
    [RING_OFFSET.cqCqes, 0x20000n],
  ];
  const sqHead = word(0x100n, 0);
  word(0x110n, entries - 1);
  word(0x120n, entries);
  const cqHead = word(0x200n, 0);
  const cqTail = word(0x210n, 0);
  word(0x220n, 2 * entries - 1);
  word(0x230n, 2 * entries);
  const sqes = new Uint8Array(entries * 64).fill(0xab);
  const cqes = new Uint32Array(2 * entries * 4);
  regions.set(0x10000n, sqes.buffer);
  regions.set(0x20000n, cqes.buffer);
  const addresses = new Map<ArrayBufferView, number>();
  const structWords = (ring: RingMemory) => new Uint32Array(ring.buffer, 0, RING_STRUCT_BYTES / 4);
  /** user_data (low, high words) of the SQEs the fake kernel took and has not completed. */
  const consumed: [number, number][] = [];
  const submit = (ring: RingMemory) => {
    const words = structWords(ring);
    const head = RING_OFFSET.sqSqeHead / 4;
    const tail = RING_OFFSET.sqSqeTail / 4;
    const submitted = words[tail] - words[head];
    for (let index = words[head]; index !== words[tail]; index++) {
      const sqeWords = new Uint32Array(sqes.buffer, (index & (entries - 1)) * 64, 16);
      consumed.push([sqeWords[8], sqeWords[9]]);
    }
    words[head] = words[tail];
    sqHead[0] = words[tail]; // the fake kernel takes every SQE at once
    return submitted;
  };
  const post = (userData: number, res: number, userDataHigh = 0) => {
    const slot = (cqTail[0] & (2 * entries - 1)) * 4;
    cqes[slot] = userData;
    cqes[slot + 1] = userDataHigh;
    cqes[slot + 2] = res >>> 0;
    cqes[slot + 3] = 0;
    cqTail[0]++;
  };
  const lib: Liburing = {
    libraryPath: "fake",
    queueInit: (_entries: number, ring: RingMemory) => {
      const fields = new DataView(ring.buffer);
      for (const [offset, address] of pointers) fields.setBigUint64(offset, address, true);
      return 0;
    },
    queueExit: () => {},
    getSqe: () => 0n,
    submit: (ring: RingMemory) => submit(ring),
    submitAndWait: (ring: RingMemory) => {
      const submitted = submit(ring);
      for (const [low, high] of consumed) post(low, 0, high); // completes everything at once
      consumed.length = 0;
      return submitted;
    },
    getProbeRing: () => 0n,
    freeProbe: () => {},
    addressOf: (view: ArrayBufferView) => addresses.get(view) ?? 0x1000,
    memoryAt: (address: bigint, byteLength: number) => {
      const region = regions.get(address);
      assert.ok(region !== undefined && region.byteLength >= byteLength, `fake memory ${address}`);
      return region;
    },
    close: () => {},
  };
  return {
    lib,
    addresses,
    cqHead,
    sqeHex: (slot: number) =>
      Array.from(
        sqes.subarray(slot * 64, slot * 64 + 64),
        (byte) => byte.toString(16).padStart(2, "0"),
      ).join(""),
    /** Completes the consumed operation `userData` as the kernel would. */
    post: (userData: number, res: number) => {
      const index = consumed.findIndex(([low]) => low === userData);
      assert.ok(index >= 0, `fake kernel: ${userData} was not submitted`);
      consumed.splice(index, 1);
      post(userData, res);
    },
  };
}
