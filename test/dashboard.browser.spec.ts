// The dashboard in a real browser: Debian's chromium driven by playwright-core. Screenshots of every page go
// to a temp folder, or to docs/screenshots/ (committed; the README shows two) with UPDATE_SCREENSHOTS=1, so a
// test run never modifies tracked files. Skipped, with a message, only when chromium is absent and
// this is not CI; on CI (CI=true) a missing chromium fails the file.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, UnauthorizedException, type CanActivate } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResqueWorkerHandle } from '../lib/worker/index.js';
import { startDashboardApp, type DashboardApp } from './apps/dashboard-app.js';
import { loadKeys, readFixture } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const CHROMIUM = '/usr/bin/chromium';
const onCi = process.env['CI'] === 'true';
const runBrowser = existsSync(CHROMIUM) || onCi;
if (!runBrowser) console.warn(`dashboard.browser.spec: SKIPPED, ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it on CI)`);
const SHOTS =
  process.env['UPDATE_SCREENSHOTS'] === '1' ? join(import.meta.dirname, '..', 'docs', 'screenshots') : join(tmpdir(), `nestjs-resque-screenshots-${process.pid}`);

/** The XSS probes: each would set window.__xss or open an alert if it ever ran. */
const PROBES = ['<script>window.__xss = 1</script>', '"><img src=x onerror="window.__xss=2">', 'javascript:window.__xss=3', "'><svg onload=alert(4)>"];

let server: TestRedis;
let redis: Redis;
let browser: Browser;
let d: DashboardApp;

describe.skipIf(!runBrowser)('dashboard in chromium', () => {
  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
    // launch() gives the browser a fresh temporary profile of its own (playwright refuses --user-data-dir here).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    d = await startDashboardApp({ redisUrl: server.url, readOnly: false });
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await d?.close();
    await browser?.close();
    await server?.stop();
    if (process.env['UPDATE_SCREENSHOTS'] !== '1') rmSync(SHOTS, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await redis.flushall();
  });

  /** A page that accepts confirm() and records anything else a script could do (alerts, errors, the flag). */
  async function open(path: string, width = 1200): Promise<{ page: Page; alerts: string[]; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    const alerts: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (dialog) => {
      if (dialog.type() === 'confirm') void dialog.accept();
      else {
        alerts.push(dialog.message());
        void dialog.dismiss();
      }
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${d.url}${path}`);
    return { page, alerts, errors };
  }

  async function seedEverything(): Promise<void> {
    for (const name of ['php-worker-busy', 'ruby-worker-busy', 'php-enqueue-tracked', 'ruby-delayed', 'ruby-schedule-persistent']) {
      await loadKeys(redis, readFixture(name).keys);
    }
    await redis.sadd('resque:workers', 'vm:1185:default');
    const php = readFixture('php-failure').keys['resque:failed']!.value as string[];
    const ruby = readFixture('ruby-failure').keys['resque:failed']!.value as string[];
    await redis.rpush('resque:failed', ...php, ...ruby);
    await redis.set('resque:stat:processed', '1234');
    await redis.set('resque:stat:failed', '2');
  }

  it('opens every page over php and Ruby data and saves its screenshot', async () => {
    await seedEverything();
    const pages: Array<[string, string, string]> = [
      ['overview', '', 'default'],
      ['queue', '/queues/default', 'PhpEcho'],
      ['working', '/working', 'InteropSleep'],
      ['workers', '/workers', 'ruby'],
      ['failed', '/failed', 'RuntimeError'],
      ['failure', '/failed/1', 'Backtrace'],
      ['delayed', '/delayed', '1893456000'],
      ['delayed-at', '/delayed/1893456000', 'RubyEcho'],
      ['schedules', '/schedules', 'every_minute'],
      ['job', '/jobs?id=96402b8a278ea1aaef323f6b322ff84b', 'waiting'],
      ['stats', '/stats', 'redis_version'],
    ];
    for (const [name, path, expected] of pages) {
      const { page, errors } = await open(path);
      expect(await page.locator('#content').innerText(), name).toContain(expected);
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      expect(errors, name).toEqual([]);
      await page.close();
    }
    const phone = await open('/failed', 390);
    expect(await phone.page.locator('nav').isVisible()).toBe(true);
    await phone.page.screenshot({ path: join(SHOTS, 'failed-phone.png'), fullPage: true });
    await phone.page.close();
   }, 120_000); // a generous bound for 12 pages on a loaded machine, not a timing assertion

  it('retries a failed job from its row and it moves to its queue', async () => {
    await loadKeys(redis, readFixture('ruby-failure').keys);
    const { page } = await open('/failed');
    await page.locator('tr[data-index="0"] button', { hasText: 'Retry' }).click();
    await page.locator('#flash.ok').waitFor();
    expect(await page.locator('#flash').innerText()).toContain('Requeued to default');
    await page.goto(`${d.url}/queues/default`);
    expect(await page.locator('#content').innerText()).toContain('InteropFail');
    expect(await redis.llen('resque:queue:default')).toBe(1);
    await page.close();
  });

  it('removes a delayed job', async () => {
    await loadKeys(redis, readFixture('ruby-delayed').keys);
    const { page } = await open('/delayed/1893456000');
    expect(await page.locator('#content tbody tr').count()).toBe(2);
    await page.locator('#content tbody tr').first().locator('button', { hasText: 'Remove' }).click();
    await page.locator('#flash.ok').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#content tbody tr').length === 1);
    expect(await redis.llen('resque:delayed:1893456000')).toBe(1);
    await page.close();
  });

  it('shows a real worker appear and disappear on the Workers page as it refreshes itself', async () => {
    process.env['REDIS_URL'] = server.url; // read by the worker test module at import
    const [{ ResqueWorkerHost }, { WorkerTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/worker-module.js')]);
    const { page } = await open('/workers');
    expect(await page.locator('tr[data-worker]').count()).toBe(0);
    let handle: ResqueWorkerHandle | null = await ResqueWorkerHost.run(WorkerTestModule, { isolation: 'inline', queues: ['dash'], interval: 0.05, appOptions: { logger: false } });
    try {
      const row = page.locator('tr[data-worker]');
      await row.waitFor({ timeout: 20_000 });
      expect(await row.innerText()).toContain('nestjs-resque');
      await handle.stop('quit');
      handle = null;
      await row.waitFor({ state: 'detached', timeout: 20_000 });
    } finally {
      await handle?.stop('quit');
      await page.close();
    }
   }, 60_000);

  it('runs none of the XSS probes held in job args, class names, errors and queue names', async () => {
    const args = PROBES.map((probe) => ({ text: probe, url: probe }));
    await redis.sadd('resque:queues', PROBES[1]!);
    await redis.rpush(`resque:queue:${PROBES[1]!}`, JSON.stringify({ class: PROBES[0], args, id: 'probe' }));
    await redis.rpush('resque:failed', JSON.stringify({ failed_at: '2026/11/26 21:02:23 UTC', payload: { class: PROBES[3], args }, exception: PROBES[1], error: PROBES[0], backtrace: PROBES, worker: PROBES[2], queue: PROBES[1] }));
    await redis.sadd('resque:workers', `vm:1:${PROBES[1]!}`);
    for (const path of ['', `/queues/${encodeURIComponent(PROBES[1]!)}`, '/failed', '/failed/0', '/workers', '/failed?queue=%22%3E%3Cimg%20src%3Dx%20onerror%3D%22window.__xss%3D5%22%3E']) {
      const { page, alerts, errors } = await open(path);
      await page.locator('#content').waitFor();
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), path).toBeUndefined();
      expect(alerts, path).toEqual([]);
      expect(errors, path).toEqual([]);
      expect(await page.locator('#content img, #content svg, #content script, #content a[href^="javascript:"]').count(), path).toBe(0);
      if (path === '/failed/0') expect(await page.locator('#content').innerText()).toContain(PROBES[0]);
      await page.close();
    }
  });

  it('refuses a mutation without the CSRF token, and any mutation in read-only mode', async () => {
    await loadKeys(redis, readFixture('php-failure').keys);
    const { page } = await open('/failed');
    const status = await page.evaluate(async (url) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, `${d.url}/api/failed/clear`);
    expect(status).toBe(403);
    expect(await redis.llen('resque:failed')).toBe(1);
    await page.close();

    const readOnly = await startDashboardApp({ redisUrl: server.url });
    try {
      const ro = await browser.newPage();
      await ro.goto(`${readOnly.url}/failed`);
      expect(await ro.locator('button[data-post]').count()).toBe(0);
      const refused = await ro.evaluate(async (url) => {
        const token = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
        return (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: '{}' })).status;
      }, `${readOnly.url}/api/failed/clear`);
      expect(refused).toBe(403);
      expect(await redis.llen('resque:failed')).toBe(1);
      await ro.close();
    } finally {
      await readOnly.close();
    }
  });

  it('shows nothing behind a guard that refuses', async () => {
    @Injectable()
    class NeedsLogin implements CanActivate {
      canActivate(): boolean {
        throw new UnauthorizedException('log in first');
      }
    }
    const guarded = await startDashboardApp({ redisUrl: server.url, guards: [NeedsLogin], adapter: 'fastify' });
    try {
      const page = await browser.newPage();
      for (const path of ['', '/failed', '/api/overview', '/assets/dashboard.js']) {
        const res = await page.goto(`${guarded.url}${path}`);
        expect(res?.status(), path).toBe(401);
      }
      await page.close();
    } finally {
      await guarded.close();
    }
  });
});
