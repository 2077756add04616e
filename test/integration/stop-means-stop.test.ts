/**
 * Stop means stop: the compiled daemon (`edgeloom run`) gives up its start-up scans when asked to
 * stop, and when something does not stop, shutdown_timeout_ms still ends the process — non-zero,
 * with one line naming what did not stop.
 *
 * 1. A fixture whose camera.index.jsonl is a link to /dev/zero: the open-time scan of the index
 *    reads an endless stream of zero bytes without ever finding a line (it used to ignore SIGTERM
 *    and spin at 110 % CPU until SIGKILLed). SIGTERM while the replay source is starting → the scan
 *    stops, the log names the component the start-up was in, and the process exits 0 (a requested
 *    stop is not a failure) without the deadline having to force it.
 * 2. A store whose close never finishes (test/helpers/level-probe.ts, a preload loaded with
 *    NODE_OPTIONS: nothing in the daemon knows about it) stands for any component that does not
 *    stop: SIGTERM → the deadline passes → exit 1, the line names `storage (stopping)`.
 * No wall-clock bound is asserted: the daemon's own log says whether it stopped on its own or was
 * ended by the deadline, and the child's timeout (SIGKILL) fails a test that hangs.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type CliChild, parseLogLines, spawnCli } from '../helpers/cli-process.js';
import { REPO_ROOT } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-stop-'));
const PROBE = join(REPO_ROOT, 'dist/test/helpers/level-probe.js');
let child: CliChild | undefined;

afterEach(() => {
  child?.kill();
  child = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, fixture: string, shutdownTimeoutMs: number): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      device: { id: 'stop-test' },
      log: { level: 'debug' },
      source: { mode: 'replay', replay: { fixture, speed: 1, loop: false } },
      pipeline: { stt: { model: 'whisper-synthetic-tiny' } },
      cloud: { enabled: false },
      mqtt: { embedded: { port: 0 } },
      http: { enabled: false },
      storage: { dir: join(dir, `${name}-state`) },
      shutdown_timeout_ms: shutdownTimeoutMs,
    }),
  );
  return file;
}

/** Debug line `started` of one component (the controller logs one per component). */
function started(c: CliChild, component: string): boolean {
  return parseLogLines(c.stdout).some((l) => l.msg === 'started' && l.component === component);
}

describe('edgeloom run: stop means stop', () => {
  it('SIGTERM during the scan of a camera index that is /dev/zero: the scan stops and the daemon exits 0', async () => {
    const fixture = join(dir, 'zero-fixture');
    mkdirSync(fixture);
    const faces = join(REPO_ROOT, 'fixtures/faces');
    copyFileSync(join(faces, 'fixture.json'), join(fixture, 'fixture.json'));
    copyFileSync(join(faces, 'camera.mjpeg'), join(fixture, 'camera.mjpeg'));
    symlinkSync('/dev/zero', join(fixture, 'camera.index.jsonl'));
    const config = writeConfig('zero', fixture, 5_000);

    child = spawnCli(['run', '--config', config], { timeoutMs: 60_000 });
    // The replay source is the last component; the one before it (the broker gate) has started,
    // so the signal lands while the source scans the endless index.
    await child.waitFor('the broker gate started', (c) => started(c, 'actions.broker-gate'), 40_000);
    expect(started(child, 'source.replay')).toBe(false);
    child.process.kill('SIGTERM');
    const result = await child.exited;

    const lines = parseLogLines(result.stdout);
    expect(result.signal, 'killed by the test timeout: SIGTERM was ignored').toBeNull();
    expect(result.code).toBe(0);
    const aborted = lines.find((l) => l.msg === 'start-up aborted by shutdown');
    expect(aborted?.component).toBe('source.replay');
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    // It stopped on its own: the deadline did not have to end it.
    expect(lines.some((l) => l.msg.startsWith('shutdown deadline'))).toBe(false);
    expect(lines.some((l) => l.msg === 'edgeloom running')).toBe(false);
    expect(lines.filter((l) => l.level === 'fatal')).toEqual([]);
  });

  it('a component that never stops: shutdown_timeout_ms ends the process with exit 1, naming it', async () => {
    const config = writeConfig('hang', join(REPO_ROOT, 'fixtures/demo'), 1_000);
    child = spawnCli(['run', '--config', config], {
      timeoutMs: 60_000,
      env: { NODE_OPTIONS: `--import=${PROBE}`, LEVEL_PROBE_HANG_CLOSE: '1' },
    });
    await child.waitForLog('edgeloom running', 'stdout', 40_000);
    child.process.kill('SIGTERM');
    const result = await child.exited;

    expect(result.signal, 'killed by the test timeout: the deadline did not end it').toBeNull();
    expect(result.code).toBe(1);
    const lines = parseLogLines(result.stdout);
    const deadline = lines.find((l) => l.msg.startsWith('shutdown deadline of 1000 ms passed'));
    expect(deadline?.level).toBe('error');
    expect(deadline?.notStopped).toEqual(['storage (stopping)']);
    expect(deadline?.msg).toContain('not stopped: storage (stopping)');
    expect(lines.some((l) => l.msg === 'stopped')).toBe(false);
  });
});
