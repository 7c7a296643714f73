import { ConfigurableModuleBuilder } from '@nestjs/common';
import { ResqueMetricsController } from './metrics.controller.js';
import { RESQUE_METRICS_OPTIONS, type ResqueMetricsModuleOptions } from './metrics.options.js';

export const { ConfigurableModuleClass: ResqueMetricsConfigurableModuleClass, OPTIONS_TYPE: RESQUE_METRICS_OPTIONS_TYPE } = new ConfigurableModuleBuilder<ResqueMetricsModuleOptions>({
  moduleName: 'ResqueMetrics',
  optionsInjectionToken: RESQUE_METRICS_OPTIONS,
})
  .setClassMethodName('forRoot')
  // Decided when the module is declared (routes cannot wait for an async factory): false mounts no route.
  .setExtras<{ controller?: boolean }>({ controller: true }, (definition, extras) => ({
    ...definition,
    controllers: extras.controller === false ? [] : [ResqueMetricsController],
  }))
  .build();
