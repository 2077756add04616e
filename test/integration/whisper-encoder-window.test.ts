import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { buildDaemon } from '../../daemon/daemon.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { WhisperModel } from '../../daemon/pipeline/stt/whisper/whisper.js';
import {
  TINY_EXPECTED_TEXT,
  TINY_SPEC,
  writeSyntheticWhisper,
} from '../../scripts/make-whisper-synthetic.js';
import { REPO_ROOT } from '../helpers/tools.js';

/**
 * `pipeline.stt.encoder_window_s` through real ONNX Runtime sessions on generated models: the
 * committed tiny model (a fixed 3000-frame input, as the manifest records for whisper-tiny), and
 * the same weights generated with the position table sliced to the input (`sliced`, what a
 * shorter window needs) or with a dynamic axis declared over the whole table (`symbolic`, what
 * optimum declares over transformers' encoder). `encoderFrames` is the time dimension of the
 * `input_features` tensor the encoder ran on; its output is checked to have half as many rows.
 */

const COMMITTED = join(REPO_ROOT, 'models', 'whisper-synthetic-tiny');

/** A 220 Hz tone, int16 at 16 kHz. */
function tone(seconds: number): Int16Array {
  return new Int16Array(Math.round(seconds * 16000)).map((_, i) =>
    Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / 16000)),
  );
}

describe('the Whisper encoder window', () => {
  let dir: string;
  const models: WhisperModel[] = [];
  const load = async (path: string, encoderWindowS?: number): Promise<WhisperModel> => {
    const m = await WhisperModel.load(path, {
      modelId: 'whisper-synthetic-tiny',
      ...(encoderWindowS === undefined ? {} : { encoderWindowS }),
    });
    models.push(m);
    return m;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'whisper-window-'));
    await writeSyntheticWhisper(join(dir, 'sliced'), { ...TINY_SPEC, encoderTime: 'sliced' });
    await writeSyntheticWhisper(join(dir, 'symbolic'), { ...TINY_SPEC, encoderTime: 'symbolic' });
  });
  afterAll(async () => {
    await Promise.all(models.map((m) => m.release()));
    await rm(dir, { recursive: true, force: true });
  });

  it('a 4 s window runs the encoder on 400 frames for a 1.5 s command and still decodes it', async () => {
    const model = await load(join(dir, 'sliced'), 4);
    const r = await model.transcribe(tone(1.5));
    expect(r.encoderFrames).toBe(400);
    expect(r.text).toBe(TINY_EXPECTED_TEXT);
    expect(r.durationMs).toBe(1500);
  });

  it('grows in whole seconds to cover a longer utterance, up to the 30 s window', async () => {
    const model = await load(join(dir, 'sliced'), 4);
    expect((await model.transcribe(tone(4))).encoderFrames).toBe(400);
    expect((await model.transcribe(tone(6.3))).encoderFrames).toBe(700);
    expect((await model.transcribe(tone(40))).encoderFrames).toBe(3000);
  });

  it('the default is unchanged: 3000 frames, and the sliced model decodes what the fixed one does', async () => {
    const fixed = await (await load(COMMITTED)).transcribe(tone(2), {
      ignoreEndOfText: true,
      maxNewTokens: 8,
    });
    const sliced = await (await load(join(dir, 'sliced'))).transcribe(tone(2), {
      ignoreEndOfText: true,
      maxNewTokens: 8,
    });
    expect(fixed.encoderFrames).toBe(3000);
    expect(sliced.encoderFrames).toBe(3000);
    expect(sliced.tokens).toEqual(fixed.tokens);
    expect(sliced.avgLogProb).toBeCloseTo(fixed.avgLogProb, 6);
    expect(sliced.noSpeechProb).toBeCloseTo(fixed.noSpeechProb, 6);
  });

  it('a fixed 3000-frame encoder refuses a shorter window at load, naming the key and its input', async () => {
    const err = await load(COMMITTED, 4).catch((e: unknown) => e);
    expect(isEdgeloomError(err, 'E_WHISPER_WINDOW')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('pipeline.stt.encoder_window_s is 4');
    expect(message).toContain('input_features [batch_size, 80, 3000]');
    expect(message).toContain('encoder_model.onnx');
  });

  it('an encoder declaring a dynamic axis over the whole position table is found out at load', async () => {
    const err = await load(join(dir, 'symbolic'), 4).catch((e: unknown) => e);
    expect(isEdgeloomError(err, 'E_WHISPER_WINDOW')).toBe(true);
    expect((err as Error).message).toContain('fails on 400 frames');
    // The same model runs Whisper's own window.
    const r = await (await load(join(dir, 'symbolic'))).transcribe(tone(1));
    expect(r.encoderFrames).toBe(3000);
    expect(r.text).toBe(TINY_EXPECTED_TEXT);
  });

  it('a window outside 1..30 whole seconds is E_CONFIG naming the key', async () => {
    for (const bad of [0, 2.5, 31]) {
      const err = await load(join(dir, 'sliced'), bad).catch((e: unknown) => e);
      expect(isEdgeloomError(err, 'E_CONFIG'), String(bad)).toBe(true);
      expect((err as Error).message).toContain('pipeline.stt.encoder_window_s');
    }
  });
});

describe('pipeline.stt.encoder_window_s in the daemon', () => {
  const config = (overrides: Record<string, unknown>) =>
    loadConfig({
      file: join(REPO_ROOT, 'config', 'default.yaml'),
      env: {},
      hostname: 'window-test',
      overrides: { storage: { dir: mkdtempSync(join(tmpdir(), 'edgeloom-win-')) }, ...overrides },
    });

  it('defaults to 30 s', () => {
    expect(config({}).pipeline.stt.encoder_window_s).toBe(30);
  });

  it('below 30 with the bundled fixed-input model, start-up fails with E_WHISPER_WINDOW', async () => {
    const daemon = await buildDaemon({
      config: config({ pipeline: { stt: { encoder_window_s: 5 } } }),
      logger: silentLogger(),
      baseDir: REPO_ROOT,
      replay: { fixtureDir: join(REPO_ROOT, 'fixtures', 'speech'), speed: 0, loop: false },
      ephemeralStorage: true,
    });
    const err = await daemon.start().catch((e: unknown) => e);
    await daemon.stop();
    const text = String((err as Error)?.message ?? err) + JSON.stringify(err);
    expect(text).toContain('E_WHISPER_WINDOW');
    expect(text).toContain('pipeline.stt.encoder_window_s is 5');
  });
});
