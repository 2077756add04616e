/**
 * Push-to-talk (issue #14, wake mode `push_to_talk`, and usable in `wake_word` too): answers
 * `rpc/voice/listen` — the MQTT command `<base>/cmd/voice/listen` `{"seconds"?: n}` and Home
 * Assistant's "Listen" button — by publishing `action/listen` (`push_to_talk`), which opens the
 * listening gate for `seconds` (default `agents.voice.wake.window_s`) from the command's time.
 *
 * Opening a window only lets the device transcribe what is said next, on the device; it reveals
 * nothing and changes no setting, so an unsigned command may do it (like a button on the device).
 */
import type { Envelope } from '../../bus/envelope.js';
import { Priority } from '../../bus/envelope.js';
import type { VoiceListenAnswer, VoiceListenRequest } from '../../bus/rpc.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import type { Logger } from '../../log.js';

export interface PushToTalkOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Window when the command names no `seconds`, ms. */
  readonly defaultWindowMs: number;
  /** Longest window a command may ask for, ms (longer requests are cut to it). */
  readonly maxWindowMs: number;
  /** Component name (default `pipeline.push-to-talk`). */
  readonly name?: string;
}

export class PushToTalk implements Component {
  readonly name: string;
  private readonly o: PushToTalkOptions;
  private sub: Subscription | undefined;
  private opened = 0;

  constructor(options: PushToTalkOptions) {
    this.o = options;
    this.name = options.name ?? 'pipeline.push-to-talk';
  }

  async start(): Promise<void> {
    this.sub = this.o.bus.respond('rpc/voice/listen', (req) => this.listen(req), { component: this.name });
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe();
  }

  health(): ComponentHealth {
    return { status: 'ok' };
  }

  stats(): { readonly opened: number } {
    return { opened: this.opened };
  }

  private async listen(req: Envelope<VoiceListenRequest>): Promise<VoiceListenAnswer> {
    const asked = req.payload.seconds === undefined ? this.o.defaultWindowMs : req.payload.seconds * 1000;
    const windowMs = Math.min(Math.max(asked, 0), this.o.maxWindowMs);
    // From the command's own time (the bus clock: fixture time in a replay), as the gate reads it.
    const untilMs = req.tsMs + windowMs;
    await this.o.bus.publish(
      'action/listen',
      { reason: 'push_to_talk', untilMs },
      { source: this.name, tsMs: req.tsMs, priority: Priority.high },
    );
    this.opened++;
    this.o.logger.info({ windowMs, channel: req.payload.origin.channel }, 'push-to-talk: listening');
    return { listening: true, until_ms: untilMs };
  }
}
