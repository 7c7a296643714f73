/**
 * JSON safety checks for job params: what we push must decode to the same value in Ruby, PHP and Node,
 * so anything JSON.stringify would drop or reject is refused before Redis is touched.
 */
export function assertJsonSafe(value: unknown, argumentName: string): void {
  if (value === undefined) throw new TypeError(`${argumentName} must be JSON-serialisable, got undefined`);
  walk(value, argumentName, new Set<object>());
}

function walk(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || isJsonPrimitive(value, path)) return;
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError(`${path} must be JSON-serialisable: it contains a cycle`);
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return; // Date and friends encode themselves
  seen.add(obj);
  if (Array.isArray(obj)) walkArray(obj, path, seen);
  else walkObject(obj, path, seen);
  seen.delete(obj);
}

/** True for a string, boolean or finite number; throws for what JSON drops or rejects; false for objects. */
function isJsonPrimitive(value: unknown, path: string): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} must be JSON-serialisable: ${value} has no JSON form`);
      return true;
    case 'bigint':
      throw new TypeError(`${path} must be JSON-serialisable: BigInt values have no JSON form (pass a string)`);
    case 'function':
      throw new TypeError(`${path} must be JSON-serialisable: functions cannot be sent to a job`);
    case 'symbol':
      throw new TypeError(`${path} must be JSON-serialisable: symbols cannot be sent to a job`);
    case 'undefined':
      throw new TypeError(`${path} must be JSON-serialisable: undefined would be dropped`);
    default:
      return false;
  }
}

function walkArray(arr: readonly unknown[], path: string, seen: Set<object>): void {
  // JSON.stringify turns holes, undefined and functions inside arrays into null: refuse instead.
  // (A plain index loop, since forEach skips holes.)
  for (let i = 0; i < arr.length; i++) {
    if (!(i in arr)) throw new TypeError(`${path}[${i}] must be JSON-serialisable: an array hole would become null`);
    walk(arr[i], `${path}[${i}]`, seen);
  }
}

function walkObject(obj: object, path: string, seen: Set<object>): void {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null && (obj instanceof Map || obj instanceof Set)) {
    const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new TypeError(`${path} must be JSON-serialisable: a ${name} encodes as {} (convert it first)`);
  }
  for (const [key, item] of Object.entries(obj)) walk(item, `${path}.${key}`, seen);
}
