import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The two HTTP platforms the ops entries (dashboard, health, metrics) must work on. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type HttpAdapterName = (typeof ADAPTERS)[number];

/** A Nest HTTP app of `module` on `adapter`, before listen (so a caller can set a global prefix first). */
export async function createHttpApp(module: Type, adapter: HttpAdapterName = 'express'): Promise<INestApplication> {
  const app = adapter === 'fastify' ? await NestFactory.create(module, new FastifyAdapter(), { logger: false }) : await NestFactory.create(module, { logger: false });
  // A test "on fastify" must really run on Fastify.
  const type = app.getHttpAdapter().getType();
  if (type !== adapter) throw new Error(`asked for a ${adapter} app, got ${type}`);
  return app;
}

/** Listens on a free port of 127.0.0.1; returns the origin, e.g. `http://127.0.0.1:41234`. */
export async function listenLocal(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const server: Server = app.getHttpServer();
  const address = server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}
