/**
 * `clock.now`: the time and the date as a sentence to speak, in the configured time zone
 * (agents.voice.skills.time_zone) or the process's own. Read from the daemon's clock, so a replay
 * answers in its own time.
 */
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { ToolDefinition } from '../tools.js';

export interface ClockToolOptions {
  readonly clock: Clock;
  /** IANA zone; '' = the process's. */
  readonly timeZone: string;
}

export interface ClockArgs {
  /** What to say: the time, the date or both (default both). */
  readonly what?: 'time' | 'date' | 'both';
}

export interface ClockResult {
  readonly say: string;
  /** `15:05` (24 h, local to the zone). */
  readonly time: string;
  /** `2026-12-04`. */
  readonly date: string;
  readonly weekday: string;
  readonly time_zone: string;
  /** Clock ms it was read at. */
  readonly ts: number;
}

/** Throws E_CONFIG naming agents.voice.skills.time_zone for a zone Intl does not know. */
export function clockTool(o: ClockToolOptions): ToolDefinition<ClockArgs> {
  const zone = o.timeZone === '' ? {} : { timeZone: o.timeZone };
  let spokenTime: Intl.DateTimeFormat;
  try {
    spokenTime = new Intl.DateTimeFormat('en-US', { ...zone, hour: 'numeric', minute: '2-digit' });
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_CONFIG,
      `agents.voice.skills.time_zone: unknown time zone ${JSON.stringify(o.timeZone)} (an IANA name such as Europe/Berlin)`,
      { where: 'agents.voice.skills.time_zone', cause: err },
    );
  }
  const spokenDate = new Intl.DateTimeFormat('en-US', {
    ...zone,
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    year: 'numeric',
  });
  const parts = new Intl.DateTimeFormat('en-CA', {
    ...zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'long',
    hourCycle: 'h23',
  });
  const zoneName = spokenTime.resolvedOptions().timeZone;
  return {
    name: 'clock.now',
    description: 'The current time and date on the device, as a sentence to speak.',
    parameters: {
      type: 'object',
      properties: { what: { type: 'string', enum: ['time', 'date', 'both'] } },
      additionalProperties: false,
    },
    async execute(args): Promise<ClockResult> {
      const ts = o.clock.now();
      const at = new Date(ts);
      const p = Object.fromEntries(parts.formatToParts(at).map((x) => [x.type, x.value]));
      // ICU puts a narrow no-break space before AM/PM; a TTS reads a plain one best.
      const time = spokenTime.format(at).replace(/\s/g, ' ');
      const date = spokenDate.format(at);
      const what = args.what ?? 'both';
      const say =
        what === 'time'
          ? `It is ${time}.`
          : what === 'date'
            ? `Today is ${date}.`
            : `It is ${time} on ${date}.`;
      return {
        say,
        time: `${p.hour}:${p.minute}`,
        date: `${p.year}-${p.month}-${p.day}`,
        weekday: p.weekday ?? '',
        time_zone: zoneName,
        ts,
      };
    },
  };
}
