/**
 * The Debian packages `npm run package` builds (scripts/package/build-deb.sh), as a user gets
 * them. This test does not build them (that downloads npm packages): `.ci/run` runs
 * `npm run package` before the suite, and a developer does the same; under CI a missing package
 * fails the file.
 *
 * The amd64 package is installed with dpkg into a fresh root and run from there (see
 * test/helpers/deb-root.ts): `edgeloom --version`, `edgeloom doctor` with the packaged config,
 * the recorded fixtures replayed through its bundled Node and trimmed native addons (compared with
 * this checkout's build), `systemd-analyze verify` of the installed unit, removal and purge. The
 * arm64 package's daemon runs under qemu in scripts/arm64-smoke.sh; here only its size and contents.
 *
 * The maintainer scripts call systemctl, and systemd is not PID 1 on this machine, so a recording
 * stand-in for systemctl is put first on PATH, in a private mount namespace where
 * /run/systemd/system exists (what a running systemd looks like to them).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianPackageOf, needsOf } from '../../daemon/cli/doctor/devices.js';
import type { CheckResult } from '../../daemon/cli/doctor/doctor.js';
import { loadConfig } from '../../daemon/config/index.js';
import { runCli } from '../helpers/cli-process.js';
import { dpkg, dpkgRootArgs, inRoot } from '../helpers/deb-root.js';
import { needs, REPO_ROOT, UNDER_CI } from '../helpers/tools.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const runtime = JSON.parse(readFileSync(join(REPO_ROOT, 'scripts/package/node-runtime.json'), 'utf8')) as {
  bundled: string;
};
const deb = (arch: string): string => join(REPO_ROOT, 'build', `edgeloom_${pkg.version}_${arch}.deb`);
/** The size target for a Raspberry Pi: 200 MB installed, Node runtime included (KiB, as dpkg counts). */
const ARM64_MAX_INSTALLED_KIB = Math.floor((200 * 1000 * 1000) / 1024);

const isRoot = process.getuid?.() === 0;
if (UNDER_CI && !isRoot) throw new Error('dpkg --root needs root; CI runs as root');
const dir = mkdtempSync(join(tmpdir(), 'edgeloom-deb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function control(file: string): Record<string, string> {
  const r = spawnSync('dpkg-deb', ['--field', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => /^[A-Za-z-]+: /.test(l))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
  );
}

/** `dpkg-deb --contents`: path → [mode string, owner/group]. */
function contents(file: string): Map<string, [string, string]> {
  const r = spawnSync('dpkg-deb', ['--contents', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(r.status, r.stderr).toBe(0);
  const out = new Map<string, [string, string]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) (\S+) +\d+ \S+ \S+ \.(\/.*?)(?: -> .*)?$/.exec(line);
    if (m) out.set(m[3]!.replace(/\/$/, ''), [m[1]!, m[2]!]);
  }
  return out;
}

describe.runIf(needs({ tools: ['dpkg-deb'], files: [deb('arm64')] }))('the arm64 package', () => {
  it(`stays within 200 MB installed, Node included, and carries linux/arm64 binaries only`, () => {
    const fields = control(deb('arm64'));
    expect(fields).toMatchObject({ Package: 'edgeloom', Version: pkg.version, Architecture: 'arm64' });
    expect(Number(fields['Installed-Size'])).toBeLessThanOrEqual(ARM64_MAX_INSTALLED_KIB);
    expectNativesFor('arm64', [...contents(deb('arm64')).keys()]);
  });
});

describe.runIf(
  process.arch === 'x64' &&
    isRoot &&
    needs({ tools: ['dpkg', 'dpkg-deb', 'bwrap', 'systemd-analyze'], files: [deb('amd64')] }),
)('the amd64 package, installed into a fresh root', () => {
  const root = join(dir, 'root');
  mkdirSync(root);

  it('is edgeloom at this version, with the config as a root-only conffile and no foreign binaries', () => {
    const fields = control(deb('amd64'));
    expect(fields).toMatchObject({ Package: 'edgeloom', Version: pkg.version, Architecture: 'amd64' });
    expect(fields.Depends).toMatch(/^libc6 \(>= 2\.28\)/);
    const files = contents(deb('amd64'));
    expect(files.get('/etc/edgeloom/config.yaml')).toEqual(['-rw-r-----', 'root/root']);
    expect(files.get('/usr/bin/edgeloom')).toEqual(['-rwxr-xr-x', 'root/root']);
    expect(files.get('/usr/lib/edgeloom/node/bin/node')).toEqual(['-rwxr-xr-x', 'root/root']);
    expect(files.get('/usr/lib/systemd/system/edgeloom.service')).toEqual(['-rw-r--r--', 'root/root']);
    expect(files.has('/usr/lib/edgeloom/models/manifest.json')).toBe(true);
    const paths = [...files.keys()];
    expectNativesFor('x64', paths);
    // Production dependencies only.
    expect(paths.some((p) => p.startsWith('/usr/lib/edgeloom/node_modules/vitest/'))).toBe(false);
  });

  it('installs with dpkg, and calls no systemctl when installing into another root', () => {
    // A host where systemd runs (/run/systemd/system) with a recording systemctl: installing into
    // another root must leave the host's systemd alone.
    const calls = recorder();
    const r = withSystemd(calls, ['dpkg', ...dpkgRootArgs(root), '-i', deb('amd64')]);
    expect(r.status, r.stderr).toBe(0);
    expect(calls.read()).toEqual([]);
    expect(dpkg(root, ['-s', 'edgeloom']).stdout).toContain('Status: install ok installed');
    const conffiles = spawnSync(
      'dpkg-query',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f=${Conffiles}', 'edgeloom'],
      { encoding: 'utf8' },
    );
    expect(conffiles.stdout).toMatch(/^ \/etc\/edgeloom\/config\.yaml [0-9a-f]{32}$/m);
    const config = statSync(join(root, 'etc/edgeloom/config.yaml'));
    expect(config.mode & 0o777).toBe(0o640);
    expect(config).toMatchObject({ uid: 0, gid: 0 });
  });

  it('runs `edgeloom --version` on its bundled Node', () => {
    const r = inRoot(root, ['/usr/bin/edgeloom', '--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('ships the Raspberry Pi example config with the models pointing at its own read-only copy', () => {
    const packaged = loadConfig({ file: join(root, 'etc/edgeloom/config.yaml'), env: {} });
    const example = loadConfig({ file: join(REPO_ROOT, 'config/raspberry-pi.example.yaml'), env: {} });
    expect(packaged.models).toMatchObject({
      dir: '/usr/lib/edgeloom/models',
      manifest: '/usr/lib/edgeloom/models/manifest.json',
    });
    expect({ ...packaged, models: undefined }).toEqual({ ...example, models: undefined });
  });

  it('brings, on a default install, every program the packaged config runs', () => {
    // apt installs Recommends by default: a program the shipped config starts must come with
    // Depends or Recommends, or a fresh install fails on first use (with espeak-ng only
    // suggested, the first spoken answer failed and health read degraded).
    // The example is the packaged config but for the models' paths (the test above).
    const example = loadConfig({ file: join(REPO_ROOT, 'config/raspberry-pi.example.yaml'), env: {} });
    const programs = needsOf(example).programs;
    expect([...programs].sort()).toEqual(['aplay', 'arecord', 'espeak-ng', 'ffmpeg']);
    const fields = control(deb('amd64'));
    const installed = [fields.Depends, fields.Recommends].flatMap((f) =>
      (f ?? '').split(',').map((d) => d.trim().split(' ')[0]),
    );
    for (const program of programs) expect(installed, program).toContain(debianPackageOf(program));
  });

  it('passes `edgeloom doctor` on everything but this machine’s missing hardware and broker', () => {
    const r = inRoot(root, [
      '/usr/bin/edgeloom',
      'doctor',
      '--config',
      '/etc/edgeloom/config.yaml',
      '--json',
    ]);
    const { results } = JSON.parse(r.stdout) as { results: CheckResult[] };
    const by = (check: string): CheckResult | undefined => results.find((x) => x.check === check);
    expect(by('node')).toMatchObject({ level: 'ok', detail: `v${runtime.bundled}` });
    for (const id of ['silero-vad-v5', 'faceapi-tiny-face-detector', 'faceapi-expression']) {
      expect(by(`model ${id}`), id).toMatchObject({
        level: 'ok',
        detail: expect.stringContaining('sha256 verified'),
      });
    }
    // Speech-to-text is off until whisper-tiny is fetched, so no missing model fails the first run.
    expect(results.filter((x) => x.check.startsWith('model ') && x.level !== 'ok')).toEqual([]);
    // What fails is what this machine lacks: devices, the programs the packaged config runs
    // (the package recommends them; this root has only what the host has), and the LAN broker
    // (there is no network in here).
    const hardware = /^(camera|microphone|serial|program (ffmpeg|arecord|aplay|espeak-ng)|broker)$/;
    expect(results.filter((x) => x.level === 'fail' && !hardware.test(x.check))).toEqual([]);
    expect(r.code).toBe(1);
  });

  it.each(['imu', 'speech', 'faces'])(
    'replays fixtures/%s through its Node and native addons exactly as this checkout does',
    async (fixture) => {
      const packaged = inRoot(root, [
        '/usr/bin/edgeloom',
        'replay',
        `/usr/lib/edgeloom/fixtures/${fixture}`,
        '--speed',
        '0',
        '--emit',
        'jsonl',
      ]);
      expect(packaged.code, packaged.stderr.slice(-2000)).toBe(0);
      const here = await runCli(['replay', `fixtures/${fixture}`, '--speed', '0', '--emit', 'jsonl']);
      expect(here.code).toBe(0);
      expect(packaged.stdout.split('\n').length).toBeGreaterThan(3);
      expect(packaged.stdout).toBe(here.stdout);
    },
  );

  it('has a unit `systemd-analyze verify` accepts where it is installed', () => {
    const verify = (unitPath: string, binds: Record<string, string> = {}): string => {
      const r = inRoot(root, ['/run/host/systemd-analyze', 'verify', '--man=no', 'edgeloom.service'], {
        // The package's unit in its place, the host's targets (multi-user.target, ...) after it.
        env: { SYSTEMD_UNIT_PATH: `${unitPath}:/run/host/units` },
        binds: {
          '/usr/bin/systemd-analyze': '/run/host/systemd-analyze',
          '/usr/lib/systemd/system': '/run/host/units',
          ...binds,
        },
      });
      return `${r.stdout}${r.stderr}`.trim();
    };
    expect(verify('/usr/lib/systemd/system')).toBe('');
    // Control: verify does check ExecStart against the installed tree.
    const moved = join(dir, 'moved');
    mkdirSync(moved);
    writeFileSync(
      join(moved, 'edgeloom.service'),
      readFileSync(join(root, 'usr/lib/systemd/system/edgeloom.service'), 'utf8').replace(
        'ExecStart=/usr/bin/edgeloom',
        'ExecStart=/usr/bin/edgeloom-elsewhere',
      ),
    );
    expect(verify('/run/moved', { [moved]: '/run/moved' })).toMatch(/edgeloom-elsewhere is not executable/);
  });

  it('removes its files but keeps the config, and a purge takes the config and the enablement link', () => {
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
    mkdirSync(wants, { recursive: true });
    symlinkSync('/usr/lib/systemd/system/edgeloom.service', join(wants, 'edgeloom.service'));
    const calls = recorder();
    const removed = withSystemd(calls, ['dpkg', ...dpkgRootArgs(root), '--remove', 'edgeloom']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(existsSync(join(root, 'usr/lib/edgeloom'))).toBe(false);
    expect(existsSync(join(root, 'usr/bin/edgeloom'))).toBe(false);
    expect(existsSync(join(root, 'etc/edgeloom/config.yaml'))).toBe(true);
    const purged = withSystemd(calls, ['dpkg', ...dpkgRootArgs(root), '--purge', 'edgeloom']);
    expect(purged.status, purged.stderr).toBe(0);
    expect(existsSync(join(root, 'etc/edgeloom/config.yaml'))).toBe(false);
    expect(existsSync(join(wants, 'edgeloom.service'))).toBe(false);
    expect(calls.read()).toEqual([]);
  });

  describe('maintainer scripts on a running system', () => {
    const scripts = join(dir, 'control');
    const run = (calls: Recorder, script: string, args: string[], enabled = false): string[] => {
      if (!existsSync(scripts)) expect(spawnSync('dpkg-deb', ['-e', deb('amd64'), scripts]).status).toBe(0);
      const r = withSystemd(calls, ['sh', join(scripts, script), ...args], {
        SHIM_ENABLED: enabled ? '0' : '1',
      });
      expect(r.status, r.stderr).toBe(0);
      return calls.read();
    };

    it('postinst reloads systemd and enables nothing on a fresh install', () => {
      expect(run(recorder(), 'postinst', ['configure'])).toEqual(['--system daemon-reload']);
    });

    it('postinst starts an enabled service again after an upgrade, and only an enabled one', () => {
      expect(run(recorder(), 'postinst', ['configure', '0.0.9'], true)).toEqual([
        '--system daemon-reload',
        '--quiet is-enabled edgeloom.service',
        'start edgeloom.service',
      ]);
      expect(run(recorder(), 'postinst', ['configure', '0.0.9'], false)).toEqual([
        '--system daemon-reload',
        '--quiet is-enabled edgeloom.service',
      ]);
    });

    it('prerm stops the service before a removal and before an upgrade', () => {
      expect(run(recorder(), 'prerm', ['remove'])).toEqual(['stop edgeloom.service']);
      expect(run(recorder(), 'prerm', ['upgrade', '0.2.0'])).toEqual(['stop edgeloom.service']);
    });
  });
});

/**
 * The package's native binaries are exactly one build of each addon, for linux/<cpu> with glibc:
 * onnxruntime-node's binding and runtime, sharp and its libvips, serialport, classic-level.
 */
function expectNativesFor(cpu: 'x64' | 'arm64', paths: readonly string[]): void {
  const natives = paths.filter((p) => /\.(node|so(\.\d+)*|dll|dylib)$/.test(p));
  const mine = new RegExp(`linux[-/]${cpu}[-/]`);
  expect(natives.filter((p) => !mine.test(p) || p.includes('.musl.'))).toEqual([]);
  for (const wanted of [
    /onnxruntime-node\/.*\/onnxruntime_binding\.node$/,
    /onnxruntime-node\/.*\/libonnxruntime\.so\.1$/,
    /@img\/sharp-linux-[^/]+\/lib\/sharp-.*\.node$/,
    /@img\/sharp-libvips-linux-[^/]+\/lib\/libvips-cpp\.so/,
    /@serialport\/bindings-cpp\/prebuilds\/.*\.glibc\.node$/,
    /classic-level\/prebuilds\/.*\.node$/,
  ]) {
    expect(
      natives.filter((p) => wanted.test(p)),
      String(wanted),
    ).toHaveLength(1);
  }
  expect(natives).toHaveLength(6);
  expect(paths.filter((p) => p.includes('/node_modules/@types/'))).toEqual([]);
}

interface Recorder {
  readonly dir: string;
  read(): string[];
}

let recorders = 0;
/** A directory with a `systemctl` that appends its arguments to a log (is-enabled: $SHIM_ENABLED). */
function recorder(): Recorder {
  const d = join(dir, `systemctl-${++recorders}`);
  mkdirSync(d);
  writeFileSync(
    join(d, 'systemctl'),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
    '#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\ncase "$*" in *is-enabled*) exit "${SHIM_ENABLED:-1}" ;; esac\nexit 0\n',
  );
  chmodSync(join(d, 'systemctl'), 0o755);
  return {
    dir: d,
    read: () =>
      existsSync(join(d, 'calls'))
        ? readFileSync(join(d, 'calls'), 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [],
  };
}

/** Run `argv` on this host as it is, but with /run/systemd/system present and `calls`'s systemctl first on PATH. */
function withSystemd(calls: Recorder, argv: string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    'bwrap',
    [
      '--bind',
      '/',
      '/',
      '--dev-bind',
      '/dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/run',
      '--dir',
      '/run/systemd/system',
      '--unshare-net',
      '--die-with-parent',
      ...argv,
    ],
    { encoding: 'utf8', env: { ...process.env, ...env, PATH: `${calls.dir}:${process.env.PATH}` } },
  );
  if (r.error) throw r.error;
  return r;
}
