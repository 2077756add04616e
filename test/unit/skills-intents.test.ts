import { describe, expect, it } from 'vitest';
import { compileIntents, matchIntent, substituteSlots } from '../../daemon/agents/intents.js';
import { type ClockArgs, type ClockResult, clockTool } from '../../daemon/agents/skills/clock-tool.js';
import {
  defaultSkillIntents,
  type SkillsConfig,
  withSkillIntents,
} from '../../daemon/agents/skills/skills.js';
import { loadConfig } from '../../daemon/config/index.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/** The schema's defaults for agents.voice.skills, with `over` applied. */
function skills(over: Record<string, unknown> = {}): SkillsConfig {
  return loadConfig({ env: {}, overrides: { device: { id: 't' }, agents: { voice: { skills: over } } } })
    .agents.voice.skills;
}
const MIN_SCORE = loadConfig({ env: {}, overrides: { device: { id: 't' } } }).agents.voice.min_match_score;

const configured = skills({
  weather: { url: 'http://127.0.0.1:1/weather' },
  devices: [
    {
      name: 'temperature in the kitchen',
      topic: 'zigbee2mqtt/kitchen',
      field: 'temperature',
      unit: 'degrees',
    },
  ],
});
const bare = compileIntents(defaultSkillIntents(skills()));
const full = compileIntents(defaultSkillIntents(configured));

describe('default skill intents', () => {
  it.each([
    ['Set a timer for five minutes.', 'timer_set', { seconds: 300 }],
    ['set a timer for an hour and a half', 'timer_set', { seconds: 5400 }],
    ['start a 20 minute timer', 'timer_set', { seconds: 1200 }],
    ['set a pasta timer for ten minutes', 'timer_set_named', { seconds: 600, label: 'pasta' }],
    ['set a timer for 90 seconds called eggs', 'timer_set_named', { seconds: 90, label: 'eggs' }],
    ['cancel the timer', 'timer_cancel', {}],
    ['cancel all timers', 'timer_cancel', {}],
    ['cancel my timers', 'timer_cancel', {}],
    ['cancel the pasta timer', 'timer_cancel_named', { label: 'pasta' }],
    ['how long is left', 'timer_remaining', {}],
    ['how much time is left on the timer', 'timer_remaining', {}],
    ['how much time is left on the pasta timer', 'timer_remaining_named', { label: 'pasta' }],
    ['What time is it?', 'clock_time', { what: 'time' }],
    ["What's the time?", 'clock_time', { what: 'time' }],
    ["what's the date", 'clock_date', { what: 'date' }],
    ["What's today's date?", 'clock_date', { what: 'date' }],
    ['what day is it today', 'clock_date', { what: 'date' }],
    ["what's the weather like", 'weather', {}],
    ['how is the weather today', 'weather', {}],
    ['What is the temperature in the kitchen?', 'device_state', { name: 'temperature in the kitchen' }],
    ["what's the temperature in the kitchen", 'device_state', { name: 'temperature in the kitchen' }],
  ] as const)('%j → %s %j', (text, intent, args) => {
    const m = matchIntent(full, text)!;
    expect(m.intent).toBe(intent);
    expect(m.score).toBeGreaterThanOrEqual(0.95);
    expect(substituteSlots(m.action.args, m.slots)).toEqual(args);
  });

  it.each([
    ['cancel the timer', 'timer_cancel'],
    ['cancel the timmer', 'timer_cancel'],
    ['set timer for 5 minutes', 'timer_set'],
    ['how long left', 'timer_remaining'],
  ])('%j, said loosely, still reaches %s', (text, intent) => {
    const m = matchIntent(bare, text)!;
    expect(m.intent).toBe(intent);
    expect(m.score).toBeGreaterThanOrEqual(MIN_SCORE);
  });

  // The matcher is tolerant: without a weather source or devices, other questions must stay below
  // the default threshold (they go to the cloud, or are no_match), not answer with the time.
  it.each([
    'what is the temperature outside',
    'what is the capital of france',
    "what's the news",
    'how is the traffic',
    'tell me a joke',
    'turn on the kitchen light',
    'stop the music',
    'stop',
    'what is the weather like',
    "what's the weather today",
    'set the volume to five',
    'what is the date of the election',
  ])('%j matches no default skill intent (score < min_match_score)', (text) => {
    expect(matchIntent(bare, text)!.score).toBeLessThan(MIN_SCORE);
  });

  it('weather and device intents exist only when configured', () => {
    const names = (c: SkillsConfig) => defaultSkillIntents(c).map((i) => i.name);
    expect(names(skills())).not.toContain('weather');
    expect(names(skills())).not.toContain('device_state');
    expect(names(configured)).toContain('weather');
    expect(names(configured)).toContain('device_state');
  });

  it('a configured device matches only by its own key words', () => {
    expect(matchIntent(full, 'what is the temperature in the bedroom')!.score).toBeLessThan(MIN_SCORE);
    expect(matchIntent(full, 'what is the humidity in the kitchen')!.score).toBeLessThan(MIN_SCORE);
  });

  it("an intent of the user's with the same name replaces the default; default_intents: false drops them", () => {
    const mine = {
      name: 'clock_time',
      templates: ['whats the hour'],
      action: { tool: 'clock.now', args: {} },
    };
    const merged = withSkillIntents([mine], skills());
    expect(merged[0]).toBe(mine);
    expect(merged.filter((i) => i.name === 'clock_time')).toHaveLength(1);
    expect(merged.map((i) => i.name)).toContain('timer_set');
    expect(withSkillIntents([mine], skills({ default_intents: false }))).toEqual([mine]);
  });
});

describe('clock.now', () => {
  const at = Date.UTC(2026, 11, 4, 12, 5, 30); // Friday 4 December 2026, 12:05:30 UTC
  const signal = new AbortController().signal;
  const run = async (tool: ReturnType<typeof clockTool>, args: ClockArgs) =>
    (await tool.execute(args, { signal, origin: 'local' })) as ClockResult;

  it('speaks the time and date in the configured zone', async () => {
    const tool = clockTool({ clock: new VirtualClock(at), timeZone: 'Europe/Berlin' });
    expect(await run(tool, {})).toEqual({
      say: 'It is 1:05 PM on Friday, December 4, 2026.',
      time: '13:05',
      date: '2026-12-04',
      weekday: 'Friday',
      time_zone: 'Europe/Berlin',
      ts: at,
    });
    expect((await run(tool, { what: 'time' })).say).toBe('It is 1:05 PM.');
    const tokyo = clockTool({ clock: new VirtualClock(at), timeZone: 'Asia/Tokyo' });
    expect((await run(tokyo, { what: 'date' })).say).toBe('Today is Friday, December 4, 2026.');
    expect((await run(tokyo, { what: 'time' })).say).toBe('It is 9:05 PM.');
  });

  it('an unknown zone is a start-up error naming the key', () => {
    try {
      clockTool({ clock: new VirtualClock(at), timeZone: 'Mars/Olympus' });
      expect.unreachable();
    } catch (err) {
      expect(isEdgeloomError(err, 'E_CONFIG')).toBe(true);
      expect((err as Error).message).toContain('agents.voice.skills.time_zone');
    }
  });
});
