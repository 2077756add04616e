/**
 * The voice assistant's own tools a person can reach from outside (an MQTT command, a Home
 * Assistant button: `cmd/tool/<name>`):
 *
 * - `voice.ask_cloud {seconds?}`: consent for one utterance (README, "The voice assistant"). It
 *   opens a listening window tagged `consent` (`action/listen`); the next utterance within it is an
 *   explicit request for the cloud, so under `private` its TEXT may leave (never audio). Refused
 *   when the cloud itself asks: consent is given by a person, not taken by the model.
 */
import type { EventBus } from '../bus/types.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { ToolDefinition } from './tools.js';

/** How long the consent window stays open by default, s: time to press the button and speak. */
export const CONSENT_WINDOW_S = 10;

export function askCloudTool(bus: EventBus, clock: Clock): ToolDefinition<{ seconds?: number }> {
  return {
    name: 'voice.ask_cloud',
    description: 'Let the next utterance (within the window) go to the cloud assistant as text, once.',
    parameters: {
      type: 'object',
      properties: { seconds: { type: 'number', minimum: 1, maximum: 60 } },
      additionalProperties: false,
    },
    async execute(args, { origin }) {
      if (origin === 'cloud')
        throw new EdgeloomError(ErrorCode.E_TOOL_REFUSED, 'consent is given by a person, not by the cloud', {
          where: 'tool voice.ask_cloud',
        });
      const untilMs = clock.now() + (args.seconds ?? CONSENT_WINDOW_S) * 1000;
      await bus.publish('action/listen', { reason: 'consent', untilMs }, { source: 'tool.voice.ask_cloud' });
      return { until_ms: untilMs };
    },
  };
}
