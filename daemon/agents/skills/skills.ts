/**
 * The local skills (issue #14), wired: the tools (timer.*, clock.now, device.state,
 * weather.current), the timers agent, the last-message cache of the MQTT topics they read, and
 * the default intents users get without writing any (README, "Voice skills").
 *
 * Default intents come after the user's own (earlier intents win a tie), and an intent of the
 * user's with the same name replaces a default. The matcher is tolerant (a 3-word phrase with one
 * word swapped still scores ~0.67), so each default template marks the words that carry its
 * meaning as key words (`[timer]`, intents.ts): "what's the time" never cancels the timers, "what's
 * the news" is not the weather. test/unit/skills-intents.test.ts lists the phrases kept apart.
 */
import type { EventBus } from '../../bus/types.js';
import type { IntentConfig, VoiceConfig } from '../../config/index.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import { BurstLog } from '../../util/burst-log.js';
import { type Clock, SystemClock } from '../../util/clock.js';
import type { AgentDefinition } from '../reducer.js';
import type { ToolDefinition } from '../tools.js';
import { clockTool } from './clock-tool.js';
import { DeviceStates, deviceStateTool, deviceTemplate } from './device-states.js';
import { timerTools } from './timer-tools.js';
import { type TimersEvent, type TimersState, timersAgent } from './timers-agent.js';
import { weatherTool } from './weather-tool.js';

export type SkillsConfig = VoiceConfig['skills'];

export interface Skills {
  /** clock.now, device.state, weather.current. */
  readonly tools: readonly ToolDefinition<never>[];
  /**
   * timer.set, timer.cancel, timer.remaining: register them only with the agent, since a call
   * waits for the agent's reply (without it the call would wait out its time limit).
   */
  readonly timerTools: readonly ToolDefinition<never>[];
  readonly agent: AgentDefinition<TimersState, TimersEvent>;
  /** The MQTT topics to subscribe to and the cache their messages go to. */
  readonly states: DeviceStates;
  /** `states` as the MQTT client's watch option (daemon.ts hands it over). */
  readonly watch: { readonly topics: readonly string[]; deliver(topic: string, payload: Buffer): void };
  /** Failed reads of a skill's source (E_SKILL_SOURCE). */
  readonly counters: { sourceErrors: number };
}

/** Throws E_CONFIG naming the key for a skills config the schema cannot reject alone. */
export function createSkills(o: {
  readonly config: SkillsConfig;
  readonly bus: EventBus;
  /** The bus clock (a replay's is the fixture's): what clock.now speaks. */
  readonly clock: Clock;
  /**
   * Wall time, for how old a device value or weather report is and for source time-outs: MQTT
   * messages arrive in real time even during a replay, whose clock jumps to the fixture's start
   * (a retained reading received before the jump read as 54 years old). Default the system clock.
   */
  readonly wallClock?: Clock;
  readonly logger: Logger;
}): Skills {
  const wall = o.wallClock ?? new SystemClock();
  const c = o.config;
  if (c.weather.url !== '' && c.weather.topic !== '') {
    throw new EdgeloomError(ErrorCode.E_CONFIG, 'agents.voice.skills.weather: set url or topic, not both', {
      where: 'agents.voice.skills.weather',
    });
  }
  const topics = [...new Set([...c.devices.map((d) => d.topic), c.weather.topic].filter((t) => t !== ''))];
  const states = new DeviceStates(topics, wall);
  const counters = { sourceErrors: 0 };
  // A broken source fails every question about it: one line a minute, the counter counts all.
  const failures = new BurstLog({ logger: o.logger, msg: 'voice skill source failed' });
  const onError = (err: EdgeloomError): void => {
    counters.sourceErrors++;
    failures.failure(err, { code: err.code, sourceErrors: counters.sourceErrors });
  };
  const tools: ToolDefinition<never>[] = [
    clockTool({ clock: o.clock, timeZone: c.time_zone }) as ToolDefinition<never>,
    deviceStateTool({ devices: c.devices, states, clock: wall, onError }) as ToolDefinition<never>,
  ];
  tools.push(weatherTool({ config: c.weather, states, clock: wall, onError }) as ToolDefinition<never>);
  const agent = timersAgent({ maxTimers: c.timers.max_timers, maxDurationS: c.timers.max_duration_s });
  const watch = { topics: states.topics(), deliver: (t: string, p: Buffer) => states.deliver(t, p) };
  const timers = timerTools({ bus: o.bus, maxDurationS: c.timers.max_duration_s });
  return { tools, timerTools: timers, agent, states, watch, counters };
}

const intent = (
  name: string,
  templates: string[],
  tool: string,
  args: Record<string, string> = {},
): IntentConfig => ({
  name,
  templates,
  action: { tool, args },
});

/** The skills' default intents for this config (weather and devices only when configured). */
export function defaultSkillIntents(c: SkillsConfig): IntentConfig[] {
  const out: IntentConfig[] = [
    intent(
      'timer_set',
      [
        '(set|start) a [timer] for {seconds:duration}',
        '(set|start) a {seconds:duration} [timer]',
        '[timer] for {seconds:duration}',
      ],
      'timer.set',
      { seconds: '{seconds}' },
    ),
    intent(
      'timer_set_named',
      [
        '(set|start) a {label} [timer] for {seconds:duration}',
        '(set|start) a [timer] for {seconds:duration} (called|named) {label}',
      ],
      'timer.set',
      { seconds: '{seconds}', label: '{label}' },
    ),
    intent(
      'timer_cancel',
      ['([cancel]|[delete]) (the|my|all|all the|all my) ([timer]|[timers])'],
      'timer.cancel',
    ),
    intent('timer_cancel_named', ['([cancel]|[delete]) the {label} [timer]'], 'timer.cancel', {
      label: '{label}',
    }),
    intent(
      'timer_remaining',
      [
        'how (long|much time) is [left] (on the [timer]|)',
        'how (long|much time) (is|) [left] on (my|the) [timers]',
        'how long until the [timer] (is done|goes off)',
      ],
      'timer.remaining',
    ),
    intent(
      'timer_remaining_named',
      ['how (long|much time) is [left] on the {label} [timer]'],
      'timer.remaining',
      {
        label: '{label}',
      },
    ),
    intent(
      'clock_time',
      ['what [time] is it (now|)', '(whats|what is) the [time]', 'tell me the [time]'],
      'clock.now',
      {
        what: 'time',
      },
    ),
    intent(
      'clock_date',
      [
        '(what is|whats) (the|todays) [date] (today|)',
        'what [date] is it (today|)',
        'what [day] is it (today|)',
        'tell me the [date]',
      ],
      'clock.now',
      { what: 'date' },
    ),
  ];
  // Only with a source: otherwise the question is left to the cloud (which may have an MCP weather tool).
  if (c.weather.url !== '' || c.weather.topic !== '') {
    out.push(
      intent(
        'weather',
        ['(what is|whats|hows|how is) the [weather] (like|) (outside|today|)', 'tell me the [weather]'],
        'weather.current',
      ),
    );
  }
  // One intent per device, its name written out with its long words as key words: only a
  // configured name matches ("the temperature in the bedroom" is not "… in the kitchen").
  for (const d of c.devices) {
    const name = deviceTemplate(d.name);
    if (name !== '')
      out.push(
        intent('device_state', [`(what is|whats|how is|hows) the ${name}`], 'device.state', { name: d.name }),
      );
  }
  return out;
}

/** The user's intents, then the defaults whose names the user did not take. */
export function withSkillIntents(intents: readonly IntentConfig[], c: SkillsConfig): IntentConfig[] {
  if (!c.default_intents) return [...intents];
  const taken = new Set(intents.map((i) => i.name));
  return [...intents, ...defaultSkillIntents(c).filter((i) => !taken.has(i.name))];
}
