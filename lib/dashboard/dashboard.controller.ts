import { Controller, UseGuards, UseInterceptors, type CanActivate, type Type } from '@nestjs/common';
import { DashboardActionRoutes } from './dashboard.action-routes.js';
import { DashboardApiRoutes } from './dashboard.api-routes.js';
import { DashboardAssetRoutes } from './dashboard.asset-routes.js';
import { DashboardPageRoutes } from './dashboard.page-routes.js';
import { DashboardHeadersInterceptor } from './dashboard.security.js';

/**
 * The dashboard's controllers (assets, pages, JSON reads, JSON mutations) on the user's own HTTP adapter
 * (Express or Fastify). Classes per module definition, because the path and guards are given in forRoot: each
 * subclass takes its routes from a shared class and its path, guards and headers from here.
 */
export function createDashboardControllers(path: string, publicPath: string, guards: Array<CanActivate | Type<CanActivate>>): Array<Type<unknown>> {
  const mount = <T extends Type<object>>(routes: T): T => {
    Controller(path)(routes);
    UseGuards(...guards)(routes);
    UseInterceptors(DashboardHeadersInterceptor)(routes);
    return routes;
  };
  return [
    mount(class ResqueDashboardAssets extends DashboardAssetRoutes {}),
    mount(
      class ResqueDashboardPages extends DashboardPageRoutes {
        protected readonly publicPath = publicPath;
      },
    ),
    mount(class ResqueDashboardApi extends DashboardApiRoutes {}),
    mount(class ResqueDashboardActions extends DashboardActionRoutes {}),
  ];
}
