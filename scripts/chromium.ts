/**
 * Headless Chromium for the inspector's browser tests and its cost
 * benchmark: Debian's `chromium` package (`/usr/bin/chromium`, or
 * `STATICECS_CHROMIUM`), driven by playwright-core pointed at that
 * executable, so nothing is downloaded. Each launch gets a fresh profile
 * folder and the flags a machine without outside network needs.
 *
 * @module
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian's chromium package puts the browser; STATICECS_CHROMIUM overrides it. */
export const CHROMIUM_PATH: string = process.env.STATICECS_CHROMIUM ?? "/usr/bin/chromium";
/** How to get it. */
export const CHROMIUM_INSTALL_HINT = "install it with `apt-get install chromium` (Debian)";

/**
 * Flags for a headless Chromium on a machine whose network refuses outside
 * connections: no sandbox (tests run as root), no GPU, and none of the
 * background connections (updates, sync, QUIC probes) it would try.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with one page, and how to close it. */
export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile folder (removed on close)
 * and opens a page of `width` x `height`; throws, naming the fix, where
 * Chromium is missing.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 * const browser = await launchChromium();
 * await browser.page.goto("http://127.0.0.1:7477/");
 * await browser.close();
 * ```
 */
export async function launchChromium(width = 1400, height = 1000): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: ${CHROMIUM_INSTALL_HINT}`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), "staticecs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width, height },
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
