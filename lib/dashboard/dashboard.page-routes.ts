import { Get, Header, Injectable, NotFoundException, Param, Query } from '@nestjs/common';
import { DashboardData } from './dashboard.data.js';
import * as pages from './dashboard.pages.js';
import { filterOf, intParam, startOf, type QueryMap } from './dashboard.params.js';
import { DashboardSecurity } from './dashboard.security.js';

const HTML = 'text/html; charset=utf-8';

/** The server-rendered pages; the module's controller subclass gives the path links are built on. */
@Injectable()
export abstract class DashboardPageRoutes {
  /** The mount path as the browser sees it (links and asset URLs). */
  protected abstract readonly publicPath: string;

  constructor(
    readonly data: DashboardData,
    readonly security: DashboardSecurity,
  ) {}

  private get ctx(): pages.PageContext {
    const s = this.security.settings;
    return { base: this.publicPath, csrfToken: this.security.csrfToken, readOnly: s.readOnly, refreshSeconds: s.refreshSeconds, namespace: this.data.namespace };
  }

  private get pageSize(): number {
    return this.security.settings.pageSize;
  }

  @Get()
  @Header('Content-Type', HTML)
  async overviewPage(): Promise<string> {
    return pages.overviewPage(this.ctx, await this.data.overview());
  }

  @Get('queues/:name')
  @Header('Content-Type', HTML)
  async queuePage(@Param('name') name: string, @Query() query: QueryMap): Promise<string> {
    return pages.queuePage(this.ctx, name, await this.data.queuePage(name, startOf(query), this.pageSize));
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
    return pages.failedPage(this.ctx, await this.data.failedPage(startOf(query), this.pageSize, filterOf(query)));
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
    return pages.delayedPage(this.ctx, await this.data.delayedPage(startOf(query), this.pageSize));
  }

  @Get('delayed/:at')
  @Header('Content-Type', HTML)
  async delayedAtPage(@Param('at') at: string, @Query() query: QueryMap): Promise<string> {
    const ts = intParam(at, 'timestamp');
    return pages.delayedAtPage(this.ctx, ts, await this.data.delayedAt(ts, startOf(query), this.pageSize));
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
}
