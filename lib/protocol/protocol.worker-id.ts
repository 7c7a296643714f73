/** Worker ids: `<hostname>:<pid>:<q1,q2>` (resque-protocol.md §6), `*` kept as configured. */
export interface WorkerIdParts {
  host: string;
  pid: number;
  queues: string[];
}

export function buildWorkerId(host: string, pid: number | string, queues: readonly string[]): string {
  return `${host}:${pid}:${queues.map((q) => q.trim()).join(',')}`;
}

/** Parses ids of every peer; the host may not contain ':' but queue lists are taken whole. Null if malformed. */
export function parseWorkerId(id: string): WorkerIdParts | null {
  const first = id.indexOf(':');
  if (first <= 0) return null;
  const second = id.indexOf(':', first + 1);
  const pidText = second < 0 ? id.slice(first + 1) : id.slice(first + 1, second);
  // node-resque multiWorker ids are `host:pid+n`: keep the pid part.
  const pid = Number.parseInt(pidText, 10);
  if (!Number.isFinite(pid)) return null;
  const queueText = second < 0 ? '' : id.slice(second + 1);
  return { host: id.slice(0, first), pid, queues: queueText === '' ? [] : queueText.split(',') };
}
