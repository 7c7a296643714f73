import 'reflect-metadata';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ResqueConnection } from '../connection/connection.service.js';
import { envLogLevel, writePidFile } from '../env/index.js';
import { runWithHostEnv } from '../env/env.host-scope.js';
import { failStartup } from '../env/env.startup.js';
import { ResqueEvents } from '../events/events.service.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import type { ResqueAppModule } from '../resque.host-types.js';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import { moduleLoggerEnabled, ResqueLogger } from '../resque.logger.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import { resolveSchedulerHostOptions, schedulerLogLevels, type ResqueSchedulerHostOptions } from './scheduler.env.js';
import { ResqueScheduler } from './scheduler.service.js';

/** A running scheduler host. */
export interface SchedulerHandle {
  readonly app: INestApplicationContext;
  readonly scheduler: ResqueScheduler;
  /** Stops the scheduler (lock released), closes the application and its connections, removes PIDFILE. */
  stop(): Promise<void>;
  /** Settles once stopped (by stop() or a signal). */
  readonly stopped: Promise<void>;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/**
 * The standalone scheduler: boots the application context of `module` (which imports ResqueModule),
 * starts ResqueScheduler, and stops cleanly on SIGTERM/SIGINT/SIGQUIT. php-resque-scheduler's variables
 * apply (INTERVAL, PREFIX, REDIS_BACKEND(_DB), LOGGING/VERBOSE/VVERBOSE, PIDFILE); explicit options win.
 */
export class ResqueSchedulerHost {
  /**
   * Resolves once the scheduler runs. If it cannot start (a bad variable, Redis unreachable, ...) one line
   * names the cause and the process exits 1, as NestFactory does; `appOptions: { abortOnError: false }`
   * rejects instead.
   */
  static async run(module: ResqueAppModule, explicit: ResqueSchedulerHostOptions = {}): Promise<SchedulerHandle> {
    try {
      // The module booted here takes PREFIX/REDIS_BACKEND for what it leaves unset, as php's scheduler does.
      return await runWithHostEnv(process.env, () => ResqueSchedulerHost.start(module, explicit));
    } catch (error) {
      return failStartup('ResqueSchedulerHost', error, {
        abortOnError: explicit.appOptions?.abortOnError,
        logLevel: explicit.logLevel ?? envLogLevel(process.env),
      });
    }
  }

  private static async start(module: ResqueAppModule, explicit: ResqueSchedulerHostOptions): Promise<SchedulerHandle> {
    const options = resolveSchedulerHostOptions(explicit);
    const handleSignals = options.handleSignals !== false;
    // Held from before the boot: a signal during start-up stops the scheduler once it is up (pid file
    // removed, lock released) instead of killing it with both left behind.
    const early = handleSignals ? new EarlySignals() : null;
    let app: INestApplicationContext;
    let scheduler: ResqueScheduler;
    let removePidFile: () => void = () => undefined;
    try {
      app = await NestFactory.createApplicationContext(module, { logger: schedulerLogLevels(options.logLevel), ...options.appOptions });
    } catch (error) {
      early?.release();
      throw error;
    }
    const logger = new ResqueLogger('ResqueSchedulerHost', moduleLoggerEnabled(app));
    try {
      removePidFile = options.pidFile ? writePidFile(options.pidFile) : removePidFile;
      scheduler = schedulerOf(app);
      await scheduler.start(options);
    } catch (error) {
      early?.release();
      removePidFile();
      await app.close().catch(() => undefined);
      throw error;
    }

    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    let stopping: Promise<void> | null = null;
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.log(`${signal} received: stopping the scheduler`);
      void stop().catch((error: unknown) => {
        logger.error(`shutdown failed: ${(error as Error)?.message ?? String(error)}`);
        process.exitCode = 1;
      });
    };
    if (handleSignals) for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    const pending = early?.release() ?? null;

    const stop = (): Promise<void> => {
      if (!stopping) {
        stopping = (async () => {
          if (handleSignals) for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
          try {
            await scheduler.stop();
          } finally {
            await app.close();
            removePidFile();
            resolveStopped();
          }
        })();
      }
      return stopping;
    };
    if (pending) onSignal(pending);
    return { app, scheduler, stop, stopped };
  }
}

/** Remembers the first stop signal that arrives while the scheduler starts (its listener keeps Node from dying of it). */
class EarlySignals {
  private first: NodeJS.Signals | null = null;
  private readonly listener = (signal: NodeJS.Signals): void => {
    this.first ??= signal;
  };

  constructor() {
    for (const signal of STOP_SIGNALS) process.on(signal, this.listener);
  }

  /** Stops listening; returns the signal that came meanwhile, if any. */
  release(): NodeJS.Signals | null {
    for (const signal of STOP_SIGNALS) process.off(signal, this.listener);
    return this.first;
  }
}

/** The module's ResqueScheduler, or one built from its parts when the module does not provide it. */
function schedulerOf(app: INestApplicationContext): ResqueScheduler {
  try {
    return app.get(ResqueScheduler, { strict: false });
  } catch {
    const options = tryGet<ResqueModuleOptions>(app, RESQUE_MODULE_OPTIONS);
    const registry = tryGet<ResqueJobRegistry>(app, ResqueJobRegistry);
    return new ResqueScheduler(app.get(ResqueConnection, { strict: false }), app.get(ResqueEvents, { strict: false }), registry, options);
  }
}

function tryGet<T>(app: INestApplicationContext, token: Type<T> | string | symbol): T | undefined {
  try {
    return app.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}
