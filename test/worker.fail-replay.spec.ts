// A failure whose reply is lost: the connection drops after Redis ran the fail script but before the reply
// arrived, so ioredis resends the same command on reconnect. The script must apply it once: one `failed`
// entry, stat:failed +1, one retry attempt counted.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResqueKeys } from '../lib/protocol/index.js';
import { SlotStore, WorkerStore } from '../lib/worker/worker.store.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const keys = new ResqueKeys('resque');
const k = (key: string) => `resque:${key}`;
const ID = 'host:1:qa';
const RAW = '{"class":"Echo","args":[{"n":1}],"id":"aaaa"}';

/**
 * A TCP proxy to Redis that, once armed with a marker, forwards the first client write holding it and
 * then cuts that client's connection before any reply comes back (Redis has run the command by then).
 */
class ReplyCutter {
  private readonly server: Server;
  private marker: string | null = null;
  cuts = 0;

  constructor(private readonly target: number) {
    this.server = createServer((client) => this.pipe(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  arm(marker: string): void {
    this.marker = marker;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    let cut = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (this.marker !== null && chunk.includes(this.marker)) {
        this.marker = null;
        cut = true;
        this.cuts++;
        // Let Redis run it, then drop both sides: the reply is lost.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 100);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

let cutter: ReplyCutter;
let proxied: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  cutter = new ReplyCutter(server.port);
  const port = await cutter.listen();
  proxied = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, maxRetriesPerRequest: 20 });
});
afterAll(async () => {
  proxied.disconnect();
  await cutter.close();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  await redis.sadd(k('workers'), ID);
});

async function startedJob(store: SlotStore): Promise<void> {
  await redis.rpush(k('queue:qa'), RAW);
  const claimed = await store.cycle({ finished: null, start: null, claim: 1, queues: ['qa'] });
  if (!Array.isArray(claimed)) throw new Error(JSON.stringify(claimed));
  await store.cycle({ finished: null, start: store.starting(claimed[0]!, null, true), claim: 0, queues: [] });
}

describe('a failure write whose reply is lost (ioredis resends it)', () => {
  it('records the failure once', async () => {
    const store = new SlotStore(new WorkerStore(proxied, keys), ID, 'qa');
    await startedJob(store);
    cutter.arm('LostReplyProbe');
    const reply = await store.fail('{"exception":"LostReplyProbe"}', null, 'qa');
    expect(cutter.cuts).toBe(1);
    expect(reply).toEqual({ kind: 'recorded' });
    expect(await redis.lrange(k('failed'), 0, -1)).toEqual(['{"exception":"LostReplyProbe"}']);
    expect(await redis.mget(k('stat:failed'), k('stat:processed'))).toEqual(['1', '1']);
  });

  it('counts a retry attempt once and schedules one retry', async () => {
    const store = new SlotStore(new WorkerStore(proxied, keys), ID, 'qa');
    await startedJob(store);
    cutter.arm('LostRetryProbe');
    const retry = { key: k('resque-retry:Echo:x'), limit: 5, delay: 0, ttl: 600, body: RAW };
    const reply = await store.fail('{"exception":"LostRetryProbe"}', null, 'qa', { stopRecord: false, retry });
    expect(cutter.cuts).toBe(2);
    expect(reply.kind === 'retried' || reply.kind === 'recorded').toBe(true);
    expect(await redis.get(k('resque-retry:Echo:x'))).toBe('0'); // SETNX -1, INCR once
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toHaveLength(1);
    expect(await redis.llen(k('failed'))).toBe(0);
  });

  it('two failure writes (two jobs, equal payloads) are two records: only a resend of the same write is ignored', async () => {
    const store = new SlotStore(new WorkerStore(proxied, keys), ID, 'qa');
    await startedJob(store);
    expect(await store.fail('{"exception":"First"}', null, 'qa')).toEqual({ kind: 'recorded' });
    await startedJob(store);
    expect(await store.fail('{"exception":"First"}', null, 'qa')).toEqual({ kind: 'recorded' });
    expect(await redis.llen(k('failed'))).toBe(2);
    expect(await redis.mget(k('stat:failed'), k('stat:processed'))).toEqual(['2', '2']);
  });
});
