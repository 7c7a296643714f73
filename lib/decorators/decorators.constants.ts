/** Metadata keys of the Resque decorators (read only through decorators.metadata.ts). */
export const RESQUE_JOB_METADATA = 'resque:job';
export const RESQUE_SETUP_METADATA = 'resque:setup';
export const RESQUE_PERFORM_METADATA = 'resque:perform';
export const RESQUE_TEARDOWN_METADATA = 'resque:teardown';
export const RESQUE_BEFORE_PERFORM_METADATA = 'resque:before-perform';
export const RESQUE_AFTER_PERFORM_METADATA = 'resque:after-perform';
export const RESQUE_ON_FAILURE_METADATA = 'resque:on-failure';
export const RESQUE_EVENT_LISTENER_METADATA = 'resque:event-listener';
