/**
 * The inspector's pages in a real browser: headless Chromium (Debian's
 * package) driven by playwright-core, under both runtimes (each serves its
 * own pages: Bun.serve or Deno.serve). The run page: boids on work-stealing
 * with --inspect; the frame chart and the thread lanes fill with data, an
 * entity is looked up, the run is paused, stepped once (the tick advances by
 * exactly one) and resumed. The cluster page: a coordinator with --inspect
 * and three members; one is killed with SIGKILL and its partitions change
 * colour on the grid, while the stream's messages match the schema.
 * Screenshots go to test-output/ (git-ignored). Without Chromium these tests
 * skip, except under CI=true (tests/fixtures/chromium.ts).
 */

import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { CLUSTER_MESSAGES } from "../inspect/messages.ts";
import { validate } from "../inspect/schema.ts";
import { type Browser, chromiumSkip, launchChromium } from "./fixtures/chromium.ts";
import type { RunningChild } from "./fixtures/child.ts";
import { ROOT, RUNTIME } from "./fixtures/cli.ts";
import { readStream, startInspected, startInspectedCluster } from "./fixtures/inspect.ts";
import { until } from "./fixtures/until.ts";

/** Where screenshots go (git-ignored). */
const OUTPUT = path.join(ROOT, "test-output");
const LONG = { timeout: 150_000 };
const WAIT_MS = 45_000;
const SECRET = "inspector-browser-test-secret";

const children: RunningChild[] = [];
let browser: Browser | undefined;

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  for (const run of children.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
  }
});

/** Waits until `probe` gives something other than undefined, reading the page as it polls. */
function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return until(what, probe, WAIT_MS, 200);
}

/** A number the page keeps in a data attribute. */
async function dataNumber(page: Page, selector: string, name: string): Promise<number> {
  return Number(await page.getAttribute(selector, `data-${name}`));
}

/** The run state of the page's last control answer, once it is a new one. */
async function answerAfter(page: Page, click: string, before: string | undefined) {
  await page.click(click);
  const answer = await waitFor(`the answer to ${click}`, async () => {
    const text = await page.getAttribute("#top", "data-answer") ?? undefined;
    return text !== before ? text : undefined;
  });
  return { text: answer, state: JSON.parse(answer) as { tick: number; paused: boolean } };
}

/** The partition grid's cells: owner and colour. (Page code is a string: no DOM types here.) */
function gridCells(page: Page): Promise<{ owner: string; color: string }[]> {
  return page.evaluate(
    `[...document.querySelectorAll("#grid .cell")].map((cell) => ({
      owner: cell.dataset.owner, color: getComputedStyle(cell).backgroundColor }))`,
  );
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true });
  await page.evaluate("scrollTo(0, 0)");
  await page.screenshot({ path: path.join(OUTPUT, `${name}-${RUNTIME}.png`), fullPage: true });
}

describe("inspector in a browser", () => {
  it("run page: charts fill, an entity is looked up, pause, step one tick, resume", {
    ...LONG,
    skip: chromiumSkip(),
  }, async () => {
    browser = await launchChromium();
    const inspected = await startInspected([
      "run",
      "examples/boids.ts",
      "--backend",
      "work-stealing",
      "--workers",
      "1",
      "--duration",
      "120",
      "--inspect",
      "127.0.0.1:0",
    ]);
    children.push(inspected.run);
    const { page } = browser;
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${inspected.url}#token=${inspected.token}`);
    await waitFor(
      "the frame chart to hold frames",
      async () => await dataNumber(page, "#frame", "frames") > 100 || undefined,
    );
    await waitFor(
      "thread lanes with tasks on two threads",
      async () =>
        await dataNumber(page, "#threads", "tasks") > 0 &&
          await dataNumber(page, "#threads", "threads") === 2 || undefined,
    );
    assert.ok(await page.locator("#frame-chart canvas").count() > 0, "a uPlot canvas");

    await page.fill("#handle", "#1");
    await page.click("#lookup");
    const card = await waitFor(
      "the entity card",
      async () =>
        await page.getAttribute("#entity-card", "data-alive") === "true"
          ? await page.textContent("#entity-card") ?? ""
          : undefined,
    );
    assert.match(card, /Position/);
    assert.match(card, /Velocity/);

    const paused = await answerAfter(page, "#pause", undefined);
    assert.equal(paused.state.paused, true);
    const stepped = await answerAfter(page, "#step", paused.text);
    assert.equal(stepped.state.tick, paused.state.tick + 1, "a step runs exactly one tick");
    const steppedTick = stepped.state.tick;
    await screenshot(page, "inspector-run");

    await page.click("#resume");
    const resumedTick = await waitFor(
      "ticks after the resume",
      async () =>
        await page.getAttribute("#top", "data-state") === "running" &&
          await dataNumber(page, "#top", "tick") > steppedTick
          ? await dataNumber(page, "#top", "tick")
          : undefined,
    );
    assert.ok(resumedTick > steppedTick);
    assert.deepEqual(errors, []);
    inspected.run.child.kill("SIGTERM");
    const end = await inspected.run.ended;
    assert.ok(
      end.code === 0 || (RUNTIME === "deno" && end.signal === "SIGTERM"),
      inspected.run.stderr(),
    );
  });

  it("cluster page: a member killed with SIGKILL, its partitions change colour", {
    ...LONG,
    skip: chromiumSkip(),
  }, async () => {
    browser = await launchChromium(1300, 900);
    const { coordinator, members } = await startInspectedCluster(12, 3, 3000, SECRET);
    children.push(coordinator.run, ...members);
    const stream = readStream(coordinator.url);
    const { page } = browser;
    await page.goto(coordinator.url);
    const before = await waitFor("12 partitions spread over 3 members", async () => {
      const cells = await gridCells(page);
      const spread = cells.length === 12 && new Set(cells.map((c) => c.owner)).size === 3 &&
        cells.every((c) => c.owner !== "");
      return spread ? cells : undefined;
    });
    // Kill the member owning partition 0; find its process by the id it printed.
    const victimId = before[0].owner;
    const victim = await until(
      "the member that owns partition 0",
      () => members.find((m) => new RegExp(`member ${victimId}: joined`).test(m.stderr())),
    );
    const victimCells = before.flatMap((cell, i) => cell.owner === victimId ? [i] : []);
    victim.child.kill("SIGKILL");
    const after = await waitFor("the dead member's partitions on other members", async () => {
      const cells = await gridCells(page);
      const moved = cells.length === 12 &&
        cells.every((c) => c.owner !== "" && c.owner !== victimId);
      return moved ? cells : undefined;
    });
    for (const i of victimCells) {
      assert.notEqual(after[i].color, before[i].color, `partition ${i} changed colour`);
    }
    const log = await waitFor("the failover in the log", async () => {
      const text = await page.textContent("#log-lines") ?? "";
      return /failover/.test(text) ? text : undefined;
    });
    assert.match(log, new RegExp(`member ${victimId} failed`));
    await screenshot(page, "inspector-cluster");
    stream.close();
    const errors = stream.messages.flatMap((message, i) =>
      validate(CLUSTER_MESSAGES[String(message.type)] ?? "null", message).map((e) =>
        `${message.type} ${i}: ${e}`
      )
    );
    assert.deepEqual(errors, []);
    assert.ok(stream.ofType("cluster").length > 0 && stream.ofType("log").length > 0);
  });
});
