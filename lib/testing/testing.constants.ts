/** Injection token of ResqueTestingModule's options. */
export const RESQUE_TESTING_OPTIONS = Symbol('RESQUE_TESTING_OPTIONS');
