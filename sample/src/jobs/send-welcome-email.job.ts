import { Job, Perform, type ResqueJobContext } from 'nestjs-resque';
import { OutboxService } from '../services/outbox.service.js';

export interface WelcomeParams {
  to: string;
  name: string;
}

/** A job is a provider: the mailer is injected like anywhere else in Nest. */
@Job('SendWelcomeEmail', { queue: 'mail' })
export class SendWelcomeEmailJob {
  constructor(private readonly outbox: OutboxService) {}

  @Perform()
  async perform(params: WelcomeParams, job: ResqueJobContext): Promise<{ file: string }> {
    const file = await this.outbox.send(params.to, `Welcome, ${params.name}!`, `Job ${job.id} says hello.`);
    return { file };
  }
}
