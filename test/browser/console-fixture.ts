// What the console's browser tests share: a service with a small directory, a Chromium, a page per test that
// records the browser's console errors, and helpers that call the API as an admin.
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../../tools/build-console.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { launchChromium } from './browser.js';

export const UI_TIMEOUT = 15_000;

export interface ConsoleFixture {
  t: TestService;
  browser: Browser;
  base: string;
  context: BrowserContext;
  page: Page;
  /** Messages of `console.error` and page errors seen by the current page. */
  consoleErrors: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  put(path: string, body: unknown): Promise<Record<string, unknown>>;
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
  get(path: string): Promise<Record<string, unknown>>;
  createGroup(name: string, rule: unknown, extra?: Record<string, unknown>): Promise<string>;
  signIn(key?: string): Promise<void>;
  /** Changes the address's hash in the page, as a person editing the address bar does (no reload). */
  goHash(hash: string): Promise<void>;
  waitFor(check: () => Promise<boolean>, what?: string): Promise<void>;
  waitForSync(groupId: string): Promise<Record<string, unknown>>;
}

/** Registers before/after hooks on the calling suite and returns the fixture they fill. */
export function useConsoleFixture(label: string, env: Record<string, string> = {}): ConsoleFixture {
  const f = { consoleErrors: [] as string[] } as unknown as ConsoleFixture;
  const admin = () => ({ Authorization: `Bearer ${f.t.adminKey}` });

  f.put = async (path, body) => {
    const res = await f.t.api.put(`/api/v1${path}`).set(admin()).send(body as object);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.be.oneOf([200, 201]);
    return res.body as Record<string, unknown>;
  };
  f.post = async (path, body) => {
    const res = await f.t.api.post(`/api/v1${path}`).set(admin()).send(body as object);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.be.oneOf([200, 201, 202]);
    return res.body as Record<string, unknown>;
  };
  f.get = async (path) => {
    const res = await f.t.api.get(`/api/v1${path}`).set(admin());
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.equal(200);
    return res.body as Record<string, unknown>;
  };
  f.createGroup = async (name, rule, extra = {}) => {
    const body = { name, type: rule ? 'automatic' : 'manual', ...(rule ? { rule } : {}), ...extra };
    return (await f.post('/groups', body)).id as string;
  };
  f.newPage = async (viewport = { width: 1280, height: 900 }) => {
    await f.context?.close();
    f.context = await f.browser.newContext({ viewport });
    f.context.setDefaultTimeout(UI_TIMEOUT);
    f.page = await f.context.newPage();
    f.consoleErrors.length = 0;
    f.page.on('console', (m) => {
      if (m.type() === 'error') f.consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    f.page.on('pageerror', (e) => f.consoleErrors.push(e.message));
    return f.page;
  };
  f.signIn = async (key = f.t.adminKey) => {
    await f.page.goto(`${f.base}/console/`);
    await f.page.getByLabel('API key').fill(key);
    await f.page.getByRole('button', { name: 'Sign in' }).click();
    await f.page.getByTestId('role').waitFor();
  };
  f.goHash = async (hash) => {
    // Runs in the page (the tests' tsconfig has no DOM types).
    await f.page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);
  };
  f.waitFor = async (check, what = 'the condition') => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what} never held`);
  };
  f.waitForSync = async (groupId) => {
    let g: Record<string, unknown> = {};
    await f.waitFor(async () => {
      g = await f.get(`/groups/${groupId}`);
      const sync = g.sync as { state?: string; lastSyncAt?: string } | undefined;
      return sync?.state === 'idle' && !!sync.lastSyncAt;
    }, `a sync of ${groupId}`);
    return g;
  };

  before(async () => {
    f.browser = await launchChromium();
    await buildConsole();
    f.t = await startTestService(label, env);
    f.base = `http://127.0.0.1:${(f.t.service.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await f.browser?.close();
    await f.t?.stop();
  });
  beforeEach(async () => {
    await f.newPage();
  });
  afterEach(async () => {
    await f.context?.close();
  });
  return f;
}
