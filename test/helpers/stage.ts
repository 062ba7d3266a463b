// A test stage: a real server, a customer site embedding the widget, and one Chromium per fake-microphone tone.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { after, afterEach } from 'node:test';
import { launchBrowser } from './browser.js';
import { closePages, PhonePage } from './phone.js';
import { mintToken, startServer, type RunningServer, type ServerPlacement } from './server.js';
import { startSite, type Minter, type Site } from './site.js';
import { toneFile } from './tone.js';

export interface StageOptions {
  /** Browser name → the tone (Hz) its microphone plays. */
  browsers: Record<string, number>;
  /** Extra server environment. */
  env?: Record<string, string>;
  /** Run the server in a network namespace (see netns.ts). */
  placement?: ServerPlacement;
  /** The site's token endpoint (for `token-url` sign-in). */
  mint?: (server: RunningServer) => Minter;
}

export interface Stage {
  server: RunningServer;
  site: Site;
  browsers: Record<string, Browser>;
  /** Opens the site in `browser` with a phone given a token (or token URL); closed by `closePhones`. */
  open(browser: string, auth: string | { tokenUrl: string }): Promise<PhonePage>;
  /** `open`, then wait until the phone is ready. */
  phone(browser: string, auth: string | { tokenUrl: string }): Promise<PhonePage>;
  /** Hangs up and closes every page opened since the last call (between tests). */
  closePhones(): Promise<void>;
  close(): Promise<void>;
}

export async function startStage(options: StageOptions): Promise<Stage> {
  const fixtures = join(tmpdir(), 'astral-fixtures');
  const server = await startServer(options.env, options.placement);
  const site = await startSite(server.url, options.mint?.(server));
  const names = Object.keys(options.browsers);
  const launched = await Promise.all(names.map((name) => launchBrowser(toneFile(fixtures, options.browsers[name]!))));
  const browsers = Object.fromEntries(names.map((name, i) => [name, launched[i]!]));
  const open: PhonePage[] = [];
  const openPage = async (browser: string, auth: string | { tokenUrl: string }) => {
    const page = await PhonePage.open(browsers[browser]!, site.url, server.url, auth);
    open.push(page);
    return page;
  };
  return {
    server,
    site,
    browsers,
    open: openPage,
    async phone(browser, auth) {
      const page = await openPage(browser, auth);
      await page.waitState('ready');
      return page;
    },
    async closePhones() {
      await Promise.all(open.splice(0).map((p) => p.close()));
    },
    async close() {
      await closePages(open);
      await Promise.all(launched.map((b) => b.close()));
      await site.close();
      await server.stop();
    },
  };
}

/** The two-widget call suites' microphones: Alice's plays 440 Hz, Bob's 1000 Hz (each side must hear the other's). */
export const ALICE_HZ = 440;
export const BOB_HZ = 1000;

export interface CallStage extends Stage {
  /** Identity → widget token. */
  tokens: Record<string, string>;
  /** Opens `user`'s phone (in the browser of that name unless `browser` says) and waits until it is ready. */
  phoneOf(user: string, browser?: string): Promise<PhonePage>;
}

/**
 * A stage for calls between two widgets: Alice's browser (ALICE_HZ) and Bob's (BOB_HZ), tokens for alice (Alice, extension
 * 1001) and bob (Bob, 1002), then for any `moreUsers` (identity → token claims).
 */
export async function startCallStage(env: Record<string, string>, moreUsers: Record<string, Record<string, unknown>> = {}): Promise<CallStage> {
  const stage = await startStage({ browsers: { alice: ALICE_HZ, bob: BOB_HZ }, env });
  const users = { alice: { display_name: 'Alice', extension: '1001' }, bob: { display_name: 'Bob', extension: '1002' }, ...moreUsers };
  const tokens: Record<string, string> = {};
  for (const [identity, claims] of Object.entries(users)) tokens[identity] = await mintToken(stage.server, identity, claims);
  return Object.assign(stage, { tokens, phoneOf: (user: string, browser = user) => stage.phone(browser, tokens[user]!) });
}

/** A suite's last hook: the server's log on DUMP_SERVER=1, the stage closed, then `closeFakes` if given (the vendors the suite stands in for). */
export function closeStageAfter(stage: () => Stage | undefined, closeFakes?: () => unknown): void {
  after(async () => {
    if (process.env.DUMP_SERVER) console.log(stage()?.server.output());
    await stage()?.close();
    await closeFakes?.();
  });
}

/** The hooks of a suite on one stage whose phones it opens itself (`pages`): those closed after each test, then closeStageAfter. */
export function stageSuiteHooks(stage: () => Stage | undefined, pages: PhonePage[], closeFakes?: () => unknown): void {
  afterEach(() => closePages(pages));
  closeStageAfter(stage, closeFakes);
}
