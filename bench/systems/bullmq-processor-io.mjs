// BullMQ sandboxed processor of the I/O-bound rows (pool-4-io): waits IO_JOB_MS on a timer, as ours does.
import { IO_JOB_MS, sleep } from '../lib/kit.mjs';

export default async function io() {
  await sleep(IO_JOB_MS);
}
