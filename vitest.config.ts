import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// esbuild drops emitDecoratorMetadata, which silently breaks Nest DI: compile tests with SWC.
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
      module: { type: 'es6' },
    }),
  ],
  test: {
    include: ['test/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    teardownTimeout: 10_000,
  },
});
