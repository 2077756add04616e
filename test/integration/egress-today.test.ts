/**
 * "What left the device today" (observe/egress-today.ts) tallied from a real audit log on LevelDB:
 * the records written before the daemon started today (read back from the log), the ones appended
 * while it runs (cloud egress records, and the MQTT gate's own summaries with their payload
 * bytes), nothing from yesterday, and a fresh tally when a new day starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqttEgressGate } from '../../daemon/actions/mqtt-egress.js';
import { silentLogger } from '../../daemon/log.js';
import { EgressToday } from '../../daemon/observe/egress-today.js';
import { type AuditEntry, AuditLog } from '../../daemon/router/audit-log.js';
import type { Store } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';

let dir: string;
let db: Store;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-egress-today-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** Noon, local time, on 2026-12-04: far from midnight either way. */
const NOON = new Date(2026, 11, 4, 12, 0, 0).getTime();
const HOUR = 3_600_000;

function cloud(host: string, bytes: number, outcome: 'sent' | 'refused' = 'sent'): AuditEntry {
  return {
    tsMs: 0,
    dataKind: 'text',
    bytes,
    host,
    path: '/v1/chat/completions',
    reason: 'below_threshold',
    tier: 'sensitive',
    correlationId: 'c1',
    payloadRef: 'sha256:00',
    outcome,
  };
}

describe('left the device today, from the audit', () => {
  it('counts today before and after start, skips yesterday, and starts over at midnight', async () => {
    let nowMs = NOON - 20 * HOUR; // yesterday, 16:00
    const audit = new AuditLog(db, { now: () => nowMs });
    await audit.append(cloud('api.example.com', 9_000)); // yesterday: not today's
    nowMs = NOON - 2 * HOUR;
    await audit.append(cloud('api.example.com', 1_200));
    await audit.append(cloud('api.example.com', 800, 'refused'));

    nowMs = NOON;
    const today = new EgressToday({ audit, now: () => nowMs });
    await today.start();
    expect(today.view().destinations).toEqual([
      { via: 'cloud', destination: 'api.example.com', count: 1, bytes: 1_200, refused: 1 },
    ]);

    // While running: another cloud request, and what the MQTT gate forwarded and withheld, with
    // the bytes of the payloads it let through, summarised into the audit on flush.
    await audit.append(cloud('api.example.com', 300));
    const gate = new MqttEgressGate({
      destination: 'lan',
      host: 'broker.lan',
      privacy: { tierFor: (t) => (t === 'inference/stt/mic0' ? 'local_only' : 'sensitive') },
      logger: silentLogger(),
      clock: new SystemClock(),
      audit,
    });
    await gate.start();
    const emotion = { ts: 1, emotion: 'happy', confidence: 0.9 };
    for (let i = 0; i < 3; i++) {
      expect(
        gate.admit('edgeloom/d/face/emotion', {
          topic: 'face/emotion',
          payload: emotion,
          qos: 1,
          retain: false,
          privacy: { data: 'derived', topic: 'inference/face/cam0' },
        }),
      ).toBe(true);
    }
    expect(
      gate.admit('edgeloom/d/voice/transcript', {
        topic: 'voice/transcript',
        payload: { text: 'secret' },
        qos: 1,
        retain: false,
        privacy: { data: 'derived', topic: 'inference/stt/mic0' },
      }),
    ).toBe(false);
    await gate.stop(); // flushes its window into the audit
    const view = today.view();
    expect(view.sinceMs).toBe(new Date(2026, 11, 4).getTime());
    expect(view.destinations).toEqual([
      { via: 'cloud', destination: 'api.example.com', count: 2, bytes: 1_500, refused: 1 },
      {
        via: 'mqtt',
        destination: 'lan broker.lan',
        count: 3,
        bytes: 3 * Buffer.byteLength(JSON.stringify(emotion)),
        refused: 1,
      },
    ]);

    // Past midnight the tally starts over; a record appended then counts for the new day.
    nowMs = NOON + 13 * HOUR;
    expect(today.view().destinations).toEqual([]);
    await audit.append(cloud('api.example.com', 50));
    expect(today.view().destinations).toEqual([
      { via: 'cloud', destination: 'api.example.com', count: 1, bytes: 50, refused: 0 },
    ]);

    // Stopped, it hears nothing more (its listener is gone from the shared chain).
    await today.stop();
    await audit.append(cloud('api.example.com', 70));
    expect(today.view().destinations[0]!.count).toBe(1);
    await audit.close();
  });
});
