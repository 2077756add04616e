/**
 * The TTS actuator inside the real daemon (edgeloom/testing's in-process startDaemon on the demo
 * recording): with a TTS program that is not installed, every utterance ends `ok: false` and is
 * counted, the `speak` tool says it is unavailable, and the daemon goes on — the recording plays to
 * its end and the next utterance is handled like the first. With espeak-ng, an utterance published
 * into the daemon is spoken and bridged to `voice/speaking`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledFixture, startDaemon } from '../../daemon/testing/index.js';
import { needs } from '../helpers/tools.js';

const QUIET = { face: { enabled: false }, vad: { enabled: false }, stt: { enabled: false } };

describe('TTS in the daemon', () => {
  it('a missing TTS program: utterances end ok false, speak is unavailable, the daemon goes on', async () => {
    const d = await startDaemon({
      fixture: bundledFixture('demo'),
      config: { pipeline: QUIET, agents: { voice: { tts: { command: ['edgeloom-no-such-tts'] } } } },
      events: ['action/speaking', 'tool/+/result'],
    });
    try {
      d.bus.publish('action/say', { text: 'hello', utteranceId: 'm1', source: 'skill' });
      const first = await d.waitFor('action/speaking', (e) => e.payload.state === 'end');
      expect(first.payload).toMatchObject({ utteranceId: 'm1', ok: false });
      await d.done;
      // After the recording, still running: the next utterance is handled like the first.
      d.bus.publish('action/say', { text: 'again', utteranceId: 'm2', source: 'skill' });
      const second = await d.waitFor(
        'action/speaking',
        (e) => e.payload.state === 'end' && e.payload.utteranceId === 'm2',
      );
      expect(second.payload.ok).toBe(false);
      // The speak tool says so instead of queueing into the void.
      await expect(
        d.bus.request('rpc/tool/call', {
          tool: 'speak',
          args: { text: 'hi' },
          origin: { channel: 'cli', authenticated: true },
        }),
      ).rejects.toMatchObject({ code: 'E_TOOL_UNAVAILABLE' });
      // The bridge tells MQTT how it went.
      await expect
        .poll(
          () => d.mqtt.filter((m) => m.topic.endsWith('/voice/speaking') && m.json?.state === 'end').length,
        )
        .toBe(2);
    } finally {
      await d.stop();
    }
  });

  it.runIf(needs({ tools: ['espeak-ng'] }))(
    'speaks an utterance published into the daemon, and bridges it',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'edgeloom-tts-daemon-'));
      const d = await startDaemon({
        config: {
          pipeline: QUIET,
          agents: { voice: { tts: { command: ['espeak-ng', '-w', join(dir, '{utterance}.wav')] } } },
        },
        fixture: bundledFixture('demo'),
        events: ['action/speaking'],
      });
      try {
        d.bus.publish('action/say', {
          text: 'The kitchen light is on.',
          utteranceId: 'k1',
          conversationId: 'c9',
          source: 'skill',
        });
        const end = await d.waitFor('action/speaking', (e) => e.payload.state === 'end');
        expect(end.payload).toMatchObject({ utteranceId: 'k1', conversationId: 'c9', ok: true });
        expect((await stat(join(dir, 'k1.wav'))).size).toBeGreaterThan(10_000);
        await expect
          .poll(
            () => d.mqtt.find((m) => m.topic.endsWith('/voice/speaking') && m.json?.state === 'end')?.json,
          )
          .toMatchObject({
            utterance_id: 'k1',
            conversation_id: 'c9',
            ok: true,
            text: 'The kitchen light is on.',
          });
      } finally {
        await d.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
