import { BadRequestException, Body, Controller, Delete, Get, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { JobStatus, ResqueQueue } from 'nestjs-resque';
import { CapturePaymentJob, type CaptureParams } from './jobs/capture-payment.job.js';
import { ChargeCardJob, type ChargeParams } from './jobs/charge-card.job.js';
import { RefreshDashboardJob, type RefreshParams } from './jobs/refresh-dashboard.job.js';
import { RenderReportJob, type ReportParams } from './jobs/render-report.job.js';
import { SendWelcomeEmailJob, type WelcomeParams } from './jobs/send-welcome-email.job.js';

/** The HTTP face of the sample: enqueue now / in / at, read a job's status, dequeue. */
@Controller()
export class JobsController {
  constructor(private readonly queue: ResqueQueue) {}

  @Post('jobs/welcome')
  async welcome(@Body() body: WelcomeParams) {
    // Enqueued through the class, so the compiler checks `body` against the job's params type.
    return { id: await this.queue.enqueue('mail', SendWelcomeEmailJob, body, { track: true }) };
  }

  @Post('jobs/report')
  async report(@Body() body: ReportParams) {
    return { id: await this.queue.enqueue('reports', RenderReportJob, body, { track: true }) };
  }

  @Post('jobs/charge')
  async charge(@Body() body: ChargeParams) {
    return { id: await this.queue.enqueue('payments', ChargeCardJob, body, { track: true }) };
  }

  /** A retried job: the gateway times out twice, the third attempt captures. */
  @Post('jobs/capture')
  async capture(@Body() body: CaptureParams) {
    return { id: await this.queue.enqueue('payments', CapturePaymentJob, body, { track: true }) };
  }

  /** A unique job: while a refresh of this dashboard is queued or running, this returns its id again. */
  @Post('jobs/dashboard/refresh')
  async refreshDashboard(@Body() body: RefreshParams) {
    return { id: await this.queue.enqueue('reports', RefreshDashboardJob, body, { track: true }) };
  }

  @Post('jobs/welcome/in/:seconds')
  async welcomeLater(@Param('seconds') seconds: string, @Body() body: WelcomeParams) {
    const delay = Number(seconds);
    if (!Number.isFinite(delay) || delay < 0) throw new BadRequestException('seconds must be a non-negative number');
    await this.queue.enqueueIn(delay, 'mail', SendWelcomeEmailJob, body);
    return { dueAt: Math.floor(Date.now() / 1000 + delay) };
  }

  @Post('jobs/report/at/:timestamp')
  async reportAt(@Param('timestamp') timestamp: string, @Body() body: ReportParams) {
    await this.queue.enqueueAt(Number(timestamp), 'reports', RenderReportJob, body);
    return { dueAt: Number(timestamp) };
  }

  @Get('jobs/:id')
  async status(@Param('id') id: string) {
    const status = await this.queue.status(id);
    if (!status) throw new NotFoundException(`no status for job ${id} (untracked, unknown, or expired)`);
    return { id, ...status, state: JobStatus[status.status] };
  }

  /** DELETE /queues/mail/jobs?class=SendWelcomeEmail — php-resque's dequeue with a class selector. */
  @Delete('queues/:queue/jobs')
  async dequeue(@Param('queue') queue: string, @Query('class') className?: string) {
    return { removed: await this.queue.dequeue(queue, className ? [className] : undefined) };
  }

  @Get('queues')
  async queues() {
    const names = await this.queue.queues();
    const sizes = await Promise.all(names.map((name) => this.queue.size(name)));
    return Object.fromEntries(names.map((name, i) => [name, sizes[i]]));
  }
}
