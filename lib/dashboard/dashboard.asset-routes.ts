import { Get, Header } from '@nestjs/common';
import { DASHBOARD_CSS, DASHBOARD_JS } from './dashboard.assets.js';

/** The page script and stylesheet (served by us: no CDN, so the CSP can stay 'self'). */
export class DashboardAssetRoutes {
  @Get('assets/dashboard.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): string {
    return DASHBOARD_JS;
  }

  @Get('assets/dashboard.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  style(): string {
    return DASHBOARD_CSS;
  }
}
