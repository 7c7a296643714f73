import { Controller, Get, Header, Inject, Injectable, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { register, Registry } from 'prom-client';
import { ResqueConnection } from '../connection/connection.service.js';
import { registerRedisMetrics } from './metrics.redis.js';
import { ResqueReader } from './metrics.snapshot.js';

export interface ResqueMetricsModuleOptions {
  /** Where the Resque metrics are registered. Default prom-client's global `register` (your other metrics included). */
  registry?: Registry;
  /** How long a scrape waits for Redis before it reports `resque_redis_up 0`. Default 2000 ms. */
  timeoutMs?: number;
  /** Mount `GET /metrics` (Prometheus text format). Default true; false when you serve the registry yourself. */
  controller?: boolean;
}

export const RESQUE_METRICS_REGISTRY = Symbol('RESQUE_METRICS_REGISTRY');
const RESQUE_METRICS_OPTIONS = Symbol('RESQUE_METRICS_OPTIONS');

/** Registers the Resque-wide metrics (read from Redis on each scrape) for the module's lifetime. */
@Injectable()
export class ResqueMetrics implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(
    @Inject(RESQUE_METRICS_REGISTRY) readonly registry: Registry,
    @Inject(RESQUE_METRICS_OPTIONS) private readonly options: ResqueMetricsModuleOptions,
    private readonly connection: ResqueConnection,
  ) {}

  onModuleInit(): void {
    this.unregister = registerRedisMetrics(this.registry, new ResqueReader(this.connection.client, this.connection.keys), this.options.timeoutMs);
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

@Controller()
export class ResqueMetricsController {
  constructor(private readonly resqueMetrics: ResqueMetrics) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.resqueMetrics.metrics();
  }
}

/**
 * Prometheus metrics of Resque in a Nest app: `ResqueMetricsModule.forRoot()` next to ResqueModule mounts
 * `GET /metrics`. Needs the optional peer prom-client.
 */
@Module({})
export class ResqueMetricsModule {
  static forRoot(options: ResqueMetricsModuleOptions = {}): DynamicModule {
    return {
      module: ResqueMetricsModule,
      providers: [
        { provide: RESQUE_METRICS_REGISTRY, useValue: options.registry ?? register },
        { provide: RESQUE_METRICS_OPTIONS, useValue: options },
        ResqueMetrics,
      ],
      controllers: options.controller === false ? [] : [ResqueMetricsController],
      exports: [ResqueMetrics, RESQUE_METRICS_REGISTRY],
    };
  }
}
