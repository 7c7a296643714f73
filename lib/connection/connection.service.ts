import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ResqueKeys } from '../protocol/index.js';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import { ResqueLogger } from '../resque.logger.js';
import type { ResqueConnectionInput, ResqueModuleOptions } from '../resque.options.js';
import { envNamespace, type Env } from '../env/env.common.js';
import { hostEnvironment } from '../env/env.host-scope.js';
import { redisOptionsFromEnv } from '../env/env.redis-backend.js';
import { assertClusterNamespace, clusterStartupNodes, describeCluster, isClusterClient, isClusterConnection } from './connection.cluster.js';
import { describeAddress, parseConnectionInput } from './connection.parse.js';
import type { ResqueRedis } from './connection.types.js';

/** How many times the first connect is tried before bootstrap fails (a bounded wait, never a hang). */
const FIRST_CONNECT_ATTEMPTS = 3;
const FIRST_CONNECT_BACKOFF_MS = 150;

/**
 * The Redis connection(s) of one ResqueModule: a commands client (connected by the module at bootstrap, once
 * its jobs are checked, or on first use outside Nest) plus any duplicates (blocking pops), all closed on
 * application shutdown. A client the user passed in is used as is and never closed. The client is a Redis or, for Redis Cluster, a Cluster
 * (then the namespace must be hash-tagged, checked here).
 */
@Injectable()
export class ResqueConnection implements OnApplicationShutdown {
  readonly client: ResqueRedis;
  readonly keys: ResqueKeys;
  /** e.g. `127.0.0.1:6379/0` or `cluster 127.0.0.1:7000,127.0.0.1:7001`: named in connection errors. */
  readonly address: string;
  /** False when the client was passed in by the user (we never close it). */
  readonly ownsClient: boolean;
  /** True when the client is a Redis Cluster. */
  readonly isCluster: boolean;

  /** Redis options (standalone/Sentinel), or the ClusterOptions of a cluster. */
  private readonly baseOptions: RedisOptions;
  private readonly clusterOptions: ClusterOptions = {};
  private readonly owned = new Set<ResqueRedis>();
  private readonly logger: ResqueLogger;
  private everReady = false;
  private connecting: Promise<void> | null = null;
  private lastError: Error | null = null;
  private closed = false;
  private lastLoggedAt = 0;
  /** True when PREFIX/REDIS_BACKEND could fill unset options (a host, or `fromEnv: true`). */
  private readonly readEnv: boolean;

  constructor(
    @Inject(RESQUE_MODULE_OPTIONS) options: ResqueModuleOptions = {},
  ) {
    // What the module leaves unset comes from PREFIX/REDIS_BACKEND only inside a host or the CLI (so a worker
    // started with them and the module it boots agree on where the data is) or with `fromEnv: true`.
    const env = configEnv(options);
    this.keys = new ResqueKeys(options.namespace ?? (env ? envNamespace(env) : undefined));
    this.logger = ResqueLogger.for('Resque', options);
    const parsed = parseConnectionInput(options.connection ?? (env ? redisOptionsFromEnv(env) : undefined));
    if (isClusterClient(parsed) || isClusterConnection(parsed)) {
      this.isCluster = true;
      const nodes: ClusterNode[] = isClusterClient(parsed) ? clusterStartupNodes(parsed) : parsed.cluster;
      this.address = describeCluster(nodes);
      // Before any client exists, so a refused namespace leaves no connection open.
      assertClusterNamespace(this.keys.namespace, this.address);
      this.baseOptions = {};
      if (isClusterClient(parsed)) {
        this.client = parsed;
        this.ownsClient = false;
        this.clusterOptions = { ...parsed.options };
        this.everReady = parsed.status === 'ready';
      } else {
        this.clusterOptions = parsed.clusterOptions ?? {};
        this.ownsClient = true;
        this.client = new Cluster(nodes, this.firstConnectClusterOptions(this.clusterOptions));
      }
    } else if (isRedisOptions(parsed)) {
      this.isCluster = false;
      this.baseOptions = parsed;
      this.ownsClient = true;
      this.client = new Redis(this.firstConnectOptions(parsed));
      this.address = describeAddress(this.baseOptions);
    } else {
      this.isCluster = false;
      this.client = parsed;
      this.ownsClient = false;
      this.baseOptions = { ...parsed.options };
      this.everReady = parsed.status === 'ready';
      this.address = describeAddress(this.baseOptions);
    }
    if (this.ownsClient) {
      this.owned.add(this.client);
      this.client.on('error', (error: Error) => this.onClientError(error));
      this.client.on('ready', () => (this.everReady = true));
    }
    this.readEnv = env !== undefined;
  }

  /** Where this connection points, at debug level: the module logs it at bootstrap (a stray PREFIX shows here). */
  logTarget(): void {
    this.logger.debug(`Redis ${this.address}, namespace "${this.keys.namespace}"${this.readEnv ? ' (unset options read from PREFIX/REDIS_BACKEND)' : ''}`);
  }

  /** Without Nest: `ResqueConnection.create('redis://h:6379/2', 'myapp')`; call close() when done. */
  static create(input?: ResqueConnectionInput, namespace?: string, extra: Omit<ResqueModuleOptions, 'connection' | 'namespace'> = {}): ResqueConnection {
    return new ResqueConnection({ ...extra, connection: input, namespace });
  }

  /**
   * Keys for another namespace on this same client (e.g. a scheduler's PREFIX); on a Cluster the namespace
   * must be hash-tagged like the module's.
   */
  keysFor(namespace: string | undefined): ResqueKeys {
    if (namespace === undefined) return this.keys;
    const keys = new ResqueKeys(namespace);
    if (keys.namespace === this.keys.namespace) return this.keys;
    if (this.isCluster) assertClusterNamespace(keys.namespace, this.address);
    return keys;
  }

  /** True once the commands client has been connected (cheap check for the hot path). */
  get isConnected(): boolean {
    return this.everReady;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /**
   * Connects the commands client with a bounded retry. Rejects with an Error naming the address
   * (`could not connect to Redis at 127.0.0.1:1234/0: ECONNREFUSED`). Idempotent.
   */
  connect(): Promise<void> {
    if (this.everReady && this.client.status === 'ready') return Promise.resolve();
    if (this.closed) return Promise.reject(new Error(`Redis connection to ${this.address} was closed`));
    if (!this.connecting) {
      this.connecting = (this.ownsClient ? this.connectOwned() : this.awaitForeign()).finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  /**
   * A new connection with the same options (e.g. for BLPOP/BLMOVE), owned and closed on shutdown. For a
   * Cluster this is `cluster.duplicate()` (the overrides then apply to each node's connection).
   */
  duplicate(name?: string, overrides: Partial<RedisOptions> = {}): ResqueRedis {
    if (this.closed) throw new Error(`Redis connection to ${this.address} was closed`);
    let client: ResqueRedis;
    if (!this.isCluster) {
      const options: RedisOptions = { ...this.baseOptions, lazyConnect: false, ...overrides };
      if (name !== undefined) options.connectionName = name;
      client = this.ownsClient ? new Redis(options) : (this.client as Redis).duplicate(options);
    } else {
      const { host: _host, port: _port, path: _path, sentinels: _sentinels, retryStrategy: _retry, ...nodeOverrides } = overrides;
      const redisOptions = { ...this.clusterOptions.redisOptions, ...nodeOverrides, ...(name !== undefined ? { connectionName: name } : {}) };
      // The user's options, not our bounded first-connect ones: this one reconnects like any later connection.
      client = (this.client as Cluster).duplicate([], { ...this.clusterOptions, lazyConnect: false, redisOptions });
    }
    client.on('error', (error: Error) => this.onClientError(error));
    this.owned.add(client);
    client.once('end', () => this.owned.delete(client));
    return client;
  }

  /** Closes every connection we own (QUIT, falling back to disconnect); a user's client is left open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients = [...this.owned];
    this.owned.clear();
    await Promise.all(clients.map((client) => quitClient(client)));
  }

  private firstConnectOptions(options: RedisOptions): RedisOptions {
    const userRetry = options.retryStrategy;
    const userSentinelRetry = options.sentinelRetryStrategy;
    return {
      ...options,
      lazyConnect: true,
      // Before the first successful connect we retry ourselves (bounded); afterwards reconnect forever.
      retryStrategy: (times: number) => (this.everReady ? (userRetry ? userRetry(times) : Math.min(times * 100, 2000)) : null),
      sentinelRetryStrategy: (times: number) =>
        this.everReady ? (userSentinelRetry ? userSentinelRetry(times) : Math.min(times * 100, 2000)) : null,
    };
  }

  private firstConnectClusterOptions(options: ClusterOptions): ClusterOptions {
    const userRetry = options.clusterRetryStrategy;
    return {
      ...options,
      lazyConnect: true,
      clusterRetryStrategy: (times: number, reason?: Error) =>
        this.everReady ? (userRetry ? userRetry(times, reason) : Math.min(times * 100, 2000)) : null,
    };
  }

  private async connectOwned(): Promise<void> {
    let failure: unknown = null;
    const timeoutMs = this.connectTimeoutMs();
    for (let attempt = 1; attempt <= FIRST_CONNECT_ATTEMPTS; attempt++) {
      if (this.closed) break;
      const status = this.client.status;
      try {
        if (status === 'ready') return;
        if (status === 'wait' || status === 'end' || status === 'close') await connectWithin(this.client, timeoutMs);
        else await waitForReady(this.client, timeoutMs);
        this.everReady = true;
        return;
      } catch (error) {
        failure = error;
      }
      // A silent endpoint already cost a whole timeout: more attempts would only multiply the wait.
      if (failure instanceof ConnectTimeoutError || errorCode(failure) === 'ETIMEDOUT' || errorCode(this.lastError) === 'ETIMEDOUT') break;
      if (attempt < FIRST_CONNECT_ATTEMPTS) await sleep(FIRST_CONNECT_BACKOFF_MS * attempt);
    }
    throw this.connectError(failure);
  }

  /** ioredis' connectTimeout covers the TCP connect only; ours also covers the handshake (a silent endpoint). */
  private connectTimeoutMs(): number {
    return (this.isCluster ? this.clusterOptions.redisOptions?.connectTimeout : this.baseOptions.connectTimeout) ?? 10_000;
  }

  private async awaitForeign(): Promise<void> {
    try {
      if (this.client.status !== 'ready') {
        // The user's client: bounded wait, but never disconnected by us (its own retry strategy applies).
        const ready = waitForReady(this.client, this.connectTimeoutMs());
        if (this.client.status === 'wait') this.client.connect().catch(() => undefined); // `ready` reports it
        await ready;
      }
      this.everReady = true;
    } catch (error) {
      throw this.connectError(error);
    }
  }

  private connectError(failure: unknown): Error {
    const cause = failure instanceof ConnectTimeoutError ? failure : (this.lastError ?? failure);
    const reason = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
    return new Error(`could not connect to Redis at ${this.address}: ${reason}`, { cause });
  }

  private onClientError(error: Error): void {
    this.lastError = error;
    // Reconnect errors after the first connect are worth a line, but not one per retry.
    if (!this.everReady || !this.logger.enabled) return;
    const now = Date.now();
    if (now - this.lastLoggedAt < 10_000) return;
    this.lastLoggedAt = now;
    this.logger.warn(`Redis ${this.address}: ${errorCode(error) ?? error.message}`);
  }
}

/** `fromEnv: true` reads process.env; false never does; unset reads it only inside a host (runWithHostEnv). */
function configEnv(options: ResqueModuleOptions): Env | undefined {
  if (options.fromEnv === true) return process.env;
  if (options.fromEnv === false) return undefined;
  return hostEnvironment();
}

function isRedisOptions(value: RedisOptions | ResqueRedis): value is RedisOptions {
  return !(value instanceof Redis) && typeof (value as { sendCommand?: unknown }).sendCommand !== 'function';
}

function errorCode(error: unknown): string | null {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const errors = (error as { errors?: unknown }).errors; // AggregateError from dual-stack connects
    if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** No answer (connected or not) within the connect timeout. */
class ConnectTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** `client.connect()`, given up (and the client disconnected) after `timeoutMs`. */
async function connectWithin(client: ResqueRedis, timeoutMs: number): Promise<void> {
  let timedOut = false;
  let fallback: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    client.disconnect(); // connect() then rejects, once the socket is closed
    // disconnect() half-closes and waits up to 2 s for the peer, which a silent endpoint never answers.
    if (client instanceof Redis) client.stream?.destroy();
  }, timeoutMs);
  const connecting = client.connect();
  try {
    await Promise.race([
      connecting,
      new Promise<void>((_, reject) => {
        fallback = setTimeout(() => reject(new ConnectTimeoutError(timeoutMs)), timeoutMs + 3_000);
      }),
    ]);
  } catch (error) {
    connecting.catch(() => undefined);
    throw timedOut ? new ConnectTimeoutError(timeoutMs) : error;
  } finally {
    clearTimeout(timer);
    clearTimeout(fallback);
  }
}

function waitForReady(client: ResqueRedis, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('connection closed'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new ConnectTimeoutError(timeoutMs));
    }, timeoutMs);
    client.once('ready', onReady);
    client.once('error', onError);
    client.once('end', onEnd);
  });
}

/** QUIT and wait until the socket is really closed (status 'end'), falling back to disconnect after 2 s. */
async function quitClient(client: ResqueRedis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await Promise.race([
      Promise.all([client.quit(), ended]),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('QUIT timed out')), 2000);
      }),
    ]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
