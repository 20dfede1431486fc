import { defineConfig } from 'vitest/config';

/**
 * `make image-test` only: the built image (GATEWAY_IMAGE) run by podman against the
 * local control plane. A config of its own, so `vitest run` (make test's suite) never
 * picks it up on a machine without podman or an image.
 */
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/image/**/*.test.ts'],
    reporters: ['default'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
