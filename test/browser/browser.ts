// Headless Chromium for the console's browser tests: Debian's `chromium` (CI installs it with apt) driven by
// playwright-core, which downloads nothing. CHROMIUM_PATH names another binary. A missing browser FAILS the
// tests with this message rather than skipping them: CI has it, and a skipped suite would hide a broken console.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH} (install it with \`apt-get install -y chromium\`, or set CHROMIUM_PATH to a Chromium or Chrome binary).`,
    );
  }
  // --no-sandbox: CI and this machine run the tests as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Screenshots go to .tmp/screenshots; SCREENSHOTS_DIR=docs/screenshots refreshes the ones docs/console.md shows. */
export const SCREENSHOTS_DIR = path.resolve(process.env.SCREENSHOTS_DIR ?? '.tmp/screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}
