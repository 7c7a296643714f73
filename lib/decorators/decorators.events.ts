import { assertEventName } from '../events/events.names.js';
import type { ResqueEventMap, ResqueEventName } from '../events/events.types.js';
import { RESQUE_EVENT_LISTENER_METADATA } from './decorators.constants.js';
import { readEventListenerMetadata } from './decorators.metadata.js';

/** A method decorator that only fits methods taking the payload of event K (checked at compile time). */
export type ResqueEventListenerDecorator<K extends ResqueEventName> = <M extends (payload: ResqueEventMap[K]) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * Makes a method of a singleton provider a `ResqueEvents.listen(name, …)` listener, registered when the
 * application (or a worker child) initialises: it gets the event payload, may be async, and vetoes the
 * way listen() listeners do (throw the event's Do-Not error). Stackable: one method may take several
 * events. Appends to the metadata instead of SetMetadata, which would keep only the last name.
 */
export function OnResqueEvent<K extends ResqueEventName>(name: K): ResqueEventListenerDecorator<K> {
  assertEventName(name);
  return (_target, key, descriptor) => {
    const method: unknown = descriptor.value;
    if (typeof method !== 'function') throw new TypeError(`@OnResqueEvent('${name}') on ${String(key)}: it decorates methods only`);
    const names = readEventListenerMetadata(method);
    if (!names.includes(name)) Reflect.defineMetadata(RESQUE_EVENT_LISTENER_METADATA, [...names, name], method);
  };
}
