import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../lib/dashboard/index.js';
import { CONTENT_SECURITY_POLICY } from '../lib/dashboard/dashboard.security.js';
import { startDashboardApp, type DashboardApp } from './apps/dashboard-app.js';
import { loadKeys, readFixture } from './support/fixtures.js';
import { ADAPTERS } from './support/http-app.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

async function token(d: DashboardApp): Promise<string> {
  return ((await (await fetch(`${d.url}/api/csrf`)).json()) as { token: string }).token;
}

function post(d: DashboardApp, path: string, body: unknown, csrf?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (csrf !== undefined) headers[CSRF_HEADER] = csrf;
  return fetch(`${d.url}/api${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

const PAGES = ['', '/working', '/workers', '/failed', '/delayed', '/schedules', '/jobs', '/stats', '/queues/default'];

describe.each(ADAPTERS)('dashboard on %s', (adapter) => {
  let d: DashboardApp;
  beforeAll(async () => {
    d = await startDashboardApp({ redisUrl: server.url, adapter, readOnly: false });
  });
  afterAll(async () => {
    await d.close();
  });

  it('serves every page as HTML with the CSP header, and the JSON API', async () => {
    for (const page of PAGES) {
      const res = await fetch(`${d.url}${page}`);
      expect(res.status, page).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(await res.text()).toContain(`<script src="/resque/assets/dashboard.js"></script>`);
    }
    expect(await (await fetch(`${d.url}/jobs?id=${encodeURIComponent('<b>nope')}`)).text()).toContain('No status for &lt;b&gt;nope');
    // count=0 would read the whole list with LRANGE start..-1: refused.
    expect((await fetch(`${d.url}/api/queues/default?count=0`)).status).toBe(400);
    expect((await fetch(`${d.url}/api/failed?count=501`)).status).toBe(400);
    const overview = (await (await fetch(`${d.url}/api/overview`)).json()) as Record<string, unknown>;
    expect(overview).toMatchObject({ queues: [], processed: 0, failed: 0, workers: 0 });
  });

  it('retries a failure into its queue with the CSRF header, and refuses a POST without it', async () => {
    await loadKeys(redis, readFixture('php-failure').keys);
    const refused = await post(d, '/failed/0/retry', {});
    expect(refused.status).toBe(403);
    expect(await redis.llen('resque:queue:default')).toBe(0);
    const done = await post(d, '/failed/0/retry', {}, await token(d));
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ queue: 'default' });
    const pushed = JSON.parse((await redis.lindex('resque:queue:default', 0))!) as { class: string };
    expect(pushed.class).toBe('InteropFail');
  });
});

describe('dashboard security', () => {
  it('escapes every value from Redis: a hostile queue, class and args appear as text, never as markup', async () => {
    const d = await startDashboardApp({ redisUrl: server.url });
    try {
      const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>';
      await redis.sadd('resque:queues', evil);
      await redis.rpush(`resque:queue:${evil}`, JSON.stringify({ class: `<script>alert(3)</script>`, args: [{ url: 'javascript:alert(4)', html: evil }], id: 'x' }));
      const overview = await (await fetch(d.url)).text();
      const queue = await (await fetch(`${d.url}/queues/${encodeURIComponent(evil)}`)).text();
      for (const text of [overview, queue]) {
        expect(text).not.toContain('<img src=x');
        expect(text).not.toContain('<script>alert');
        expect(text).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
      }
      expect(queue).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
      expect(queue).not.toMatch(/href="javascript:/);
    } finally {
      await d.close();
    }
  });

  it('is read-only by default: every mutation is refused even with the token, and no action button is shown', async () => {
    const d = await startDashboardApp({ redisUrl: server.url, async: true });
    try {
      await loadKeys(redis, readFixture('php-failure').keys);
      const res = await post(d, '/failed/clear', {}, await token(d));
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toContain('read-only');
      expect(await redis.llen('resque:failed')).toBe(1);
      expect(await (await fetch(`${d.url}/failed`)).text()).not.toContain('data-post=');
    } finally {
      await d.close();
    }
  });

  it('links to publicPath under a global prefix, so the script and every tab resolve', async () => {
    const d = await startDashboardApp({ redisUrl: server.url, globalPrefix: 'admin', publicPath: '/admin/resque' });
    try {
      const page = await (await fetch(d.url)).text();
      const script = /<script src="([^"]+)"/.exec(page)![1]!;
      expect(script).toBe('/admin/resque/assets/dashboard.js');
      expect((await fetch(new URL(script, d.url))).status).toBe(200);
      for (const [, href] of page.matchAll(/<nav>.*?<\/nav>/gs).next().value![0].matchAll(/href="([^"]+)"/g)) {
        expect((await fetch(new URL(href!, d.url))).status, href).toBe(200);
      }
    } finally {
      await d.close();
    }
  });

  it('runs the guards before every route: pages, API, assets and mutations', async () => {
    @Injectable()
    class DenyAll implements CanActivate {
      canActivate(_context: ExecutionContext): boolean {
        throw new ForbiddenException('admins only');
      }
    }
    const d = await startDashboardApp({ redisUrl: server.url, readOnly: false, guards: [DenyAll], adapter: 'fastify' });
    try {
      await loadKeys(redis, readFixture('php-failure').keys);
      for (const path of [...PAGES, '/api/overview', '/api/csrf', '/api/failed', '/assets/dashboard.js']) {
        const res = await fetch(`${d.url}${path}`);
        expect(res.status, path).toBe(403);
      }
      expect((await post(d, '/failed/clear', {}, 'anything')).status).toBe(403);
      expect(await redis.llen('resque:failed')).toBe(1);
    } finally {
      await d.close();
    }
  });
});

describe('dashboard over php-resque and Ruby data', () => {
  let d: DashboardApp;
  beforeAll(async () => {
    d = await startDashboardApp({ redisUrl: server.url, readOnly: false });
  });
  afterAll(async () => {
    await d.close();
  });

  it('tells php and Ruby workers apart and shows their current jobs', async () => {
    await loadKeys(redis, readFixture('php-worker-busy').keys);
    await loadKeys(redis, readFixture('ruby-worker-busy').keys);
    await redis.sadd('resque:workers', 'vm:1185:default');
    const workers = (await (await fetch(`${d.url}/api/workers`)).json()) as Array<{ id: string; kind: string; heartbeatAgeSeconds: number | null }>;
    expect(workers.map((w) => [w.id, w.kind])).toEqual([
      ['vm:1185:default', 'php'],
      ['vm:1476:default', 'ruby'],
    ]);
    expect(workers[0]!.heartbeatAgeSeconds).toBeNull();
    const page = await (await fetch(`${d.url}/working`)).text();
    expect(page).toContain('InteropSleep');
    expect(page).toContain('café');
  });

  it('shows php and Ruby failures with their exceptions and filters them', async () => {
    const php = readFixture('php-failure').keys['resque:failed']!.value as string[];
    const ruby = readFixture('ruby-failure').keys['resque:failed']!.value as string[];
    await redis.rpush('resque:failed', ...php, ...ruby);
    const all = (await (await fetch(`${d.url}/api/failed`)).json()) as { total: number; items: Array<{ index: number; exception: string; className: string }> };
    expect(all.total).toBe(2);
    expect(all.items.map((f) => f.index)).toEqual([1, 0]);
    const filtered = (await (await fetch(`${d.url}/api/failed?exception=RuntimeError`)).json()) as { items: Array<{ index: number }> };
    expect(filtered.items.map((f) => f.index)).toEqual([1]);
    const detail = await (await fetch(`${d.url}/failed/0`)).text();
    expect(detail).toContain('InteropFail');
    expect(detail).toContain('Backtrace');
  });

  it('lists php and Ruby delayed timestamps with counts, and removes one item with the index cleaned', async () => {
    await loadKeys(redis, readFixture('ruby-delayed').keys);
    const page = (await (await fetch(`${d.url}/api/delayed`)).json()) as { total: number; items: Array<{ at: number; size: number }> };
    expect(page.items).toEqual([
      { at: 1795730547, size: 1 },
      { at: 1893456000, size: 2 },
    ]);
    const at = (await (await fetch(`${d.url}/api/delayed/1795730547`)).json()) as { items: Array<{ raw: string; className: string }> };
    expect(at.items[0]!.className).toBe('RubyEcho');
    const res = await post(d, '/delayed/1795730547/remove', { raw: at.items[0]!.raw }, await token(d));
    expect(res.status).toBe(200);
    expect(await redis.zscore('resque:delayed_queue_schedule', '1795730547')).toBeNull();
    expect(await redis.exists('resque:delayed:1795730547')).toBe(0);
    expect(await redis.smembers(`resque:timestamps:${at.items[0]!.raw}`)).toEqual(['delayed:1893456000']);
  });

  it("shows Ruby's persistent schedule with its next run, and a php job's status", async () => {
    await loadKeys(redis, readFixture('ruby-schedule-persistent').keys);
    await loadKeys(redis, readFixture('php-enqueue-tracked').keys);
    const schedules = (await (await fetch(`${d.url}/api/schedules`)).json()) as Array<{ name: string; cron: string; nextRun: string; problem: string | null }>;
    expect(schedules).toMatchObject([{ name: 'every_minute', cron: '* * * * *', problem: null }]);
    expect(new Date(schedules[0]!.nextRun).getUTCSeconds()).toBe(0);
    const job = (await (await fetch(`${d.url}/api/jobs/96402b8a278ea1aaef323f6b322ff84b`)).json()) as { statusName: string };
    expect(job.statusName).toBe('waiting');
    const queue = (await (await fetch(`${d.url}/api/queues/default`)).json()) as { total: number; items: Array<{ className: string; id: string; enqueuedAt: number }> };
    expect(queue.items[0]).toMatchObject({ className: 'PhpEcho', id: '96402b8a278ea1aaef323f6b322ff84b' });
    expect(queue.items[0]!.enqueuedAt).toBeGreaterThan(1_700_000_000);
  });

  it("shows a job's progress on its Job page: a percentage as a bar, an object as JSON, nothing when none", async () => {
    const id = 'e'.repeat(32);
    await redis.set(`resque:job:${id}:status`, '{"status":2,"updated":1700000010,"started":1700000000,"progress":42.5}');
    expect(await (await fetch(`${d.url}/jobs?id=${id}`)).text()).toContain('<dt>Progress</dt><dd class="progress"><progress max="100" value="42.5"></progress> 42.5%</dd>');
    await redis.set(`resque:job:${id}:status`, '{"status":4,"updated":1700000010,"started":1700000000,"progress":{"done":"<b>3</b>"},"result":null}');
    expect(await (await fetch(`${d.url}/jobs?id=${id}`)).text()).toMatch(/<dt>Progress<\/dt><dd class="progress"><pre>[^<]*&lt;b&gt;3&lt;\/b&gt;[^<]*<\/pre><\/dd>/);
    await redis.set(`resque:job:${id}:status`, '{"status":2,"updated":1700000010,"started":1700000000}');
    expect(await (await fetch(`${d.url}/jobs?id=${id}`)).text()).not.toContain('<dt>Progress</dt>');
  });
});

describe('dashboard actions', () => {
  let d: DashboardApp;
  let csrf: string;
  beforeAll(async () => {
    d = await startDashboardApp({ redisUrl: server.url, readOnly: false, adapter: 'fastify' });
    csrf = await token(d);
  });
  afterAll(async () => {
    await d.close();
  });

  it('removes one job of a queue by its exact string, then clears the queue', async () => {
    await loadKeys(redis, readFixture('php-enqueue-tracked').keys);
    await redis.rpush('resque:queue:default', '{"class":"Other","args":[]}', '{"class":"Other","args":[]}');
    const page = (await (await fetch(`${d.url}/api/queues/default`)).json()) as { items: Array<{ raw: string; className: string }> };
    expect(page.items.map((j) => j.className)).toEqual(['PhpEcho', 'Other', 'Other']);
    expect(await (await post(d, '/queues/default/remove', { raw: page.items[1]!.raw }, csrf)).json()).toMatchObject({ removed: 1 });
    expect(await redis.lrange('resque:queue:default', 0, -1)).toEqual([page.items[0]!.raw, '{"class":"Other","args":[]}']);
    expect(await (await post(d, '/queues/default/clear', {}, csrf)).json()).toMatchObject({ removed: 2 });
    expect(await redis.llen('resque:queue:default')).toBe(0);
    expect((await post(d, '/queues/default/remove', {}, csrf)).status).toBe(400);
  });

  it('retries and removes the failures matching a filter only', async () => {
    const php = readFixture('php-failure').keys['resque:failed']!.value as string[];
    const ruby = readFixture('ruby-failure').keys['resque:failed']!.value as string[];
    await redis.rpush('resque:failed', ...php, ...ruby);
    expect(await (await post(d, '/failed/retry-all', { exception: 'RuntimeError' }, csrf)).json()).toMatchObject({ retried: 1 });
    expect(await redis.llen('resque:queue:default')).toBe(1);
    expect(await (await post(d, '/failed/clear', { exception: 'RuntimeException' }, csrf)).json()).toMatchObject({ removed: 1 });
    const left = JSON.parse((await redis.lindex('resque:failed', 0))!) as { exception: string; retried_at?: string };
    expect(await redis.llen('resque:failed')).toBe(1);
    expect(left.exception).toBe('RuntimeError');
    expect(left.retried_at).toBeTruthy();
  });

  it('moves one delayed job to its queue now, cleaning the schedule, and fires a recurring schedule once', async () => {
    await loadKeys(redis, readFixture('php-delayed').keys);
    await loadKeys(redis, readFixture('ruby-schedule-persistent').keys);
    const raw = (await redis.lindex('resque:delayed:1795730545', 0))!;
    expect(await (await post(d, '/delayed/1795730545/enqueue', { raw }, csrf)).json()).toMatchObject({ moved: 1 });
    expect(await redis.exists('resque:delayed:1795730545')).toBe(0);
    expect(await redis.zscore('resque:delayed_queue_schedule', '1795730545')).toBeNull();
    const moved = JSON.parse((await redis.lpop('resque:queue:default'))!) as { class: string; args: unknown[] };
    expect(moved).toMatchObject({ class: 'PhpEcho', args: [{ name: 'in-an-hour' }] });
    expect((await post(d, '/delayed/1795730545/enqueue', { raw }, csrf)).status).toBe(404);

    expect(await (await post(d, '/schedules/every_minute/enqueue', {}, csrf)).json()).toMatchObject({ queue: 'default' });
    const fired = JSON.parse((await redis.lpop('resque:queue:default'))!) as { class: string; args: unknown[] };
    expect(fired).toMatchObject({ class: 'RubyEcho', args: [{ a: 1 }] });
    expect((await post(d, '/schedules/nope/enqueue', {}, csrf)).status).toBe(404);
  });
});

describe('dashboard README', () => {
  it('documents every ResqueDashboardModule option', () => {
    const source = readFileSync(new URL('../lib/dashboard/dashboard.options.ts', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const members: string[] = [];
    for (const name of ['ResqueDashboardOptions', 'ResqueDashboardExtras']) {
      const body = source.slice(source.indexOf(`export interface ${name}`)).split(/\n\}/)[0]!;
      for (const m of body.matchAll(/^ {2}(\w+)\?:/gm)) members.push(m[1]!);
    }
    expect(members).toEqual(expect.arrayContaining(['readOnly', 'pageSize', 'refreshSeconds', 'csrfSecret', 'path', 'guards', 'publicPath']));
    expect(members.filter((m) => !readme.includes(`| \`${m}\` |`))).toEqual([]);
  });
});
