import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { LifecycleEvent } from '../../daemon/bus/topics.js';
import type { Component } from '../../daemon/component.js';
import { Controller } from '../../daemon/controller.js';
import { EdgeloomError, isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';

/**
 * The controller over a real Bus: ordered start, reverse stop, rollback of a failed start,
 * aborting a start still in progress, a hung stop abandoned after its timeout, and the
 * `system/lifecycle` events every step publishes.
 */

type Step = `start:${string}` | `stop:${string}` | `abort:${string}`;

interface FakeOptions {
  /** Reject start() with this error. */
  failStart?: Error;
  /** start() waits for the signal to abort (a slow start, e.g. a camera probing its device). */
  slowStart?: boolean;
  /** stop() never resolves. */
  hangStop?: boolean;
}

function component(name: string, calls: Step[], o: FakeOptions = {}): Component {
  return {
    name,
    async start(signal: AbortSignal) {
      calls.push(`start:${name}`);
      if (o.failStart) throw o.failStart;
      if (o.slowStart) {
        await new Promise<void>((_, reject) => {
          signal.addEventListener(
            'abort',
            () => {
              calls.push(`abort:${name}`);
              reject(signal.reason);
            },
            { once: true },
          );
        });
      }
    },
    async stop() {
      calls.push(`stop:${name}`);
      if (o.hangStop) await new Promise<void>(() => {});
    },
  };
}

function setup(stopTimeoutMs?: number): { bus: Bus; controller: Controller; events: LifecycleEvent[] } {
  const bus = new Bus({ clock: new SystemClock(), logger: silentLogger() });
  const events: LifecycleEvent[] = [];
  bus.subscribe('system/lifecycle', (env) => void events.push(env.payload), {
    component: 'test',
    qos: 'batched',
  });
  const controller = new Controller({
    bus,
    logger: silentLogger(),
    ...(stopTimeoutMs === undefined ? {} : { stopTimeoutMs }),
  });
  return { bus, controller, events };
}

const kinds = (events: LifecycleEvent[]): string[] =>
  events.map((e) => (e.component === undefined ? e.kind : `${e.kind}:${e.component}`));

describe('Controller', () => {
  it('starts in order, stops in reverse, and says so on system/lifecycle', async () => {
    const { bus, controller, events } = setup();
    const calls: Step[] = [];
    for (const n of ['a', 'b', 'c']) controller.add(component(n, calls));
    await controller.start();
    expect(calls).toEqual(['start:a', 'start:b', 'start:c']);
    expect(Object.values(controller.health()).map((h) => h.status)).toEqual(['ok', 'ok', 'ok']);
    await controller.stop();
    expect(calls.slice(3)).toEqual(['stop:c', 'stop:b', 'stop:a']);
    await bus.drain(1000);
    expect(kinds(events)).toEqual([
      'component_started:a',
      'component_started:b',
      'component_started:c',
      'system_started',
      'system_stopping',
      'component_stopped:c',
      'component_stopped:b',
      'component_stopped:a',
    ]);
    // stop() is idempotent.
    await controller.stop();
    expect(calls).toHaveLength(6);
  });

  it('refuses duplicates and additions after start', async () => {
    const { controller } = setup();
    const calls: Step[] = [];
    controller.add(component('a', calls));
    expect(() => controller.add(component('a', calls))).toThrowError(/added twice/);
    await controller.start();
    expect(() => controller.add(component('b', calls))).toThrow(
      expect.objectContaining({ code: 'E_CONTROLLER_STATE' }),
    );
    await expect(controller.start()).rejects.toMatchObject({ code: 'E_CONTROLLER_STATE' });
    await controller.stop();
  });

  it('a failing start stops the started ones in reverse and rejects with a coded error naming it', async () => {
    const { bus, controller, events } = setup();
    const calls: Step[] = [];
    controller.add(component('a', calls));
    controller.add(component('b', calls));
    controller.add(
      component('camera', calls, { failStart: new EdgeloomError('E_CAMERA_CONFIG', 'no /dev/video0') }),
    );
    controller.add(component('d', calls));
    const err = await controller.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEdgeloomError(err, 'E_CAMERA_CONFIG')).toBe(true);
    expect((err as EdgeloomError).where).toBe('camera');
    expect((err as EdgeloomError).message).toMatch(/^camera failed to start: no \/dev\/video0/);
    expect(calls).toEqual(['start:a', 'start:b', 'start:camera', 'stop:b', 'stop:a']);
    await bus.drain(1000);
    expect(kinds(events)).toEqual([
      'component_started:a',
      'component_started:b',
      'component_failed:camera',
      'component_stopped:b',
      'component_stopped:a',
    ]);
    expect(events[2]!.error).toEqual({ code: 'E_CAMERA_CONFIG', message: 'no /dev/video0' });
    expect(controller.health().d).toEqual({ status: 'failed', reasons: ['not running'] });
  });

  it('a plain Error at start gets the generic code', async () => {
    const { controller } = setup();
    controller.add(component('x', [], { failStart: new Error('boom') }));
    await expect(controller.start()).rejects.toMatchObject({ code: 'E_COMPONENT_START', where: 'x' });
  });

  it('stop() during a slow start aborts the start signal and stops what had started', async () => {
    const { bus, controller, events } = setup();
    const calls: Step[] = [];
    controller.add(component('a', calls));
    controller.add(component('slow', calls, { slowStart: true }));
    controller.add(component('never', calls));
    const started = controller.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    while (!calls.includes('start:slow')) await new Promise((r) => setImmediate(r));
    await controller.stop();
    // stop() resolves only once everything that started has stopped; the aborted start is stopped
    // too (it may hold what it acquired before the abort), the one never started is not.
    expect(calls).toEqual(['start:a', 'start:slow', 'abort:slow', 'stop:slow', 'stop:a']);
    const err = await started;
    expect(isEdgeloomError(err, 'E_START_ABORTED')).toBe(true);
    expect((err as Error).message).toContain('while slow was starting');
    await bus.drain(1000);
    const k = kinds(events);
    expect(k).toContain('system_stopping');
    expect(k).toContain('component_stopped:a');
    expect(k).not.toContain('system_started');
    expect(k).not.toContain('component_started:never');
  });

  it('stop() before start() leaves nothing to start', async () => {
    const { controller } = setup();
    const calls: Step[] = [];
    controller.add(component('a', calls));
    await controller.stop();
    await expect(controller.start()).rejects.toMatchObject({ code: 'E_CONTROLLER_STATE' });
    expect(calls).toEqual([]);
  });

  it('a component whose stop hangs is abandoned after stopTimeoutMs and the rest still stop', async () => {
    const { bus, controller, events } = setup(50);
    const calls: Step[] = [];
    controller.add(component('a', calls));
    controller.add(component('stuck', calls, { hangStop: true }));
    controller.add(component('c', calls));
    await controller.start();
    const t0 = performance.now();
    await controller.stop();
    const tookMs = performance.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(45);
    expect(calls.slice(3)).toEqual(['stop:c', 'stop:stuck', 'stop:a']);
    await bus.drain(1000);
    const failed = events.find((e) => e.kind === 'component_failed');
    expect(failed).toMatchObject({ component: 'stuck', error: { code: 'E_STOP_TIMEOUT' } });
    expect(failed!.error!.message).toMatch(/stuck did not stop within 50 ms/);
    expect(kinds(events).slice(-3)).toEqual([
      'component_stopped:c',
      'component_failed:stuck',
      'component_stopped:a',
    ]);
  });
});
