import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needs, REPO_ROOT } from '../helpers/tools.js';

const UNIT = join(REPO_ROOT, 'systemd/edgeloom.service');
/** `systemd-analyze security` must rate the unit 1.6 or lower (it did before IP and device narrowing). */
const MAX_EXPOSURE = 1.6;

function analyze(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The number on "→ Overall exposure level for edgeloom.service: 1.6 OK". */
function exposure(out: string): number {
  const m = /Overall exposure level for \S+: ([0-9.]+)/.exec(out);
  if (m?.[1] === undefined) throw new Error(`no exposure line in:\n${out}`);
  return Number(m[1]);
}

/**
 * `verify` lines other than the one complaint expected on a machine where edgeloom is not
 * installed: the ExecStart binary does not exist here.
 */
function verifyProblems(unitFile: string): string[] {
  return analyze('verify', '--man=no', unitFile)
    .out.split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/Command \/usr\/bin\/edgeloom is not executable: No such file/.test(l));
}

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the unit with `edit` applied, named edgeloom.service so verify treats it as the same unit. */
function variant(name: string, edit: (text: string) => string): string {
  const sub = join(dir, name);
  rmSync(sub, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', sub]);
  const file = join(sub, 'edgeloom.service');
  writeFileSync(file, edit(readFileSync(UNIT, 'utf8')));
  return file;
}

describe.runIf(needs({ tools: ['systemd-analyze'] }))('systemd/edgeloom.service', () => {
  it(`has a security exposure of ${MAX_EXPOSURE} or lower`, () => {
    const r = analyze('security', '--offline=true', UNIT);
    expect(exposure(r.out)).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('scores worse without its hardening (the measurement is real)', () => {
    const bare = variant('bare', (t) =>
      t
        .split('\n')
        .filter((l) => /^(\[|Description|Type|NotifyAccess|ExecStart|WatchdogSec|Restart)/.test(l))
        .join('\n'),
    );
    expect(exposure(analyze('security', '--offline=true', bare).out)).toBeGreaterThan(MAX_EXPOSURE);
  });

  it('passes `systemd-analyze verify` apart from the binary not being installed here', () => {
    expect(verifyProblems(UNIT)).toEqual([]);
  });

  it('verify catches a broken unit (so the filter above hides only the missing binary)', () => {
    const broken = variant('broken', (t) => t.replace('Type=notify', 'Type=notfy'));
    expect(verifyProblems(broken).join('\n')).toMatch(/service type.*notfy/);
  });

  it('keeps the settings the daemon relies on', () => {
    const text = readFileSync(UNIT, 'utf8');
    for (const line of [
      'Type=notify',
      'WatchdogSec=30',
      'Restart=on-failure',
      'DevicePolicy=closed',
      'DeviceAllow=char-video4linux rw',
      'MemoryDenyWriteExecute=no',
      'Environment=EDGELOOM_STORAGE_DIR=%S/edgeloom',
      'LoadCredential=config.yaml:/etc/edgeloom/config.yaml',
      'ExecStart=/usr/bin/edgeloom run --config %d/config.yaml',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('denies IP egress beyond loopback, link-local, multicast and the private ranges', () => {
    const lines = readFileSync(UNIT, 'utf8').split('\n');
    expect(lines).toContain('IPAddressDeny=any');
    const allowed = lines
      .filter((l) => l.startsWith('IPAddressAllow='))
      .flatMap((l) => l.slice('IPAddressAllow='.length).split(/\s+/));
    expect(allowed.sort()).toEqual(
      [
        '10.0.0.0/8',
        '172.16.0.0/12',
        '192.168.0.0/16',
        'fc00::/7',
        'link-local',
        'localhost',
        'multicast',
      ].sort(),
    );
    // systemd itself sees a non-localhost allow list (the LAN), not an open one.
    const r = analyze('security', '--offline=true', UNIT);
    expect(r.out).toMatch(
      /✗ IPAddressDeny=\s+Service defines IP address allow list with non-localhost entries/,
    );
  });

  it('allows only the device classes the default sensors use', () => {
    const devices = readFileSync(UNIT, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('DeviceAllow='))
      .map((l) => l.slice('DeviceAllow='.length));
    expect(devices).toEqual(['char-video4linux rw', 'char-alsa rw', 'char-ttyUSB rw', 'char-ttyACM rw']);
  });
});

/** The unit with `dropIns` (file name → text) in edgeloom.service.d/ under a root directory. */
function rootWith(name: string, dropIns: Record<string, string>): string {
  const root = join(dir, name);
  const unitDir = join(root, 'etc/systemd/system');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(unitDir, 'edgeloom.service.d'), { recursive: true });
  writeFileSync(join(unitDir, 'edgeloom.service'), readFileSync(UNIT, 'utf8'));
  for (const [file, text] of Object.entries(dropIns))
    writeFileSync(join(unitDir, 'edgeloom.service.d', file), text);
  return root;
}

const DROP_INS = join(REPO_ROOT, 'systemd/drop-ins');

describe.runIf(needs({ tools: ['systemd-analyze'] }))('systemd/drop-ins (docs/boards)', () => {
  const files = readdirSync(DROP_INS).filter((f) => f.endsWith('.conf'));

  it('has the drop-ins the board pages install', () => {
    expect(files.sort()).toEqual(
      ['jetson-camera.conf', 'raspberry-pi-camera.conf', 'raspberry-pi-zero-2-w-memory.conf'].sort(),
    );
  });

  it.each(files)('%s passes `systemd-analyze verify` with the unit', (file) => {
    const root = rootWith(`verify-${file}`, { [file]: readFileSync(join(DROP_INS, file), 'utf8') });
    expect(verifyProblems(join(root, 'etc/systemd/system/edgeloom.service'))).toEqual([]);
  });

  it('verify reads a drop-in beside the unit (so the check above can fail)', () => {
    const root = rootWith('verify-typo', { 'typo.conf': '[Service]\nBindPath=/tmp/argus_socket\n' });
    expect(verifyProblems(join(root, 'etc/systemd/system/edgeloom.service')).join('\n')).toMatch(
      /Unknown key 'BindPath'/,
    );
  });

  it('the Jetson drop-in adds its device nodes and keeps the exposure at 1.6 or lower', () => {
    const root = rootWith('jetson', {
      'jetson-camera.conf': readFileSync(join(DROP_INS, 'jetson-camera.conf'), 'utf8'),
    });
    const r = analyze('security', '--offline=true', `--root=${root}`, 'edgeloom.service');
    expect(r.out).toMatch(/DeviceAllow=.*\/dev\/nvmap:rw/);
    expect(exposure(r.out)).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('PrivateTmp=no cannot give the Argus socket back: DynamicUser=yes keeps /tmp private', () => {
    // Why jetson-camera.conf binds /tmp/argus_socket instead of turning PrivateTmp off.
    const root = rootWith('private-tmp-off', { 'tmp.conf': '[Service]\nPrivateTmp=no\n' });
    const r = analyze('security', '--offline=true', `--root=${root}`, 'edgeloom.service');
    expect(r.out).toMatch(/✓ PrivateTmp=/);
    const withoutDynamicUser = rootWith('private-tmp-off-static', {
      'tmp.conf': '[Service]\nPrivateTmp=no\nDynamicUser=no\n',
    });
    expect(
      analyze('security', '--offline=true', `--root=${withoutDynamicUser}`, 'edgeloom.service').out,
    ).toMatch(/✗ PrivateTmp=/);
  });
});
