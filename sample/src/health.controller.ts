import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ResqueHealthIndicator } from 'nestjs-resque/health';

/** GET /health: Redis answers, a live worker polls each queue, and no queue has a job waiting over a minute. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly resque: ResqueHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    const queues = ['mail', 'reports', 'payments'];
    return this.health.check([
      () =>
        this.resque.isHealthy('resque', {
          workers: { queues },
          queues: Object.fromEntries(queues.map((q) => [q, { maxAgeSeconds: 60 }])),
        }),
    ]);
  }
}
