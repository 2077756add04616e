/**
 * The example plugins (examples/plugins/) as real processes under bubblewrap, on a real bus with
 * the real tool registry: the simulated BME280 feeds the thermostat, whose tools join the registry
 * as `thermostat.*` with their schemas enforced; the Node model plugin runs its own ONNX model
 * (generated here with models/tools/onnx-writer.ts) on real JPEG frames.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { encodeModel, GraphBuilder, int, ints } from '../../models/tools/onnx-writer.js';
import { BWRAP_OK, type Harness, harness } from '../helpers/plugin-host.js';
import { until } from '../helpers/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.skipIf(!BWRAP_OK)('example plugins', () => {
  it('BME280 readings reach the thermostat, whose tools join the registry with their schemas', async () => {
    h = harness();
    const states: Record<string, unknown>[] = [];
    h.bus.subscribe('plugin/thermostat/state', (e) => void states.push(e.payload), { component: 'test' });
    const thermostat = await h.add({
      id: 'thermostat',
      command: ['python3', 'examples/plugins/thermostat.py'],
      config: { target_c: 20, hysteresis_c: 0.5 },
    });
    const bme = await h.add({
      id: 'bme280',
      command: ['python3', 'examples/plugins/bme280.py'],
      config: { file: 'examples/plugins/bme280-readings.txt', interval_s: 0.05 },
    });
    expect(bme.sandboxed && thermostat.sandboxed).toBe(true);
    // The first reading of the file (21.5 °C) went bme280 → bus → thermostat → bus.
    await until('a thermostat state from a reading', () => states.find((s) => s.current_c === 21.5));
    expect(h.tools.names()).toEqual(expect.arrayContaining(['thermostat.set_target', 'thermostat.status']));

    const set = await h.tools.execute('thermostat.set_target', { celsius: 25 });
    expect(set).toMatchObject({ ok: true, result: { target_c: 25, heating: true } });
    // The schema the hello declared is enforced by the registry before the plugin sees the call.
    const bad = await h.tools.execute('thermostat.set_target', { celsius: 99 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'E_TOOL_INVALID_ARGS' } });
    // Not offered (offer_tools false): a call from outside the device is refused as unknown.
    const outside = await h.tools.execute('thermostat.status', {}, { external: true });
    expect(outside).toMatchObject({ ok: false, error: { code: 'E_TOOL_UNKNOWN' } });
    expect(h.tools.asFunctionDefinitions().map((f) => f.function.name)).not.toContain('thermostat_status');
    const st = thermostat.stats();
    expect(st.toolCalls).toBe(1);
    expect(st.published).toBeGreaterThan(0);
    // Its health message comes on the plugin's own schedule: waited for, not assumed already there.
    await until('the bme280 health report', () => bme.stats().healthDetail !== '');
    expect(bme.stats()).toMatchObject({ healthOk: true, healthDetail: 'simulated from file' });
  });

  it('the Node model plugin runs its ONNX model on camera frames it may see', async () => {
    // The model: mean of a [1, 1024] input (greyscale 32×32 in 0..1) — the frame's brightness.
    const g = new GraphBuilder('brightness');
    g.input('x', 'float32', [1, 1024]);
    g.node('ReduceMean', ['x'], ['y'], { axes: ints([1]), keepdims: int(1) });
    g.output('y', 'float32', [1, 1]);
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-model-'));
    const model = join(dir, 'brightness.onnx');
    writeFileSync(model, encodeModel({ graph: g, opset: 17, producer: 'edgeloom-test' }));

    h = harness();
    const scores: Envelope<Record<string, unknown>>[] = [];
    h.bus.subscribe('plugin/framemodel/score', (e) => void scores.push(e), { component: 'test' });
    const host = await h.add({
      id: 'framemodel',
      command: [process.execPath, 'examples/plugins/frame-model.mjs'],
      raw_media: true,
      sandbox: { network: false },
      config: { model, size: 32 },
    });
    expect(host.sandboxed).toBe(true);
    const jpeg = (v: number): Promise<Buffer> =>
      sharp({ create: { width: 64, height: 48, channels: 3, background: { r: v, g: v, b: v } } })
        .jpeg()
        .toBuffer();
    for (const [seq, v] of [
      [0, 255],
      [1, 0],
      [2, 128],
    ] as const) {
      h.bus.publish('sensor/camera/front/frame', {
        seq,
        tsMs: seq,
        width: 64,
        height: 48,
        jpeg: await jpeg(v),
      });
    }
    await until('three scores', () => scores.length >= 3);
    const bySeq = new Map(scores.map((e) => [e.payload.frameSeq, e.payload.score as number]));
    expect(bySeq.get(0)).toBeCloseTo(1, 1);
    expect(bySeq.get(1)).toBeCloseTo(0, 1);
    expect(bySeq.get(2)).toBeCloseTo(128 / 255, 1);
    expect(scores[0]!.source).toBe('plugin.framemodel');
  });
});
