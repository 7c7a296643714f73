// Job classes shared by the surface tests (module, queue, events, decorators).
import { Injectable, Scope } from '@nestjs/common';
import { AfterPerform, BeforePerform, Job, OnFailure, Perform, SetUp, TearDown } from '../../lib/index.js';

export interface EchoParams {
  name: string;
  path: string;
  uni: string;
  n: number;
  list: number[];
}

@Job('PhpEcho', { queue: 'default' })
@Injectable()
export class PhpEchoJob {
  @SetUp()
  prepare(): void {}

  @Perform()
  perform(params: EchoParams): string {
    return params.name;
  }

  @TearDown()
  cleanup(): void {}

  @BeforePerform()
  static checkFirst(): void {}

  @AfterPerform()
  after(): void {}

  @OnFailure()
  failed(): void {}
}

@Job('TrackedByDefault', { track: true })
@Injectable()
export class TrackedJob {
  @Perform()
  run(): void {}
}

@Job('PerRequest')
@Injectable({ scope: Scope.TRANSIENT })
export class TransientJob {
  @Perform()
  perform(params: { a: number }): number {
    return params.a;
  }
}

/** A @Job class that is not registered as a provider: producers may still enqueue it. */
@Job('RemoteOnly')
export class RemoteOnlyJob {
  @Perform()
  perform(params: { to: string }): void {
    void params;
  }
}

/** Not a job at all. */
export class PlainClass {
  perform(): void {}
}
