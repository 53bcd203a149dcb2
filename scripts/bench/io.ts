/**
 * The I/O benchmark (issue 6): the io_uring batch path the runtime uses per
 * phase (RingExecutor over one IoBatch) against the ways an application does
 * the same file I/O without it.
 *
 * - write_16, write_64, write_256: one op is one "frame" of N writes of
 *   4 KiB at N distinct offsets of a 64 MiB file (page cache: the file is
 *   written whole before measuring). Offsets follow a fixed permutation of
 *   the file's 4 KiB slots; each op takes the next N, the same for every
 *   subject. Buffers are allocated once and reused.
 * - read_random: one op is 64 reads of 512 bytes at random byte offsets of
 *   the same file (a fixed table of offsets, walked in order).
 * - direct_write_16, direct_write_64, direct_write_256: the write_N workload
 *   (same offsets, same sizes) on a second 64 MiB file opened with O_DIRECT
 *   by every subject, from 4096-byte-aligned buffers (see _io_direct.ts):
 *   each write goes to the device, so there the ring can keep a batch in
 *   flight while pwrite waits for each. The file is made in TMPDIR's folder,
 *   else the project folder, else /var/tmp, the first whose filesystem takes
 *   O_DIRECT (the report names it); the cases are skipped if none does.
 *
 * Subjects:
 * - io_uring_batch: the intents recorded into an IoBatch through the
 *   runtime's IoRecorder, then RingExecutor.run (one io_uring_enter submits
 *   the batch and waits for it), then the batch is cleared: exactly what the
 *   runtime does per phase. The ring has 256 entries.
 * - write_sync / read_sync: node:fs writeSync / readSync per operation.
 * - promises: node:fs/promises FileHandle.write / read per operation, the op's
 *   N promises awaited with Promise.all.
 * - portable_executor: the same recorded batch through PortableExecutor.run
 *   (the runtime's fallback path).
 *
 * Besides ops/s, each subject reports writes/s (or reads/s) and system calls
 * per write (or read): measured for io_uring_batch (io_uring_enter calls from
 * the executor's stats over the operations it ran), computed for the others
 * (one pwrite/pread per operation; `strace -f -c` confirms it).
 *
 * Each case is warmed up and measured in interleaved rounds, and the median
 * is reported (see _harness.ts).
 *
 * Usage:
 *   npx bun scripts/bench/io.ts [--json] [--quick] [--rounds N] [--cases a,b] [--subjects a,b]
 *   npx deno run -A scripts/bench/io.ts [same options]
 *
 * `--cases` takes write_16, write_64, write_256, read_random, direct_write_16,
 * direct_write_64, direct_write_256; `--subjects`
 * (for side runs under strace or a profiler) takes io_uring_batch,
 * write_sync, read_sync, promises, portable_executor. The file lives in a
 * temporary folder (TMPDIR) that is removed at the end, as is the O_DIRECT one.
 *
 * @module
 */

import {
  closeSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open as openHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { IO_OP, type IoBatch, type IoExecutor, IoRecorder } from "../../core/io.ts";
import { openIoExecutor } from "../../ffi/executor.ts";
import { PortableExecutor } from "../../ffi/portable.ts";
import {
  type AddressSource,
  alignedBuffers,
  closeDirectFile,
  DIRECT_ALIGN,
  type DirectFile,
  openAddressSource,
  openDirectFile,
} from "./_io_direct.ts";
import {
  benchOptions,
  formatNumber,
  formatTable,
  interleave,
  median,
  type Op,
  parseNames,
  parseSubset,
  prepareRunner,
  printJson,
  type Row,
  type Runner,
  runtimeName,
  runtimeVersion,
  type Timing,
} from "./_harness.ts";

const WRITE_CASES = ["write_16", "write_64", "write_256"] as const;
const DIRECT_CASES = ["direct_write_16", "direct_write_64", "direct_write_256"] as const;
const CASES = [...WRITE_CASES, "read_random", ...DIRECT_CASES] as const;
type CaseName = typeof CASES[number];

const URING = "io_uring_batch";
const SUBJECTS = ["io_uring_batch", "write_sync", "read_sync", "promises", "portable_executor"];
const PROMISES = "promises";
const PORTABLE = "portable_executor";
const WRITE_SYNC = "write_sync";
const READ_SYNC = "read_sync";

const MIB = 1024 * 1024;
/** The file, all of it in the page cache. */
const FILE_BYTES = 64 * MIB;
const WRITE_BYTES = 4096;
const READS_PER_OP = 64;
const READ_BYTES = 512;
/** Random read offsets, walked in order (a multiple of READS_PER_OP). */
const READ_OFFSETS = 64 * 1024;
/** Submission queue entries of the benchmark's ring: at least the largest batch. */
const RING_ENTRIES = 256;
const SEED = 0x5eed_10;

interface Options {
  readonly json: boolean;
  readonly quick: boolean;
  readonly timing: Timing;
  readonly cases: readonly CaseName[];
  /** Subjects to run (all if undefined): for side runs under strace or a profiler. */
  readonly subjects: readonly string[] | undefined;
}

/** What one case is: N operations of `bytes` each per op, on the O_DIRECT file if `direct`. */
interface CaseShape {
  readonly kind: "write" | "read";
  readonly perOp: number;
  readonly bytes: number;
  readonly direct: boolean;
}

function shapeOf(name: CaseName): CaseShape {
  if (name === "read_random") {
    return { kind: "read", perOp: READS_PER_OP, bytes: READ_BYTES, direct: false };
  }
  const direct = name.startsWith("direct_");
  const perOp = Number(name.slice(direct ? "direct_write_".length : "write_".length));
  return { kind: "write", perOp, bytes: WRITE_BYTES, direct };
}

/** A subject set up for a case; `syscalls` gives the system calls per operation. */
interface Subject {
  readonly name: string;
  readonly op: Op;
  /** Called after measuring: system calls per operation, and whether measured. */
  readonly syscalls: () => { perOperation: number; measured: boolean };
  /** Checks the results of the op that ran last; throws if one is wrong. */
  readonly check: () => void;
}

/** A subject that could not run a case, and why. */
interface Skip {
  readonly subject: string;
  readonly case: string;
  readonly reason: string;
}

/** The temporary file and what every subject shares. */
interface Fixture {
  readonly folder: string;
  readonly file: string;
  /** Opened read-write for the synchronous subjects and the executors. */
  readonly fd: number;
  readonly handle: FileHandle;
  /** Byte offsets of the 4 KiB slots, in the fixed permuted order. */
  readonly writeOffsets: Float64Array;
  /** Random byte offsets for reads. */
  readonly readOffsets: Float64Array;
  readonly uring: IoExecutor | undefined;
  readonly uringReason: string;
  /** The O_DIRECT file of the direct_write cases and buffer addresses, or why there is none. */
  readonly direct: DirectFixture | undefined;
  readonly directReason: string;
}

interface DirectFixture {
  readonly file: DirectFile;
  readonly addresses: AddressSource;
}

/** The fd and FileHandle a case's subjects use. */
function targetOf(fixture: Fixture, shape: CaseShape): { fd: number; handle: FileHandle } {
  if (!shape.direct) return { fd: fixture.fd, handle: fixture.handle };
  return { fd: fixture.direct!.file.fd, handle: fixture.direct!.file.handle };
}

function parseOptions(): Options {
  return benchOptions({
    script: "io.ts",
    usage: USAGE,
    rounds: { quick: 3, full: 11 },
    options: { cases: "string", subjects: "string" },
  }, ({ json, quick, rounds, values }) => ({
    json,
    quick,
    timing: quick ? { warmupMs: 50, sliceMs: 40, rounds } : { warmupMs: 300, sliceMs: 100, rounds },
    cases: parseSubset("--cases", values.cases, CASES, "case"),
    subjects: parseNames("--subjects", values.subjects, SUBJECTS, "subject"),
  }));
}

/** mulberry32: a small seeded generator, so every run uses the same offsets. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b_79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** Creates the file, writes all of it (so it is allocated and cached), and opens the rest. */
async function openFixture(options: Options): Promise<Fixture> {
  const folder = mkdtempSync(path.join(tmpdir(), "staticecs-io-bench-"));
  const file = path.join(folder, "data.bin");
  let fd = -1;
  let handle: FileHandle | undefined;
  try {
    fd = openSync(file, "w+", 0o600);
    const chunk = new Uint8Array(MIB);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    for (let at = 0; at < FILE_BYTES; at += chunk.length) {
      if (writeSync(fd, chunk, 0, chunk.length, at) !== chunk.length) {
        throw new Error("short write while filling the benchmark file");
      }
    }
    // Clean pages to start from: no writeback of the fill runs while subjects are measured.
    fdatasyncSync(fd);
    handle = await openHandle(file, "r+");
    const next = random(SEED);
    const slots = FILE_BYTES / WRITE_BYTES;
    const writeOffsets = new Float64Array(slots);
    for (let i = 0; i < slots; i++) writeOffsets[i] = i * WRITE_BYTES;
    for (let i = slots - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [writeOffsets[i], writeOffsets[j]] = [writeOffsets[j], writeOffsets[i]];
    }
    const readOffsets = new Float64Array(READ_OFFSETS);
    for (let i = 0; i < READ_OFFSETS; i++) {
      readOffsets[i] = Math.floor(next() * (FILE_BYTES - READ_BYTES + 1));
    }
    const { direct, directReason } = await openDirect(options, folder);
    const uring = await openIoExecutor({ entries: RING_ENTRIES });
    if (uring.kind !== "io_uring") {
      uring.close();
      return {
        folder,
        file,
        fd,
        handle,
        writeOffsets,
        readOffsets,
        uring: undefined,
        uringReason: uring.reason,
        direct,
        directReason,
      };
    }
    return {
      folder,
      file,
      fd,
      handle,
      writeOffsets,
      readOffsets,
      uring,
      uringReason: uring.reason,
      direct,
      directReason,
    };
  } catch (error) {
    await handle?.close();
    if (fd >= 0) closeSync(fd);
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The O_DIRECT file (only when a direct_write case runs): in the fixture's
 * folder, else the project folder, else /var/tmp.
 */
async function openDirect(
  options: Options,
  folder: string,
): Promise<{ direct: DirectFixture | undefined; directReason: string }> {
  if (!options.cases.some((name) => shapeOf(name).direct)) {
    return { direct: undefined, directReason: "no direct_write case asked for" };
  }
  const addresses = await openAddressSource();
  if (typeof addresses === "string") return { direct: undefined, directReason: addresses };
  const project = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
  const opened = await openDirectFile(
    [
      { folder, create: false },
      { folder: project, create: true },
      { folder: "/var/tmp", create: true },
    ],
    FILE_BYTES,
  );
  if (!opened.ok) {
    addresses.close();
    return { direct: undefined, directReason: opened.reason };
  }
  const file = opened.direct;
  const skipped = opened.tried.length > 1
    ? `; tried first ${opened.tried.slice(0, -1).join(", ")}`
    : "";
  return {
    direct: { file, addresses },
    directReason: `O_DIRECT file ${file.file} on ${file.filesystem}, buffers ` +
      `${DIRECT_ALIGN}-aligned${skipped}`,
  };
}

async function closeFixture(fixture: Fixture): Promise<void> {
  try {
    fixture.uring?.close();
    await fixture.handle.close();
    closeSync(fixture.fd);
    if (fixture.direct !== undefined) {
      fixture.direct.addresses.close();
      await closeDirectFile(fixture.direct.file);
    }
  } finally {
    if (fixture.direct !== undefined) {
      rmSync(fixture.direct.file.file, { force: true });
    }
    rmSync(fixture.folder, { recursive: true, force: true });
  }
}

/** `count` buffers of `bytes` each, filled with a pattern that differs per buffer. */
function makeBuffers(count: number, bytes: number): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  for (let b = 0; b < count; b++) {
    const buffer = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) buffer[i] = (b * 7 + i) & 0xff;
    buffers.push(buffer);
  }
  return buffers;
}

/**
 * Walks a table of offsets N at a time: each subject has its own, so every
 * subject sees the same sequence of ops. The table's length is a multiple of N.
 */
class OffsetCursor {
  readonly #offsets: Float64Array;
  readonly #perOp: number;
  #at = 0;

  constructor(offsets: Float64Array, perOp: number) {
    if (offsets.length % perOp !== 0) throw new Error("offset table is not a multiple of N");
    this.#offsets = offsets;
    this.#perOp = perOp;
  }

  /** The index in the table of the next op's first offset. */
  take(): number {
    const at = this.#at;
    const next = at + this.#perOp;
    this.#at = next === this.#offsets.length ? 0 : next;
    return at;
  }
}

function offsetsOf(fixture: Fixture, shape: CaseShape): Float64Array {
  return shape.kind === "write" ? fixture.writeOffsets : fixture.readOffsets;
}

/** An executor subject: records the op's intents into a batch, runs it, clears it. */
function executorSubject(
  name: string,
  executor: IoExecutor,
  fixture: Fixture,
  shape: CaseShape,
  buffers: readonly Uint8Array[],
): Subject {
  const recorder = new IoRecorder(shape.perOp);
  const batch: IoBatch = recorder.batch;
  const offsets = offsetsOf(fixture, shape);
  const cursor = new OffsetCursor(offsets, shape.perOp);
  const opCode = shape.kind === "write" ? IO_OP.write : IO_OP.read;
  const fd = targetOf(fixture, shape).fd;
  const n = shape.perOp;
  const results = new Int32Array(n);
  const op = () => {
    const first = cursor.take();
    for (let i = 0; i < n; i++) {
      recorder.record(0, opCode, fd, offsets[first + i], buffers[i], undefined, 0, 0);
    }
    executor.run(batch);
    results.set(batch.result.subarray(0, n));
    batch.clear();
  };
  const before = executor.stats();
  return {
    name,
    op,
    syscalls: () => {
      const after = executor.stats();
      const operations = after.ioOperations - before.ioOperations;
      if (executor.kind === "io_uring") {
        return {
          perOperation: (after.ioEnterCalls - before.ioEnterCalls) / operations,
          measured: true,
        };
      }
      return {
        perOperation: (after.ioSystemCalls - before.ioSystemCalls) / operations,
        measured: false,
      };
    },
    check: () => checkResults(name, results, shape.bytes),
  };
}

function checkResults(name: string, results: ArrayLike<number>, bytes: number): void {
  for (let i = 0; i < results.length; i++) {
    if (results[i] !== bytes) {
      throw new Error(`${name}: operation ${i} returned ${results[i]}, expected ${bytes}`);
    }
  }
}

/** writeSync or readSync per operation. */
function syncSubject(fixture: Fixture, shape: CaseShape, buffers: readonly Uint8Array[]): Subject {
  const offsets = offsetsOf(fixture, shape);
  const cursor = new OffsetCursor(offsets, shape.perOp);
  const fd = targetOf(fixture, shape).fd;
  const n = shape.perOp;
  const bytes = shape.bytes;
  const results = new Int32Array(n);
  const name = shape.kind === "write" ? WRITE_SYNC : READ_SYNC;
  const op = shape.kind === "write"
    ? () => {
      const first = cursor.take();
      for (let i = 0; i < n; i++) {
        results[i] = writeSync(fd, buffers[i], 0, bytes, offsets[first + i]);
      }
    }
    : () => {
      const first = cursor.take();
      for (let i = 0; i < n; i++) {
        results[i] = readSync(fd, buffers[i], 0, bytes, offsets[first + i]);
      }
    };
  return {
    name,
    op,
    syscalls: () => ({ perOperation: 1, measured: false }),
    check: () => checkResults(name, results, bytes),
  };
}

/** FileHandle.write or .read per operation, all of an op's awaited with Promise.all. */
function promisesSubject(
  fixture: Fixture,
  shape: CaseShape,
  buffers: readonly Uint8Array[],
): Subject {
  const offsets = offsetsOf(fixture, shape);
  const cursor = new OffsetCursor(offsets, shape.perOp);
  const handle = targetOf(fixture, shape).handle;
  const n = shape.perOp;
  const bytes = shape.bytes;
  const results = new Int32Array(n);
  const pending: Promise<{ bytesWritten?: number; bytesRead?: number }>[] = new Array(n);
  const op = shape.kind === "write"
    ? async () => {
      const first = cursor.take();
      for (let i = 0; i < n; i++) {
        pending[i] = handle.write(buffers[i], 0, bytes, offsets[first + i]);
      }
      const done = await Promise.all(pending);
      for (let i = 0; i < n; i++) results[i] = done[i].bytesWritten!;
    }
    : async () => {
      const first = cursor.take();
      for (let i = 0; i < n; i++) {
        pending[i] = handle.read(buffers[i], 0, bytes, offsets[first + i]);
      }
      const done = await Promise.all(pending);
      for (let i = 0; i < n; i++) results[i] = done[i].bytesRead!;
    };
  return {
    name: PROMISES,
    op,
    syscalls: () => ({ perOperation: 1, measured: false }),
    check: () => checkResults(PROMISES, results, bytes),
  };
}

/** The subjects of a case, each with its own buffers (the kernel may hold an executor's). */
function makeSubjects(
  name: CaseName,
  fixture: Fixture,
  portable: PortableExecutor,
  options: Options,
  skips: Skip[],
): Subject[] {
  const shape = shapeOf(name);
  const buffers = () => buffersFor(fixture, shape);
  const subjects: Subject[] = [];
  if (fixture.uring !== undefined) {
    subjects.push(executorSubject(URING, fixture.uring, fixture, shape, buffers()));
  } else if (options.subjects?.includes(URING) ?? true) {
    skips.push({ subject: URING, case: name, reason: fixture.uringReason });
  }
  subjects.push(syncSubject(fixture, shape, buffers()));
  subjects.push(promisesSubject(fixture, shape, buffers()));
  subjects.push(executorSubject(PORTABLE, portable, fixture, shape, buffers()));
  return subjects;
}

/** A case's buffers: 4096-aligned ones (each address checked once) for the direct cases. */
function buffersFor(fixture: Fixture, shape: CaseShape): Uint8Array[] {
  if (!shape.direct) return makeBuffers(shape.perOp, shape.bytes);
  return alignedBuffers(shape.perOp, shape.bytes, fixture.direct!.addresses.addressOf);
}

/**
 * After one io_uring op, the bytes at its offsets are the buffers it wrote
 * (for the O_DIRECT file, read back through a separate fd without O_DIRECT).
 */
function checkWrittenBytes(fixture: Fixture, shape: CaseShape): void {
  if (fixture.uring === undefined || shape.kind !== "write") return;
  const buffers = buffersFor(fixture, shape);
  const target = targetOf(fixture, shape);
  const recorder = new IoRecorder(shape.perOp);
  // The offsets of the table's last op (a separate batch and buffers: the subjects' stay as is).
  const first = fixture.writeOffsets.length - shape.perOp;
  for (let i = 0; i < shape.perOp; i++) {
    recorder.record(
      0,
      IO_OP.write,
      target.fd,
      fixture.writeOffsets[first + i],
      buffers[i],
      undefined,
      0,
      0,
    );
  }
  fixture.uring.run(recorder.batch);
  checkResults(URING, recorder.batch.result.subarray(0, shape.perOp), shape.bytes);
  const readFd = shape.direct ? openSync(fixture.direct!.file.file, "r") : fixture.fd;
  try {
    const back = new Uint8Array(shape.bytes);
    for (let i = 0; i < shape.perOp; i++) {
      readSync(readFd, back, 0, shape.bytes, fixture.writeOffsets[first + i]);
      if (!back.every((byte, k) => byte === buffers[i][k])) {
        throw new Error(`${URING}: the file does not hold write ${i}'s bytes after its batch`);
      }
    }
  } finally {
    if (readFd !== fixture.fd) closeSync(readFd);
  }
  recorder.batch.clear();
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split("\n")[0].slice(0, 200);
}

async function runCase(
  name: CaseName,
  fixture: Fixture,
  portable: PortableExecutor,
  options: Options,
  skips: Skip[],
): Promise<Row[]> {
  const shape = shapeOf(name);
  if (shape.direct && fixture.direct === undefined) {
    const wanted = options.subjects ?? [URING, WRITE_SYNC, PROMISES, PORTABLE];
    for (const subject of wanted.filter((s) => s !== READ_SYNC)) {
      skips.push({ subject, case: name, reason: fixture.directReason });
    }
    return [];
  }
  checkWrittenBytes(fixture, shape);
  const subjects: Subject[] = [];
  const runners: Runner[] = [];
  const wanted = (subject: Subject) => options.subjects?.includes(subject.name) ?? true;
  for (const subject of makeSubjects(name, fixture, portable, options, skips).filter(wanted)) {
    try {
      const runner = await prepareRunner(subject.name, subject.op);
      subject.check();
      subjects.push(subject);
      runners.push(runner);
    } catch (error) {
      skips.push({ subject: subject.name, case: name, reason: describe(error) });
    }
  }
  const samples = await interleave(runners, options.timing);
  const rows: Row[] = [];
  const perUnit = shape.kind === "write" ? "writes/s" : "reads/s";
  const syscallUnit = shape.kind === "write" ? "syscalls/write" : "syscalls/read";
  for (const [i, subject] of subjects.entries()) {
    subject.check();
    const ops = median(samples[i]);
    rows.push({ case: name, subject: subject.name, value: ops, unit: "ops/s" });
    rows.push({ case: name, subject: subject.name, value: ops * shape.perOp, unit: perUnit });
    const { perOperation } = subject.syscalls();
    rows.push({ case: name, subject: subject.name, value: perOperation, unit: syscallUnit });
  }
  return rows;
}

function valueOf(rows: readonly Row[], name: string, subject: string): number | undefined {
  return rows.find((r) => r.case === name && r.subject === subject && r.unit === "ops/s")?.value;
}

/** The direct subject each case's io_uring batch is compared with, by ratio key suffix. */
function baselinesOf(name: CaseName): readonly (readonly [string, string])[] {
  const direct = name === "read_random" ? READ_SYNC : WRITE_SYNC;
  return [[direct, direct], [PROMISES, PROMISES], [PORTABLE, PORTABLE]];
}

/** io_uring batch ops/s over each other subject's: `<case>_vs_<subject>`. */
function ratiosOf(rows: readonly Row[], cases: readonly CaseName[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const name of cases) {
    const ours = valueOf(rows, name, URING);
    if (ours === undefined) continue;
    for (const [subject, key] of baselinesOf(name)) {
      const other = valueOf(rows, name, subject);
      if (other !== undefined) ratios[`${name}_vs_${key}`] = ours / other;
    }
  }
  return ratios;
}

/** The targets of issue 6 (set for Bun): ratio name, minimum. */
const TARGETS: readonly (readonly [string, number])[] = [
  ["write_256_vs_write_sync", 2],
  ["write_256_vs_promises", 3],
  ["direct_write_256_vs_write_sync", 2],
  ["direct_write_256_vs_promises", 3],
];

function ratioCell(value: number | undefined): string {
  return value === undefined ? "-" : `${value.toFixed(2)}x`;
}

function syscallCell(rows: readonly Row[], name: string, subject: string): string {
  const row = rows.find((r) =>
    r.case === name && r.subject === subject && r.unit.startsWith("syscalls/")
  );
  if (row === undefined) return "-";
  if (subject === URING) return `${row.value.toFixed(4)} measured`;
  return `${formatNumber(row.value)} computed`;
}

function opsTable(rows: readonly Row[], cases: readonly CaseName[]): string {
  const body: string[][] = [];
  for (const name of cases) {
    const subjects = [...new Set(rows.filter((r) => r.case === name).map((r) => r.subject))];
    for (const subject of subjects) {
      const ops = valueOf(rows, name, subject)!;
      const shape = shapeOf(name);
      const ours = valueOf(rows, name, URING);
      body.push([
        name,
        subject,
        formatNumber(ops),
        formatNumber(ops * shape.perOp),
        formatNumber(1e6 / (ops * shape.perOp), 2),
        syscallCell(rows, name, subject),
        subject === URING || ours === undefined ? "" : ratioCell(ours / ops),
      ]);
    }
  }
  return formatTable(
    [
      "case",
      "subject",
      "ops/s",
      "writes|reads/s",
      "us/write|read",
      "syscalls/write|read",
      "uring /",
    ],
    body,
  );
}

function targetLines(ratios: Record<string, number>): string[] {
  return TARGETS.filter(([key]) => ratios[key] !== undefined).map(([key, target]) =>
    `  ${ratios[key] >= target ? "met " : "MISS"}  ${key.padEnd(32)} ` +
    `${ratioCell(ratios[key]).padStart(7)}  (target >= ${target.toFixed(1)}x on Bun)`
  );
}

function printReport(
  rows: readonly Row[],
  ratios: Record<string, number>,
  skips: readonly Skip[],
  options: Options,
  fixture: Fixture,
): void {
  const t = options.timing;
  const out: string[] = [
    `io benchmark on ${runtimeName()} ${runtimeVersion()}: median of ${t.rounds} interleaved ` +
    `rounds of ${t.sliceMs} ms after ${t.warmupMs} ms of warm-up`,
    `one op: N writes of ${WRITE_BYTES} B at distinct offsets (write_N), or ${READS_PER_OP} ` +
    `reads of ${READ_BYTES} B at random offsets (read_random), in a ${FILE_BYTES / MIB} MiB ` +
    `file in ${fixture.folder} (page cache; direct_write_N: a second file, O_DIRECT)`,
    `${URING}: ${fixture.uringReason}`,
    ...(options.cases.some((name) => shapeOf(name).direct)
      ? [`direct_write_N: ${fixture.directReason}`]
      : []),
    "",
    opsTable(rows, options.cases),
    "",
    "syscalls: measured = io_uring_enter calls (RingExecutor stats) / operations; computed = " +
    "one pwrite/pread per operation",
    "uring /: io_uring_batch ops/s over the subject's",
    "",
  ];
  const targets = targetLines(ratios);
  if (targets.length > 0) out.push("targets:", ...targets, "");
  for (const skip of skips) out.push(`not run: ${skip.subject} on ${skip.case}: ${skip.reason}`);
  console.log(out.join("\n").trimEnd());
}

const USAGE = `usage: io.ts [--json] [--quick] [--rounds N] [--cases ${CASES.join(",")}] ` +
  `[--subjects ${SUBJECTS.join(",")}]`;

async function main(): Promise<void> {
  const options = parseOptions();
  const skips: Skip[] = [];
  const rows: Row[] = [];
  const fixture = await openFixture(options);
  const portable = new PortableExecutor("the portable path, measured against io_uring");
  try {
    for (const name of options.cases) {
      if (!options.json) console.error(`running ${name}...`);
      rows.push(...await runCase(name, fixture, portable, options, skips));
    }
  } finally {
    portable.close();
    await closeFixture(fixture);
  }
  const ratios = ratiosOf(rows, options.cases);
  if (!options.json) {
    printReport(rows, ratios, skips, options, fixture);
    return;
  }
  printJson({
    bench: "io",
    runtime: runtimeName(),
    rows,
    ratios,
    skipped: skips,
    syscalls: {
      [URING]: "measured: io_uring_enter calls (RingExecutor ioEnterCalls) / operations",
      [WRITE_SYNC]: "computed: one pwrite per write",
      [READ_SYNC]: "computed: one pread per read",
      [PROMISES]: "computed: one pwrite/pread per operation, on the runtime's thread pool",
      [PORTABLE]: "computed: PortableExecutor ioSystemCalls / operations (one per intent)",
    },
    setup: {
      runtimeVersion: runtimeVersion(),
      timing: options.timing,
      fileBytes: FILE_BYTES,
      writeBytes: WRITE_BYTES,
      readsPerOp: READS_PER_OP,
      readBytes: READ_BYTES,
      ringEntries: RING_ENTRIES,
      executor: fixture.uringReason,
      direct: fixture.directReason,
    },
  });
}

await main();
