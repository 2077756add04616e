/**
 * Log lines under systemd carry their journald priority. journald itself is not run here: the
 * compiled CLI's stdout is a file, and JOURNAL_STREAM names that file's device:inode the way
 * systemd names the journal socket (systemd.exec(5)); the `<N>` prefix is what journald strips
 * and files under priority N (SyslogLevelPrefix=, sd-daemon(3)).
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPrefixed } from '../../daemon/log.js';
import { DEMO, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/mqtt.js';
import { CLI, REPO_ROOT } from '../helpers/tools.js';

describe('journalPrefixed', () => {
  it('maps every pino level to its syslog priority and leaves other text alone', () => {
    const line = (level: string): string => `{"level":"${level}","msg":"x"}\n`;
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => journalPrefixed(line(l)))).toEqual(
      [7, 7, 6, 4, 3, 2].map(
        (p, i) => `<${p}>${line(['trace', 'debug', 'info', 'warn', 'error', 'fatal'][i]!)}`,
      ),
    );
    expect(journalPrefixed('not json\n')).toBe('not json\n');
  });
});

describe.runIf(mosquittoAvailable())('edgeloom run under journald', () => {
  let dir: string;
  let broker: Mosquitto;
  let config: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-journald-'));
    broker = await Mosquitto.start();
    config = writeDaemonConfig({ dir, brokerUrl: broker.url, fixture: DEMO, speed: 0 });
  });

  afterAll(async () => {
    await broker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the daemon with stdout to a file until it replays, stop it; its stdout lines. */
  async function runWithStdoutFile(
    name: string,
    journal: (dev: number, ino: number) => string,
  ): Promise<string[]> {
    const out = join(dir, name);
    const fd = openSync(out, 'w');
    const st = fstatSync(fd);
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', JOURNAL_STREAM: journal(st.dev, st.ino) };
    for (const k of Object.keys(env)) if (k.startsWith('EDGELOOM_')) delete env[k];
    const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--log-level', 'debug'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', fd, 'ignore'],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => readFileSync(out, 'utf8').includes('"replaying fixture"'),
        'replaying fixture',
        60_000,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  }

  it('prefixes each line with its priority when stdout is the journal stream', async () => {
    const lines = await runWithStdoutFile('journal.log', (dev, ino) => `${dev}:${ino}`);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      const m = /^<(\d)>(\{.*)$/.exec(l);
      expect(m, l).not.toBeNull();
      const level = (JSON.parse(m![2]!) as { level: string }).level;
      expect(journalPrefixed(m![2]!), l).toBe(l);
      expect(['debug', 'info', 'warn', 'error']).toContain(level);
    }
    expect(lines.some((l) => l.startsWith('<7>'))).toBe(true);
    expect(lines.some((l) => l.startsWith('<6>'))).toBe(true);
  });

  it('writes plain JSON lines when JOURNAL_STREAM names another stream', async () => {
    const lines = await runWithStdoutFile('plain.log', (dev, ino) => `${dev}:${ino + 1}`);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.startsWith('{"level":'), l).toBe(true);
  });
});
