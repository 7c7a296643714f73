import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { DASHBOARD_OPTIONS, dashboardSettings, type DashboardSettings, type ResqueDashboardOptions } from './dashboard.options.js';

/** No inline script or style, nothing from elsewhere, no framing: a job arg that slipped through could not run. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The header every mutation must carry with the page's token (a cross-site form or image cannot set it). */
export const CSRF_HEADER = 'x-csrf-token';

/** Settings, the CSRF token and the mutation check, shared by the pages and the API. */
@Injectable()
export class DashboardSecurity {
  readonly settings: DashboardSettings;
  readonly csrfToken: string;

  constructor(@Inject(DASHBOARD_OPTIONS) options: ResqueDashboardOptions) {
    this.settings = dashboardSettings(options);
    const secret = this.settings.csrfSecret ?? randomBytes(32).toString('hex');
    this.csrfToken = createHmac('sha256', secret).update('nestjs-resque dashboard csrf').digest('hex');
  }

  /** Throws 403 unless the dashboard is writable and the request carries the token. */
  assertMutation(token: string | string[] | undefined): void {
    if (this.settings.readOnly) throw new ForbiddenException('the dashboard is read-only (ResqueDashboardModule readOnly: false enables actions)');
    const given = Buffer.from(typeof token === 'string' ? token : '');
    const expected = Buffer.from(this.csrfToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ForbiddenException(`missing or wrong ${CSRF_HEADER} header (GET <path>/api/csrf gives the token)`);
    }
  }
}

/** Security headers on every dashboard response, through the adapter so Express and Fastify both get them. */
@Injectable()
export class DashboardHeadersInterceptor implements NestInterceptor {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = context.switchToHttp().getResponse();
    adapter.setHeader(response, 'Content-Security-Policy', CONTENT_SECURITY_POLICY);
    adapter.setHeader(response, 'X-Content-Type-Options', 'nosniff');
    adapter.setHeader(response, 'Referrer-Policy', 'same-origin');
    adapter.setHeader(response, 'X-Frame-Options', 'DENY');
    adapter.setHeader(response, 'Cache-Control', 'no-store');
    return next.handle();
  }
}
