/**
 * A real headless Chromium for the preview page's tests: Debian's `chromium` package driven through
 * playwright-core (never a downloaded browser). Without it the tests are skipped locally with a
 * warning, and fail in CI.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * True when Chromium is installed. When it is not: throws in CI (`process.env.CI` set), otherwise
 * warns and returns false so the caller can skip.
 */
export function chromiumInstalled(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const message = `the preview tests need Chromium at ${CHROMIUM_PATH}; install it with \`apt-get install chromium\``;
  if (process.env.CI) throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
  console.warn(`Skipping the preview browser tests: ${message}.`);
  return false;
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
}

export interface BrowserFixture {
  /** A new page in a fresh context (own cookies, cache and storage), closed after the test. */
  open(url?: string, viewport?: { width: number; height: number }): Promise<OpenedPage>;
}

/**
 * Launches one browser for the test file. Contexts opened with `open()` are closed after each test,
 * before the emulators (vitest runs after-hooks in reverse order, so call this after `useEmulator`).
 */
export function useBrowser(): BrowserFixture {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 });
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async open(url, viewport = { width: 1400, height: 1000 }) {
      if (!browser) throw new Error('the browser did not start');
      const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
      contexts.push(context);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
      if (url !== undefined) await page.goto(url);
      return { page, errors };
    },
  };
}
