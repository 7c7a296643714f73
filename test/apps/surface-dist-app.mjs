// A plain-JS Nest 12 app that uses the built package (dist/), as a user without TypeScript would.
// Decorators are called as functions; constructor types are declared by hand.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Job, Perform, ResqueModule, ResqueQueue } from '../../dist/index.js';
// Internal (not in the package's public API): only to check that the job was discovered.
import { ResqueJobRegistry } from '../../dist/jobs/job.registry.js';

class EchoJob {
  perform(params) {
    return params;
  }
}
Perform()(EchoJob.prototype, 'perform', Object.getOwnPropertyDescriptor(EchoJob.prototype, 'perform'));
Job('DistEcho')(EchoJob);
Injectable()(EchoJob);

class Producer {
  constructor(queue) {
    this.queue = queue;
  }
}
Injectable()(Producer);
Reflect.defineMetadata('design:paramtypes', [ResqueQueue], Producer);

class AppModule {}
Module({
  imports: [ResqueModule.forRoot({ connection: process.env.REDIS_URL, namespace: 'dist' })],
  providers: [Producer, EchoJob],
})(AppModule);

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const { queue } = app.get(Producer);
const id = await queue.enqueue('default', EchoJob, { hello: 'world' }, { track: true });
const status = await queue.status(id);
const peeked = (await queue.peek('default')).map((job) => job.payload);
const removed = await queue.dequeue('default', [{ DistEcho: id }]);
const sizeAfter = await queue.size('default');
const jobs = app.get(ResqueJobRegistry).all().map((job) => job.name);
await app.close();
// No process.exit: the test also checks that closing the app lets the process end on its own.
console.log(JSON.stringify({ id, status, peeked, removed, sizeAfter, jobs }));
