import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandExists, speakTool } from '../../daemon/agents/builtin-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs } from '../helpers/tools.js';

describe.runIf(needs({ tools: ['espeak-ng'] }))('speak tool with a real espeak-ng', () => {
  function registry(command: string[], timeoutMs = 10_000) {
    const clock = new SystemClock();
    const logger = silentLogger();
    const r = new ToolRegistry({
      bus: new Bus({ clock, logger }),
      clock,
      logger,
      defaultTimeoutMs: timeoutMs,
    });
    r.register(speakTool(command, commandExists(command[0]!)));
    return r;
  }

  it('runs the program with the text as one argv entry (no shell) and succeeds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
    try {
      const wav = join(dir, 'out.wav');
      // Shell metacharacters in the text would create a file if a shell ran it.
      const r = await registry(['espeak-ng', '-w', wav]).execute('speak', { text: 'hello; touch pwned' });
      expect(r).toMatchObject({ ok: true });
      expect((await stat(wav)).size).toBeGreaterThan(1000);
      await expect(stat(join(dir, 'pwned'))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('kills the program on timeout', async () => {
    // `sleep` stands in for a TTS that hangs; the text becomes its (valid) duration argument.
    const r = await registry(['sleep'], 100).execute('speak', { text: '5' });
    expect(r.error?.code).toBe('E_TOOL_TIMEOUT');
    expect(r.durationMs).toBeLessThan(2000);
  });
});
