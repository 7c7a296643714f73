// A tiny TypeScript loader for processes that the tests start (worker and scheduler entrypoints):
// node --import ./test/support/ts-register.mjs test/apps/x.main.ts
// It is the kind of loader a user runs a .ts worker with; the worker host passes it on to children
// through execArgv, which is what the tests check.
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
