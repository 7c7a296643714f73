import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import type { FailureFilter } from '../admin/admin.types.js';
import { DashboardActions } from './dashboard.actions.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './dashboard.assets.js';
import { DashboardData } from './dashboard.data.js';
import * as pages from './dashboard.pages.js';
import { CSRF_HEADER, DashboardHeadersInterceptor, DashboardSecurity } from './dashboard.security.js';

const HTML = 'text/html; charset=utf-8';
type QueryMap = Record<string, string | string[] | undefined>;
type BodyMap = Record<string, unknown> | undefined;

function intParam(value: unknown, name: string, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new BadRequestException(`${name} must be a non-negative integer`);
  return n;
}

function stringField(body: BodyMap, name: string): string {
  const value = body?.[name];
  if (typeof value !== 'string' || value === '') throw new BadRequestException(`body.${name} must be a non-empty string`);
  return value;
}

function filterOf(source: QueryMap | BodyMap): FailureFilter {
  const filter: FailureFilter = {};
  for (const key of ['queue', 'class', 'exception'] as const) {
    const value = source?.[key];
    if (typeof value === 'string' && value !== '') filter[key] = value;
  }
  return filter;
}

const isFiltered = (f: FailureFilter): boolean => f.queue !== undefined || f.class !== undefined || f.exception !== undefined;

/** Service errors about bad input (TypeError/RangeError) become 400 instead of 500. */
async function input<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new BadRequestException(error.message);
    throw error;
  }
}

/**
 * The dashboard's routes, pages and `/api`, on the user's own HTTP adapter (Express or Fastify). A class per
 * module definition, because its path and guards are given in forRoot.
 */
export function createDashboardController(path: string, publicPath: string, guards: Array<CanActivate | Type<CanActivate>>): Type<unknown> {
  @Controller(path)
  @UseGuards(...guards)
  @UseInterceptors(DashboardHeadersInterceptor)
  class ResqueDashboardController {
    constructor(
      readonly data: DashboardData,
      readonly actions: DashboardActions,
      readonly security: DashboardSecurity,
    ) {}

    private get ctx(): pages.PageContext {
      const s = this.security.settings;
      return { base: publicPath, csrfToken: this.security.csrfToken, readOnly: s.readOnly, refreshSeconds: s.refreshSeconds, namespace: this.data.namespace };
    }

    private start(query: QueryMap): number {
      return intParam(query['start'], 'start', 0);
    }

    /** 1..500 (a count of 0 would make LRANGE start..start-1 read to the end of the list). */
    private count(query: QueryMap): number {
      const count = intParam(query['count'], 'count', this.security.settings.pageSize);
      if (count < 1 || count > 500) throw new BadRequestException('count must be 1..500');
      return count;
    }

    // --- assets ------------------------------------------------------------------------------------

    @Get('assets/dashboard.js')
    @Header('Content-Type', 'text/javascript; charset=utf-8')
    script(): string {
      return DASHBOARD_JS;
    }

    @Get('assets/dashboard.css')
    @Header('Content-Type', 'text/css; charset=utf-8')
    style(): string {
      return DASHBOARD_CSS;
    }

    // --- pages -------------------------------------------------------------------------------------

    @Get()
    @Header('Content-Type', HTML)
    async overviewPage(): Promise<string> {
      return pages.overviewPage(this.ctx, await this.data.overview());
    }

    @Get('queues/:name')
    @Header('Content-Type', HTML)
    async queuePage(@Param('name') name: string, @Query() query: QueryMap): Promise<string> {
      return pages.queuePage(this.ctx, name, await this.data.queuePage(name, this.start(query), this.security.settings.pageSize));
    }

    @Get('working')
    @Header('Content-Type', HTML)
    async workingPage(): Promise<string> {
      return pages.workingPage(this.ctx, await this.data.working());
    }

    @Get('workers')
    @Header('Content-Type', HTML)
    async workersPage(): Promise<string> {
      return pages.workersPage(this.ctx, await this.data.workerList());
    }

    @Get('failed')
    @Header('Content-Type', HTML)
    async failedPage(@Query() query: QueryMap): Promise<string> {
      return pages.failedPage(this.ctx, await this.data.failedPage(this.start(query), this.security.settings.pageSize, filterOf(query)));
    }

    @Get('failed/:index')
    @Header('Content-Type', HTML)
    async failurePage(@Param('index') index: string): Promise<string> {
      const failure = await this.data.failure(intParam(index, 'index'));
      if (!failure) throw new NotFoundException(`no failure #${index}`);
      return pages.failurePage(this.ctx, failure);
    }

    @Get('delayed')
    @Header('Content-Type', HTML)
    async delayedPage(@Query() query: QueryMap): Promise<string> {
      return pages.delayedPage(this.ctx, await this.data.delayedPage(this.start(query), this.security.settings.pageSize));
    }

    @Get('delayed/:at')
    @Header('Content-Type', HTML)
    async delayedAtPage(@Param('at') at: string, @Query() query: QueryMap): Promise<string> {
      const ts = intParam(at, 'timestamp');
      return pages.delayedAtPage(this.ctx, ts, await this.data.delayedAt(ts, this.start(query), this.security.settings.pageSize));
    }

    @Get('schedules')
    @Header('Content-Type', HTML)
    async schedulesPage(): Promise<string> {
      return pages.schedulesPage(this.ctx, await this.data.scheduleList());
    }

    @Get('jobs')
    @Header('Content-Type', HTML)
    async jobPage(@Query('id') id?: string): Promise<string> {
      if (id === undefined || id === '') return pages.jobPage(this.ctx, null);
      try {
        return pages.jobPage(this.ctx, await this.data.job(id.trim()));
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) return pages.jobPage(this.ctx, null, error.message);
        throw error;
      }
    }

    @Get('stats')
    @Header('Content-Type', HTML)
    async statsPage(): Promise<string> {
      return pages.statsPage(this.ctx, await this.data.stats());
    }

    // --- JSON API: reads ---------------------------------------------------------------------------

    @Get('api/overview')
    overview(): Promise<unknown> {
      return this.data.overview();
    }

    @Get('api/queues/:name')
    queue(@Param('name') name: string, @Query() query: QueryMap): Promise<unknown> {
      return this.data.queuePage(name, this.start(query), this.count(query));
    }

    @Get('api/working')
    working(): Promise<unknown> {
      return this.data.working();
    }

    @Get('api/workers')
    workers(): Promise<unknown> {
      return this.data.workerList();
    }

    @Get('api/failed')
    failed(@Query() query: QueryMap): Promise<unknown> {
      return this.data.failedPage(this.start(query), this.count(query), filterOf(query));
    }

    @Get('api/failed/:index')
    async failure(@Param('index') index: string): Promise<unknown> {
      const failure = await this.data.failure(intParam(index, 'index'));
      if (!failure) throw new NotFoundException(`no failure #${index}`);
      return failure;
    }

    @Get('api/delayed')
    delayed(@Query() query: QueryMap): Promise<unknown> {
      return this.data.delayedPage(this.start(query), this.count(query));
    }

    @Get('api/delayed/:at')
    delayedAt(@Param('at') at: string, @Query() query: QueryMap): Promise<unknown> {
      return this.data.delayedAt(intParam(at, 'timestamp'), this.start(query), this.count(query));
    }

    @Get('api/schedules')
    schedules(): Promise<unknown> {
      return this.data.scheduleList();
    }

    @Get('api/jobs/:id')
    job(@Param('id') id: string): Promise<unknown> {
      return input(() => this.data.job(id));
    }

    @Get('api/stats')
    stats(): Promise<unknown> {
      return this.data.stats();
    }

    @Get('api/csrf')
    csrf(): { header: string; token: string; readOnly: boolean } {
      return { header: CSRF_HEADER, token: this.security.csrfToken, readOnly: this.security.settings.readOnly };
    }

    // --- JSON API: mutations (POST, CSRF header, refused when read-only) ---------------------------

    @Post('api/queues/:name/remove')
    @HttpCode(200)
    async removeJob(@Headers(CSRF_HEADER) token: string, @Param('name') name: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const removed = await input(() => this.actions.removeJob(name, stringField(body, 'raw')));
      return { removed, message: removed ? 'Job removed.' : 'That job was no longer in the queue.' };
    }

    @Post('api/queues/:name/clear')
    @HttpCode(200)
    async clearQueue(@Headers(CSRF_HEADER) token: string, @Param('name') name: string): Promise<unknown> {
      this.security.assertMutation(token);
      const removed = await input(() => this.actions.clearQueue(name));
      return { removed, message: `${removed} jobs removed from ${name}.` };
    }

    @Post('api/queues/:name/delete')
    @HttpCode(200)
    async deleteQueue(@Headers(CSRF_HEADER) token: string, @Param('name') name: string): Promise<unknown> {
      this.security.assertMutation(token);
      const removed = await input(() => this.actions.removeQueue(name));
      return { removed, message: `Queue ${name} removed with ${removed} jobs.` };
    }

    @Post('api/failed/retry-all')
    @HttpCode(200)
    async retryAll(@Headers(CSRF_HEADER) token: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const filter = filterOf(body);
      const retried = await input(() => this.actions.retryAll(isFiltered(filter) ? filter : undefined));
      return { retried, message: `${retried} failures requeued.` };
    }

    @Post('api/failed/clear')
    @HttpCode(200)
    async clearFailed(@Headers(CSRF_HEADER) token: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const filter = filterOf(body);
      const removed = await input(() => this.actions.clearFailures(isFiltered(filter) ? filter : undefined));
      return { removed, message: `${removed} failures removed.` };
    }

    @Post('api/failed/:index/retry')
    @HttpCode(200)
    async retry(@Headers(CSRF_HEADER) token: string, @Param('index') index: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const queue = await input(() => this.actions.retryFailure(this.target(index, body)));
      if (queue === null) throw new NotFoundException(`failure #${index} is gone`);
      return { queue, message: `Requeued to ${queue}.` };
    }

    @Post('api/failed/:index/remove')
    @HttpCode(200)
    async removeFailure(@Headers(CSRF_HEADER) token: string, @Param('index') index: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const removed = await input(() => this.actions.removeFailure(this.target(index, body)));
      if (!removed) throw new NotFoundException(`failure #${index} is gone`);
      return { removed, message: 'Failure removed.' };
    }

    @Post('api/delayed/:at/enqueue')
    @HttpCode(200)
    async delayedEnqueue(@Headers(CSRF_HEADER) token: string, @Param('at') at: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const moved = await input(() => this.actions.delayedEnqueueNow(intParam(at, 'timestamp'), stringField(body, 'raw')));
      if (!moved) throw new NotFoundException('that delayed job is gone');
      return { moved, message: 'Enqueued now.' };
    }

    @Post('api/delayed/:at/remove')
    @HttpCode(200)
    async delayedRemove(@Headers(CSRF_HEADER) token: string, @Param('at') at: string, @Body() body: BodyMap): Promise<unknown> {
      this.security.assertMutation(token);
      const removed = await input(() => this.actions.delayedRemove(intParam(at, 'timestamp'), stringField(body, 'raw')));
      if (!removed) throw new NotFoundException('that delayed job is gone');
      return { removed, message: 'Delayed job removed.' };
    }

    @Post('api/schedules/:name/enqueue')
    @HttpCode(200)
    async scheduleEnqueue(@Headers(CSRF_HEADER) token: string, @Param('name') name: string): Promise<unknown> {
      this.security.assertMutation(token);
      const done = await input(() => this.actions.scheduleEnqueueNow(name));
      if (!done) throw new NotFoundException(`no schedule ${name}`);
      return { ...done, message: `Enqueued to ${done.queue}.` };
    }

    /** An index alone, or with the exact entry read (`raw`) so the action follows it if the list shifted. */
    private target(index: string, body: BodyMap): number | { index: number; raw: string } {
      const i = intParam(index, 'index');
      const raw = body?.['raw'];
      return typeof raw === 'string' && raw !== '' ? { index: i, raw } : i;
    }
  }
  return ResqueDashboardController;
}
