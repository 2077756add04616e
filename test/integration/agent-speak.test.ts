import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandExists, speakTool, type TtsInput } from '../../daemon/agents/builtin-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { type Clock, SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

describe.runIf(needs({ tools: ['espeak-ng'] }))('speak tool with a real espeak-ng', () => {
  function registry(
    command: string[],
    timeoutMs = 10_000,
    input: TtsInput = 'stdin',
    clock: Clock = new SystemClock(),
  ) {
    const logger = silentLogger();
    const r = new ToolRegistry({
      bus: new Bus({ clock, logger }),
      clock,
      logger,
      defaultTimeoutMs: timeoutMs,
    });
    r.register(speakTool(command, commandExists(command[0]!), input));
    return r;
  }

  it.each(['stdin', 'argument'] as const)(
    'speaks the text (%s), never through a shell and never as an option',
    async (input) => {
      const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
      try {
        const wav = join(dir, 'out.wav');
        // Shell metacharacters in the text would create a file if a shell ran it (the path is
        // absolute, so the file would land in `dir` whatever the child's working directory is).
        const pwned = join(dir, 'pwned');
        const spoken = await registry(['espeak-ng', '-w', wav], 10_000, input).execute('speak', {
          text: `hello; touch ${pwned}`,
        });
        expect(spoken).toMatchObject({ ok: true });
        expect((await stat(wav)).size).toBeGreaterThan(1000);
        await expect(stat(pwned)).rejects.toThrow(/ENOENT/);
        // An espeak-ng option as the text: spoken (or refused), never obeyed.
        const phonout = join(dir, 'phonemes.txt');
        const r = await registry(['espeak-ng', '-w', wav], 10_000, input).execute('speak', {
          text: `--phonout=${phonout}`,
        });
        expect(r).toMatchObject({ ok: true });
        await expect(stat(phonout)).rejects.toThrow();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('kills the program on timeout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
    let pid: number | undefined;
    try {
      // A TTS that hangs: it writes its pid, then sleeps far longer than the test. The text is $1
      // (after the `--` that keeps it from being read as an option).
      const pidFile = join(dir, 'tts.pid');
      const clock = new VirtualClock(0);
      const call = registry(
        ['sh', '-c', 'echo $$ > "$1.pid"; exec sleep 3600'],
        100,
        'argument',
        clock,
      ).execute('speak', {
        text: join(dir, 'tts'),
      });
      pid = await until(
        'the TTS to start',
        async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined,
      );
      expect(alive(pid)).toBe(true);
      // The timeout runs on the virtual clock: it fires when the test moves time past it.
      await clock.advanceTo(100);
      const r = await call;
      expect(r.error?.code).toBe('E_TOOL_TIMEOUT');
      // The program itself was killed, not only abandoned by the race in ToolRegistry.execute.
      await until('the TTS process to exit', () => !alive(pid!));
    } finally {
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('frames the program run with action/speaking start and end on the bus (ok false on failure)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
    try {
      const clock = new SystemClock();
      const logger = silentLogger();
      const bus = new Bus({ clock, logger });
      const seen: { state: string; ok?: boolean; text: string; wavBytes: number }[] = [];
      const wav = join(dir, 'out.wav');
      bus.subscribe(
        'action/speaking',
        (env) => {
          const p = env.payload as { state: string; ok?: boolean; text: string };
          // The wav's size at each event: empty before the program ran, written by its end.
          let wavBytes = 0;
          try {
            wavBytes = readFileSync(wav).length;
          } catch {}
          seen.push({ ...p, wavBytes });
        },
        { component: 'test' },
      );
      const r = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 10_000 });
      r.register(speakTool(['espeak-ng', '-w', wav], true, 'stdin', bus));
      expect(await r.execute('speak', { text: 'the kitchen light is on' })).toMatchObject({ ok: true });
      await bus.drain(1000);
      expect(seen).toEqual([
        { state: 'start', text: 'the kitchen light is on', wavBytes: 0 },
        { state: 'end', ok: true, text: 'the kitchen light is on', wavBytes: expect.any(Number) },
      ]);
      expect(seen[1]!.wavBytes).toBeGreaterThan(1000);

      // A program that fails still ends the "speaking" state.
      seen.length = 0;
      const failing = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 10_000 });
      failing.register(speakTool(['sh', '-c', 'exit 3'], true, 'stdin', bus));
      expect(await failing.execute('speak', { text: 'hello' })).toMatchObject({ ok: false });
      await bus.drain(1000);
      expect(seen.map((e) => [e.state, e.ok])).toEqual([
        ['start', undefined],
        ['end', false],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** True while `pid` is a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^\S+ \(.*\) Z/.test(readProcStat(pid));
}

function readProcStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}
