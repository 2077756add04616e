/**
 * `weather.current`: the weather from the one source the user configured
 * (agents.voice.skills.weather): a LAN HTTP endpoint answering JSON, read at each call, or an MQTT
 * topic whose last message DeviceStates keeps. No other address is contacted: the URL is fixed at
 * construction, redirects are refused, and the answer is read up to MAX_BODY_BYTES.
 *
 * A source that fails (no answer within `timeout_ms`, an HTTP error, not JSON, no temperature at
 * the configured path, nothing heard on the topic yet) gives a result whose `say` tells the user
 * so, with `error: {code: E_SKILL_SOURCE, message}` naming the source: the assistant answers
 * honestly instead of going quiet. An aborted call (the user barged in) throws, as every tool does.
 */
import type { VoiceConfig } from '../../config/index.js';
import { EdgeloomError, ErrorCode, toError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { ToolDefinition } from '../tools.js';
import { type DeviceStates, fieldAt, spokenValue } from './device-states.js';

export type WeatherConfig = VoiceConfig['skills']['weather'];

/** Largest answer read from the weather URL, bytes (a weather JSON is a few KiB). */
export const MAX_BODY_BYTES = 256 * 1024;

export interface WeatherResult {
  readonly say: string;
  readonly temperature: number | null;
  readonly unit: string;
  readonly condition: string | null;
  /** `url` or `topic`. */
  readonly source: 'url' | 'topic';
  /** Age of a topic's message, seconds (null for the URL, read now). */
  readonly age_s: number | null;
  readonly error?: { readonly code: string; readonly message: string };
}

export function weatherTool(o: {
  readonly config: WeatherConfig;
  readonly states: DeviceStates;
  readonly clock: Clock;
  readonly onError?: (err: EdgeloomError) => void;
}): ToolDefinition<Record<string, never>> {
  const c = o.config;
  const source: 'url' | 'topic' = c.url !== '' ? 'url' : 'topic';
  const where = source === 'url' ? c.url : c.topic;
  const fail = (message: string, ageS: number | null): WeatherResult => {
    const err = new EdgeloomError(ErrorCode.E_SKILL_SOURCE, `weather (${where}): ${message}`, {
      where: 'weather.current',
    });
    o.onError?.(err);
    const say =
      message === 'nothing received yet'
        ? 'I have not heard from the weather source yet.'
        : 'I cannot get the weather right now.';
    return {
      say,
      temperature: null,
      unit: c.unit,
      condition: null,
      source,
      age_s: ageS,
      error: { code: err.code, message: err.message },
    };
  };
  const speak = (doc: unknown, ageS: number | null): WeatherResult => {
    const t = fieldAt(doc, c.fields.temperature);
    if (typeof t !== 'number' || !Number.isFinite(t))
      return fail(`no number at ${JSON.stringify(c.fields.temperature)}`, ageS);
    const condition = c.fields.condition === '' ? undefined : spokenValue(fieldAt(doc, c.fields.condition));
    const temp = `${spokenValue(t)} ${c.unit}`.trim();
    const stale = ageS !== null && c.max_age_s > 0 && ageS > c.max_age_s;
    const said = condition === undefined ? `It is ${temp}` : `It is ${temp} and ${condition}`;
    const say = stale
      ? `The last weather report, from ${Math.round(ageS / 60)} minutes ago, said: ${said.slice(6)}.`
      : `${said}.`;
    return { say, temperature: t, unit: c.unit, condition: condition ?? null, source, age_s: ageS };
  };
  const fromUrl = async (signal: AbortSignal): Promise<WeatherResult> => {
    const timeout = AbortSignal.timeout(c.timeout_ms);
    let body: string;
    try {
      const res = await fetch(c.url, {
        signal: AbortSignal.any([signal, timeout]),
        redirect: 'error',
        headers: { accept: 'application/json' },
      });
      if (!res.ok) return fail(`HTTP ${res.status}`, null);
      const length = Number(res.headers.get('content-length') ?? '0');
      if (length > MAX_BODY_BYTES) return fail(`answer larger than ${MAX_BODY_BYTES} bytes`, null);
      body = await readBounded(res, MAX_BODY_BYTES);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) return fail(`no answer within ${c.timeout_ms} ms`, null);
      const e = toError(err);
      return fail(`${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`, null);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return fail('the answer is not JSON', null);
    }
    return speak(doc, null);
  };
  return {
    name: 'weather.current',
    description:
      "The current weather (temperature and conditions) from the device's configured local source.",
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    // The source's own limit plus a margin, so the source's clear error wins over the generic one.
    timeoutMs: c.timeout_ms + 1000,
    async execute(_args, ctx): Promise<WeatherResult> {
      if (c.url === '' && c.topic === '') {
        const say = 'No weather source is configured on this device.';
        return { say, temperature: null, unit: c.unit, condition: null, source, age_s: null };
      }
      if (source === 'url') return fromUrl(ctx.signal);
      const last = o.states.get(c.topic);
      if (last === undefined) return fail('nothing received yet', null);
      return speak(last.value, Math.max(0, Math.round((o.clock.now() - last.atMs) / 1000)));
    },
  };
}

/** The response body as text, at most `maxBytes` (a larger one throws). */
async function readBounded(res: Response, maxBytes: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`answer larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
