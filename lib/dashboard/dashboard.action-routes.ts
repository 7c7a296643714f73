import { Body, Headers, HttpCode, Injectable, NotFoundException, Param, Post } from '@nestjs/common';
import { DashboardActions } from './dashboard.actions.js';
import { failureTarget, filterOrAll, input, intParam, stringField, type BodyMap } from './dashboard.params.js';
import { CSRF_HEADER, DashboardSecurity } from './dashboard.security.js';

/** The JSON API's mutations: POST, with the CSRF header, refused when read-only. */
@Injectable()
export class DashboardActionRoutes {
  constructor(
    readonly actions: DashboardActions,
    readonly security: DashboardSecurity,
  ) {}

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
    const retried = await input(() => this.actions.retryAll(filterOrAll(body)));
    return { retried, message: `${retried} failures requeued.` };
  }

  @Post('api/failed/clear')
  @HttpCode(200)
  async clearFailed(@Headers(CSRF_HEADER) token: string, @Body() body: BodyMap): Promise<unknown> {
    this.security.assertMutation(token);
    const removed = await input(() => this.actions.clearFailures(filterOrAll(body)));
    return { removed, message: `${removed} failures removed.` };
  }

  @Post('api/failed/:index/retry')
  @HttpCode(200)
  async retry(@Headers(CSRF_HEADER) token: string, @Param('index') index: string, @Body() body: BodyMap): Promise<unknown> {
    this.security.assertMutation(token);
    const queue = await input(() => this.actions.retryFailure(failureTarget(index, body)));
    if (queue === null) throw new NotFoundException(`failure #${index} is gone`);
    return { queue, message: `Requeued to ${queue}.` };
  }

  @Post('api/failed/:index/remove')
  @HttpCode(200)
  async removeFailure(@Headers(CSRF_HEADER) token: string, @Param('index') index: string, @Body() body: BodyMap): Promise<unknown> {
    this.security.assertMutation(token);
    const removed = await input(() => this.actions.removeFailure(failureTarget(index, body)));
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
}
