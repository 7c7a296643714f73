// A small app for the ResqueTestingModule tests: a service that enqueues, and jobs that inject providers.
import { Injectable } from '@nestjs/common';
import { Job, Perform, ResqueQueue, SetUp, TearDown } from '../../lib/index.js';

@Injectable()
export class Mailer {
  readonly sent: string[] = [];
  send(to: string): void {
    this.sent.push(to);
  }
}

@Job('WelcomeMail', { queue: 'mail' })
@Injectable()
export class WelcomeMailJob {
  readonly calls: string[] = [];
  constructor(private readonly mailer: Mailer) {}

  @SetUp()
  setUp(): void {
    this.calls.push('setUp');
  }

  @Perform()
  perform(params: { to: string }): { sentTo: string } {
    this.calls.push('perform');
    this.mailer.send(params.to);
    return { sentTo: params.to };
  }

  @TearDown()
  tearDown(): void {
    this.calls.push('tearDown');
  }
}

/** Enqueues a follow-up job: runAll() must perform it too. */
@Job('Onboard')
@Injectable()
export class OnboardJob {
  constructor(private readonly queue: ResqueQueue) {}

  @Perform()
  async perform(params: { to: string }): Promise<void> {
    await this.queue.enqueue('mail', WelcomeMailJob, { to: params.to });
  }
}

@Job('AlwaysFails', { track: true })
@Injectable()
export class FailingJob {
  @Perform()
  perform(params: { why: string }): never {
    throw new RangeError(params.why);
  }
}

@Injectable()
export class SignupService {
  constructor(private readonly queue: ResqueQueue) {}

  async signUp(email: string): Promise<string | false> {
    return this.queue.enqueue('mail', WelcomeMailJob, { to: email }, { track: true });
  }
}
