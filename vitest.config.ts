import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: isolated-vm and node-pty are native modules that want their own process,
    // and isolated-vm on Node 20 needs --no-node-snapshot (refused inside NODE_OPTIONS).
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
