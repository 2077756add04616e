/**
 * A full disk, for real: the store lives on a small tmpfs mounted for this test (root only; under
 * CI=true, which runs as root, a failed mount fails the test), which the test then fills with a
 * file until the kernel answers ENOSPC. The compiled daemon keeps replaying the demo with its
 * broker down, so every QoS 1 message and every agent event is a write that now fails.
 *
 * - The burst is counted, not logged line by line: one `outbox write failed` line (naming the full
 *   disk) for many refused messages, at most one `event append failed` line per agent, and no
 *   `bus handler failed` line per message.
 * - The outbox count at stop equals what the store holds: the stop line's `outbox` is the number of
 *   outbox entries found in the store once space is freed and it is reopened.
 * A bind mount or a loop device would need the same privileges; LevelDB cannot be pointed at
 * /dev/full, and RLIMIT_FSIZE would kill the process (SIGXFSZ) instead of failing the write.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines } from '../helpers/cli-process.js';
import { DEMO, startDaemon, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { freePort } from '../helpers/mosquitto.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const isRoot = process.getuid?.() === 0;
if (CI && !isRoot) throw new Error('disk-full.test.ts needs root (a tmpfs mount) under CI');

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

/** Poll /metrics until `ok` holds (the daemon's own counters are the event waited for). */
async function untilMetrics(
  url: string,
  what: string,
  ok: (m: Map<string, number>) => boolean,
): Promise<void> {
  for (let i = 0; ; i++) {
    if (ok(await metrics(url))) return;
    if (i > 600) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(isRoot)('a full disk (tmpfs filled to ENOSPC)', () => {
  let dir: string;
  let disk: string;
  let mounted = false;
  let daemon: CliChild | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-diskfull-'));
    disk = join(dir, 'disk');
    mkdirSync(disk);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'edgeloom-test', disk], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`mount tmpfs failed: ${r.stderr || r.error?.message}`);
    mounted = true;
  });

  afterAll(() => {
    daemon?.kill();
    if (mounted) spawnSync('umount', ['-l', disk]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('one log line per burst of failed writes, and the outbox count at stop is what the store holds', async () => {
    const storageDir = join(disk, 'state');
    const config = writeDaemonConfig({
      dir,
      brokerUrl: `mqtt://127.0.0.1:${await freePort()}`, // down: every QoS 1 message stays in the outbox
      fixture: DEMO,
      speed: 4,
      storageDir,
      extra: {
        source: { mode: 'replay', replay: { fixture: DEMO, speed: 4, loop: true } },
        http: { enabled: true, port: 0 },
      },
    });
    daemon = startDaemon(config, 120_000);
    await daemon.waitForLog('http listening', 'stdout', 40_000);
    const url = parseLogLines(daemon.stdout).find((l) => l.msg === 'http listening')!.url as string;
    await untilMetrics(
      url,
      'messages in the outbox',
      (m) => (m.get('edgeloom_mqtt_outbox_depth{outbox="mqtt"}') ?? 0) >= 3,
    );

    // Fill the disk.
    const fd = openSync(join(disk, 'filler'), 'w');
    try {
      const block = Buffer.alloc(64 * 1024, 0xaa);
      for (;;) writeSync(fd, block);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    try {
      for (;;) writeSync(fd, Buffer.alloc(512, 0xaa)); // the last partial block
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }

    // A burst: many messages refused, many agent inputs not persisted.
    await untilMetrics(
      url,
      'a burst of refused messages',
      (m) => (m.get('edgeloom_mqtt_outbox_unstored_total{outbox="mqtt"}') ?? 0) >= 5,
    );
    // The agents' counters count every input they could not persist.
    const before = await metrics(url);
    const persistErrors = [...before]
      .filter(([k]) => k.startsWith('edgeloom_agent_persist_errors_total{'))
      .reduce((n, [, v]) => n + v, 0);
    daemon.process.kill('SIGTERM');
    const result = await daemon.exited;
    expect(result.code).toBe(0);

    const lines = parseLogLines(result.stdout);
    const outboxLines = lines.filter((l) => l.msg.startsWith('outbox write failed'));
    expect(outboxLines).toHaveLength(1);
    expect(outboxLines[0]!.msg).toContain('disk full');
    const agentLines = lines.filter((l) => l.msg.startsWith('event append failed'));
    expect(agentLines.length).toBeLessThanOrEqual(3); // at most one per agent
    expect(persistErrors).toBeGreaterThan(agentLines.length);
    expect(lines.filter((l) => l.msg === 'bus handler failed')).toEqual([]);

    const kept = lines.find((l) => l.msg === 'mqtt: messages kept in the outbox for the next start');
    expect(kept).toBeDefined();
    expect(Number(kept!.unstored)).toBeGreaterThanOrEqual(5);

    // Free the space and count what the store really holds.
    rmSync(join(disk, 'filler'));
    const db = new Level<string, unknown>(storageDir, { valueEncoding: 'json' });
    await db.open();
    let stored = 0;
    try {
      for await (const _ of db.keys({ gte: '!outbox!', lt: '!outbox"' })) stored++;
    } finally {
      await db.close();
    }
    expect(stored).toBeGreaterThanOrEqual(3);
    expect(kept!.outbox).toBe(stored);
  });
});
