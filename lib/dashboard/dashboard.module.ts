import { Module, type DynamicModule } from '@nestjs/common';
import { DashboardActions } from './dashboard.actions.js';
import { createDashboardControllers } from './dashboard.controller.js';
import { DashboardData } from './dashboard.data.js';
import {
  DASHBOARD_ASYNC_OPTIONS_TYPE,
  DASHBOARD_OPTIONS_TYPE,
  DashboardConfigurableModuleClass,
  normalizeMountPath,
  type ResqueDashboardExtras,
} from './dashboard.options.js';
import { DashboardHeadersInterceptor, DashboardSecurity } from './dashboard.security.js';

/**
 * resque-web for Nest: server-rendered pages and a JSON API mounted in your HTTP app (Express or Fastify).
 * Needs ResqueModule (global) in the same app; read-only unless `readOnly: false`.
 *
 * `ResqueDashboardModule.forRoot({ path: '/resque', readOnly: false, guards: [AdminGuard] })`, or
 * `forRootAsync({ path, guards, useFactory, inject })` where only the factory's options may be async.
 */
@Module({})
export class ResqueDashboardModule extends DashboardConfigurableModuleClass {
  static override forRoot(options: typeof DASHBOARD_OPTIONS_TYPE = {}): DynamicModule {
    return withRoutes(super.forRoot(options), options);
  }

  static override forRootAsync(options: typeof DASHBOARD_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withRoutes(super.forRootAsync(options), options);
  }
}

function withRoutes(definition: DynamicModule, extras: ResqueDashboardExtras): DynamicModule {
  const path = normalizeMountPath(extras.path);
  const guards = extras.guards ?? [];
  if (!Array.isArray(guards)) throw new TypeError('ResqueDashboardModule: guards must be an array of guards');
  const publicPath = extras.publicPath === undefined ? path : normalizeMountPath(extras.publicPath);
  return {
    ...definition,
    controllers: [...(definition.controllers ?? []), ...createDashboardControllers(path, publicPath, guards)],
    providers: [...(definition.providers ?? []), DashboardData, DashboardActions, DashboardSecurity, DashboardHeadersInterceptor],
  };
}
