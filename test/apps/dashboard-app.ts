import { Module, type CanActivate, type INestApplication, type Type } from '@nestjs/common';
import { ResqueDashboardModule } from '../../lib/dashboard/index.js';
import { ResqueModule } from '../../lib/resque.module.js';
import { createHttpApp, listenLocal, type HttpAdapterName } from '../support/http-app.js';

export interface DashboardAppOptions {
  redisUrl: string;
  adapter?: HttpAdapterName;
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

  const app = await createHttpApp(DashboardTestModule, options.adapter);
  if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
  const origin = await listenLocal(app);
  const prefix = options.globalPrefix ? `/${options.globalPrefix}` : '';
  return { app, url: `${origin}${prefix}${path}`, close: () => app.close() };
}
