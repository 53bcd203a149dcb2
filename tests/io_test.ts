/**
 * I/O intents through ctx.io: batched per phase, completions delivered to
 * onIo before the next phase, errors as values, bounds, and the checks on
 * undeclared I/O. Runs on the portable executor (real files through
 * node:fs); the io_uring executor has its own tests.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import {
  BoundError,
  defineComponent,
  defineResource,
  defineScene,
  defineSystem,
  O_FLAGS,
  Runtime,
  type System,
} from "../mod.ts";
import type { IoExecutor } from "../backend.ts";
import { PortableExecutor } from "../ffi/portable.ts";

const Counter = defineComponent("Counter", { value: "u32" });
const File = defineResource("File", {
  file: "u32",
  written: "u32",
  readBack: "u32",
  lastError: "i32",
});

function folder(): string {
  return mkdtempSync(path.join(tmpdir(), "staticecs-io-"));
}

async function start(systems: System[], io: IoExecutor | undefined, config = {}) {
  const scene = defineScene({
    components: [Counter],
    resources: [File],
    systems,
    phases: ["open", "update", "check"],
    errorPolicy: "aggregate",
    config,
    setup(world) {
      for (let i = 0; i < 4; i++) world.spawn([Counter, { value: i }]);
    },
  });
  return await Runtime.create(scene, { io });
}

/** Opens `file` on tick 0; its handle lands in the File resource before the next phase. */
function opener(file: string): System {
  return defineSystem({
    name: "opener",
    phase: "open",
    io: true,
    writes: [File],
    run(ctx) {
      if (ctx.tick === 0) ctx.io.open(file, O_FLAGS.rdwr | O_FLAGS.creat | O_FLAGS.trunc);
    },
    onIo(completion, ctx) {
      assert.equal(completion.op, "open");
      assert.ok(completion.result >= 0, `open failed: ${completion.result}`);
      ctx.resource(File).file = completion.result;
    },
  });
}

describe("ctx.io on the portable executor", () => {
  test("writes each entity's value at its offset, reads it back in a later phase", async () => {
    const { openIoExecutor } = await import("../ffi/executor.ts");
    // The portable path, then io_uring where this machine has it (else portable again).
    for (const executor of [new PortableExecutor("test"), await openIoExecutor()]) {
      await readAfterWrite(executor);
    }
  });

  async function readAfterWrite(executor: IoExecutor): Promise<void> {
    const dir = folder();
    const file = path.join(dir, "journal.bin");
    const writer = defineSystem({
      name: "writer",
      query: { all: [Counter] },
      io: true,
      writes: [Counter, File],
      runChunk(chunk, ctx) {
        const file = ctx.resource(File).file;
        const value = chunk.write(Counter.value);
        for (let i = 0; i < chunk.count; i++) {
          value[i] += 10;
          const bytes = new Uint8Array(new Uint32Array([value[i]]).buffer);
          ctx.io.write(file, bytes, i * 4);
        }
      },
      onIo(completion, ctx) {
        assert.equal(completion.result, 4);
        ctx.resource(File).written++;
      },
    });
    const reader = defineSystem({
      name: "reader",
      phase: "check",
      io: true,
      writes: [File],
      run(ctx) {
        ctx.io.read(ctx.resource(File).file, new Uint8Array(16), 0);
      },
      onIo(completion, ctx) {
        assert.equal(completion.result, 16);
        const values = new Uint32Array(completion.buffer!.buffer);
        ctx.resource(File).readBack = values[3];
      },
    });
    const runtime = await start([opener(file), writer, reader], executor);
    try {
      for (let t = 0; t < 3; t++) assert.deepEqual(runtime.tick().errors, []);
      const resource = runtime.world.resource(File);
      assert.equal(resource.written, 12);
      assert.equal(resource.readBack, 3 + 30, "the check phase read what update wrote");
      const bytes = readFileSync(file);
      assert.deepEqual([...new Uint32Array(bytes.buffer, bytes.byteOffset, 4)], [30, 31, 32, 33]);
    } finally {
      await runtime.close();
      executor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("a failing intent completes with a negative errno; the frame has no error", async () => {
    const dir = folder();
    const bad = defineSystem({
      name: "bad",
      io: true,
      writes: [File],
      run(ctx) {
        ctx.io.open(path.join(dir, "missing", "file.bin"), O_FLAGS.rdonly);
      },
      onIo(completion, ctx) {
        ctx.resource(File).lastError = completion.result;
      },
    });
    const runtime = await start([bad], new PortableExecutor("test"));
    try {
      const frame = runtime.tick();
      assert.deepEqual(frame.errors, []);
      assert.equal(runtime.world.resource(File).lastError, -2, "ENOENT");
    } finally {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("more intents than maxIoPerPhase is a BoundError; those recorded still complete", async () => {
    let completed = 0;
    const flood = defineSystem({
      name: "flood",
      io: true,
      reads: [],
      run(ctx) {
        for (let i = 0; i < 20; i++) ctx.io.fsync(987654);
      },
      onIo() {
        completed++;
      },
    });
    const runtime = await start([flood], new PortableExecutor("test"), { maxIoPerPhase: 16 });
    try {
      const frame = runtime.tick();
      assert.equal(frame.errors.length, 1);
      assert.ok(frame.errors[0].error instanceof BoundError);
      assert.match(frame.errors[0].message, /maxIoPerPhase/);
      assert.equal(completed, 16);
    } finally {
      await runtime.close();
    }
  });

  test("I/O from a system that does not declare io is a UsageError naming the fix", async () => {
    const sneaky = defineSystem({
      name: "sneaky",
      reads: [],
      run(ctx) {
        ctx.io.fsync(1);
      },
    });
    const runtime = await start([sneaky], new PortableExecutor("test"));
    try {
      const frame = runtime.tick();
      assert.match(frame.errors[0].message, /sneaky records I\/O.*io: true/);
    } finally {
      await runtime.close();
    }
  });

  test("without an executor, intents fail with a message naming the fix", async () => {
    let result = 0;
    const lonely = defineSystem({
      name: "lonely",
      io: true,
      reads: [],
      run(ctx) {
        ctx.io.fsync(1);
      },
      onIo(completion) {
        result = completion.result;
      },
    });
    const runtime = await start([lonely], undefined);
    try {
      const frame = runtime.tick();
      assert.match(frame.errors[0].message, /no I\/O executor/);
      assert.equal(result, -38);
    } finally {
      await runtime.close();
    }
  });

  test("onIo without io: true is rejected when the system is declared", () => {
    assert.throws(
      () => defineSystem({ name: "x", run() {}, onIo() {} }),
      /onIo but does not declare io: true/,
    );
  });
});

describe("intent queue stress", () => {
  test("many I/O systems, full queues and the overflow rule, over many frames", async () => {
    const { openIoExecutor } = await import("../ffi/executor.ts");
    const { Random } = await import("../mod.ts");
    const seed = Number(process.env.STATICECS_IO_SEED ?? 4242);
    console.log(`intent stress seed ${seed} (STATICECS_IO_SEED to repeat)`);
    const dir = folder();
    const file = path.join(dir, "stress.bin");
    const capacity = 300;
    const recorded: number[] = [];
    const delivered = new Map<number, number>();
    let overflows = 0;
    const systems = Array.from({ length: 8 }, (_, s) =>
      defineSystem({
        name: `io_${s}`,
        io: true,
        reads: [File],
        run(ctx) {
          const handle = ctx.resource(File).file;
          const random = ctx.random;
          const count = random.int(80);
          for (let k = 0; k < count; k++) {
            const data = new Uint8Array(64).fill(s);
            try {
              recorded.push(ctx.io.write(handle, data, (s * 1000 + random.int(1000)) * 64));
            } catch (error) {
              if (!(error instanceof BoundError)) throw error;
              overflows++;
              throw error;
            }
          }
        },
        onIo(completion) {
          assert.equal(completion.result, 64, `write ${completion.ticket}`);
          delivered.set(completion.ticket, (delivered.get(completion.ticket) ?? 0) + 1);
        },
      }));
    const executor = await openIoExecutor({ entries: 64 });
    const runtime = await start([opener(file), ...systems], executor, {
      maxIoPerPhase: capacity,
    });
    try {
      const random = new Random(seed);
      let framesWithOverflow = 0;
      for (let t = 0; t < 60; t++) {
        const frame = runtime.tick();
        for (const error of frame.errors) assert.ok(error.error instanceof BoundError);
        if (frame.errors.length > 0) framesWithOverflow++;
        random.next();
      }
      assert.ok(framesWithOverflow > 0, "some frames filled the queue");
      assert.ok(overflows > 0);
      assert.equal(delivered.size, recorded.length, "every recorded intent completed");
      for (const ticket of recorded) assert.equal(delivered.get(ticket), 1, `ticket ${ticket}`);
    } finally {
      await runtime.close();
      executor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
