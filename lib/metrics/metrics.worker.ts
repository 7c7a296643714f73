import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import type { ResqueEvents } from '../events/events.service.js';
import { errorMessage } from '../protocol/index.js';
import type { WorkerMetricsOptions } from '../worker/worker.options.js';
import { registerJobMetrics } from './metrics.jobs.js';

export interface WorkerMetrics {
  /** The address `/metrics` is served on, when a port was given. */
  readonly url: string | null;
  close(): Promise<void>;
}

/**
 * The worker host's `metrics` option, in its parent: job metrics on the given registry (or a private one),
 * served at `http://host:port/metrics` over node:http when `port` is set. Loaded by the worker runtime with
 * a dynamic import, so the core never loads prom-client.
 */
export async function startWorkerMetrics(events: ResqueEvents, options: WorkerMetricsOptions): Promise<WorkerMetrics> {
  const registry = (options.registry as Registry | undefined) ?? new Registry();
  const unregister = registerJobMetrics(registry, events);
  if (options.port === undefined) {
    return { url: null, close: async () => unregister() };
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(`${String(error)}\n`),
    );
  });
  const host = options.host ?? '0.0.0.0';
  try {
    await listen(server, options.port, host);
  } catch (error) {
    unregister();
    throw new Error(`metrics: cannot listen on ${host}:${options.port}: ${errorMessage(error)}`, { cause: error });
  }
  // Scrapes must not keep a stopping worker alive.
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        unregister();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
