/**
 * Tests of core/scheduler/deque.ts, injector.ts and parker.ts: single-thread
 * behaviour against a model (including index wrap-around), the overflow rule,
 * and stress across real Workers (tests/fixtures/deque_worker.ts) checking that
 * every task runs exactly once and that no wake-up is lost.
 *
 * The stress tests draw a seed, print it, and take STATICECS_STRESS_SEED to
 * repeat one. scripts/stress.ts runs them many rounds in a row.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  STEAL_EMPTY,
  STEAL_OK,
  STEAL_RETRY,
  TASK_WORDS,
  WorkDeque,
} from "../core/scheduler/deque.ts";
import { Injector } from "../core/scheduler/injector.ts";
import { Parker } from "../core/scheduler/parker.ts";
import { Prng } from "./fixtures/deque_shared.ts";
import {
  parkUntilWokenByWorker,
  runInjectorStress,
  runMpmcStress,
  runPingPong,
  runStealStorm,
  stressSeed,
  type StressSummary,
} from "./fixtures/deque_stress.ts";

/** Per test across Workers; the harness's own watchdog (below it) fails first and terminates them. */
const WORKER_TEST_TIMEOUT_MS = 30_000;
const HARNESS_TIMEOUT_MS = 15_000;
const INT32_MAX = 0x7fffffff;

function newDeque(capacity: number, initialIndex = 0): WorkDeque {
  const buffer = new SharedArrayBuffer(WorkDeque.bytesFor(capacity));
  return new WorkDeque(buffer, 0, capacity, true, initialIndex);
}

function newInjector(capacity: number, initialPosition = 0): Injector {
  const buffer = new SharedArrayBuffer(Injector.bytesFor(capacity));
  return new Injector(buffer, 0, capacity, true, initialPosition);
}

/** The task words the tests push for id: all four differ, so a mixed-up word shows. */
function pushTask(queue: WorkDeque | Injector, id: number): boolean {
  return queue.push(id, ~id, id * 7, -id - 1);
}

function assertTask(out: Int32Array, id: number): void {
  assert.deepEqual(Array.from(out), [id, ~id, id * 7, -id - 1]);
}

/**
 * Random owner pushes, pops and steals on one thread against an array model,
 * `operations` times; the capacity is tiny, so the slots wrap around often.
 */
function checkDequeAgainstModel(deque: WorkDeque, seed: number, operations: number): void {
  const random = new Prng(seed);
  const model: number[] = [];
  const out = new Int32Array(TASK_WORDS);
  let nextId = 0;
  for (let step = 0; step < operations; step += 1) {
    const choice = random.below(3);
    if (choice === 0) {
      const accepted = pushTask(deque, nextId);
      assert.equal(accepted, model.length < deque.capacity, `push at step ${step}`);
      if (accepted) model.push(nextId);
      nextId += 1;
    } else if (choice === 1) {
      const expected = model.pop();
      assert.equal(deque.pop(out), expected !== undefined, `pop at step ${step}`);
      if (expected !== undefined) assertTask(out, expected);
    } else {
      const expected = model.shift();
      assert.equal(deque.steal(out), expected === undefined ? STEAL_EMPTY : STEAL_OK);
      if (expected !== undefined) assertTask(out, expected);
    }
    assert.equal(deque.size(), model.length, `size at step ${step}`);
  }
}

function checkInjectorAgainstModel(injector: Injector, seed: number, operations: number): void {
  const random = new Prng(seed);
  const model: number[] = [];
  const out = new Int32Array(TASK_WORDS);
  let nextId = 0;
  for (let step = 0; step < operations; step += 1) {
    if (random.below(2) === 0) {
      const accepted = pushTask(injector, nextId);
      assert.equal(accepted, model.length < injector.capacity, `push at step ${step}`);
      if (accepted) model.push(nextId);
      nextId += 1;
    } else {
      const expected = model.shift();
      assert.equal(injector.pop(out), expected !== undefined, `pop at step ${step}`);
      if (expected !== undefined) assertTask(out, expected);
    }
    assert.equal(injector.size(), model.length, `size at step ${step}`);
  }
}

function describeSummary(summary: StressSummary): string {
  return `${summary.scenario}: seed ${summary.seed}, ${summary.tasks} tasks on ${summary.workers} ` +
    `workers in ${summary.ms.toFixed(0)} ms (executed ${summary.executed.join("/")}, ` +
    `steals ${summary.stealOk} ok ${summary.stealRetry} lost, ${summary.injected} injected, ` +
    `${summary.inline} inline, ${summary.parks} parks)`;
}

describe("WorkDeque on one thread", () => {
  test("the owner pops LIFO, a thief steals FIFO", () => {
    const deque = newDeque(8);
    const out = new Int32Array(TASK_WORDS);
    for (let id = 1; id <= 5; id += 1) assert.equal(pushTask(deque, id), true);
    assert.equal(deque.size(), 5);
    assert.equal(deque.pop(out), true);
    assertTask(out, 5);
    assert.equal(deque.steal(out), STEAL_OK);
    assertTask(out, 1);
    assert.equal(deque.steal(out), STEAL_OK);
    assertTask(out, 2);
    assert.equal(deque.pop(out), true);
    assertTask(out, 4);
    assert.equal(deque.pop(out), true);
    assertTask(out, 3);
    assert.equal(deque.size(), 0);
    assert.equal(deque.pop(out), false);
    assert.equal(deque.steal(out), STEAL_EMPTY);
    assert.equal(deque.size(), 0);
  });

  test("push refuses when full and writes nothing", () => {
    const deque = newDeque(4);
    const out = new Int32Array(TASK_WORDS);
    for (let id = 0; id < 4; id += 1) assert.equal(pushTask(deque, id), true);
    assert.equal(pushTask(deque, 99), false);
    assert.equal(deque.size(), 4);
    assert.equal(deque.steal(out), STEAL_OK);
    assertTask(out, 0);
    assert.equal(pushTask(deque, 4), true); // the slot freed by the steal
    assert.equal(pushTask(deque, 98), false);
    for (const id of [4, 3, 2, 1]) {
      assert.equal(deque.pop(out), true);
      assertTask(out, id);
    }
    assert.equal(deque.pop(out), false);
  });

  for (const capacity of [2, 4]) {
    test(`slots wrap around many times (capacity ${capacity})`, () => {
      checkDequeAgainstModel(newDeque(capacity), 1000 + capacity, 20_000);
    });
  }

  for (const start of [INT32_MAX - 40, -40]) {
    test(`indices cross the Int32 wrap (starting at ${start})`, () => {
      checkDequeAgainstModel(newDeque(4, start), 7, 2_000);
      checkDequeAgainstModel(newDeque(2, start), 8, 2_000);
    });
  }

  test("another WorkDeque over the same memory sees the same tasks", () => {
    const capacity = 4;
    const bytes = WorkDeque.bytesFor(capacity);
    const buffer = new SharedArrayBuffer(64 + 2 * bytes);
    const first = new WorkDeque(buffer, 64, capacity, true);
    const second = new WorkDeque(buffer, 64 + bytes, capacity, true);
    const thief = new WorkDeque(buffer, 64, capacity, false);
    const out = new Int32Array(TASK_WORDS);
    pushTask(first, 1);
    pushTask(first, 2);
    pushTask(second, 3);
    assert.equal(thief.size(), 2);
    assert.equal(thief.steal(out), STEAL_OK);
    assertTask(out, 1);
    assert.equal(first.size(), 1);
    assert.equal(second.size(), 1);
  });

  test("rejects a bad capacity, offset or buffer, naming the fix", () => {
    for (const capacity of [0, 1, 3, 6, 2.5, 1 << 25]) {
      assert.throws(() => WorkDeque.bytesFor(capacity), /power of two/);
    }
    const buffer = new SharedArrayBuffer(WorkDeque.bytesFor(4));
    assert.throws(() => new WorkDeque(buffer, 2, 4, true), /multiple of 4/);
    assert.throws(() => new WorkDeque(buffer, 4, 4, true), /WorkDeque\.bytesFor\(4\)/);
    assert.equal(STEAL_RETRY, 2);
  });

  test("an owner call on a corrupted deque fails its invariant instead of going on", () => {
    const buffer = new SharedArrayBuffer(WorkDeque.bytesFor(4));
    const deque = new WorkDeque(buffer, 0, 4, true);
    new Int32Array(buffer)[0] = 10; // top far past bottom: only a bug could do this
    assert.throws(() => pushTask(deque, 1), /invariant broken/);
  });
});

describe("Injector on one thread", () => {
  test("FIFO; push refuses when full, pop when empty", () => {
    const injector = newInjector(4);
    const out = new Int32Array(TASK_WORDS);
    assert.equal(injector.pop(out), false);
    for (let id = 0; id < 4; id += 1) assert.equal(pushTask(injector, id), true);
    assert.equal(pushTask(injector, 99), false);
    assert.equal(injector.size(), 4);
    for (let id = 0; id < 4; id += 1) {
      assert.equal(injector.pop(out), true);
      assertTask(out, id);
    }
    assert.equal(injector.pop(out), false);
    assert.equal(injector.size(), 0);
  });

  for (const capacity of [2, 4]) {
    test(`slots wrap around many times (capacity ${capacity})`, () => {
      checkInjectorAgainstModel(newInjector(capacity), 2000 + capacity, 20_000);
    });
  }

  for (const start of [INT32_MAX - 40, -40]) {
    test(`positions cross the Int32 wrap (starting at ${start})`, () => {
      checkInjectorAgainstModel(newInjector(4, start), 9, 2_000);
      checkInjectorAgainstModel(newInjector(2, start), 10, 2_000);
    });
  }

  test("rejects a bad capacity", () => {
    for (const capacity of [0, 1, 3, 12]) {
      assert.throws(() => Injector.bytesFor(capacity), /power of two/);
    }
  });
});

describe("the overflow rule: own deque, then the injector, then inline", () => {
  test("every task is accounted for exactly once", () => {
    const deque = newDeque(4);
    const injector = newInjector(8);
    const ran = new Int32Array(40);
    const inline: number[] = [];
    const runInline = (id: number) => {
      inline.push(id);
      ran[id] += 1;
    };
    // What the backend does with each task it spawns.
    const submit = (id: number) => {
      if (pushTask(deque, id)) return;
      if (pushTask(injector, id)) return;
      runInline(id);
    };
    for (let id = 0; id < ran.length; id += 1) submit(id);
    assert.equal(deque.size(), 4);
    assert.equal(injector.size(), 8);
    assert.deepEqual(inline, Array.from({ length: 28 }, (_, index) => 12 + index));
    const out = new Int32Array(TASK_WORDS);
    const fromDeque: number[] = [];
    while (deque.pop(out)) fromDeque.push(out[0]);
    const fromInjector: number[] = [];
    while (injector.pop(out)) fromInjector.push(out[0]);
    assert.deepEqual(fromDeque, [3, 2, 1, 0]);
    assert.deepEqual(fromInjector, [4, 5, 6, 7, 8, 9, 10, 11]);
    for (const id of [...fromDeque, ...fromInjector]) ran[id] += 1;
    assert.deepEqual(Array.from(ran), new Array(ran.length).fill(1));
  });
});

describe("Parker", () => {
  test("park returns at once when the epoch has moved on", () => {
    const parker = new Parker(new SharedArrayBuffer(Parker.bytesFor()), 0, true);
    const seen = parker.epoch();
    parker.wake();
    assert.notEqual(parker.epoch(), seen);
    assert.ok(parker.park(seen, 5_000) < 1_000);
    assert.equal(parker.sleepers(), 0);
  });

  test("park returns after its timeout when nobody wakes it", () => {
    const parker = new Parker(new SharedArrayBuffer(Parker.bytesFor()), 0, true);
    const parkedMs = parker.park(parker.epoch(), 50);
    assert.ok(parkedMs >= 45 && parkedMs < 2_000, `parked ${parkedMs} ms for a 50 ms timeout`);
    assert.equal(parker.sleepers(), 0);
    assert.throws(() => parker.park(parker.epoch(), -1), /timeoutMs/);
    assert.throws(() => parker.park(parker.epoch(), Infinity), /timeoutMs/);
  });

  test(
    "the main thread parked is woken by a worker",
    { timeout: WORKER_TEST_TIMEOUT_MS },
    async () => {
      const parkedMs = await parkUntilWokenByWorker(10_000);
      assert.ok(parkedMs >= 15 && parkedMs < 5_000, `parked ${parkedMs} ms`);
    },
  );

  test(
    "no lost wake-up in a ping-pong with a worker",
    { timeout: WORKER_TEST_TIMEOUT_MS },
    async () => {
      const seed = stressSeed();
      const summary = await runPingPong({ seed, rounds: 3_000, timeoutMs: HARNESS_TIMEOUT_MS });
      console.log(
        `pingpong: seed ${seed}, ${summary.rounds} rounds in ${summary.ms.toFixed(0)} ms, ` +
          `${summary.workerParks} worker parks, ${summary.mainParks} main parks`,
      );
      assert.equal(summary.lostWakeups, 0, `lost wake-ups (seed ${seed})`);
      // The test means something only if both sides really slept: each waits for the other to
      // park before handing over in about a third of the rounds.
      assert.ok(summary.workerParks >= summary.rounds / 4, `worker parked ${summary.workerParks}`);
      assert.ok(summary.mainParks >= summary.rounds / 4, `main parked ${summary.mainParks}`);
    },
  );
});

describe("across Workers", () => {
  test("MPMC: 200,000 tasks over 4 workers run exactly once", {
    timeout: WORKER_TEST_TIMEOUT_MS,
  }, async () => {
    const summary = await runMpmcStress({ seed: stressSeed(), timeoutMs: HARNESS_TIMEOUT_MS });
    console.log(describeSummary(summary));
    assert.equal(summary.executed.reduce((sum, count) => sum + count, 0), summary.tasks);
  });

  test("injector: 4 producers and consumers on 16 slots, exactly once, FIFO per producer", {
    timeout: WORKER_TEST_TIMEOUT_MS,
  }, async () => {
    const summary = await runInjectorStress({ seed: stressSeed(), timeoutMs: HARNESS_TIMEOUT_MS });
    console.log(describeSummary(summary));
    assert.equal(summary.executed.reduce((sum, count) => sum + count, 0), summary.tasks);
  });

  test("steal storm: 3 thieves on one owner, exactly once, LIFO and FIFO", {
    timeout: WORKER_TEST_TIMEOUT_MS,
  }, async () => {
    const summary = await runStealStorm({ seed: stressSeed(), timeoutMs: HARNESS_TIMEOUT_MS });
    console.log(describeSummary(summary));
    assert.equal(summary.executed.reduce((sum, count) => sum + count, 0), summary.tasks);
    assert.ok(summary.stealOk > 0, "no thief ever stole: the storm did not happen");
  });
});
