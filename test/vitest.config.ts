// The suite's own tests (`npm test`): units of the libraries and the workload, plus integration tests that use the
// real provisioned components. Never run together with a validation: both touch the host.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 10 * 60_000,
  },
});
