import { describe, expect, it } from 'vitest';
import { BrokerGate } from '../../daemon/actions/broker-gate.js';
import { silentLogger } from '../../daemon/log.js';
import { turn } from '../helpers/wait.js';

/** A logger recording warn calls, so the test can tell a timeout from a connect. */
function recordingLogger() {
  const warnings: unknown[] = [];
  const logger = silentLogger();
  logger.warn = ((obj: unknown) => void warnings.push(obj)) as typeof logger.warn;
  return { logger, warnings };
}

describe('BrokerGate', () => {
  it('opens as soon as the client connects, without a warning', async () => {
    const { logger, warnings } = recordingLogger();
    let connect!: () => void;
    const connected = new Promise<void>((r) => (connect = r));
    const gate = new BrokerGate({ whenConnected: () => connected, logger, maxWaitMs: 60_000 });
    let opened = false;
    const starting = gate.start(new AbortController().signal).then(() => (opened = true));
    await turn(); // pending callbacks ran: only connect() (or the 60 s bound) can open it
    expect(opened).toBe(false);
    connect();
    await starting;
    expect(opened).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('opens after maxWaitMs when the broker stays down, saying why', async () => {
    const { logger, warnings } = recordingLogger();
    const gate = new BrokerGate({ whenConnected: () => new Promise(() => {}), logger, maxWaitMs: 20 });
    await gate.start(new AbortController().signal);
    expect(warnings).toEqual([{ maxWaitMs: 20 }]);
  });

  it('opens at once when start-up is aborted', async () => {
    const { logger, warnings } = recordingLogger();
    const gate = new BrokerGate({ whenConnected: () => new Promise(() => {}), logger, maxWaitMs: 60_000 });
    const ctl = new AbortController();
    const starting = gate.start(ctl.signal);
    ctl.abort();
    await starting;
    expect(warnings).toEqual([]);
  });
});
