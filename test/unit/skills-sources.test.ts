import { describe, expect, it } from 'vitest';
import {
  DeviceStates,
  deviceTemplate,
  fieldAt,
  MAX_PAYLOAD_BYTES,
  spokenValue,
} from '../../daemon/agents/skills/device-states.js';
import { type WeatherResult, weatherTool } from '../../daemon/agents/skills/weather-tool.js';
import { loadConfig } from '../../daemon/config/index.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const ctx = { signal: new AbortController().signal, origin: 'local' as const };

describe('DeviceStates', () => {
  it('keeps one last message per configured topic, nothing else, and drops oversized payloads', () => {
    const clock = new VirtualClock(1000);
    const s = new DeviceStates(['a/b', 'c', '', 'a/b'], clock);
    expect(s.topics()).toEqual(['a/b', 'c']);
    s.deliver('a/b', Buffer.from('{"t": 1}'));
    s.deliver('c', Buffer.from('ON'));
    s.deliver('other', Buffer.from('1'));
    s.deliver('c', Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x31));
    expect(s.get('a/b')).toEqual({ value: { t: 1 }, atMs: 1000 });
    expect(s.get('c')).toEqual({ value: 'ON', atMs: 1000 });
    expect(s.get('other')).toBeUndefined();
    expect(s.counters).toEqual({ messages: 2, ignored: 1, tooLarge: 1 });
  });

  it('reads dotted paths and speaks values', () => {
    expect(fieldAt({ a: { b: [1] } }, 'a.b')).toEqual([1]);
    expect(fieldAt({ a: 1 }, 'a.b')).toBeUndefined();
    expect(fieldAt({ a: 1 }, 'constructor')).toBeUndefined();
    expect(fieldAt(5, '')).toBe(5);
    expect([
      spokenValue(21.46),
      spokenValue(true),
      spokenValue(' ON '),
      spokenValue({}),
      spokenValue(''),
    ]).toEqual(['21.5', 'on', 'on', undefined, undefined]);
    expect(deviceTemplate('Temperature in the (kitchen)')).toBe('[temperature] in the [kitchen]');
  });
});

describe('weather.current from a topic', () => {
  const weather = (over: Record<string, unknown>) =>
    loadConfig({
      env: {},
      overrides: { device: { id: 't' }, agents: { voice: { skills: { weather: over } } } },
    }).agents.voice.skills.weather;

  it('says a report older than max_age_s is old, and nothing heard yet honestly', async () => {
    const clock = new VirtualClock(0);
    const states = new DeviceStates(['w'], clock);
    const tool = weatherTool({ config: weather({ topic: 'w', max_age_s: 600 }), states, clock });
    const run = async () => (await tool.execute({}, ctx)) as WeatherResult;
    expect(await run()).toMatchObject({
      say: 'I have not heard from the weather source yet.',
      error: { code: 'E_SKILL_SOURCE' },
    });
    states.deliver('w', Buffer.from(JSON.stringify({ temperature: 12, condition: 'Light rain' })));
    expect(await run()).toMatchObject({ say: 'It is 12 degrees and light rain.', age_s: 0, source: 'topic' });
    await clock.advanceTo(2 * 3600 * 1000);
    expect((await run()).say).toBe(
      'The last weather report, from 120 minutes ago, said: 12 degrees and light rain.',
    );
  });

  it('without a source it says so', async () => {
    const clock = new VirtualClock(0);
    const tool = weatherTool({ config: weather({}), states: new DeviceStates([], clock), clock });
    expect(((await tool.execute({}, ctx)) as WeatherResult).say).toBe(
      'No weather source is configured on this device.',
    );
  });
});
