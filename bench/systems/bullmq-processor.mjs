// BullMQ sandboxed processor (runs in BullMQ's child processes): a no-op job.
export default async function noop() {}
