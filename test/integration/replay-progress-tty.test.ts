/**
 * The replay progress line under a real pseudo-terminal (util-linux `script` gives the CLI a pty
 * as stdin, stdout and stderr) and its absence when stderr is a pipe, for `replay` and for `run`
 * in replay mode (the embedded default config).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLines, runCli, spawnCli } from '../helpers/cli-process.js';
import { CLI, needs, REPO_ROOT } from '../helpers/tools.js';

/** A redraw of the progress line: `replay demo [###---] 42% 8.4/20.0 s · 123 records`. */
const PROGRESS = /replay demo \[[#-]+\] \d+% \d+\.\d\/20\.0 s · (pass \d+ · )?\d+ records/;
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Environment for a child: none of the test's own EDGELOOM_* settings. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGELOOM_')) out[k] = v;
  return { ...out, NO_COLOR: '1', ...extra };
}

/**
 * Run `sh -c CMD` under a pty; resolves with everything the terminal showed. `onOutput` sees the
 * text so far and may stop the command (it prints its pid first: `PID n`).
 */
function underPty(
  command: string,
  extraEnv: Record<string, string>,
  onOutput?: (text: string, pid: number | undefined) => void,
): Promise<{ code: number | null; text: string }> {
  const inner = `echo PID $$; exec ${command}`;
  const child = spawn('script', ['-qfec', `sh -c ${quote(inner)}`, '/dev/null'], {
    cwd: REPO_ROOT,
    env: env(extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    text += s;
    const pid = /PID (\d+)/.exec(text)?.[1];
    onOutput?.(text, pid === undefined ? undefined : Number(pid));
  });
  child.stderr.resume();
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    }),
  );
}

describe.runIf(needs({ tools: ['script'] }))('replay progress on a terminal', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('`replay` redraws one line on the pty, ending complete, with logs still readable', async () => {
    const { code, text } = await underPty(
      `${quote(process.execPath)} ${quote(CLI)} replay fixtures/demo --speed 0`,
      {},
    );
    expect(code).toBe(0);
    const redraws = text.split('\r').filter((f) => PROGRESS.test(f));
    expect(redraws.length).toBeGreaterThan(0);
    // The last redraw is the finished single pass.
    expect(redraws.at(-1)).toMatch(/ 100% 20\.0\/20\.0 s · \d+ records/);
    const records = Number(/ (\d+) records/.exec(redraws.at(-1)!)![1]);
    expect(records).toBeGreaterThan(100);
    // On a terminal the logs are readable lines (log.format auto), each whole: the progress line
    // parks the cursor instead of gluing onto them.
    expect(text.replace(/\r/g, '\n')).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}source\.replay: replay finished published=\d+ passes=1$/m,
    );
    expect(parseLogLines(text.replace(/\r/g, '\n'))).toEqual([]);
  });

  it('log.format json keeps JSON lines on the pty', async () => {
    const { code, text } = await underPty(
      `${quote(process.execPath)} ${quote(CLI)} replay fixtures/demo --speed 0`,
      { EDGELOOM_LOG_FORMAT: 'json' },
    );
    expect(code).toBe(0);
    const logs = parseLogLines(text.replace(/\r/g, '\n'));
    expect(logs.map((l) => l.msg)).toContain('replay finished');
  });

  it('`replay` with stderr in a pipe writes no progress at all', async () => {
    const r = await runCli(['replay', 'fixtures/demo', '--speed', '0'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('replay demo [');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain('\x1b[K');
    expect(parseLogLines(r.stderr).map((l) => l.msg)).toContain('replay finished');
  });

  it('`run` on the default config (a looping replay) shows progress on the pty, none in a pipe', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'edgeloom-progress-'));
    dirs.push(storage);
    const overrides = {
      EDGELOOM_HTTP_PORT: '0',
      EDGELOOM_MQTT_EMBEDDED_PORT: '0',
      EDGELOOM_STORAGE_DIR: storage,
      EDGELOOM_SOURCE_REPLAY_SPEED: '4',
    };
    let stopped = false;
    const { code, text } = await underPty(
      `${quote(process.execPath)} ${quote(CLI)} run`,
      overrides,
      (t, pid) => {
        // Two redraws seen: stop the daemon the way systemd would.
        if (!stopped && pid !== undefined && t.split('\r').filter((f) => PROGRESS.test(f)).length >= 2) {
          stopped = true;
          process.kill(pid, 'SIGTERM');
        }
      },
    );
    expect(stopped).toBe(true);
    expect(code).toBe(0);
    expect(text).toMatch(/replay demo \[[#-]+\] \d+% [\d.]+\/20\.0 s · pass 1 · \d+ records/);

    // The same run with its output in pipes (a service, `npm start > log`): logs only. One whole
    // pass (20 s of fixture at 8x: ten times the 250 ms redraw period) is waited for, not a time.
    const piped = spawnCli(['run'], {
      env: { ...overrides, EDGELOOM_SOURCE_REPLAY_SPEED: '8', EDGELOOM_SOURCE_REPLAY_LOOP: 'false' },
      timeoutMs: 60_000,
    });
    await piped.waitForLog('replay finished', 'stdout', 45_000);
    piped.process.kill('SIGTERM');
    const r = await piped.exited;
    expect(r.code).toBe(0);
    expect(r.stderr + r.stdout).not.toContain('replay demo [');
    expect(r.stderr).not.toContain('\x1b[K');
  });
});
