/**
 * The io_uring executor and backend against real files: thousands of writes
 * at random offsets in batches larger than the ring, reads back, fsyncs and
 * error completions as values; the journal example through the io-uring
 * backend writes the same bytes as the portable path, and verifies.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { IO_OP, IoBatch } from "../backend.ts";
import { IoUringBackend, Random, Runtime } from "../mod.ts";
import { openIoExecutor, RingExecutor } from "../ffi/executor.ts";
import { PortableExecutor } from "../ffi/portable.ts";
import journal, { ENTITIES, Journal } from "../examples/journal.ts";
import { verifyJournal } from "../examples/journal_check.ts";
import { ioUringSkip, requireIoUring } from "./fixtures/io_uring.ts";

const SKIP = ioUringSkip();
const SEED = Number(process.env.STATICECS_IO_SEED ?? 0x10ad);

function folder(): string {
  return mkdtempSync(path.join(tmpdir(), "staticecs-uring-"));
}

function push(batch: IoBatch, op: number, fd: number, offset: number, buffer?: Uint8Array): void {
  batch.push(op, fd, offset, buffer, undefined, 0, 0);
}

describe("RingExecutor", () => {
  test("3,000 random 4 KiB writes in one batch (12x the ring), then reads, byte for byte", {
    skip: SKIP,
  }, async () => {
    requireIoUring();
    console.log(`io_uring test seed ${SEED} (STATICECS_IO_SEED to repeat)`);
    const dir = folder();
    const file = path.join(dir, "data.bin");
    const executor = await openIoExecutor({ entries: 256 });
    assert.ok(executor instanceof RingExecutor, executor.reason);
    const fd = openSync(file, "w+");
    try {
      const slots = 1024, size = 4096, writes = 3000;
      const expected = new Uint8Array(slots * size);
      const random = new Random(SEED);
      const batch = new IoBatch(writes + 1);
      for (let w = 0; w < writes; w++) {
        const slot = random.int(slots);
        const data = new Uint8Array(size).fill(random.int(256));
        data[0] = w & 0xff;
        expected.set(data, slot * size);
        push(batch, IO_OP.write, fd, slot * size, data);
      }
      // The last write to a slot wins only if writes to one slot do not overlap in flight,
      // so give each slot one write: keep the last one per slot.
      const last = new Map<number, number>();
      for (let i = 0; i < writes; i++) last.set(batch.offset[i], i);
      const unique = new IoBatch(slots + 1);
      for (const i of last.values()) {
        push(unique, IO_OP.write, fd, batch.offset[i], batch.buffers[i]);
      }
      push(unique, IO_OP.fsync, fd, 0);
      executor.run(unique);
      for (let i = 0; i < unique.count - 1; i++) assert.equal(unique.result[i], size, `write ${i}`);
      assert.equal(unique.result[unique.count - 1], 0, "fsync after the writes");
      const reads = new IoBatch(slots);
      for (let s = 0; s < slots; s++) push(reads, IO_OP.read, fd, s * size, new Uint8Array(size));
      executor.run(reads);
      const onDisk = readFileSync(file);
      for (let s = 0; s < slots; s++) {
        if (!last.has(s * size)) continue;
        const want = expected.subarray(s * size, (s + 1) * size);
        assert.deepEqual(reads.buffers[s], want, `slot ${s} read back through the ring`);
        assert.deepEqual(onDisk.subarray(s * size, (s + 1) * size), Buffer.from(want));
      }
      assert.ok(executor.stats().ioEnterCalls >= 2, "a batch larger than the ring was refilled");
    } finally {
      closeSync(fd);
      executor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an operation on a bad fd completes with -EBADF, as on the portable path", {
    skip: SKIP,
  }, async () => {
    requireIoUring();
    const executor = await openIoExecutor();
    const portable = new PortableExecutor("test");
    try {
      for (const run of [executor, portable]) {
        const batch = new IoBatch(2);
        push(batch, IO_OP.write, 987654, 0, new Uint8Array(8));
        push(batch, IO_OP.fsync, 987654, 0);
        run.run(batch);
        assert.deepEqual([...batch.result.subarray(0, 2)], [-9, -9], run.kind);
      }
    } finally {
      executor.close();
    }
  });
});

describe("openIoExecutor without io_uring", () => {
  test("STATICECS_IO_URING=off gives the portable executor and says why", async () => {
    const executor = await openIoExecutor({ env: { STATICECS_IO_URING: "off" } });
    assert.equal(executor.kind, "portable");
    assert.match(executor.reason, /disabled by STATICECS_IO_URING=off/);
  });
});

describe("io-uring backend and the journal example", () => {
  /** Runs the journal scene; returns its journal handle, completed writes and checksum. */
  async function writeJournal(file: string, ring: boolean, ticks: number) {
    process.env.STATICECS_JOURNAL = file;
    const backend = ring ? new IoUringBackend({ open: () => openIoExecutor() }) : undefined;
    const io = ring ? undefined : new PortableExecutor("direct I/O");
    const runtime = await Runtime.create(journal, { backend, io, seed: 5 });
    try {
      for (let t = 0; t < ticks; t++) assert.deepEqual(runtime.tick().errors, []);
      const { file: handle, writes } = runtime.world.resource(Journal);
      return { handle, writes, checksum: runtime.checksum() };
    } finally {
      // Closes the journal through the executor that opened it.
      await runtime.close();
      delete process.env.STATICECS_JOURNAL;
    }
  }

  test("the ring and the portable path write the same journal and world, and it verifies", {
    skip: SKIP,
  }, async () => {
    requireIoUring();
    const dir = folder();
    try {
      const ringFile = path.join(dir, "ring.bin"), portableFile = path.join(dir, "portable.bin");
      const ring = await writeJournal(ringFile, true, 90);
      const portable = await writeJournal(portableFile, false, 90);
      assert.deepEqual(ring, portable, "handle, writes and checksum");
      assert.equal(ring.handle, 1, "the first file opened has handle 1 on both paths");
      assert.equal(ring.writes, 90);
      const bytes = readFileSync(ringFile);
      assert.deepEqual(bytes, readFileSync(portableFile));
      assert.deepEqual(verifyJournal(bytes, ENTITIES), { frames: 90, records: 90 * ENTITIES });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a damaged journal fails verification naming the record", () => {
    const bytes = new Uint8Array(32);
    new DataView(bytes.buffer).setUint32(16, 7, true);
    assert.throws(() => verifyJournal(bytes, 1), /record 1: tick 7, expected 1/);
  });
});
