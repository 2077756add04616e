/**
 * The `speak` tool through the TTS actuator, with a real espeak-ng: the tool queues `action/say`
 * (source `tool.speak`), the actuator runs the program — never through a shell, the text never
 * where the program reads options — and frames the run with `action/speaking`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TtsActuator } from '../../daemon/actions/tts.js';
import { commandExists, speakTool, type TtsInput } from '../../daemon/agents/builtin-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { SpeakingEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

describe.runIf(needs({ tools: ['espeak-ng'] }))('speak tool with a real espeak-ng', () => {
  async function rig(command: string[], input: TtsInput = 'stdin') {
    const clock = new SystemClock();
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const speaking: { source: string; event: SpeakingEvent }[] = [];
    bus.subscribe(
      'action/speaking',
      (env) => void speaking.push({ source: env.source, event: env.payload }),
      {
        component: 'test',
      },
    );
    const tts = new TtsActuator({
      bus,
      logger,
      command: { command, input, player: [], outputDevice: 'default' },
      queueSize: 4,
      maxUtteranceMs: 10_000,
    });
    await tts.start();
    const registry = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 10_000 });
    registry.register(speakTool(bus, commandExists(command[0]!), command[0]!));
    /** Speak and wait until the actuator has played it: the speaking end of its utterance. */
    const speak = async (text: string) => {
      const r = await registry.execute('speak', { text });
      expect(r).toMatchObject({ ok: true, result: { queued: true } });
      const id = (r.result as { utteranceId: string }).utteranceId;
      return until(`the end of ${id}`, () =>
        speaking.find((s) => s.event.state === 'end' && s.event.utteranceId === id),
      );
    };
    return { speak, speaking, tts };
  }

  it.each(['stdin', 'argument'] as const)(
    'speaks the text (%s), never through a shell and never as an option',
    async (input) => {
      const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
      const r = await rig(['espeak-ng', '-w', join(dir, '{utterance}.wav')], input);
      try {
        // Shell metacharacters in the text would create a file if a shell ran it (the path is
        // absolute, so the file would land in `dir` whatever the child's working directory is).
        const pwned = join(dir, 'pwned');
        const end = await r.speak(`hello; touch ${pwned}`);
        expect(end.event).toMatchObject({ ok: true, text: `hello; touch ${pwned}` });
        expect((await stat(join(dir, `${end.event.utteranceId}.wav`))).size).toBeGreaterThan(1000);
        await expect(stat(pwned)).rejects.toThrow(/ENOENT/);
        // An espeak-ng option as the text: spoken (or refused), never obeyed.
        const phonout = join(dir, 'phonemes.txt');
        const second = await r.speak(`--phonout=${phonout}`);
        expect(second.event.ok).toBe(true);
        await expect(stat(phonout)).rejects.toThrow();
      } finally {
        await r.tts.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('frames the program run with action/speaking start and end from the actuator (ok false on failure)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloom-speak-'));
    const ok = await rig(['espeak-ng', '-w', join(dir, '{utterance}.wav')]);
    const failing = await rig(['sh', '-c', 'exit 3']);
    try {
      const end = await ok.speak('the kitchen light is on');
      expect(ok.speaking.map((s) => [s.source, s.event.state, s.event.ok, s.event.text])).toEqual([
        ['actions.tts', 'start', undefined, 'the kitchen light is on'],
        ['actions.tts', 'end', true, 'the kitchen light is on'],
      ]);
      expect(end.event.utteranceId).toMatch(/^speak-/);
      // A program that fails still ends the "speaking" state.
      await failing.speak('hello');
      expect(failing.speaking.map((s) => [s.event.state, s.event.ok])).toEqual([
        ['start', undefined],
        ['end', false],
      ]);
      expect(failing.tts.stats()).toMatchObject({ failed: 1, spoken: 0 });
    } finally {
      await ok.tts.stop();
      await failing.tts.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
