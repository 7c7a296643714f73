// Floor child for one-child-per-job: boot a Nest standalone application context of the SAME worker module
// our pooled children boot (ResqueModule on the bench Redis + the no-op job), ack, close, exit.
// BENCH_FLOOR_EMPTY=1 boots an empty module instead (the cost of Nest alone).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { benchWorkerModule, loadOurs } from '../lib/ours-module.mjs';

let module;
if (process.env.BENCH_FLOOR_EMPTY === '1') {
  class FloorModule {}
  Module({})(FloorModule);
  module = FloorModule;
} else {
  module = benchWorkerModule(await loadOurs(), Number(process.env.BENCH_FLOOR_PORT));
}
const app = await NestFactory.createApplicationContext(module, { logger: false });
await app.close();
process.send('ack', () => process.disconnect());
