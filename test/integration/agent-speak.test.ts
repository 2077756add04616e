import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandExists, speakTool, type TtsInput } from '../../daemon/agents/builtin-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { toolsAvailable } from '../helpers/tools.js';

describe.runIf(toolsAvailable('espeak-ng'))('speak tool with a real espeak-ng', () => {
  function registry(command: string[], timeoutMs = 10_000, input: TtsInput = 'stdin') {
    const clock = new SystemClock();
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
        // Shell metacharacters in the text would create a file if a shell ran it.
        const spoken = await registry(['espeak-ng', '-w', wav], 10_000, input).execute('speak', {
          text: 'hello; touch pwned',
        });
        expect(spoken).toMatchObject({ ok: true });
        expect((await stat(wav)).size).toBeGreaterThan(1000);
        await expect(stat(join(dir, 'pwned'))).rejects.toThrow();
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
    // `sleep` stands in for a TTS that hangs (it never reads the text on its stdin).
    const r = await registry(['sleep', '5'], 100).execute('speak', { text: 'hello' });
    expect(r.error?.code).toBe('E_TOOL_TIMEOUT');
    expect(r.durationMs).toBeLessThan(2000);
  });
});
