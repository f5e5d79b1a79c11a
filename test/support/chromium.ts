// Launches the real Chromium that Debian ships (npm run setup installs it) through playwright-core,
// headless, with a fresh profile and no background network. Tests that use it declare
// `requires('chromium')` (requirements.ts), which decides what a missing Chromium means.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { locate } from './requirements';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A persistent context on a fresh --user-data-dir, removed by close(). */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(tmpdir(), 'pixtral-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: locate('chromium'),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };
