/**
 * The table of sublevels (daemon/storage/sublevels.ts) is the whole truth about what the device
 * stores:
 * - a replay of the demo fixture through the real daemon (embedded broker, agents, router, audit,
 *   privacy, outbox) opens exactly the table's sublevels — a sublevel the table lacks, or a row
 *   nothing opens, fails here — and leaves nothing in the store the table does not list;
 * - `forget` erases exactly the personal rows: every row is filled through its owner, then the
 *   personal ones are empty (the outbox keeps its device-state messages, the audit only forget's
 *   own record) and the others hold what they held;
 * - the README's "What the device stores" table is this table.
 * Real LevelDB on disk, the real daemon in-process.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../daemon/actions/outbox.js';
import { AgentStore } from '../../daemon/agents/store.js';
import { loadConfig } from '../../daemon/config/index.js';
import { buildDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { forget } from '../../daemon/privacy/forget.js';
import { PrivacyControl } from '../../daemon/privacy/privacy-control.js';
import { AuditLog } from '../../daemon/router/audit-log.js';
import { CostTracker } from '../../daemon/router/cost.js';
import { storeInventory } from '../../daemon/storage/inventory.js';
import { openResources, trackOpenResources } from '../../daemon/storage/open-resources.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import {
  SUBLEVEL_NAMES,
  SUBLEVELS,
  type SublevelName,
  type SublevelRow,
} from '../../daemon/storage/sublevels.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { REPO_ROOT } from '../helpers/tools.js';

const demoConfig = (storageDir: string) =>
  loadConfig({
    file: join(REPO_ROOT, 'config', 'default.yaml'),
    env: {},
    hostname: 'store-table-test',
    overrides: {
      storage: { dir: storageDir },
      mqtt: { embedded: { port: 0 } },
      control: { socket: false },
    },
  });

describe('the table of sublevels', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-store-table-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a replay through the daemon opens exactly the sublevels of the table and stores nothing else', async () => {
    const daemon = await buildDaemon({
      config: demoConfig(join(dir, 'state')),
      logger: silentLogger(),
      baseDir: REPO_ROOT,
      replay: { fixtureDir: join(REPO_ROOT, 'fixtures', 'demo'), speed: 0, loop: false },
      mqtt: { kind: 'broker' },
    });
    await daemon.start();
    try {
      await daemon.replay!.done;
      const store = daemon.storage.store;
      const opened = openResources(store)!.names;
      expect([...opened].sort()).toEqual([...SUBLEVEL_NAMES].sort());
      const inventory = await storeInventory(store, demoConfig(dir));
      expect(inventory.unlisted).toEqual([]);
      expect(inventory.loose).toBe(0);
      // The replay wrote agent memory: the inventory sees what is there.
      const agents = inventory.sublevels.find((r) => r.name === 'agents')!;
      expect(agents.entries).toBeGreaterThan(0);
      expect(Object.keys(agents.nested).sort()).toEqual(['emotion-display', 'motion', 'voice']);
      expect(inventory.sublevels.filter((r) => r.overBound > 0)).toEqual([]);
    } finally {
      await daemon.stop();
    }
  });

  it('the tracker and the inventory see a sublevel the table lacks (so the test above can fail)', async () => {
    const store = await openStore(join(dir, 'planted'));
    trackOpenResources(store);
    try {
      const stray = store.sublevel<string, unknown>('transcripts', { valueEncoding: 'json' });
      await stray.put('k', 'text');
      await stray.close();
      expect(openResources(store)!.names).toEqual(['transcripts']);
      expect((await storeInventory(store, demoConfig(dir))).unlisted).toEqual(['transcripts']);
    } finally {
      await store.close();
    }
  });

  it('forget erases exactly the personal rows and leaves the others as they were', async () => {
    const config = demoConfig(dir);
    const store = await openStore(join(dir, 'state'));
    try {
      await fillEveryRow(store, config);
      const before = await countsOf(store, config);
      // Every row holds something, so each row's fate below is seen (a new row needs filling here).
      expect(SUBLEVEL_NAMES.filter((n) => before[n] === 0)).toEqual([]);

      const audit = new AuditLog(store);
      await forget(
        {
          store,
          audit,
          logger: silentLogger(),
          baseTopic: config.mqtt.base_topic,
          outbox: config.mqtt.outbox,
        },
        { origin: { channel: 'cli', authenticated: true } },
      );
      const after = await countsOf(store, config);
      const records = await audit.list();
      await audit.close();

      for (const name of SUBLEVEL_NAMES) {
        const row: SublevelRow = SUBLEVELS[name];
        if (row.personal === 'none') expect(after[name], name).toBe(before[name]);
        else if (name === 'audit') expect(records.map((r) => r.kind)).toEqual(['forget']);
        else if (row.personal === 'all') expect(after[name], name).toBe(0);
        else expect(after[name], name).toBeGreaterThan(0); // checked entry by entry below
      }
      // The outbox keeps its device-state message; the transcript is gone, and what forget queued
      // itself are empty retained messages that clear the personal retained topics at the broker.
      const outbox = await openOutbox(store, config);
      const left = [...outbox.values()];
      expect(left.filter((e) => e.payload !== '').map((e) => e.topic)).toEqual([
        `${config.mqtt.base_topic}/status`,
      ]);
      expect(left.filter((e) => e.payload === '').every((e) => e.retain)).toBe(true);
      await outbox.close();
    } finally {
      await store.close();
    }
  });

  it('is the table in the README', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(readmeTable());
  });
});

type Config = ReturnType<typeof demoConfig>;

async function countsOf(store: Store, config: Config): Promise<Partial<Record<SublevelName, number>>> {
  const inv = await storeInventory(store, config);
  return Object.fromEntries(inv.sublevels.map((r) => [r.name, r.entries]));
}

async function openOutbox(store: Store, config: Config): Promise<Outbox> {
  const outbox = new Outbox({
    store,
    clock: new SystemClock(),
    logger: silentLogger(),
    maxMessages: config.mqtt.outbox.max_messages,
    policy: config.mqtt.outbox.policy,
  });
  await outbox.open();
  return outbox;
}

/** Something in every row, written by the row's owner. */
async function fillEveryRow(store: Store, config: Config): Promise<void> {
  const agents = new AgentStore({ db: store, snapshotEvery: 10, retentionEvents: 10 });
  const heard = { type: 'heard', text: 'turn on the kitchen light' };
  await agents.append('voice', 1, [heard]);
  await agents.close();

  const outbox = await openOutbox(store, config);
  const base = config.mqtt.base_topic;
  await outbox.add(`${base}/voice/transcript`, '{"text":"turn on the kitchen light"}', false).persisted;
  await outbox.add(`${base}/status`, '{"state":"online"}', true).persisted;
  await outbox.close();

  const audit = new AuditLog(store);
  const privacy = new PrivacyControl({
    store,
    audit,
    config: { privacy: config.router.privacy, sensors: config.sensors },
    logger: silentLogger(),
  });
  await privacy.start();
  await privacy.change({
    scope: config.sensors.mic.id,
    tier: 'local_only',
    origin: { channel: 'cli', authenticated: true },
  });
  await privacy.stop();

  const cost = new CostTracker(store, new VirtualClock(0), 1);
  await cost.load();
  await cost.charge(0.01);
  await cost.close();
  await audit.close();
}

/** The table as the README prints it. */
function readmeTable(): string {
  const personal = { all: 'yes', some: 'some entries', none: 'no' } as const;
  const damage = { salvage: 'carried over', 'left behind': 'left behind' } as const;
  const rows = SUBLEVEL_NAMES.map((n) => {
    const r: SublevelRow = SUBLEVELS[n];
    const cells = [`\`${n}\``, `\`${r.owner}\``, r.holds, personal[r.personal]];
    cells.push(r.retention.bound, r.retention.policy, damage[r.onDamage]);
    return `| ${cells.join(' | ')} |`;
  });
  const head = '| sublevel | owner | holds | personal | bound | at the bound | after a quarantine |';
  return [head, '|---|---|---|---|---|---|---|', ...rows].join('\n');
}
