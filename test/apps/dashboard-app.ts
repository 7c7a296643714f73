import { Module, type CanActivate, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ResqueDashboardModule } from '../../lib/dashboard/index.js';
import { ResqueModule } from '../../lib/resque.module.js';

export interface DashboardAppOptions {
  redisUrl: string;
  adapter?: 'express' | 'fastify';
  readOnly?: boolean;
  guards?: Array<CanActivate | Type<CanActivate>>;
  path?: string;
  /** Nest's global prefix for the app, and the dashboard's publicPath to match. */
  globalPrefix?: string;
  publicPath?: string;
  /** Use forRootAsync (the factory gives readOnly). */
  async?: boolean;
}

export interface DashboardApp {
  readonly app: INestApplication;
  /** e.g. `http://127.0.0.1:41234/resque` */
  readonly url: string;
  close(): Promise<void>;
}

/** A Nest HTTP app with ResqueModule and the dashboard, listening on a free port of 127.0.0.1. */
export async function startDashboardApp(options: DashboardAppOptions): Promise<DashboardApp> {
  const path = options.path ?? '/resque';
  const dashboard = options.async
    ? ResqueDashboardModule.forRootAsync({ path, publicPath: options.publicPath, guards: options.guards ?? [], useFactory: () => ({ readOnly: options.readOnly ?? true, refreshSeconds: 1 }) })
    : ResqueDashboardModule.forRoot({ path, publicPath: options.publicPath, guards: options.guards ?? [], readOnly: options.readOnly, refreshSeconds: 1 });

  @Module({ imports: [ResqueModule.forRoot({ connection: options.redisUrl, logger: false }), dashboard] })
  class DashboardTestModule {}

  const app =
    options.adapter === 'fastify'
      ? await NestFactory.create(DashboardTestModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(DashboardTestModule, { logger: false });
  if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const prefix = options.globalPrefix ? `/${options.globalPrefix}` : '';
  return { app, url: `http://127.0.0.1:${address.port}${prefix}${path}`, close: () => app.close() };
}
