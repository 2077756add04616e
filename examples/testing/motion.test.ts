/**
 * Test your own edgeloom setup with `edgeloom/testing`: a recording goes through the real
 * pipeline, in-process, on the recording's own clock, and the test reads what came out — bus
 * events typed by their topic, and the MQTT messages the device would have sent. Replace
 * `bundledFixture('demo')` with a recording of your own (`edgeloom record --out DIR`) and the
 * config with yours (`configFile: '/etc/edgeloom/config.yaml'`).
 *
 * Run: `node --test examples/testing/*.test.ts` in a project that has edgeloom installed (Node ≥ 22.18 runs
 * TypeScript files as they are; in this repository, after `npm run build`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundledFixture, type ReplayOptions, replay } from 'edgeloom/testing';

test('the fall in the recording is reported once over MQTT, the same in every run', async () => {
  const options: ReplayOptions = {
    fixture: bundledFixture('demo'),
    // Only what this test is about: the IMU and the motion agent, no camera or speech models.
    config: { pipeline: { face: { enabled: false }, vad: { enabled: false }, stt: { enabled: false } } },
    events: ['agent/motion/motion'],
  };
  const run = await replay(options);
  // Typed by the pattern: each payload is a MotionEvent.
  const falls = run.on('agent/motion/motion').filter((e) => e.payload.kind === 'fall');
  assert.equal(falls.length, 1);
  assert.ok((falls[0]?.payload.details.impact_g ?? 0) > 2, 'a fall ends in an impact above 2 g');

  const reported = run.mqtt.filter((m) => m.topic.endsWith('/imu/motion') && m.json?.kind === 'fall');
  assert.equal(reported.length, 1);
  assert.equal(reported[0]?.tMs, falls[0]?.tMs);

  const again = await replay(options);
  assert.deepEqual(again.mqtt, run.mqtt);
});

test('"turn on the kitchen light" switches it on, and nothing else', async () => {
  const run = await replay({
    fixture: bundledFixture('demo'),
    // The reference transcriber reads the recording's own transcript (no speech model needed).
    config: { pipeline: { face: { enabled: false }, stt: { engine: 'reference' } } },
    events: ['agent/voice/intent'],
  });
  const intents = run.on('agent/voice/intent').map((e) => e.payload.intent);
  // "what time is it" is the clock skill's, answered on the device.
  assert.deepEqual(intents, ['light_on', 'clock_time']);
  const light = run.mqtt.filter((m) => m.topic === 'demo/kitchen/light/set');
  assert.deepEqual(
    light.map((m) => m.text),
    ['ON'],
  );
});
