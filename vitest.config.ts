import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql 16 ships CJS (main) and ESM (module) builds; Node loads the CJS one for
  // Pothos and yoga, so tests must too, or graphql sees two copies of itself.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    reporters: ['default', './test/helpers/summaryReporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // Files share one control plane (never each other's namespaces) and run one at a
          // time, so that request counts read from the apiserver's metrics are a file's own.
          fileParallelism: false,
        },
      },
    ],
  },
});
