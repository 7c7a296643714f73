import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { register, type Registry } from 'prom-client';
import { ResqueConnection } from '../connection/connection.service.js';
import { RESQUE_METRICS_OPTIONS, type ResqueMetricsModuleOptions } from './metrics.options.js';
import { registerRedisMetrics } from './metrics.redis.js';
import { ResqueReader } from './metrics.snapshot.js';

/** Registers the Resque-wide metrics (read from Redis on each scrape) for the module's lifetime. */
@Injectable()
export class ResqueMetrics implements OnModuleInit, OnModuleDestroy {
  readonly registry: Registry;
  private unregister: (() => void) | null = null;

  constructor(
    @Inject(RESQUE_METRICS_OPTIONS) private readonly options: ResqueMetricsModuleOptions,
    private readonly connection: ResqueConnection,
  ) {
    this.registry = options.registry ?? register;
  }

  onModuleInit(): void {
    const reader = new ResqueReader(this.connection.client, this.connection.keys);
    this.unregister = registerRedisMetrics(this.registry, reader, this.options.timeoutMs);
  }

  onModuleDestroy(): void {
    this.unregister?.();
    this.unregister = null;
  }

  /** The registry's exposition text (what `/metrics` returns). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
