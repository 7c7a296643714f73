// A pool child of ours (the worker host re-executes its parent's entry, bench/child.mjs): boots the same
// module with the same options as the measured parent, and nothing of the harness (see bench/child.mjs).
import { loadOurs, redisTarget } from '../lib/ours-module.mjs';
import { hostOptions, workerModule } from '../lib/ours-worker.mjs';
import { POLICY_VARIANTS } from '../lib/policies.mjs';

export async function reexec(opts) {
  const deps = await loadOurs();
  const variant = opts.policy ? POLICY_VARIANTS[opts.policy] : null;
  await deps.lib.ResqueWorkerHost.run(workerModule(deps, redisTarget(opts), variant?.job, opts.jobMs), { ...hostOptions(opts), ...variant?.host });
}
