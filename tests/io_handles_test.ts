/**
 * The runtime's file handle table (core/_io_handles.ts) against real files:
 * handles in open order, the same on the portable path and io_uring, one
 * table shared by both paths, stale and unknown handles refused with
 * -EBADF before any file is touched, the maxOpenFiles bound, closing what is
 * left open, and handles across a snapshot restore.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fstatSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BoundError, defineResource, defineScene, defineSystem, O_FLAGS, Runtime } from "../mod.ts";
import { IO_OP, IoBatch, type IoExecutor } from "../backend.ts";
import { IoHandleTable } from "../core/_io_handles.ts";
import { resolveConfig } from "../core/config.ts";
import { openIoExecutor } from "../ffi/executor.ts";
import { PortableExecutor } from "../ffi/portable.ts";

const EBADF = -9, ENOENT = -2, EMFILE = -24;
const CREATE = O_FLAGS.rdwr | O_FLAGS.creat | O_FLAGS.trunc;

/** Runs `body` with a fresh temp folder, removed afterwards. */
async function inFolder(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "staticecs-handles-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One batch of intents, run through `table` and `executor`; returns the results. */
function runBatch(
  table: IoHandleTable,
  executor: IoExecutor,
  fill: (batch: IoBatch) => void,
): { results: number[]; batch: IoBatch } {
  const batch = new IoBatch(16);
  fill(batch);
  table.run(batch, executor);
  return { results: [...batch.result.subarray(0, batch.count)], batch };
}

function open(batch: IoBatch, file: string): void {
  batch.push(IO_OP.open, 0, 0, undefined, file, CREATE, 0o644);
}

function write(batch: IoBatch, handle: number, text: string, offset = 0): void {
  batch.push(IO_OP.write, handle, offset, new TextEncoder().encode(text), undefined, 0, 0);
}

function onFile(batch: IoBatch, op: number, handle: number): void {
  batch.push(op, handle, 0, undefined, undefined, 0, 0);
}

describe("IoHandleTable", () => {
  test("opens get handles 1, 2, 3 in record order, on the portable path and on io_uring", async () => {
    // io_uring where this machine has it, else the portable path again.
    for (const executor of [new PortableExecutor("test"), await openIoExecutor()]) {
      await inFolder((dir) => {
        const table = new IoHandleTable(8, 16);
        const files = ["a", "b", "c"].map((name) => path.join(dir, name));
        const opened = runBatch(table, executor, (batch) => files.forEach((f) => open(batch, f)));
        assert.deepEqual(opened.results, [1, 2, 3], executor.kind);
        const fds = [1, 2, 3].map((handle) => table.fdOf(handle));
        assert.equal(new Set(fds).size, 3, `distinct OS descriptors ${fds}`);
        const wrote = runBatch(table, executor, (batch) => write(batch, 2, "bee"));
        assert.deepEqual(wrote.results, [3]);
        assert.equal(readFileSync(files[1], "utf8"), "bee");
        assert.equal(readFileSync(files[0], "utf8"), "");
        assert.equal(table.closeAll(executor), 0);
        assert.equal(table.openCount, 0);
      });
      executor.close();
    }
  });

  test("one table for two executors: opened on one path, written on the other", async () => {
    const portable = new PortableExecutor("direct");
    const ring = await openIoExecutor();
    await inFolder((dir) => {
      const table = new IoHandleTable(4, 16);
      const file = path.join(dir, "shared.bin");
      assert.deepEqual(runBatch(table, portable, (batch) => open(batch, file)).results, [1]);
      assert.deepEqual(runBatch(table, ring, (batch) => write(batch, 1, "ring")).results, [4]);
      assert.deepEqual(runBatch(table, portable, (batch) => write(batch, 1, "!", 4)).results, [1]);
      assert.equal(readFileSync(file, "utf8"), "ring!");
      assert.equal(table.closeAll(portable), 0);
    });
    ring.close();
  });

  test("a closed handle is stale: -EBADF, and the file that reuses its slot is untouched", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(8, 16);
      const [a, b, c, d] = ["a", "b", "c", "d"].map((name) => path.join(dir, name));
      runBatch(table, executor, (batch) => [a, b, c].forEach((f) => open(batch, f)));
      assert.deepEqual(
        runBatch(table, executor, (batch) => onFile(batch, IO_OP.close, 2)).results,
        [
          0,
        ],
      );
      // The lowest free slot is 2 again, in its next generation: handle 2 + 65536.
      assert.deepEqual(runBatch(table, executor, (batch) => open(batch, d)).results, [65538]);
      const writes = runBatch(table, executor, (batch) => {
        write(batch, 2, "stale");
        write(batch, 65538, "fresh");
      });
      assert.deepEqual(writes.results, [EBADF, 5]);
      assert.equal(readFileSync(d, "utf8"), "fresh");
      assert.equal(readFileSync(b, "utf8"), "");
      table.closeAll(executor);
    });
  });

  test("intents after a close in the same phase complete with -EBADF", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(4, 16);
      const file = path.join(dir, "a");
      runBatch(table, executor, (batch) => open(batch, file));
      const { results } = runBatch(table, executor, (batch) => {
        write(batch, 1, "kept");
        onFile(batch, IO_OP.close, 1);
        write(batch, 1, "lost", 4);
        onFile(batch, IO_OP.fsync, 1);
        onFile(batch, IO_OP.close, 1);
      });
      assert.deepEqual(results, [4, 0, EBADF, EBADF, EBADF]);
      assert.equal(readFileSync(file, "utf8"), "kept");
      assert.equal(table.openCount, 0);
    });
  });

  test("handles never given out complete with -EBADF without reaching the executor", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(4, 16);
      runBatch(table, executor, (batch) => open(batch, path.join(dir, "a")));
      const before = executor.stats().ioOperations;
      // 0 and negatives; a free slot; past the capacity; slot 0; slot 1 in a wrong generation.
      const handles = [0, -1, 3, 9, 65536, 65537, 0x7fff_ffff];
      const { results } = runBatch(table, executor, (batch) => {
        for (const handle of handles) write(batch, handle, "x");
      });
      assert.deepEqual(results, handles.map(() => EBADF));
      assert.equal(executor.stats().ioOperations, before, "no intent reached the executor");
      assert.equal(table.fdOf(3), -1);
      table.closeAll(executor);
    });
  });

  test("a failed open stays a negative errno and takes no handle", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(4, 16);
      const { results } = runBatch(table, executor, (batch) => {
        open(batch, path.join(dir, "missing", "a"));
        open(batch, path.join(dir, "b"));
      });
      assert.deepEqual(results, [ENOENT, 2]);
      assert.deepEqual(runBatch(table, executor, (b) => open(b, path.join(dir, "c"))).results, [1]);
      table.closeAll(executor);
    });
  });

  test("an open past the bound completes with -EMFILE and a BoundError naming maxOpenFiles", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(2, 16);
      const full = runBatch(table, executor, (batch) => {
        for (const name of ["a", "b", "c"]) open(batch, path.join(dir, name));
      });
      assert.deepEqual(full.results, [1, 2, EMFILE]);
      const error = full.batch.errors[2];
      assert.ok(error instanceof BoundError);
      assert.equal(error.bound, "maxOpenFiles");
      assert.match(error.message, /2 files open .*raise config\.maxOpenFiles or close files/);
      assert.equal(full.batch.errors[1], undefined);
      // A close frees its slot when it completes: not for an open in the same phase.
      const same = runBatch(table, executor, (batch) => {
        onFile(batch, IO_OP.close, 1);
        open(batch, path.join(dir, "d"));
      });
      assert.deepEqual(same.results, [0, EMFILE]);
      assert.deepEqual(runBatch(table, executor, (b) => open(b, path.join(dir, "e"))).results, [
        65537,
      ]);
      table.closeAll(executor);
    });
  });

  test("closeAll closes the OS descriptors of the files left open", async () => {
    const executor = new PortableExecutor("test");
    await inFolder((dir) => {
      const table = new IoHandleTable(4, 2);
      for (const name of ["a", "b", "c"]) {
        const file = path.join(dir, name);
        const batch = new IoBatch(1);
        open(batch, file);
        table.run(batch, executor);
      }
      const fds = [1, 2, 3].map((handle) => table.fdOf(handle));
      for (const fd of fds) assert.ok(fstatSync(fd).isFile());
      // Three closes through a table whose batches hold two intents.
      assert.equal(table.closeAll(executor), 0);
      assert.equal(table.openCount, 0);
      assert.deepEqual([1, 2, 3].map((handle) => table.fdOf(handle)), [-1, -1, -1]);
      for (const fd of fds) assert.throws(() => fstatSync(fd), /EBADF|bad file descriptor/i);
    });
  });
});

describe("ctx.io file handles in a runtime", () => {
  const Log = defineResource("Log", { file: "u32", written: "u32", lastError: "i32" });

  function logScene(dir: string, files: number) {
    const opener = defineSystem({
      name: "opener",
      phase: "pre_update",
      io: true,
      writes: [Log],
      run(ctx) {
        if (ctx.tick > 0) return;
        for (let f = 0; f < files; f++) ctx.io.open(path.join(dir, `log${f}.bin`), CREATE);
      },
      onIo(completion, ctx) {
        if (!completion.failed && ctx.resource(Log).file === 0) {
          ctx.resource(Log).file = completion.result;
        }
        if (completion.failed) ctx.resource(Log).lastError = completion.result;
      },
    });
    const writer = defineSystem({
      name: "writer",
      io: true,
      writes: [Log],
      run(ctx) {
        ctx.io.write(ctx.resource(Log).file, new Uint8Array([ctx.tick]), ctx.tick);
      },
      onIo(completion, ctx) {
        if (completion.failed) ctx.resource(Log).lastError = completion.result;
        else ctx.resource(Log).written++;
      },
    });
    return defineScene({
      name: "log",
      components: [],
      resources: [Log],
      systems: [opener, writer],
      config: { maxOpenFiles: 1 },
    });
  }

  test("an open past config.maxOpenFiles is the opening system's BoundError", async () => {
    await inFolder(async (dir) => {
      const runtime = await Runtime.create(logScene(dir, 2), {
        io: new PortableExecutor("test"),
        errorPolicy: "aggregate",
      });
      try {
        const frame = runtime.tick();
        assert.equal(frame.errors.length, 1);
        assert.equal(frame.errors[0].system, "opener");
        assert.ok(frame.errors[0].error instanceof BoundError);
        assert.equal((frame.errors[0].error as BoundError).bound, "maxOpenFiles");
        const log = runtime.world.resource(Log);
        assert.equal(log.file, 1);
        assert.equal(log.lastError, EMFILE);
        assert.equal(log.written, 1, "the file that did open was written");
      } finally {
        await runtime.close();
      }
    });
  });

  test("open files do not survive a snapshot restore: the kept handle gives -EBADF", async () => {
    await inFolder(async (dir) => {
      const scene = logScene(dir, 1);
      const first = await Runtime.create(scene, { io: new PortableExecutor("test") });
      first.run(3);
      const snapshot = first.snapshot();
      await first.close();
      assert.equal(readFileSync(path.join(dir, "log0.bin")).length, 3);
      const restored = await Runtime.create(scene, { io: new PortableExecutor("test"), snapshot });
      try {
        assert.deepEqual(restored.tick().errors, []);
        const log = restored.world.resource(Log);
        assert.equal(log.file, 1, "the handle from before the snapshot");
        assert.equal(log.lastError, EBADF);
        assert.equal(log.written, 3);
      } finally {
        await restored.close();
      }
    });
  });

  test("config.maxOpenFiles is checked like every bound", () => {
    assert.equal(resolveConfig({}).maxOpenFiles, 1024);
    assert.throws(
      () => resolveConfig({ maxOpenFiles: 0 }),
      /config\.maxOpenFiles must be an integer from 1 to 65535; got 0/,
    );
  });
});
