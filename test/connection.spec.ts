import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAddress, parseConnectionInput } from '../lib/connection/index.js';
import { parseRedisBackend } from '../lib/env/index.js';
import { ResqueConnection } from '../lib/index.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

describe('connection parsing', () => {
  it.each([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380, db: 0 }],
    ['redis://127.0.0.1:6380/4', { host: '127.0.0.1', port: 6380, db: 4 }],
    ['redis://user:p%40ss@cache.local:7000/2', { host: 'cache.local', port: 7000, db: 2, username: 'user', password: 'p@ss' }],
    ['redis://:secret@cache.local', { host: 'cache.local', port: 6379, db: 0, password: 'secret' }],
    ['rediss://cache.local:6380/1', { host: 'cache.local', port: 6380, db: 1, tls: {} }],
    ['tcp://10.0.0.5:6390?timeout=2.5&persistent=x', { host: '10.0.0.5', port: 6390, db: 0, connectTimeout: 2500 }],
    ['unix:///var/run/redis.sock', { path: '/var/run/redis.sock', db: 0 }],
    ['redis://[::1]:6381/3', { host: '::1', port: 6381, db: 3 }],
    ['localhost:6379', { host: 'localhost', port: 6379, db: 0 }],
    ['redis-host', { host: 'redis-host', port: 6379, db: 0 }],
    ['redis-host:6400:5', { host: 'redis-host', port: 6400, db: 5 }],
    ['redis-host:6400:5/myapp', { host: 'redis-host', port: 6400, db: 5 }],
  ])('parses %s', (input, expected) => {
    expect(parseConnectionInput(input)).toEqual(expected);
  });

  it('defaults to 127.0.0.1:6379 db 0', () => {
    expect(parseConnectionInput(undefined)).toEqual({ host: '127.0.0.1', port: 6379, db: 0 });
  });

  it('REDIS_BACKEND_DB applies unless the DSN names a db (the DSN wins)', () => {
    expect(parseRedisBackend('localhost:6379', '3')).toEqual({ host: 'localhost', port: 6379, db: 3 });
    expect(parseRedisBackend('redis://localhost:6379', '3')).toMatchObject({ db: 3 });
    expect(parseRedisBackend('redis://localhost:6379/7', '3')).toMatchObject({ db: 7 });
    expect(parseRedisBackend('localhost:6379:7', 3)).toMatchObject({ db: 7 });
    expect(parseRedisBackend('localhost', undefined)).toMatchObject({ db: 0 });
  });

  it.each([
    ['', RangeError, /REDIS_BACKEND must not be empty/],
    ['http://x', RangeError, /scheme "http:" is not supported/],
    ['host:notaport', RangeError, /invalid port "notaport"/],
    ['redis://h/abc', RangeError, /database index in the connection URL must be a non-negative integer/],
  ])('rejects %j', (input, type, message) => {
    expect(() => parseRedisBackend(input)).toThrow(type);
    expect(() => parseRedisBackend(input)).toThrow(message);
  });

  it('rejects a bad REDIS_BACKEND_DB and a non-connection value', () => {
    expect(() => parseRedisBackend('localhost', '-1')).toThrow(/REDIS_BACKEND_DB must be a non-negative integer/);
    expect(() => parseConnectionInput(42 as never)).toThrow(TypeError);
  });

  it('keeps ioredis options (Sentinel included) and names the address', () => {
    const sentinel = { sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'mymaster', db: 2 };
    expect(parseConnectionInput(sentinel)).toEqual(sentinel);
    expect(describeAddress(sentinel)).toBe('sentinel:mymaster@s1:26379,s2:26380/2');
    expect(describeAddress({ host: 'h', port: 1, db: 0 })).toBe('h:1/0');
    expect(describeAddress({ path: '/tmp/r.sock' })).toBe('unix:/tmp/r.sock/0');
  });

  it('passes an existing client through untouched', () => {
    const client = new Redis({ lazyConnect: true });
    expect(parseConnectionInput(client)).toBe(client);
    client.disconnect();
  });
});

describe('ResqueConnection against a real Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('selects the db of a php REDIS_BACKEND DSN and names the address', async () => {
    const connection = ResqueConnection.create(`redis://127.0.0.1:${redis.port}/3`, 'php:');
    try {
      expect(connection.address).toBe(`127.0.0.1:${redis.port}/3`);
      expect(connection.isConnected).toBe(false); // lazy until first use
      await connection.connect();
      await connection.client.set(connection.keys.key('probe'), 'x');
      expect(await redis.client(3).get('php:probe')).toBe('x');
      expect(await redis.client(0).get('php:probe')).toBeNull();
    } finally {
      await connection.close();
    }
    expect(connection.client.status).toBe('end');
  });

  it('uses php host:port with REDIS_BACKEND_DB', async () => {
    const connection = ResqueConnection.create(parseRedisBackend(`127.0.0.1:${redis.port}`, '5'));
    try {
      await connection.connect();
      await connection.client.set('k5', '1');
      expect(await redis.client(5).get('k5')).toBe('1');
    } finally {
      await connection.close();
    }
  });

  it('duplicate() opens a new owned connection on the same db', async () => {
    const connection = ResqueConnection.create(`127.0.0.1:${redis.port}:6`);
    const dup = connection.duplicate('resque-blocking');
    try {
      expect(dup).not.toBe(connection.client);
      await dup.set('dupkey', 'v');
      expect(await redis.client(6).get('dupkey')).toBe('v');
      expect(await dup.client('GETNAME')).toBe('resque-blocking');
    } finally {
      await connection.close();
    }
    expect(dup.status).toBe('end');
    expect(() => connection.duplicate()).toThrow(/was closed/);
  });

  it('never closes a client it was given', async () => {
    const mine = redis.client();
    const connection = ResqueConnection.create(mine);
    expect(connection.ownsClient).toBe(false);
    expect(connection.client).toBe(mine);
    await connection.connect();
    await connection.close();
    expect(await mine.ping()).toBe('PONG');
  });

  it('connects a lazy client it was given on first use', async () => {
    const lazy = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    const connection = ResqueConnection.create(lazy);
    await connection.connect();
    expect(lazy.status).toBe('ready');
    await connection.close();
    expect(lazy.status).toBe('ready');
    await lazy.quit();
  });

  it('rejects with the unreachable address in the message, and leaves nothing open', async () => {
    const connection = ResqueConnection.create('127.0.0.1:1');
    const error = await connection.connect().catch((e: unknown) => e);
    expect(String(error)).toMatch(/could not connect to Redis at 127\.0\.0\.1:1\/0: ECONNREFUSED/);
    expect(connection.client.status).toBe('end');
    await connection.close();
  });

  it('gives up on an endpoint that accepts but never answers, within the connect timeout, and leaves nothing open', async () => {
    // Reachable but silent (a wrong service, a proxy with no backend): ioredis' own timeout covers only the
    // TCP connect, so the handshake used to wait forever.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const connection = ResqueConnection.create({ host: '127.0.0.1', port, connectTimeout: 300 }, undefined, { logger: false });
      const error = await connection.connect().catch((e: unknown) => e);
      expect(String(error)).toBe(`Error: could not connect to Redis at 127.0.0.1:${port}/0: no answer within 300 ms`);
      expect(connection.client.status).toBe('end');
      await connection.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('rejects an empty namespace', () => {
    expect(() => ResqueConnection.create(redis.url, '')).toThrow(RangeError);
  });
});
