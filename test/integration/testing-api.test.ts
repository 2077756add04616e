/**
 * The testing API in the repository (the packed tarball's use is testing-package.test.ts):
 * startDaemon() runs the demo recording through the real daemon in-process; waitFor() finds an
 * event whether it already came or is still to come; the event bound counts what it does not keep;
 * a test can publish into the running daemon's bus and see the pipeline answer.
 */
import { describe, expect, it } from 'vitest';
import { bundledFixture, replay, startDaemon } from '../../daemon/testing/index.js';

const QUIET = { pipeline: { face: { enabled: false }, vad: { enabled: false }, stt: { enabled: false } } };

describe('edgeloom/testing: startDaemon', () => {
  it('waits for a typed event, keeps at most maxEvents, and serves the bus to the test', async () => {
    const d = await startDaemon({
      fixture: bundledFixture('demo'),
      config: QUIET,
      events: ['agent/motion/motion'],
    });
    try {
      const fall = await d.waitFor('agent/motion/motion', (e) => e.payload.kind === 'fall');
      expect(fall.payload.details.impact_g).toBeGreaterThan(2);
      await d.done;
      // Already there: waitFor answers from what was collected.
      expect((await d.waitFor('agent/motion/motion', (e) => e.payload.kind === 'fall')).tMs).toBe(fall.tMs);
      expect(d.events.every((e) => e.topic === 'agent/motion/motion')).toBe(true);
      // The daemon still runs after the recording: a display action from the test reaches MQTT.
      d.bus.publish('action/display', { emotion: 'happy', emoji: '🙂', confidence: 1 });
      await expect
        .poll(() => d.mqtt.filter((m) => m.topic.endsWith('/display/set')).at(-1)?.json)
        .toMatchObject({
          emotion: 'happy',
        });
      await expect(d.waitFor('plugin/none/x', () => true, 200)).rejects.toThrow(
        /no event on plugin\/none\/x/,
      );
    } finally {
      await d.stop();
    }
    // The demo has 200 IMU windows: 50 kept, the rest counted.
    const bounded = await replay({
      fixture: bundledFixture('demo'),
      config: QUIET,
      events: ['sensor/imu/+/window'],
      maxEvents: 50,
    });
    expect(bounded.events).toHaveLength(50);
    expect(bounded.eventsDropped).toBe(150);
  });
});
