/**
 * The cloud gateway's own bounds, on a real bus, LevelDB and a loopback OpenAI-compatible server
 * that never answers: calls in flight stop at MAX_CLOUD_CALLS_IN_FLIGHT (past it an assist is
 * declined `cloud_busy` without a request leaving, and the decision says so), and stop() cancels
 * every call in flight, closing its connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { CloudAssistReply } from '../../daemon/bus/rpc-cloud-assist.js';
import type { RouteDecision } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { AuditLog } from '../../daemon/router/audit-log.js';
import { CloudGateway, MAX_CLOUD_CALLS_IN_FLIGHT } from '../../daemon/router/gateway.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { CHAT, FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { until } from '../helpers/wait.js';

let dir: string;
let store: Store;
let server: FakeOpenAIServer;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-gateway-'));
  store = await openStore(dir);
  server = await FakeOpenAIServer.start();
});
afterEach(async () => {
  await server.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CloudGateway', () => {
  it('bounds the calls in flight (cloud_busy past it) and cancels them all on stop', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        storage: { dir },
        router: { latency_budget_ms: 60_000, privacy: { default_tier: 'public' } },
        cloud: {
          enabled: true,
          base_url: server.baseUrl,
          api_key: 'sk-test',
          retries: 0,
          timeout_ms: 60_000,
        },
      },
    });
    const clock = new SystemClock();
    const bus = new Bus({ clock, logger: silentLogger() });
    const decisions: RouteDecision[] = [];
    bus.subscribe('router/decision', (e) => void decisions.push(e.payload as RouteDecision), {
      component: 'test',
    });
    const audit = new AuditLog(store);
    const gateway = new CloudGateway({
      bus,
      clock,
      logger: silentLogger(),
      config: { router: config.router, cloud: config.cloud },
      privacy: { tierFor: () => 'public' },
    });
    await gateway.start(store, audit);
    for (let i = 0; i < MAX_CLOUD_CALLS_IN_FLIGHT + 1; i++) server.script(CHAT, { kind: 'hang' });
    const ask = () =>
      gateway.assist({ text: 'what is the weather', tools: [] }, new AbortController().signal);
    const outcomes = Array.from({ length: MAX_CLOUD_CALLS_IN_FLIGHT }, () =>
      ask().then(
        (reply) => ({ reply }),
        (err: unknown) => ({ err }),
      ),
    );
    await until('every call at the server', () => server.requests.length === MAX_CLOUD_CALLS_IN_FLIGHT);
    expect(gateway.callsInFlight).toBe(MAX_CLOUD_CALLS_IN_FLIGHT);

    // One more: refused before anything is sent.
    const busy: CloudAssistReply = await ask();
    expect(busy).toEqual({ toolCalls: [], declined: 'cloud_busy' });
    expect(server.requests).toHaveLength(MAX_CLOUD_CALLS_IN_FLIGHT);
    await bus.drain(10_000);
    expect(decisions.filter((d) => d.route === 'local_fallback').map((d) => d.reason)).toEqual([
      'cloud_busy',
    ]);

    // stop() cancels every call in flight: each ends aborted, not answered, and its connection closes.
    await gateway.stop();
    expect(gateway.callsInFlight).toBe(0);
    const ended = await Promise.all(outcomes);
    for (const o of ended) {
      expect('err' in o && isEdgeloomError(o.err, 'E_CLOUD_ABORTED')).toBe(true);
    }
    await until('the server seeing every connection closed', () =>
      server.requests.every((r) => r.clientClosedAtMs !== undefined),
    );
    await bus.close(1000);
  });
});
