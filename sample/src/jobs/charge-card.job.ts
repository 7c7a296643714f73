import { Job, Perform } from 'nestjs-resque';

export interface ChargeParams {
  amount: number;
}

export class PaymentDeclinedError extends Error {
  override readonly name = 'PaymentDeclinedError';
}

/** Fails above a limit, so the demo shows the `failed` list and the onFailure event. */
@Job('ChargeCard', { queue: 'payments' })
export class ChargeCardJob {
  @Perform()
  perform(params: ChargeParams): { charged: number } {
    if (params.amount > 1000) throw new PaymentDeclinedError(`card declined for ${params.amount}`);
    return { charged: params.amount };
  }
}
