import { Injectable } from '@nestjs/common';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export class GatewayTimeoutError extends Error {
  override readonly name = 'GatewayTimeoutError';
}

/**
 * A stand-in for a flaky payment gateway: it times out on the first two calls for an order and captures on
 * the third. It keeps its call log per order in the data folder, so every worker child sees the same history.
 */
@Injectable()
export class PaymentGatewayService {
  readonly folder = join(process.env.SAMPLE_DATA_DIR ?? join(process.cwd(), 'sample', '.data'), 'gateway');

  /** Calls the gateway for the order; resolves with the order's call log, or throws GatewayTimeoutError. */
  async capture(orderId: string, attempt: number): Promise<string[]> {
    await mkdir(this.folder, { recursive: true });
    const file = join(this.folder, `${orderId.replace(/[^a-z0-9-]/gi, '_')}.log`);
    const calls = await this.callsFor(file);
    const timedOut = calls.length < 2;
    const line = `attempt ${attempt}: ${timedOut ? 'timed out' : 'captured'}`;
    await appendFile(file, `${line}\n`);
    if (timedOut) throw new GatewayTimeoutError(`gateway timed out capturing ${orderId}`);
    return [...calls, line];
  }

  private async callsFor(file: string): Promise<string[]> {
    const text = await readFile(file, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }
}
