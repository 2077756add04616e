/**
 * Months, not minutes, in a test's time: the compiled daemon (`edgeloom run`, the embedded demo
 * configuration, speed-0 replay in a loop, storage in a temporary directory) replays the demo a
 * dozen times while every agent saves events, snapshots and compacts. The store's open sublevels
 * and the sublevels created since start (/metrics) must be the same after pass 12 as after pass 2:
 * an owner that opens a sublevel per call (AgentStore once did, ~1,400 in this run) shows up as
 * `edgeloom_store_sublevels_created_total` growing with every event. The soak benchmark
 * (`npm run bench -- soak`) checks the same for a day of sensor time, with memory and handles.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines, spawnCli } from '../helpers/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-long-replay-'));
let child: CliChild | undefined;
afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

function metrics(url: string): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    get(`${url}/metrics`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => {
        const out = new Map<string, number>();
        for (const line of body.split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          const sp = line.lastIndexOf(' ');
          out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
        }
        resolve(out);
      });
    }).on('error', reject);
  });
}

/** Poll /metrics until the replay has completed `passes` passes; returns that scrape. */
async function afterPasses(url: string, passes: number): Promise<Map<string, number>> {
  for (let i = 0; ; i++) {
    const m = await metrics(url);
    if ((m.get('edgeloom_replay_passes_total') ?? 0) >= passes) return m;
    if (i > 1500) throw new Error(`the replay did not reach ${passes} passes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a long replay leaves the store with one open sublevel per owner', () => {
  it('open and created sublevels are the same after pass 12 as after pass 2', {
    timeout: 180_000,
  }, async () => {
    child = spawnCli(['run'], {
      timeoutMs: 170_000,
      env: {
        EDGELOOM_SOURCE_REPLAY_SPEED: '0',
        EDGELOOM_STORAGE_DIR: join(dir, 'state'),
        EDGELOOM_HTTP_PORT: '0',
        EDGELOOM_MQTT_EMBEDDED_PORT: '0',
        // Small, so every agent snapshots and compacts many times in a dozen passes.
        EDGELOOM_AGENTS_SNAPSHOT_EVERY: '5',
        EDGELOOM_AGENTS_RETENTION_EVENTS: '10',
      },
    });
    await child.waitForLog('http listening', 'stdout', 40_000);
    const url = parseLogLines(child.stdout).find((l) => l.msg === 'http listening')!.url as string;
    const early = await afterPasses(url, 2);
    const late = await afterPasses(url, 12);
    const open = 'edgeloom_store_open_sublevels';
    const created = 'edgeloom_store_sublevels_created_total';
    // outbox, audit, router, privacy, agents, and one per agent (emotion-display, voice, motion, timers).
    expect(early.get(open)).toBe(9);
    expect(late.get(open)).toBe(early.get(open));
    expect(late.get(created)).toBe(early.get(created));
    // The agents did work in between (the counts would not move otherwise).
    expect(late.get('edgeloom_replay_fixture_seconds_total')).toBeGreaterThan(
      early.get('edgeloom_replay_fixture_seconds_total')! + 150,
    );
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });
});
