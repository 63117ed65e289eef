import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { workspaceRoot } from '../support/service-process';

/**
 * Real Chromium for the browser paths: Debian's package on the PATH, driven
 * by playwright-core (Playwright's own browser download cannot work here).
 * The flags keep Chromium from phoning home, which this network refuses.
 */
export function chromiumPath(): string {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error(
    'Chromium is not on the PATH: install Debian\'s "chromium" package (.ci/run does).',
  );
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export const screenshotDir = join(workspaceRoot, 'tmp/screenshots');

/** Runs a browser test body; on failure saves a screenshot of every page under tmp/screenshots. */
export async function withScreenshots(
  name: string,
  pages: () => Page[],
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    mkdirSync(screenshotDir, { recursive: true });
    await Promise.all(
      pages().map((page, i) =>
        page
          .screenshot({
            path: join(screenshotDir, `${name.replace(/\W+/g, '-')}-${i}.png`),
            fullPage: true,
          })
          .catch(() => undefined),
      ),
    );
    throw error;
  }
}
