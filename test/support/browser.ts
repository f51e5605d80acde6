import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll } from 'vitest';
import { ROOT } from './spawn.js';

/**
 * Debian's chromium (`apt-get install chromium`; .ci/run installs it), driven by
 * playwright-core: a real browser, with nothing downloaded. As root it needs --no-sandbox;
 * --disable-background-networking keeps it from calling home. SLUICE_CHROMIUM names another
 * binary.
 */
export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

/** Where the tests write their screenshots (not committed; docs/ holds the chosen one). */
export const SCREENSHOTS = process.env.SLUICE_SCREENSHOTS ?? `${ROOT}test-results/console/`;

/** A headless browser for one test file, closed after it. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  afterAll(() => browser.close());
  mkdirSync(SCREENSHOTS, { recursive: true });
  return browser;
}
