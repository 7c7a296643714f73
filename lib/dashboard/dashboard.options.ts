import { ConfigurableModuleBuilder, type CanActivate, type Type } from '@nestjs/common';

/** Options of ResqueDashboardModule that may come from a factory (forRootAsync). */
export interface ResqueDashboardOptions {
  /** Default true: every mutation (retry, remove, clear, enqueue now) is refused with 403. */
  readOnly?: boolean;
  /** Rows per page on the paginated pages (default 20, at most 500). */
  pageSize?: number;
  /** Seconds between the pages' own refreshes (default 5; 0 turns it off). */
  refreshSeconds?: number;
  /**
   * Secret the CSRF token is derived from. Default: random per process, which is right for one instance; set
   * it (same value everywhere) when several instances serve the dashboard behind one address.
   */
  csrfSecret?: string;
}

/** Fixed when the module is defined (both forRoot and forRootAsync): where it mounts and who may use it. */
export interface ResqueDashboardExtras {
  /** Mount path in the HTTP app (default `/resque`); Nest's global prefix, if any, comes before it. */
  path?: string;
  /** Nest guards run before every route, pages and API alike (instances or classes resolved by Nest). */
  guards?: Array<CanActivate | Type<CanActivate>>;
  /**
   * The path the browser uses for links and the script, when it differs from `path`: Nest's global prefix
   * (`setGlobalPrefix('admin')` → `/admin/resque`) or a proxy in front. Default: `path`.
   */
  publicPath?: string;
}

export const {
  ConfigurableModuleClass: DashboardConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: DASHBOARD_OPTIONS,
  OPTIONS_TYPE: DASHBOARD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DASHBOARD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ResqueDashboardOptions>({ moduleName: 'ResqueDashboard' })
  .setClassMethodName('forRoot')
  .setExtras<ResqueDashboardExtras>({ path: '/resque', guards: [] }, (definition) => definition)
  .build();

/** The options with their defaults applied and checked. */
export interface DashboardSettings {
  readonly readOnly: boolean;
  readonly pageSize: number;
  readonly refreshSeconds: number;
  readonly csrfSecret: string | null;
}

export function dashboardSettings(options: ResqueDashboardOptions = {}): DashboardSettings {
  const pageSize = options.pageSize ?? 20;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw new RangeError(`ResqueDashboardModule: pageSize must be an integer 1..500, got ${String(pageSize)}`);
  const refreshSeconds = options.refreshSeconds ?? 5;
  if (!Number.isFinite(refreshSeconds) || refreshSeconds < 0) throw new RangeError(`ResqueDashboardModule: refreshSeconds must be >= 0, got ${String(refreshSeconds)}`);
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw new TypeError('ResqueDashboardModule: readOnly must be a boolean');
  if (options.csrfSecret !== undefined && (typeof options.csrfSecret !== 'string' || options.csrfSecret.length < 16)) {
    throw new TypeError('ResqueDashboardModule: csrfSecret must be a string of at least 16 characters');
  }
  return { readOnly: options.readOnly ?? true, pageSize, refreshSeconds, csrfSecret: options.csrfSecret ?? null };
}

/** `/resque`, `resque/`, `/` → `/resque`, `/resque`, ``; rejects what could not be a path. */
export function normalizeMountPath(path: string | undefined): string {
  const raw = path ?? '/resque';
  if (typeof raw !== 'string' || /[\s?#]/.test(raw)) throw new TypeError(`ResqueDashboardModule: path must be a URL path, got ${JSON.stringify(raw)}`);
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}
