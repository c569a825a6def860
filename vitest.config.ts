import { defineConfig } from 'vitest/config';

// Unit tests live next to the code; integration and end-to-end tests have their own folders.
// Everything runs in forked processes: many tests spawn real plugin processes and servers.
export default defineConfig({
  test: {
    pool: 'forks',
    // Data volumes (loop mounts) and empty cgroups left by tests that kill core are released before and after.
    globalSetup: ['tests/support/leftover-host-resources.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts', 'tests/support/**/*.test.ts'] },
      },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'] } },
    ],
  },
});
