import { Get, Injectable, NotFoundException, Param, Query } from '@nestjs/common';
import { DashboardData } from './dashboard.data.js';
import { countOf, filterOf, input, intParam, startOf, type QueryMap } from './dashboard.params.js';
import { CSRF_HEADER, DashboardSecurity } from './dashboard.security.js';

/** The JSON API's reads (`/api/...`, GET): what the pages show, as data. */
@Injectable()
export class DashboardApiRoutes {
  constructor(
    readonly data: DashboardData,
    readonly security: DashboardSecurity,
  ) {}

  private count(query: QueryMap): number {
    return countOf(query, this.security.settings.pageSize);
  }

  @Get('api/overview')
  overview(): Promise<unknown> {
    return this.data.overview();
  }

  @Get('api/queues/:name')
  queue(@Param('name') name: string, @Query() query: QueryMap): Promise<unknown> {
    return this.data.queuePage(name, startOf(query), this.count(query));
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
    return this.data.failedPage(startOf(query), this.count(query), filterOf(query));
  }

  @Get('api/failed/:index')
  async failure(@Param('index') index: string): Promise<unknown> {
    const failure = await this.data.failure(intParam(index, 'index'));
    if (!failure) throw new NotFoundException(`no failure #${index}`);
    return failure;
  }

  @Get('api/delayed')
  delayed(@Query() query: QueryMap): Promise<unknown> {
    return this.data.delayedPage(startOf(query), this.count(query));
  }

  @Get('api/delayed/:at')
  delayedAt(@Param('at') at: string, @Query() query: QueryMap): Promise<unknown> {
    return this.data.delayedAt(intParam(at, 'timestamp'), startOf(query), this.count(query));
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
}
