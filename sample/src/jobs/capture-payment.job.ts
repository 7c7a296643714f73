import { Job, Perform, type ResqueJobContext } from 'nestjs-resque';
import { GatewayTimeoutError, PaymentGatewayService } from '../services/payment-gateway.service.js';

export interface CaptureParams {
  orderId: string;
}

/**
 * A retried job: a gateway timeout is retried up to 3 times, the first retry at once, the next ones 1 s later
 * (through the delayed queue, which the scheduler moves). Any other error fails at once.
 */
@Job('CapturePayment', { queue: 'payments', retry: { limit: 3, backoff: [0, 1], on: [GatewayTimeoutError] } })
export class CapturePaymentJob {
  constructor(private readonly gateway: PaymentGatewayService) {}

  @Perform()
  async perform(params: CaptureParams, job: ResqueJobContext): Promise<{ orderId: string; attempt: number; calls: string[] }> {
    const calls = await this.gateway.capture(params.orderId, job.attempt);
    return { orderId: params.orderId, attempt: job.attempt, calls };
  }
}
