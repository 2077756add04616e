/** `cmd/restart` on the bus: refused before control.restart_min_uptime_s, else answered, then the stop. */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { EXIT_RESTART, RestartResponder } from '../../daemon/systemd/restart.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const MQTT = { channel: 'mqtt', authenticated: false } as const;

function setup(upMs: number) {
  const bus = new Bus({ clock: new VirtualClock(0), logger: silentLogger() });
  let restarts = 0;
  const responder = new RestartResponder({
    bus,
    logger: silentLogger(),
    minUptimeMs: 60_000,
    uptimeMs: () => upMs,
    restart: () => {
      restarts++;
    },
  });
  return { bus, responder, restarts: () => restarts };
}

describe('RestartResponder', () => {
  it('refuses a restart sooner than the minimum uptime, and does not stop', async () => {
    const { bus, responder, restarts } = setup(59_000);
    await responder.start();
    await expect(bus.request('rpc/system/restart', { origin: MQTT })).rejects.toMatchObject({
      code: 'E_CMD_BUSY',
    });
    await new Promise((r) => setImmediate(r));
    expect(restarts()).toBe(0);
    await responder.stop();
    await bus.close(100);
  });

  it('answers with the exit status first, then begins the stop once', async () => {
    const { bus, responder, restarts } = setup(61_000);
    await responder.start();
    const answer = await bus.request('rpc/system/restart', { origin: MQTT });
    expect(answer).toEqual({ restarting: true, exit_code: EXIT_RESTART });
    expect(EXIT_RESTART).toBe(75);
    await new Promise((r) => setImmediate(r));
    expect(restarts()).toBe(1);
    await responder.stop();
    await bus.close(100);
  });
});
