import { describe, expect, it } from 'vitest';
import { Capabilities } from '../../daemon/plugins/capabilities.js';
import { LineReader } from '../../daemon/plugins/line-reader.js';
import { parsePluginLine, toWire } from '../../daemon/plugins/protocol.js';
import { spawnPlan } from '../../daemon/plugins/sandbox.js';

describe('plugin line reader', () => {
  it('joins lines split across chunks and drops an overlong one up to its newline', () => {
    const lines: string[] = [];
    const r = new LineReader(8, (l) => lines.push(l));
    r.push(Buffer.from('{"a"'));
    r.push(Buffer.from(':1}\nxxxxxxxx'));
    r.push(Buffer.from('xxxx still too long\nok\n\n'));
    expect(lines).toEqual(['{"a":1}', 'ok']);
    expect(r.overlong).toBe(1);
  });
});

describe('plugin protocol', () => {
  it('parses the messages and says why a line is not one', () => {
    expect(parsePluginLine('{"type":"health","ok":false,"detail":"no i2c"}')).toEqual({
      type: 'health',
      ok: false,
      detail: 'no i2c',
    });
    expect(parsePluginLine('nope')).toBe('not JSON');
    expect(parsePluginLine('{"type":"publish","topic":"plugin/a/b","payload":3}')).toMatch(/JSON object/);
    expect(parsePluginLine('{"type":"hello","name":"x","subscribe":"#"}')).toMatch(/strings/);
  });

  it('encodes bytes as base64 or strips them', () => {
    const p = { seq: 1, jpeg: Buffer.from([1, 2, 3]), samples: new Int16Array([1, -1]) };
    expect(toWire(p, 'encode')).toEqual({
      seq: 1,
      jpeg: { $b64: 'AQID' },
      samples: { $b64: Buffer.from([1, 0, 0xff, 0xff]).toString('base64'), $dtype: 'int16le' },
    });
    expect(toWire(p, 'strip')).toEqual({ seq: 1 });
  });
});

describe('plugin capabilities', () => {
  const caps = (o: { rawMedia: boolean; network: boolean; tier: 'public' | 'private' }) =>
    new Capabilities({
      id: 'p',
      narrow: [],
      rawMedia: o.rawMedia,
      network: o.network,
      sensors: ['hall'],
      tierFor: () => o.tier,
    });

  it('raw media only with raw_media, and with network only under the public tier', () => {
    const t = 'sensor/camera/front/frame';
    expect(caps({ rawMedia: false, network: false, tier: 'public' }).mayReceive(t).ok).toBe(false);
    expect(caps({ rawMedia: true, network: false, tier: 'private' }).mayReceive(t)).toEqual({
      ok: true,
      binary: 'encode',
    });
    expect(caps({ rawMedia: true, network: true, tier: 'private' }).mayReceive(t).ok).toBe(false);
    expect(caps({ rawMedia: true, network: true, tier: 'public' }).mayReceive(t).ok).toBe(true);
  });

  it('a plugin with network gets nothing of a private or local_only tier, derived data of sensitive', () => {
    const t = 'inference/stt/mic0';
    const tiers = ['public', 'sensitive', 'private', 'local_only'] as const;
    const ok = (network: boolean) =>
      tiers.map(
        (tier) =>
          new Capabilities({
            id: 'p',
            narrow: [],
            rawMedia: false,
            network,
            sensors: [],
            tierFor: () => tier,
          }).mayReceive(t).ok,
      );
    expect(ok(true)).toEqual([true, true, false, false]);
    expect(ok(false)).toEqual([true, true, true, true]);
  });

  it('publishes only declared topics of its own namespace, subscribes no rpc', () => {
    const c = caps({ rawMedia: false, network: false, tier: 'private' });
    const refused = c.declare(['#', 'rpc/tool/call', 'a/+b'], ['plugin/p/x', 'plugin/q/x', 'action/mqtt']);
    expect(refused).toHaveLength(4);
    expect(c.subscriptions()).toEqual(['#']);
    expect(c.mayPublish('plugin/p/x')).toBe(true);
    expect(c.mayPublish('plugin/p/y')).toBe(false);
    expect(c.mayPublish('plugin/q/x')).toBe(false);
  });

  it('publishes the readings of the sensor ids its config declares, and of no other sensor', () => {
    const c = caps({ rawMedia: false, network: false, tier: 'private' });
    const refused = c.declare(
      [],
      ['sensor/plugin/hall', 'sensor/plugin/cellar', 'sensor/imu/imu0/window', 'sensor/plugin/hall/x'],
    );
    expect(refused.map((r) => r.split(':')[0])).toEqual([
      'sensor/plugin/cellar',
      'sensor/imu/imu0/window',
      'sensor/plugin/hall/x',
    ]);
    expect(refused[0]).toContain('or sensor/plugin/hall');
    expect(c.mayPublish('sensor/plugin/hall')).toBe(true);
    expect(c.mayPublish('sensor/plugin/cellar')).toBe(false);
    expect(c.mayPublish('sensor/imu/imu0/window')).toBe(false);
  });

  it('parses sync and synced, and a hello that offers to sync', () => {
    expect(parsePluginLine('{"type":"synced","id":"7"}')).toEqual({ type: 'synced', id: '7' });
    expect(parsePluginLine('{"type":"synced","id":7}')).toMatch(/bad id/);
    expect(parsePluginLine('{"type":"hello","name":"x","sync":true}')).toMatchObject({ sync: true });
    expect(parsePluginLine('{"type":"hello","name":"x"}')).toMatchObject({ sync: false });
  });
});

describe('plugin sandbox plan', () => {
  it('bubblewrap without network and prlimit limits around the command', () => {
    const plan = spawnPlan(
      { command: ['python3', 'p.py'], sandbox: { network: false, fs: 'read-only', memory_mb: 64, cpu_s: 5 } },
      { stateDir: '/s', cwd: '/c' },
    );
    expect(plan.file).toBe('prlimit');
    expect(plan.args).toEqual(
      expect.arrayContaining([`--as=${64 * 1024 * 1024}`, '--cpu=5', 'bwrap', '--unshare-net']),
    );
    expect(plan.args.slice(-2)).toEqual(['python3', 'p.py']);
    const open = spawnPlan(
      { command: ['x'], sandbox: { network: true, fs: 'host', memory_mb: 0, cpu_s: 0 } },
      { stateDir: '/s', cwd: '/c' },
    );
    expect(open).toEqual({ file: 'x', args: [], sandboxed: false });
  });
});
