/**
 * Takes the README's screenshots of the inspector: `docs/inspector-run.png`
 * (boids on the adaptive backend, an entity looked up, paused after a step)
 * and `docs/inspector-cluster.png` (a coordinator with three members, one
 * killed with SIGKILL, its partitions moved). Needs Debian's chromium
 * (scripts/chromium.ts). Run: `npx bun scripts/inspect_screenshots.ts`.
 *
 * @module
 */

import path from "node:path";
import { launchChromium } from "./chromium.ts";
import { ROOT } from "../tests/fixtures/cli.ts";
import { startInspected, startInspectedCluster } from "../tests/fixtures/inspect.ts";
import { until } from "../tests/fixtures/until.ts";

const DOCS = path.join(ROOT, "docs");
const WAIT_MS = 60_000;

async function runPage(): Promise<void> {
  const inspected = await startInspected([
    "run",
    "examples/boids.ts",
    "--backend",
    "adaptive",
    "--workers",
    "1",
    "--duration",
    "120",
    "--inspect",
    "127.0.0.1:0",
  ]);
  // Tall enough that every view is on screen (the page draws only what is).
  const browser = await launchChromium(1400, 1900);
  try {
    const { page } = browser;
    await page.goto(`${inspected.url}#token=${inspected.token}`);
    await until(
      "two seconds of adaptive decisions",
      async () =>
        await page.locator("#decisions").count() > 0 &&
          Number(await page.getAttribute("#frame", "data-frames")) >= 3000 || undefined,
      WAIT_MS,
    );
    await page.fill("#handle", "#4242");
    await page.click("#lookup");
    await page.click("#query");
    await until(
      "the entity",
      async () => await page.getAttribute("#entity-card", "data-alive") === "true" || undefined,
      WAIT_MS,
    );
    await page.click("#pause");
    await page.click("#step");
    await until(
      "the step",
      async () => await page.getAttribute("#top", "data-state") === "paused" || undefined,
      WAIT_MS,
    );
    // Two redraws, so every view shows the paused run.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await page.evaluate("scrollTo(0, 0)");
    await page.screenshot({ path: path.join(DOCS, "inspector-run.png"), fullPage: true });
  } finally {
    await browser.close();
    inspected.run.child.kill("SIGKILL");
  }
}

async function clusterPage(): Promise<void> {
  const secret = "screenshot-secret-screenshot";
  const { coordinator, members } = await startInspectedCluster(16, 3, 6000, secret);
  const browser = await launchChromium(1300, 900);
  try {
    const { page } = browser;
    await page.goto(coordinator.url);
    await until(
      "three members running",
      async () => (await page.textContent("#member-count")) === "3" || undefined,
      WAIT_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const victim = members[1];
    const id = /member (\d+): joined/.exec(victim.stderr())?.[1];
    victim.child.kill("SIGKILL");
    await until(
      "the failover",
      async () => /failover/.test(await page.textContent("#log-lines") ?? "") || undefined,
      WAIT_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await page.screenshot({ path: path.join(DOCS, "inspector-cluster.png"), fullPage: true });
    console.log(`killed member ${id}`);
  } finally {
    await browser.close();
    for (const member of members) member.child.kill("SIGKILL");
    coordinator.run.child.kill("SIGKILL");
  }
}

await runPage();
await clusterPage();
console.log(
  `wrote ${path.join("docs", "inspector-run.png")} and ${
    path.join("docs", "inspector-cluster.png")
  }`,
);
