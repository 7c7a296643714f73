import { Inject, Injectable, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { ResqueConnection } from '../connection/connection.service.js';
import { ResqueEvents } from '../events/events.service.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { paramsFromArgs } from '../protocol/index.js';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import { ResqueLogger } from '../resque.logger.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import type { PassResult, SchedulerEngine } from './scheduler.engine.js';
import type { FiredTick } from './scheduler.recurring.js';
import type { ResolvedSchedule } from './scheduler.schedules.js';
import { collectStaticSchedules } from './scheduler.statics.js';
import type { PromotedJob, SchedulerObserver, SchedulerOptions, SchedulerRedis } from './scheduler.types.js';

/**
 * The scheduler as a Nest provider. Importing the module never starts it: the scheduler host (CLI
 * `scheduler`, ResqueSchedulerHost) or a worker host calls start()/stop(). Only the holder of Ruby's
 * master lock promotes delayed jobs and fires recurring schedules, so any number may run.
 */
@Injectable()
export class ResqueScheduler implements BeforeApplicationShutdown {
  private engine: SchedulerEngine | null = null;
  private ownConnection: ResqueConnection | null = null;
  /** Handed to the engine too: the module's `logger: false` silences both. */
  private readonly logger: ResqueLogger;

  constructor(
    private readonly connection: ResqueConnection,
    private readonly events: ResqueEvents,
    @Optional() private readonly registry?: ResqueJobRegistry,
    @Optional() @Inject(RESQUE_MODULE_OPTIONS) private readonly moduleOptions?: ResqueModuleOptions,
  ) {
    this.logger = ResqueLogger.for('ResqueScheduler', moduleOptions);
  }

  get isRunning(): boolean {
    return this.engine?.isRunning ?? false;
  }

  get isLeader(): boolean {
    return this.engine?.isLeader ?? false;
  }

  /** Lock owner of the running engine (`host:pid` unless configured). */
  get owner(): string | null {
    return this.engine?.owner ?? null;
  }

  /** Static schedules (module options and @Job), validated: throws naming a bad one. */
  staticSchedules(): ResolvedSchedule[] {
    const configured = this.moduleOptions?.schedules;
    return collectStaticSchedules(configured, this.registry);
  }

  /**
   * Starts the loop; resolves after the first pass. `connection`/`namespace` options (REDIS_BACKEND,
   * PREFIX) point the scheduler elsewhere than the module's connection; that connection is ours to close.
   */
  async start(options: SchedulerOptions = {}): Promise<void> {
    if (this.engine?.isRunning) return;
    const statics = this.staticSchedules();
    const target = await this.target(options);
    this.engine = await this.createEngine(target.redis, options, statics);
    this.ownConnection = target.owned;
    this.logger.log(
      `scheduler ${this.engine.owner} started on ${target.address} (namespace ${target.redis.keys.namespace}, ` +
        `interval ${this.engine.interval}s, ${statics.length} static schedule(s))`,
    );
    await this.engine.start();
  }

  /** Stops after the current batch and releases the master lock if held. */
  async stop(): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    this.engine = null;
    await engine.stop();
    const owned = this.ownConnection;
    this.ownConnection = null;
    await owned?.close();
    this.logger.log('scheduler stopped');
  }

  /**
   * One pass without the loop, like Ruby's `--once`: takes the lock, promotes and fires, then releases
   * the lock (when not running; a running scheduler just does an extra pass).
   */
  async runOnce(options: SchedulerOptions = {}): Promise<PassResult> {
    if (this.engine?.isRunning) return this.engine.runOnce();
    const target = await this.target(options);
    const engine = await this.createEngine(target.redis, options, this.staticSchedules());
    try {
      return await engine.runOnce();
    } finally {
      await engine.stop();
      await target.owned?.close();
    }
  }

  /**
   * The engine (promotion, recurring clock, lock) is loaded on the first start or pass: every app with
   * ResqueModule has this provider, and most processes (workers, pool children, producers) never run it.
   */
  private async createEngine(redis: SchedulerRedis, options: SchedulerOptions, statics: ResolvedSchedule[]): Promise<SchedulerEngine> {
    const { SchedulerEngine } = await import('./scheduler.engine.js');
    const observer: SchedulerObserver = {
      promoted: (job) => this.onPromoted(job),
      fired: (tick) => this.onFired(tick),
    };
    return new SchedulerEngine(redis, options, () => statics, observer, this.logger);
  }

  private async target(options: SchedulerOptions): Promise<{ redis: SchedulerRedis; address: string; owned: ResqueConnection | null }> {
    const namespace = options.namespace ?? this.connection.keys.namespace;
    if (options.connection !== undefined) {
      const owned = ResqueConnection.create(options.connection, namespace, { logger: this.moduleOptions?.logger });
      try {
        await owned.connect();
      } catch (error) {
        await owned.close();
        throw error;
      }
      return { redis: owned, address: owned.address, owned };
    }
    await this.connection.connect();
    const redis: SchedulerRedis =
      namespace === this.connection.keys.namespace ? this.connection : { client: this.connection.client, keys: this.connection.keysFor(namespace) };
    return { redis, address: this.connection.address, owned: null };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async onPromoted(job: PromotedJob): Promise<void> {
    // php fires beforeDelayedEnqueue per item and it cannot cancel; ours fires once the move is done.
    if (!this.events.hasListeners('beforeDelayedEnqueue')) return;
    await this.events.emitAsync('beforeDelayedEnqueue', {
      queue: job.queue,
      className: job.className,
      args: job.args,
      params: paramsFromArgs(job.args),
      raw: job.raw,
      at: job.at,
    });
  }

  private async onFired(tick: FiredTick): Promise<void> {
    if (!this.events.hasListeners('afterEnqueue')) return;
    await this.events.emitAsync('afterEnqueue', {
      className: tick.className,
      args: tick.args,
      queue: tick.queue,
      id: tick.id,
      params: paramsFromArgs(tick.args),
      jobClass: this.registry?.get(tick.className)?.classRef ?? null,
      tracked: false,
    });
  }
}
