import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ResqueMetrics } from './metrics.service.js';

/** `GET /metrics` in the Prometheus text format. */
@Controller()
export class ResqueMetricsController {
  constructor(private readonly resqueMetrics: ResqueMetrics) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.resqueMetrics.metrics();
  }
}
