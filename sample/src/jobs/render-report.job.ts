import { Job, Perform, SetUp, TearDown } from 'nestjs-resque';
import { Logger } from '@nestjs/common';
import { ReportsService } from '../services/reports.service.js';

export interface ReportParams {
  title: string;
  rows: number[];
}

/** SetUp → Perform → TearDown, as php-resque runs them; the result lands in the job's status. */
@Job('RenderReport', { queue: 'reports' })
export class RenderReportJob {
  private readonly logger = new Logger('RenderReport');
  private startedAt = 0;

  constructor(private readonly reports: ReportsService) {}

  @SetUp()
  setUp(): void {
    this.startedAt = Date.now();
  }

  @Perform()
  async perform(params: ReportParams): Promise<{ file: string; total: number }> {
    return this.reports.render(params.title, params.rows);
  }

  @TearDown()
  tearDown(): void {
    this.logger.log(`rendered in ${Date.now() - this.startedAt} ms`);
    this.startedAt = 0;
  }
}
