// Real headless Chromium (Debian's /usr/bin/chromium) with a fake microphone playing a known tone.
import { readFileSync } from 'node:fs';
import { chromium as playwright, type Browser } from 'playwright-core';

// One list of Chromium flags for every browser test (the widget's component tests read it too).
const chromium = JSON.parse(readFileSync(new URL('./chromium.json', import.meta.url), 'utf8')) as { executablePath: string; args: string[] };

export const CHROMIUM = process.env.CHROMIUM_PATH || chromium.executablePath;
export const CHROMIUM_FLAGS = chromium.args;

/** A browser whose microphone plays `audioFile` (a WAV) on a loop. */
export function launchBrowser(audioFile: string): Promise<Browser> {
  return playwright.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--use-file-for-fake-audio-capture=${audioFile}`],
  });
}
