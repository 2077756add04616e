import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests spawn real processes (mosquitto, ffmpeg, socat, the daemon itself);
    // two cores are shared, so keep parallelism modest and timeouts generous.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for a state, never for a time: its limit is a hang guard below the test
    // timeout (as test/helpers/wait.ts until()), not vitest's 1 s default, which flakes under load.
    expect: { poll: { timeout: 45_000 } },
    globalSetup: ['test/helpers/global-setup.ts'],
    // The JSON report lets .ci/run print a plain 'N passed, N failed' summary line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-artifacts/vitest.json' },
  },
});
