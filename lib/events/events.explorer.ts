import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { readEventListenerMetadata } from '../decorators/decorators.metadata.js';
import type { ResqueEventName } from './events.types.js';

export interface DiscoveredListener {
  name: ResqueEventName;
  /** The method, bound to its provider instance. */
  listener: (payload: unknown) => unknown;
}

/**
 * Every `@OnResqueEvent()` method of the application's providers. Throws an Error naming the class for one
 * on a request- or transient-scoped provider: there is no single instance to call it on.
 */
export function discoverEventListeners(discovery: DiscoveryService, scanner: MetadataScanner): DiscoveredListener[] {
  const found: DiscoveredListener[] = [];
  const problems: string[] = [];
  // A provider aliased with useExisting shows up under each token: one instance, listened to once.
  const seen = new Set<object>();
  for (const wrapper of discovery.getProviders()) {
    const instance: unknown = wrapper.instance;
    if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
    seen.add(instance);
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
    if (!prototype) continue;
    for (const method of scanner.getAllMethodNames(prototype)) {
      const fn = prototype[method];
      const names = readEventListenerMetadata(fn);
      if (names.length === 0) continue;
      if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) {
        const where = `${instance.constructor.name}.${method}`;
        problems.push(`${where}: @OnResqueEvent() needs a singleton provider, this one is request- or transient-scoped (or depends on one)`);
        continue;
      }
      const bound = (fn as (payload: unknown) => unknown).bind(instance);
      for (const name of names) found.push({ name, listener: bound });
    }
  }
  if (problems.length > 0) throw new Error(`Resque events: ${problems.join('; ')}`);
  return found;
}
