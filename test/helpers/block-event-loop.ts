/**
 * Test-only preload for the compiled daemon (`node --import dist/test/helpers/block-event-loop.js
 * dist/daemon/cli/main.js run …`): on SIGUSR2 it blocks the main thread — and with it the event
 * loop — for EDGELOOM_TEST_BLOCK_MS (default 4000), the way a synchronous hang in a handler would.
 * Nothing in the daemon knows about it: it stands in for a bug, so the watchdog can be seen to
 * react to a real stuck loop.
 *
 * Around the block it writes two lines to stderr, synchronously, with CLOCK_MONOTONIC times (the
 * clock test/helpers/notify-receiver.py stamps datagrams with):
 *   edgeloom-test-block start <ns>
 *   edgeloom-test-block end <ns>
 */
import { writeSync } from 'node:fs';

const blockMs = Number(process.env.EDGELOOM_TEST_BLOCK_MS ?? 4000);

process.on('SIGUSR2', () => {
  writeSync(2, `edgeloom-test-block start ${process.hrtime.bigint()}\n`);
  // Sleeps the thread without spinning a core (the machine's cores are shared with other tests).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, blockMs);
  writeSync(2, `edgeloom-test-block end ${process.hrtime.bigint()}\n`);
});
