/**
 * `<base>/cmd/restart` (Home Assistant's restart button): stop cleanly and exit with EXIT_RESTART,
 * which the unit lists in `RestartForceExitStatus=` (restart although the stop was clean) and
 * `SuccessExitStatus=` (not a failure in `systemctl status`). Outside systemd the process just
 * ends with 75 (EX_TEMPFAIL, "try again later"); nothing starts it again.
 *
 * A restart takes the sensors down for a few seconds, fall detection included, so it is refused
 * (`E_CMD_BUSY`) until the daemon has run `control.restart_min_uptime_s`: repeated commands
 * cannot keep it down. Every command, this one too, is audited by the command handler.
 */
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

/** Exit status of a requested restart (sysexits.h EX_TEMPFAIL); systemd/edgeloom.service names it. */
export const EXIT_RESTART = 75;

export interface RestartResponderOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** control.restart_min_uptime_s, in ms. */
  readonly minUptimeMs: number;
  /** Process uptime, ms (default process.uptime()). */
  readonly uptimeMs?: () => number;
  /** Begin the clean stop; called after the answer has been handed to the command handler. */
  readonly restart: () => void;
}

export class RestartResponder implements Component {
  readonly name = 'system.restart';
  private sub: Subscription | undefined;

  constructor(private readonly o: RestartResponderOptions) {}

  async start(): Promise<void> {
    this.sub = this.o.bus.respond(
      'rpc/system/restart',
      async (req) => {
        const upMs = (this.o.uptimeMs ?? (() => process.uptime() * 1000))();
        if (upMs < this.o.minUptimeMs) {
          throw new EdgeloomError(
            ErrorCode.E_CMD_BUSY,
            `restart refused: up for ${Math.round(upMs / 1000)} s, less than control.restart_min_uptime_s (${this.o.minUptimeMs / 1000})`,
            { where: 'cmd/restart' },
          );
        }
        this.o.logger.warn({ channel: req.payload.origin.channel }, 'restart requested: stopping');
        // After this answer has gone back through the bus to the command handler, which queues
        // the result in the outbox before the stop reaches the MQTT client (stopped last).
        setImmediate(this.o.restart);
        return { restarting: true as const, exit_code: EXIT_RESTART };
      },
      { component: this.name },
    );
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
