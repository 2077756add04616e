/**
 * A damaged store does not become a restart loop. A real store is made by the compiled daemon
 * (`edgeloom run`, the demo replayed while the broker is down, so QoS 1 messages wait in the
 * outbox), then damaged on disk three ways:
 * - `CURRENT` truncated (LevelDB cannot open the store at all);
 * - 64 bytes of garbage a third of the way into the `.ldb` table, inside its data blocks. Where
 *   they land decides what a plain read sees (a Snappy tag byte: the block no longer decompresses;
 *   inside a literal: the entry reads back with other bytes and still parses), so the check
 *   verifies every block's CRC32C first and names the table whichever way they land;
 * - one agent log key deleted (E_AGENT_LOG_GAP: the agent's start used to fail on every restart).
 * For each: `edgeloom doctor` reports the store damaged; the daemon, started on it against a real
 * Mosquitto, moves it aside (`<dir>.damaged-<UTC time>`, with QUARANTINE.json), logs one error
 * naming what it did and how to recover, counts it in /metrics, runs on a fresh store and delivers
 * the outbox messages it could still read (all of them when the damage is elsewhere); doctor then
 * lists the quarantined store, and the next start is an ordinary one.
 */
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines, runCli } from '../helpers/cli-process.js';
import { DEMO, startDaemon, stopCleanly, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { freePort, Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { REPO_ROOT } from '../helpers/tools.js';

/** The device whose messages wait in the damaged store's outbox. */
const FIRST_DEVICE = 'damage-first';

function metrics(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${url}/metrics`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function logUrl(d: CliChild): string | undefined {
  const l = parseLogLines(d.stdout).find((x) => x.msg === 'http listening');
  return l?.url as string | undefined;
}

/** A message as `topic payload`, the payload normalised the way the subscriber parses it. */
function identity(topic: string, payload: unknown): string {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload);
    } catch {
      value = payload;
    }
  }
  return `${topic} ${JSON.stringify(value)}`;
}

/** How many of `expected` (a multiset) are missing from `got`. */
function missing(expected: readonly string[], got: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const g of got) left.set(g, (left.get(g) ?? 0) + 1);
  const out: string[] = [];
  for (const e of expected) {
    const n = left.get(e) ?? 0;
    if (n > 0) left.set(e, n - 1);
    else out.push(e);
  }
  return out;
}

type Damage = 'truncated CURRENT' | 'garbage in an .ldb' | 'missing log key';

async function damage(dir: string, kind: Damage): Promise<void> {
  if (kind === 'truncated CURRENT') {
    truncateSync(join(dir, 'CURRENT'), 5);
  } else if (kind === 'garbage in an .ldb') {
    const ldb = readdirSync(dir)
      .filter((f) => f.endsWith('.ldb'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (ldb === undefined) throw new Error(`no .ldb in ${dir}`);
    // A third of the way in: inside the data blocks (the index and footer are at the end).
    const fd = openSync(ldb, 'r+');
    writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, Math.floor(statSync(ldb).size / 3));
    closeSync(fd);
  } else {
    // The busiest agent's second event: its log then jumps from event 1 to event 3.
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
    try {
      const key = '!agents!!emotion-display!l!0000000000000002';
      expect(await db.get(key)).toBeDefined();
      await db.del(key);
    } finally {
      await db.close();
    }
  }
}

describe.runIf(mosquittoAvailable())('a damaged store is moved aside, not a restart loop (Mosquitto)', () => {
  let broker: Mosquitto;
  let dir: string;
  let base: string;
  /** QoS 1 messages the first run left in its outbox. */
  let waiting = 0;
  /** Those messages as `topic payload`, in outbox order. */
  const outboxMessages: string[] = [];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-damage-'));
    base = join(dir, 'base');
    // The broker is down for the first run: every QoS 1 message stays in the outbox.
    const config = writeDaemonConfig({
      dir,
      name: 'first.yaml',
      brokerUrl: `mqtt://127.0.0.1:${await freePort()}`,
      fixture: DEMO,
      speed: 0,
      storageDir: base,
      extra: {
        device: { id: FIRST_DEVICE },
        // No snapshot yet: every agent's log starts at event 1 (the gap case deletes event 2).
        agents: { snapshot_every: 100_000 },
      },
    });
    const d = startDaemon(config);
    await d.waitForLog('replay finished', 'stdout', 60_000);
    await stopCleanly(d);
    const kept = parseLogLines(d.stdout).find(
      (l) => l.msg === 'mqtt: messages kept in the outbox for the next start',
    );
    waiting = Number(kept?.outbox ?? 0);
    expect(waiting).toBeGreaterThan(10);
    // Reopen once: LevelDB turns its log into an .ldb table, the file the second kind damages.
    const db = new Level<string, string>(base, { valueEncoding: 'utf8' });
    await db.open();
    for await (const value of db.values({ gte: '!outbox!', lt: '!outbox"' })) {
      const v = JSON.parse(value) as { topic: string; payload: string };
      outboxMessages.push(identity(v.topic, v.payload));
    }
    await db.close();
    expect(outboxMessages).toHaveLength(waiting);
    expect(readdirSync(base).some((f) => f.endsWith('.ldb'))).toBe(true);
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<{ kind: Damage; code: string; salvagesAll: boolean }> = [
    { kind: 'truncated CURRENT', code: 'E_STORE_OPEN_CORRUPT', salvagesAll: true },
    { kind: 'garbage in an .ldb', code: 'E_STORE_CORRUPT', salvagesAll: false },
    { kind: 'missing log key', code: 'E_AGENT_LOG_GAP', salvagesAll: true },
  ];

  for (const c of cases) {
    it(`${c.kind}: doctor fails it, the daemon quarantines it, delivers what it can, and restarts normally`, async () => {
      const caseDir = join(dir, c.kind.replace(/\W+/g, '-'));
      const state = join(caseDir, 'state');
      cpSync(base, state, { recursive: true });
      await damage(state, c.kind);
      const config = writeDaemonConfig({
        dir: caseDir,
        brokerUrl: broker.url,
        // Only IMU data: its messages go to this run's device topics, never to `home/#`, so what
        // arrives on the first device's topics and on `home/#` is what the outbox carried over.
        fixture: join(REPO_ROOT, 'fixtures/imu'),
        speed: 0,
        storageDir: state,
        extra: {
          device: { id: `damage-${c.code.toLowerCase()}` },
          http: { enabled: true, port: 0 },
          pipeline: { stt: { enabled: false } },
        },
      });

      // Before the daemon: doctor says the store is damaged.
      const before = await runCli(['doctor', '--config', config, '--json']);
      const storageBefore = (
        JSON.parse(before.stdout) as { results: { check: string; level: string; detail: string }[] }
      ).results.find((r) => r.check === 'storage');
      expect(storageBefore?.level).toBe('fail');
      expect(storageBefore?.detail).toContain('is damaged');
      if (c.kind === 'garbage in an .ldb')
        expect(storageBefore?.detail).toMatch(/\.ldb: data block at byte \d+ fails its checksum/);

      const sub = await Subscriber.connect(broker.url, [`edgeloom/${FIRST_DEVICE}/#`, 'home/#']);
      try {
        const d = startDaemon(config);
        try {
          await d.waitForLog('edgeloom running', 'stdout', 40_000);
          const lines = parseLogLines(d.stdout);
          const damaged = lines.filter((l) => l.msg.startsWith('storage damaged'));
          expect(damaged).toHaveLength(1);
          const e = damaged[0]!;
          expect(e.level).toBe('error');
          expect(e.code).toBe(c.code);
          const damagedDir = e.damagedDir as string;
          expect(damagedDir.startsWith(`${state}.damaged-`)).toBe(true);
          expect(e.msg).toContain(damagedDir);
          expect(e.msg).toContain('fresh store');
          expect(e.msg).toContain('Delete it once');
          const record = JSON.parse(readFileSync(join(damagedDir, 'QUARANTINE.json'), 'utf8')) as {
            code: string;
            salvagedOutbox: number;
          };
          expect(record.code).toBe(c.code);
          expect(record.salvagedOutbox).toBe(e.salvagedOutbox);
          if (c.salvagesAll) expect(record.salvagedOutbox).toBe(waiting);
          else expect(record.salvagedOutbox).toBeLessThanOrEqual(waiting);

          const m = await metrics(logUrl(d)!);
          expect(metric(m, 'edgeloom_store_quarantines_total')).toBe(1);
          expect(metric(m, 'edgeloom_store_quarantined_stores')).toBe(1);

          // The salvaged messages leave for the broker: the first device's topics and `home/#`.
          // Live deliveries only: a retained copy left on the broker by an earlier case is not news.
          const received = () =>
            sub.messages
              .filter(
                (x) =>
                  x.qos === 1 &&
                  !x.retain &&
                  !x.topic.endsWith('/status') &&
                  !x.topic.startsWith('homeassistant/'),
              )
              .map((x) => identity(x.topic, x.payload));
          if (c.salvagesAll) {
            await waitFor(
              () => missing(outboxMessages, received()).length === 0,
              `all ${waiting} outbox messages`,
              20_000,
            );
          } else {
            await waitFor(
              () => received().length >= record.salvagedOutbox,
              `${record.salvagedOutbox} salvaged messages`,
              20_000,
            );
            // Whatever arrived was in the damaged outbox (nothing invented on the way).
            expect(missing(received(), outboxMessages)).toEqual([]);
          }
          await stopCleanly(d);
        } finally {
          d.kill();
        }
      } finally {
        await sub.close();
      }

      // Doctor now lists the quarantined store, and the store in use is fine.
      const after = await runCli(['doctor', '--config', config, '--json']);
      const results = (
        JSON.parse(after.stdout) as { results: { check: string; level: string; detail: string }[] }
      ).results;
      expect(results.find((r) => r.check === 'storage')?.level).toBe('ok');
      const q = results.filter((r) => r.check === 'storage quarantine');
      expect(q).toHaveLength(1);
      expect(q[0]!.level).toBe('warn');
      expect(q[0]!.detail).toContain(`${state}.damaged-`);
      expect(q[0]!.detail).toContain(c.code);

      // The next start is an ordinary one: no second quarantine.
      const again = startDaemon(config);
      try {
        await again.waitForLog('edgeloom running', 'stdout', 40_000);
        expect(parseLogLines(again.stdout).some((l) => l.msg.startsWith('storage damaged'))).toBe(false);
        await stopCleanly(again);
      } finally {
        again.kill();
      }
      expect(existsSync(state)).toBe(true);
    });
  }
});
