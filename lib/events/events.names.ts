import { RESQUE_EVENT_NAMES, type ResqueEventName } from './events.types.js';

/** RangeError naming the valid events, for `listen()` and `@OnResqueEvent()` (a typo must not listen to nothing). */
export function assertEventName(name: unknown): asserts name is ResqueEventName {
  if (typeof name !== 'string' || !(RESQUE_EVENT_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown Resque event "${String(name)}"; expected one of ${RESQUE_EVENT_NAMES.join(', ')}`);
  }
}

/** The events whose listeners can stop what they announce, and how (shown when an old-style veto is ignored). */
export const VETO_HINTS: Partial<Record<ResqueEventName, string>> = {
  beforeEnqueue: 'throw DoNotCreateError',
  beforePerform: 'throw DoNotPerformError',
  beforeSchedule: 'throw DoNotScheduleError',
  afterFork: 'throw an error (it fails the job)',
  onFailure: 'throw DoNotRecordFailureError',
};
