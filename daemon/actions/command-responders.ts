/**
 * Answers the sensor and tool commands (daemon/actions/commands.ts turns `<base>/cmd/...` into bus
 * requests; privacy and forget have their own responders in daemon/privacy/). Each responder
 * belongs to the component that owns the thing; this module only routes by id. Errors keep their
 * codes and reach the caller on `<base>/cmd/result`.
 *
 * Pauses are bounded: every pause resumes by itself, after `duration_s` or at the latest after
 * `control.pause_max_s`. A sensor that feeds fall detection (the IMU: the motion agent's falls are
 * the one event nobody may silence by accident) is paused only with `"safety_override": true` on
 * an authenticated command (signed, or the local CLI), for at most `control.safety_pause_max_s`,
 * and every such pause is audited. Without it the command is refused with `E_CMD_SAFETY`.
 */

import type { ToolRegistry } from '../agents/tools.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import type { ControlConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../router/audit-log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { SensorCommandRequest } from './command-table.js';

/** A sensor that can be paused: live sources and the replay source. */
export interface Pausable {
  pause(sensorId: string): Promise<void> | void;
  resume(sensorId: string): Promise<void> | void;
}

export interface CommandRespondersOptions {
  readonly bus: EventBus;
  /** Sensor id → the component that can pause it. */
  readonly sensors: ReadonlyMap<string, Pausable>;
  readonly tools: Pick<ToolRegistry, 'execute'>;
  /** Ids of sensors whose silence would hide a fall (the IMU). */
  readonly safetySensors?: ReadonlySet<string>;
  /** control.pause_max_s and control.safety_pause_max_s. */
  readonly limits?: Pick<ControlConfig, 'pause_max_s' | 'safety_pause_max_s'>;
  /** Clock of the sensors' time (the auto-resume timer). */
  readonly clock?: Clock;
  readonly audit?: AuditLog;
  readonly logger?: Logger;
}

export class CommandResponders implements Component {
  readonly name = 'commands';
  private subs: Subscription[] = [];
  /** Auto-resume timer per paused sensor (at most one per sensor id). */
  private readonly resumeTimers = new Map<string, TimerHandle>();

  constructor(private readonly o: CommandRespondersOptions) {}

  async start(): Promise<void> {
    const { bus } = this.o;
    const opts = { component: this.name };
    this.subs.push(
      bus.respond<SensorCommandRequest>('rpc/cmd/sensor/pause', (req) => this.pause(req.payload), opts),
      bus.respond<SensorCommandRequest>(
        'rpc/cmd/sensor/resume',
        async (req) => {
          const id = req.payload.sensor;
          await this.sensor(id).resume(id);
          this.resumeTimers.get(id)?.cancel();
          this.resumeTimers.delete(id);
          return { sensor: id, state: 'running' };
        },
        opts,
      ),
      bus.respond<{ tool: string; args: unknown }>(
        'rpc/cmd/tool',
        async (req, signal) => {
          // A command from the network is an external caller: internal tools are refused.
          const r = await this.o.tools.execute(req.payload.tool, req.payload.args, {
            signal,
            source: 'mqtt.cmd',
            external: true,
            origin: 'command',
          });
          if (!r.ok) {
            throw new EdgeloomError(
              r.error?.code ?? ErrorCode.E_TOOL_FAILED,
              r.error?.message ?? 'tool failed',
              {
                where: req.payload.tool,
              },
            );
          }
          return r.result ?? null;
        },
        opts,
      ),
    );
  }

  async stop(): Promise<void> {
    const subs = this.subs;
    this.subs = [];
    for (const t of this.resumeTimers.values()) t.cancel();
    this.resumeTimers.clear();
    await Promise.all(subs.map((s) => s.unsubscribe()));
  }

  private async pause(req: SensorCommandRequest): Promise<Record<string, unknown>> {
    const id = req.sensor;
    const sensor = this.sensor(id);
    const safety = this.o.safetySensors?.has(id) === true;
    const limits = this.o.limits ?? { pause_max_s: 86_400, safety_pause_max_s: 900 };
    const maxS = safety ? limits.safety_pause_max_s : limits.pause_max_s;
    const origin = req.origin ?? { channel: 'mqtt', authenticated: false };
    if (safety) {
      const why = `sensor ${id} feeds fall detection; pausing it needs "safety_override": true on a signed command or \`edgeloom\` on the device, for at most ${maxS} s`;
      if (req.safety_override !== true) throw new EdgeloomError(ErrorCode.E_CMD_SAFETY, why, { where: id });
      if (!origin.authenticated) throw new EdgeloomError(ErrorCode.E_CMD_AUTH, why, { where: id });
    }
    const durationS = req.duration_s ?? maxS;
    if (!(durationS > 0 && durationS <= maxS)) {
      throw new EdgeloomError(
        ErrorCode.E_CMD_INVALID,
        `duration_s must be in (0, ${maxS}] for sensor ${id} (got ${durationS})`,
        {
          where: id,
        },
      );
    }
    await sensor.pause(id);
    this.resumeTimers.get(id)?.cancel();
    if (this.o.clock !== undefined) {
      this.resumeTimers.set(
        id,
        this.o.clock.setTimeout(() => {
          this.resumeTimers.delete(id);
          Promise.resolve(sensor.resume(id)).catch((err: unknown) =>
            this.o.logger?.warn({ sensor: id, err: toError(err).message }, 'auto-resume failed'),
          );
          this.o.logger?.info({ sensor: id }, 'pause ended; sensor resumed');
        }, durationS * 1000),
      );
    }
    if (safety) {
      await this.o.audit?.append({
        kind: 'sensor_pause',
        outcome: 'applied',
        sensor: id,
        duration_s: durationS,
        safety_override: true,
        channel: origin.channel,
        authenticated: origin.authenticated,
      });
    }
    return { sensor: id, state: 'paused', resumes_in_s: durationS };
  }

  private sensor(id: string): Pausable {
    const s = this.o.sensors.get(id);
    if (s === undefined) {
      const known = [...this.o.sensors.keys()].join(', ') || 'none';
      throw new EdgeloomError(ErrorCode.E_CMD_UNKNOWN_SENSOR, `no sensor "${id}" (known: ${known})`, {
        where: id,
      });
    }
    return s;
  }
}
