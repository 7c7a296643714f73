import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ResqueModuleOptions } from './resque.options.js';

export const {
  ConfigurableModuleClass: ResqueConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: RESQUE_MODULE_OPTIONS,
  OPTIONS_TYPE: RESQUE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RESQUE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ResqueModuleOptions>({ moduleName: 'Resque' })
  .setClassMethodName('forRoot')
  // Global by default: jobs and producers in any module can inject ResqueQueue without re-importing.
  .setExtras<{ isGlobal?: boolean }>({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? true,
  }))
  .build();

/** Alias with the name the contract uses. */
export const ConfigurableModuleClass = ResqueConfigurableModuleClass;
