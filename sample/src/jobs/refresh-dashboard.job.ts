import { Job, Perform, type ResqueJobContext } from 'nestjs-resque';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReportsService } from '../services/reports.service.js';

export interface RefreshParams {
  dashboard: string;
  requestedBy: string;
}

/**
 * A unique job: while one refresh of a dashboard is queued or running, asking again (whoever asks) returns
 * its id instead of queueing a second one. The key is the dashboard, so `requestedBy` does not matter.
 */
@Job('RefreshDashboard', { queue: 'reports', unique: { until: 'finished', key: (p: RefreshParams) => p.dashboard, ttl: 600 } })
export class RefreshDashboardJob {
  constructor(private readonly reports: ReportsService) {}

  @Perform()
  async perform(params: RefreshParams, job: ResqueJobContext): Promise<{ file: string }> {
    await sleep(1000, undefined, { signal: job.signal }); // the slow queries behind the dashboard
    const { file } = await this.reports.render(`dashboard ${params.dashboard}`, [1]);
    return { file };
  }
}
