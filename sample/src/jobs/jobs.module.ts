import { Module } from '@nestjs/common';
import { OutboxService } from '../services/outbox.service.js';
import { PaymentGatewayService } from '../services/payment-gateway.service.js';
import { ReportsService } from '../services/reports.service.js';
import { CapturePaymentJob } from './capture-payment.job.js';
import { ChargeCardJob } from './charge-card.job.js';
import { DigestJob } from './digest.job.js';
import { RefreshDashboardJob } from './refresh-dashboard.job.js';
import { RenderReportJob } from './render-report.job.js';
import { SendWelcomeEmailJob } from './send-welcome-email.job.js';

/** Jobs and the services they inject; imported by the HTTP app (typed enqueue) and by the worker. */
@Module({
  providers: [
    OutboxService,
    ReportsService,
    PaymentGatewayService,
    SendWelcomeEmailJob,
    RenderReportJob,
    ChargeCardJob,
    DigestJob,
    CapturePaymentJob,
    RefreshDashboardJob,
  ],
  exports: [OutboxService, ReportsService],
})
export class JobsModule {}
