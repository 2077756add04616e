/**
 * Privacy scopes and the bound on overrides (PrivacyTiers), and who may loosen (PrivacyControl on
 * a real LevelDB store): a sensor id scope changes that sensor, a pattern must match a topic of
 * the device, the override set is bounded, a loosening is recognised also when it hides behind a
 * more specific pattern, and changes persist across a reopen unless the config changed there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { PrivacyControl } from '../../daemon/privacy/privacy-control.js';
import { AuditLog } from '../../daemon/router/audit-log.js';
import { MAX_OVERRIDES, PrivacyTiers } from '../../daemon/router/privacy.js';
import { openStore, type Store } from '../../daemon/storage/store.js';

const config = loadConfig({ env: {}, overrides: { device: { id: 'dev' } } });
const options = { privacy: config.router.privacy, sensors: config.sensors };
const CLI = { channel: 'cli', authenticated: true } as const;
const NET = { channel: 'mqtt', authenticated: false } as const;

describe('PrivacyTiers scopes', () => {
  it('a sensor id is that sensor: {"scope":"mic0"} changes the microphone', () => {
    const p = new PrivacyTiers(options);
    expect(p.tierFor('inference/stt/mic0')).toBe('private');
    expect(p.setTier('mic0', 'local_only')).toBe('sensor:mic');
    expect(p.tierFor('inference/stt/mic0')).toBe('local_only');
    expect(p.tierFor('agent/voice/intent')).toBe('local_only');
    // What the assistant answers and says is made from what it heard: the microphone's tier.
    for (const t of ['agent/voice/answer', 'action/say', 'action/speaking'])
      expect(p.tierFor(t), t).toBe('local_only');
    expect(p.snapshot().sensorIds).toMatchObject({ mic0: 'local_only', cam0: 'local_only', imu0: 'public' });
    expect(p.snapshot().overrides).toEqual({ 'inference/face/#': 'private' }); // no pattern "mic0" stored
  });

  it('refuses patterns that match no topic of the device, malformed ones and unknown kinds', () => {
    const p = new PrivacyTiers(options);
    for (const scope of ['mic9', 'inference/stt/kitchen', 'home/#', 'a/#/b', 'sensor:radar']) {
      expect(() => p.setTier(scope, 'local_only'), scope).toThrow(
        expect.objectContaining({ code: 'E_PRIVACY_SCOPE' }),
      );
    }
    expect(p.setTier('inference/+/mic0', 'local_only')).toBe('inference/+/mic0');
  });

  it(`keeps at most ${MAX_OVERRIDES} overrides; changing an existing one still works`, () => {
    const p = new PrivacyTiers(options);
    // Every pattern that matches one of the device's topics: each level literal or `+`.
    const patterns = new Set<string>();
    for (const topic of p.knownTopics()) {
      const levels = topic.split('/');
      for (let mask = 0; mask < 2 ** levels.length; mask++) {
        patterns.add(levels.map((l, i) => ((mask >> i) & 1 ? '+' : l)).join('/'));
      }
    }
    expect(patterns.size).toBeGreaterThan(MAX_OVERRIDES + 30);
    const codes = new Set<string>();
    for (const pattern of patterns) {
      try {
        p.setTier(pattern, 'local_only');
      } catch (err) {
        codes.add((err as { code: string }).code);
      }
    }
    expect([...codes]).toEqual(['E_PRIVACY_FULL']);
    expect(Object.keys(p.snapshot().overrides)).toHaveLength(MAX_OVERRIDES);
    // Still correct (and answered from the cache) after the set filled up.
    expect(p.tierFor('inference/stt/mic0')).toBe('local_only');
    // The finding's 30k scopes: each is refused (matches nothing, or the set is full), none stored.
    for (let i = 0; i < 30_000; i++) {
      expect(() => p.setTier(`inference/face/cam${i + 1}`, 'local_only')).toThrow();
    }
    expect(Object.keys(p.snapshot().overrides)).toHaveLength(MAX_OVERRIDES);
    p.setTier('inference/face/#', 'sensitive'); // an existing pattern: changed in place
    expect(p.snapshot().overrides['inference/face/#']).toBe('sensitive');
  });

  it('sees a loosening behind a more specific pattern, and a tightening as one', () => {
    const p = new PrivacyTiers(options);
    // face: camera local_only, override private → local_only. A more specific public override
    // cannot loosen it (the sensor's tier still applies), so that is no loosening...
    expect(p.loosens('inference/face/cam0', 'public')).toBeUndefined();
    // ...but the camera itself is.
    expect(p.loosens('sensor:camera', 'public')).toBe('sensor:camera');
    // Router decisions have no sensor: a public override on them loosens the default tier.
    expect(p.loosens('router/#', 'public')).toBe('router/decision');
    expect(p.loosens('sensor:mic', 'local_only')).toBeUndefined();
    expect(p.loosens('default', 'local_only')).toBeUndefined();
  });
});

describe('PrivacyControl', () => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloom-privacy-control-'));
    store = await openStore(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const control = (o = options) =>
    new PrivacyControl({ store, audit: new AuditLog(store), config: o, logger: silentLogger() });

  it('tightens from anyone, loosens only for an authenticated origin, and audits both', async () => {
    const c = control();
    await expect(c.change({ tier: 'public', scope: 'mic0', origin: NET })).rejects.toMatchObject({
      code: 'E_CMD_AUTH',
    });
    expect(c.tierFor('inference/stt/mic0')).toBe('private');
    await expect(c.change({ tier: 'local_only', scope: 'mic0', origin: NET })).resolves.toMatchObject({
      scope: 'sensor:mic',
      loosened: false,
    });
    await expect(c.change({ tier: 'public', scope: 'mic0', origin: CLI })).resolves.toMatchObject({
      loosened: true,
      previous: 'local_only',
    });
    const records = await new AuditLog(store).list();
    expect(records.map((r) => [r.kind, r.outcome, r.to])).toEqual([
      ['privacy', 'refused', 'public'],
      ['privacy', 'applied', 'local_only'],
      ['privacy', 'applied', 'public'],
    ]);
  });

  it('persists changes; a config edited at the same scope since wins', async () => {
    const first = control();
    await first.change({ tier: 'local_only', scope: 'mic0', origin: NET });
    await first.change({ tier: 'local_only', scope: 'imu0', origin: NET });
    const again = control();
    await again.load();
    expect(again.tierFor('inference/stt/mic0')).toBe('local_only');
    expect(again.tierFor('agent/motion/motion')).toBe('local_only');
    // The owner has since edited the microphone's tier in the config file: that is newer.
    const edited = loadConfig({
      env: {},
      overrides: { device: { id: 'dev' }, sensors: { mic: { privacy: 'sensitive' } } },
    });
    const afterEdit = control({ privacy: edited.router.privacy, sensors: edited.sensors });
    await afterEdit.load();
    expect(afterEdit.tierFor('inference/stt/mic0')).toBe('sensitive');
    expect(afterEdit.tierFor('agent/motion/motion')).toBe('local_only');
    await expect(afterEdit.reset(undefined, NET)).rejects.toMatchObject({ code: 'E_CMD_AUTH' });
    await expect(afterEdit.reset(undefined, CLI)).resolves.toEqual(['sensor:imu']);
    expect(afterEdit.tierFor('agent/motion/motion')).toBe('public');
  });
});
