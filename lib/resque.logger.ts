import { Logger, type INestApplicationContext } from '@nestjs/common';
import { RESQUE_MODULE_OPTIONS } from './resque.module-definition.js';
import type { ResqueModuleOptions } from './resque.options.js';

/**
 * The library's Nest Logger: the module's `logger: false` turns it off. One switch for every part (connection,
 * scheduler and its engine, worker and scheduler hosts), and settable after construction because a host
 * learns the module's options only once the module has booted.
 */
export class ResqueLogger extends Logger {
  constructor(
    context: string,
    public enabled = true,
  ) {
    super(context);
  }

  /** A logger for `context` that follows the module's `logger` option. */
  static for(context: string, options: { logger?: boolean } | null | undefined): ResqueLogger {
    return new ResqueLogger(context, options?.logger !== false);
  }

  override log(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.log(message, ...rest);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.error(message, ...rest);
  }

  override warn(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.warn(message, ...rest);
  }

  override debug(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.debug(message, ...rest);
  }

  override verbose(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.verbose(message, ...rest);
  }

  override fatal(message: unknown, ...rest: unknown[]): void {
    if (this.enabled) super.fatal(message, ...rest);
  }
}

/** The `logger` option of the ResqueModule a host booted (true when the app has none). */
export function moduleLoggerEnabled(app: INestApplicationContext): boolean {
  try {
    return app.get<ResqueModuleOptions>(RESQUE_MODULE_OPTIONS, { strict: false }).logger !== false;
  } catch {
    return true;
  }
}
