import { Module, Optional, type DynamicModule, type OnModuleInit, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ResqueFailures } from '../admin/admin.failures.js';
import { ResqueWorkers } from '../admin/admin.workers.js';
import { ResqueConnection } from '../connection/connection.service.js';
import { ResqueEvents } from '../events/events.service.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { ResqueDelayedJobs } from '../queue/queue.delayed.js';
import { ResqueQueue } from '../queue/queue.service.js';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import { RESQUE_TESTING_OPTIONS } from './testing.constants.js';
import { NoWorkers } from './testing.failures.js';
import { ResqueTestingQueue } from './testing.queue.js';
import type { ResqueTestingOptions } from './testing.types.js';

/**
 * Use in place of `ResqueModule.forRoot()` in unit tests: code that injects `ResqueQueue` gets a
 * `ResqueTestingQueue` (the same object under both tokens) and needs no Redis.
 *
 *     const moduleRef = await Test.createTestingModule({
 *       imports: [ResqueTestingModule.forRoot({ mode: 'record' })],
 *       providers: [SignupService, WelcomeMailJob, Mailer],
 *     }).compile();
 *     await moduleRef.init();                       // collects the @Job providers
 *     await moduleRef.get(SignupService).signUp('ann');
 *     const queue = moduleRef.get(ResqueTestingQueue);
 *     expect(queue.jobs('mail')).toMatchObject([{ className: 'WelcomeMail', params: { to: 'ann' } }]);
 *     await queue.runAll();                          // performs them with DI; see performed()/failures()
 *
 * `mode: 'inline'` performs each job inside `enqueue` instead. Global, like ResqueModule. Provides
 * ResqueQueue, ResqueTestingQueue, ResqueDelayedJobs (the testing queue's), ResqueFailures (the failure
 * records of the jobs it performed), ResqueWorkers (none: nothing forks), all in memory, plus ResqueEvents
 * (subscribe to job events as usual) and ResqueJobRegistry; with `connection` also a real ResqueConnection
 * (connected at init, closed with the module).
 */
@Module({})
export class ResqueTestingModule implements OnModuleInit {
  constructor(
    private readonly registry: ResqueJobRegistry,
    @Optional() private readonly connection?: ResqueConnection,
  ) {}

  /** As ResqueModule: jobs are checked before the (optional) connection opens. */
  async onModuleInit(): Promise<void> {
    this.registry.collect();
    await this.connection?.connect();
  }

  static forRoot(options: ResqueTestingOptions): DynamicModule {
    if (!options || (options.mode !== 'inline' && options.mode !== 'record')) {
      throw new TypeError(`ResqueTestingModule.forRoot: options.mode must be 'inline' or 'record', got ${JSON.stringify(options?.mode)}`);
    }
    const moduleOptions: ResqueModuleOptions = { connection: options.connection, namespace: options.namespace };
    const providers: Provider[] = [
      { provide: RESQUE_TESTING_OPTIONS, useValue: options },
      { provide: RESQUE_MODULE_OPTIONS, useValue: moduleOptions },
      ResqueEvents,
      ResqueJobRegistry,
      ResqueTestingQueue,
      { provide: ResqueQueue, useExisting: ResqueTestingQueue },
      { provide: ResqueDelayedJobs, useFactory: (queue: ResqueTestingQueue) => queue.delayed, inject: [ResqueTestingQueue] },
      { provide: ResqueFailures, useFactory: (queue: ResqueTestingQueue) => new ResqueFailures(queue.connection, queue.failedList), inject: [ResqueTestingQueue] },
      { provide: ResqueWorkers, useFactory: (queue: ResqueTestingQueue) => new NoWorkers(queue.connection), inject: [ResqueTestingQueue] },
    ];
    const exports: DynamicModule['exports'] = [ResqueEvents, ResqueJobRegistry, ResqueTestingQueue, ResqueQueue, ResqueDelayedJobs, ResqueFailures, ResqueWorkers];
    if (options.connection !== undefined) {
      providers.push(ResqueConnection);
      exports.push(ResqueConnection);
    }
    return { module: ResqueTestingModule, global: true, imports: [DiscoveryModule], providers, exports };
  }
}
