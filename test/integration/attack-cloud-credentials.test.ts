/**
 * A password in `cloud.base_url` (`http://user:password@host/v1`, the form a LAN proxy or a
 * self-hosted server behind Basic auth is often given) must reach the server as a credential
 * and never a log line. fetch() refuses URLs with credentials and quotes the whole URL,
 * password included, in its error, which the router logged on every refinement. The compiled
 * CLI replays the demo against a loopback server; every log line (stdout and stderr) is read.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli-process.js';
import { DEMO } from '../helpers/daemon-mqtt.js';
import { FakeOpenAIServer, TRANSCRIPTIONS } from '../helpers/fake-openai-server.js';

const PASSWORD = 's3cret-Pw_9731';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-cloud-cred-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cloud.base_url with a password', () => {
  it('sends it as Basic credentials and never writes it to a log line', async () => {
    const server = await FakeOpenAIServer.start();
    try {
      const url = new URL(server.baseUrl);
      url.username = 'edgeloom';
      url.password = PASSWORD;
      const config = join(dir, 'config.yaml');
      await writeFile(
        config,
        stringify({
          device: { id: 'cred-dev' },
          log: { level: 'debug' },
          storage: { dir: join(dir, 'state') },
          pipeline: { stt: { engine: 'reference' } },
          sensors: { mic: { privacy: 'public' }, camera: { privacy: 'local_only' } },
          cloud: { enabled: true, base_url: url.toString(), retries: 0 },
          router: { latency_budget_ms: 20_000, thresholds: { 'reference-transcript': 1 } },
          http: { enabled: false },
        }),
      );
      const r = await runCli(['replay', DEMO, '--speed', '0', '--config', config, '--emit', 'jsonl'], {
        timeoutMs: 90_000,
      });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      // Nowhere in what the daemon wrote (debug level: every line there is) ...
      expect(`${r.stdout}\n${r.stderr}`).not.toContain(PASSWORD);
      expect(`${r.stdout}\n${r.stderr}`).not.toContain(encodeURIComponent(PASSWORD));
      // ... but at the server, as a header.
      const tx = server.requests.filter((q) => q.path === TRANSCRIPTIONS);
      expect(tx.length).toBeGreaterThan(0);
      const basic = `Basic ${Buffer.from(`edgeloom:${PASSWORD}`).toString('base64')}`;
      for (const q of tx) expect(q.headers.authorization).toBe(basic);
    } finally {
      await server.close();
    }
  }, 120_000);
});
