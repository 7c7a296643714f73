import type { ResqueEventName } from '../events/events.types.js';
import {
  RESQUE_AFTER_PERFORM_METADATA,
  RESQUE_BEFORE_PERFORM_METADATA,
  RESQUE_EVENT_LISTENER_METADATA,
  RESQUE_JOB_METADATA,
  RESQUE_ON_FAILURE_METADATA,
  RESQUE_PERFORM_METADATA,
  RESQUE_SETUP_METADATA,
  RESQUE_TEARDOWN_METADATA,
} from './decorators.constants.js';
import type { JobClass, JobDefinition, JobHookRef, JobMetadata } from './decorators.types.js';

interface MethodInfo {
  name: string;
  fn: Function;
  isStatic: boolean;
}

/** The `@Job` metadata declared on this very class (not inherited), or null. */
export function readJobName(classRef: unknown): JobMetadata | null {
  if (typeof classRef !== 'function') return null;
  const meta = Reflect.getOwnMetadata(RESQUE_JOB_METADATA, classRef) as JobMetadata | undefined;
  return meta ?? null;
}

/**
 * The one accessor for the Resque decorators: null for a class without `@Job`; for a job class, its
 * method names. Throws an Error naming the class for a `@Job` without `@Perform`, or with two of
 * `@Perform`/`@SetUp`/`@TearDown`.
 */
export function readJobMetadata(classRef: unknown): JobDefinition | null {
  const meta = readJobName(classRef);
  if (!meta) return null;
  const cls = classRef as JobClass;
  const label = `@Job('${meta.name}') class ${cls.name || '<anonymous>'}`;
  const methods = listMethods(cls);
  const single = (key: string, decorator: string): string | undefined => {
    const found = methods.filter((m) => !m.isStatic && Reflect.getMetadata(key, m.fn) === true);
    if (found.length > 1) {
      throw new Error(`${label} has ${found.length} ${decorator} methods (${found.map((m) => m.name).join(', ')}); it must have one`);
    }
    return found[0]?.name;
  };
  const perform = single(RESQUE_PERFORM_METADATA, '@Perform()');
  if (!perform) throw new Error(`${label} has no @Perform() method`);
  const setUp = single(RESQUE_SETUP_METADATA, '@SetUp()');
  const tearDown = single(RESQUE_TEARDOWN_METADATA, '@TearDown()');
  const hooks = (key: string): JobHookRef[] =>
    methods.filter((m) => Reflect.getMetadata(key, m.fn) === true).map((m) => ({ method: m.name, isStatic: m.isStatic }));
  const definition: JobDefinition = {
    name: meta.name,
    options: meta.options,
    classRef: cls,
    perform,
    hooks: {
      beforePerform: hooks(RESQUE_BEFORE_PERFORM_METADATA),
      afterPerform: hooks(RESQUE_AFTER_PERFORM_METADATA),
      onFailure: hooks(RESQUE_ON_FAILURE_METADATA),
    },
  };
  if (setUp) definition.setUp = setUp;
  if (tearDown) definition.tearDown = tearDown;
  return definition;
}

/** The events an `@OnResqueEvent()` method listens to (empty for any other value). */
export function readEventListenerMetadata(method: unknown): ResqueEventName[] {
  if (typeof method !== 'function') return [];
  return (Reflect.getOwnMetadata(RESQUE_EVENT_LISTENER_METADATA, method) as ResqueEventName[] | undefined) ?? [];
}

/** Instance methods up the prototype chain (nearest wins) and static methods, skipping getters. */
function listMethods(cls: JobClass): MethodInfo[] {
  const out: MethodInfo[] = [];
  const collect = (start: object | null, stop: object, isStatic: boolean) => {
    const seen = new Set<string>();
    for (let obj = start; obj && obj !== stop; obj = Object.getPrototypeOf(obj) as object | null) {
      for (const name of Object.getOwnPropertyNames(obj)) {
        if (name === 'constructor' || seen.has(name)) continue;
        seen.add(name);
        const descriptor = Object.getOwnPropertyDescriptor(obj, name);
        if (descriptor && typeof descriptor.value === 'function') out.push({ name, fn: descriptor.value as Function, isStatic });
      }
    }
  };
  collect(cls.prototype as object, Object.prototype, false);
  collect(cls, Function.prototype, true);
  return out;
}
