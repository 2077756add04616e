import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { REPO_ROOT } from '../helpers/tools.js';

/**
 * The compiled CLI's surface: help, version, exit codes (0 ok, 1 failure, 2 usage) and usage
 * errors as one line on stderr naming the command, never a stack trace.
 */

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const COMMANDS = ['run', 'replay', 'record', 'fixture', 'models'];

/** A usage error: exit 2, one `edgeloom: ...` line (plus nothing else), no stack, nothing on stdout. */
function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^edgeloom: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).toContain('[E_USAGE]');
}

/** Run the cases at once (each CLI start loads the whole daemon: about a second here). */
async function expectUsageErrors(cases: readonly (readonly [string[], RegExp])[]): Promise<void> {
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  for (const [i, r] of results.entries()) expectUsageError(r, cases[i]![1]);
}

describe('edgeloom CLI', () => {
  it('--help lists every command with its summary and exits 0', async () => {
    const flags = ['--help', 'help'];
    const results = await Promise.all(flags.map((f) => runCli([f])));
    for (const [i, r] of results.entries()) {
      expect(r.code, flags[i]).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^edgeloom \S+ — /);
      expect(r.stdout).toContain('Usage: edgeloom <command>');
      for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^ {2}${c}\\s+\\S`, 'm'));
    }
  });

  it('no arguments is a usage error: the help on stderr, nothing on stdout, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Commands:');
  });

  it("help <command> prints that command's usage, as <command> --help does", async () => {
    const [help, flag, unknown] = await Promise.all([
      runCli(['help', 'doctor']),
      runCli(['doctor', '--help']),
      runCli(['help', 'frobnicate']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: edgeloom doctor/);
    expect(help.stdout).toBe(flag.stdout);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^edgeloom: no command "frobnicate" to help with/);
  });

  it('fixture make --json prints one JSON object describing the fixture', async () => {
    const out = mkdtempSync(join(tmpdir(), 'edgeloom-cli-fixture-'));
    try {
      const r = await runCli(['fixture', 'make', '--out', out, '--imu', 'fixtures/demo/imu.jsonl', '--json']);
      expect(r.code).toBe(0);
      const lines = readFileSync(join(REPO_ROOT, 'fixtures/demo/imu.jsonl'), 'utf8').trim().split('\n');
      expect(JSON.parse(r.stdout)).toEqual({ out, frames: 0, audio_samples: 0, imu_samples: lines.length });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("--version prints package.json's version", async () => {
    for (const r of await Promise.all([runCli(['--version'])])) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('an unknown command exits 2 naming it, with the help on stderr', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^edgeloom: unknown command "frobnicate"/);
    expect(r.stderr).toContain('Commands:');
  });

  it('replay --help shows its usage and options and exits 0', async () => {
    const r = await runCli(['replay', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: edgeloom replay DIR/);
    for (const opt of ['--speed', '--loop', '--emit jsonl', '--emit-bus', '--config'])
      expect(r.stdout).toContain(opt);
  });

  it('replay usage errors exit 2 with one line', async () => {
    await expectUsageErrors([
      [['replay'], /replay: give exactly one fixture directory/],
      [['replay', 'fixtures/demo', '--speed', 'fast'], /--speed must be a number/],
      // node:util's parseArgs message for this one spans three lines: still one line on stderr.
      [['replay', 'fixtures/demo', '--speed', '-1'], /'--speed' argument is ambiguous/],
      [['replay', 'fixtures/demo', '--emit', 'xml'], /--emit supports only "jsonl"/],
    ]);
  });

  it('fixture make without inputs (or without --out) is a usage error', async () => {
    await expectUsageErrors([
      [
        ['fixture', 'make', '--out', '/tmp/edgeloom-never-written'],
        /give at least one of --audio, --images, --video, --imu/,
      ],
      [['fixture', 'bake'], /unknown sub-command "bake"/],
    ]);
  });

  it('record usage errors exit 2', async () => {
    await expectUsageErrors([[['record'], /record: --out DIR is required/]]);
  });

  it('a fixture that does not exist is a run-time failure (exit 1), not a usage error', async () => {
    const r = await runCli(['replay', 'fixtures/does-not-exist', '--emit', 'jsonl']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^edgeloom: .*fixtures\/does-not-exist\/fixture\.json.*\[E_FIXTURE_MISSING\]$/m);
  });
});
