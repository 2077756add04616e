import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { installServiceCommand, renderUnit } from '../../daemon/cli/cmd-install-service.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function install(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    // Always under the temporary root: install-service also seeds the models directory the config
    // names (/var/cache/edgeloom/models in the example), which must not be this machine's.
    return { code: await installServiceCommand.run(['--root', dir, ...args]), out };
  } finally {
    spy.mockRestore();
  }
}

describe('edgeloom install-service', () => {
  it('rewrites only ExecStart and the config credential', () => {
    const text = readFileSync(join(REPO_ROOT, 'systemd/edgeloom.service'), 'utf8');
    const unit = renderUnit(text, '/opt/node/bin/edgeloom', '/srv/edgeloom.yaml');
    expect(unit).toContain('\nExecStart=/opt/node/bin/edgeloom run --config %d/config.yaml\n');
    expect(unit).toContain('\nLoadCredential=config.yaml:/srv/edgeloom.yaml\n');
    expect(unit.split('\n').filter((l, i) => l !== text.split('\n')[i])).toHaveLength(2);
  });

  it('writes the unit and the example config, and never overwrites an existing config', async () => {
    const first = await install([
      '--unit-dir',
      '/units',
      '--config-dir',
      '/etc',
      '--exec',
      '/usr/local/bin/edgeloom',
    ]);
    expect(first.code).toBe(0);
    const unitDir = join(dir, 'units');
    const configDir = join(dir, 'etc');
    const unit = readFileSync(join(unitDir, 'edgeloom.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/edgeloom run --config %d\/config.yaml$/m);
    // The path as it will be on the running system, not under --root.
    expect(unit).toMatch(/^LoadCredential=config.yaml:\/etc\/config.yaml$/m);
    expect(readFileSync(join(configDir, 'config.yaml'), 'utf8')).toBe(
      readFileSync(join(REPO_ROOT, 'config/raspberry-pi.example.yaml'), 'utf8'),
    );
    // Not world-readable: it may hold a broker password or a cloud key.
    expect(statSync(join(configDir, 'config.yaml')).mode & 0o777).toBe(0o640);

    writeFileSync(join(configDir, 'config.yaml'), 'device: { name: mine }\n');
    const second = await install(['--unit-dir', '/units', '--config-dir', '/etc']);
    expect(second.out).toContain('kept');
    // That config leaves the models paths relative: nothing is seeded, and it says why.
    expect(second.out).toContain('models not seeded: models.dir (models) and models.manifest');
    expect(readFileSync(join(configDir, 'config.yaml'), 'utf8')).toBe('device: { name: mine }\n');
  });

  it.runIf(needs({ tools: ['systemd-analyze'] }))(
    'produces a unit systemd-analyze verify accepts (detected ExecStart exists)',
    async () => {
      const unitDir = join(dir, 'verify');
      mkdirSync(unitDir, { recursive: true });
      await install(['--unit-dir', '/verify', '--config-dir', '/etc2']);
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, 'edgeloom.service')], {
        encoding: 'utf8',
      });
      // The detected command is this Node + dist main.js (or a linked edgeloom), which exists here,
      // so verify has nothing at all to complain about.
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    },
  );
});
