import { Cluster, type ClusterNode } from 'ioredis';
import type { ResqueClusterConnection } from './connection.types.js';

/** An ioredis Cluster (checked structurally too, in case two copies of ioredis are installed). */
export function isClusterClient(value: unknown): value is Cluster {
  if (value instanceof Cluster) return true;
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return v['isCluster'] === true && typeof v['nodes'] === 'function' && typeof v['sendCommand'] === 'function';
}

/** `{ cluster: [...] }`: cluster options for a Cluster we create. */
export function isClusterConnection(value: unknown): value is ResqueClusterConnection {
  if (!value || typeof value !== 'object' || !('cluster' in value)) return false;
  // Every ioredis client has a `cluster()` method (the CLUSTER command): only plain options qualify.
  return typeof (value as { sendCommand?: unknown }).sendCommand !== 'function';
}

/** Validates and copies `{ cluster, clusterOptions }` (throws naming the bad member). */
export function parseClusterConnection(input: ResqueClusterConnection): ResqueClusterConnection {
  const { cluster, clusterOptions } = input;
  if (!Array.isArray(cluster) || cluster.length === 0) {
    throw new TypeError('connection.cluster must be a non-empty array of startup nodes ({ host, port }, "host:port" or a port)');
  }
  cluster.forEach((node, i) => {
    const ok =
      typeof node === 'string' ? node !== '' : typeof node === 'number' ? Number.isInteger(node) && node > 0 : !!node && typeof node === 'object';
    if (!ok) throw new TypeError(`connection.cluster[${i}] must be { host, port }, "host:port" or a port, got ${JSON.stringify(node)}`);
  });
  if (clusterOptions !== undefined && (clusterOptions === null || typeof clusterOptions !== 'object' || Array.isArray(clusterOptions))) {
    throw new TypeError('connection.clusterOptions must be ioredis ClusterOptions (an object)');
  }
  const extra = Object.keys(input).filter((key) => key !== 'cluster' && key !== 'clusterOptions');
  if (extra.length > 0) {
    throw new TypeError(`connection with "cluster" takes only "cluster" and "clusterOptions"; move ${extra.join(', ')} into clusterOptions`);
  }
  return { cluster: [...cluster], ...(clusterOptions ? { clusterOptions: { ...clusterOptions } } : {}) };
}

/** The startup nodes an existing Cluster was created with (ioredis keeps them in a private field). */
export function clusterStartupNodes(cluster: Cluster): ClusterNode[] {
  const nodes = (cluster as unknown as { startupNodes?: unknown }).startupNodes;
  return Array.isArray(nodes) ? (nodes as ClusterNode[]) : [];
}

/** `cluster 127.0.0.1:7000,127.0.0.1:7001`: what error messages and logs show. */
export function describeCluster(nodes: readonly ClusterNode[]): string {
  const list = nodes.map((node) => {
    if (typeof node === 'number') return `127.0.0.1:${node}`;
    if (typeof node === 'string') return node.replace(/^rediss?:\/\//, '').replace(/\/.*$/, '');
    return `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}`;
  });
  return `cluster ${list.join(',') || '(no startup nodes)'}`;
}

/**
 * The hash tag every `${namespace}:…` key is hashed by, or null when keys would spread over slots.
 * Redis hashes only the part between the first `{` and the next `}` when it is not empty; that pair
 * must sit inside the namespace, or the rest of each key decides.
 */
export function namespaceHashTag(namespace: string): string | null {
  const open = namespace.indexOf('{');
  if (open === -1) return null;
  const close = namespace.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return null;
  return namespace.slice(open + 1, close);
}

/** Throws when a Cluster would get keys in several slots (our Lua scripts need them in one). */
export function assertClusterNamespace(namespace: string, address: string): void {
  if (namespaceHashTag(namespace) !== null) return;
  const bare = namespace.replace(/[{}]/g, '') || 'resque';
  throw new Error(
    `Redis Cluster (${address}) needs a hash-tagged namespace, and "${namespace}" has none: Resque's Lua scripts ` +
      `touch several keys at once (some computed inside the script, like job:<id>:status), so every key must hash ` +
      `to one slot. Use namespace: '{${bare}}' (keys become {${bare}}:queue:<name>, …); Redis hashes only the {…} part.`,
  );
}
