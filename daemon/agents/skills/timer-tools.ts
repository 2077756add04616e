/**
 * The timer tools (`timer.set`, `timer.cancel`, `timer.remaining`): each call is one
 * `agent/timers/command` to the timers agent (timers-agent.ts), answered on `agent/timers/reply`
 * once the agent has persisted what the command changed. The call subscribes for its own reply
 * before it asks (so the answer cannot come first) and unsubscribes when it has it; the tool's
 * time limit and AbortSignal bound the wait, so at most one subscription per call in flight.
 *
 * Result: `{ say, ok, timers: [{id, label, seconds, remaining_s}], refused? }`; `say` is what the
 * voice agent speaks (a refusal too: "I can only keep 16 timers at once").
 */
import { randomUUID } from 'node:crypto';
import type { TimerCommand, TimerReply } from '../../bus/topics.js';
import type { EventBus } from '../../bus/types.js';
import type { ToolContext, ToolDefinition } from '../tools.js';
import { MAX_LABEL_CHARS } from './timers-agent.js';

export interface TimerToolsOptions {
  readonly bus: EventBus;
  /** Longest timer, seconds (the schema's bound; the agent checks it too and says why). */
  readonly maxDurationS: number;
}

export type TimerToolResult = Omit<TimerReply, 'requestId'>;

interface LabelArgs {
  readonly label?: string;
}
interface SetArgs extends LabelArgs {
  readonly seconds: number;
}

const LABEL = {
  type: 'string',
  maxLength: MAX_LABEL_CHARS,
  description: 'The timer\'s name, e.g. "pasta"; omit for an unnamed timer.',
} as const;

export function timerTools(o: TimerToolsOptions): ToolDefinition<never>[] {
  const ask = (command: Omit<TimerCommand, 'requestId'>, ctx: ToolContext): Promise<TimerToolResult> => {
    const requestId = randomUUID();
    return new Promise<TimerToolResult>((resolve, reject) => {
      const sub = o.bus.subscribe(
        'agent/timers/reply',
        (env) => {
          if (env.payload.requestId !== requestId) return;
          const { requestId: _, ...result } = env.payload;
          done();
          resolve(result);
        },
        // Realtime, 16 deep: replies to other calls pass through and are skipped.
        { component: 'agents.tool.timer', qos: 'realtime', queueCapacity: 16 },
      );
      const onAbort = (): void => {
        done();
        // The registry aborts with the reason (its time limit, an interrupt) as an EdgeloomError.
        reject(ctx.signal.reason);
      };
      const done = (): void => {
        ctx.signal.removeEventListener('abort', onAbort);
        void sub.unsubscribe();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const payload: TimerCommand = { requestId, ...command };
      Promise.resolve(o.bus.publish('agent/timers/command', payload, { source: 'agents.tool.timer' })).catch(
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  };
  const label = (a: LabelArgs): { label?: string } =>
    a.label === undefined || a.label.trim() === '' ? {} : { label: a.label };

  const setTool: ToolDefinition<SetArgs> = {
    name: 'timer.set',
    description:
      'Set a kitchen timer; it announces itself when done. Setting a name that runs already replaces it.',
    parameters: {
      type: 'object',
      properties: {
        seconds: { type: 'number', minimum: 1, maximum: o.maxDurationS, description: 'Length, seconds.' },
        label: LABEL,
      },
      required: ['seconds'],
      additionalProperties: false,
    },
    execute: (a, ctx) => ask({ op: 'set', seconds: a.seconds, ...label(a) }, ctx),
  };
  const cancelTool: ToolDefinition<LabelArgs> = {
    name: 'timer.cancel',
    description: 'Cancel the timer with this name, or every timer when no name is given.',
    parameters: { type: 'object', properties: { label: LABEL }, additionalProperties: false },
    execute: (a, ctx) => ask({ op: 'cancel', ...label(a) }, ctx),
  };
  const remainingTool: ToolDefinition<LabelArgs> = {
    name: 'timer.remaining',
    description: 'How long is left on the timer with this name, or on every timer.',
    parameters: { type: 'object', properties: { label: LABEL }, additionalProperties: false },
    execute: (a, ctx) => ask({ op: 'remaining', ...label(a) }, ctx),
  };
  return [setTool, cancelTool, remainingTool] as ToolDefinition<never>[];
}
