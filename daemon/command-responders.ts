/**
 * Answers the MQTT commands (daemon/actions/commands.ts turns `<base>/cmd/...` into bus requests):
 * pause/resume a sensor, set a privacy tier, invoke a tool. Each responder belongs to the component
 * that owns the thing; this module only routes by id. Errors keep their codes and reach the
 * caller on `<base>/cmd/result`.
 */
import type { ToolRegistry } from './agents/tools.js';
import type { PrivacyTier } from './bus/topics.js';
import type { EventBus, Subscription } from './bus/types.js';
import type { Component } from './component.js';
import { EdgeloomError } from './errors.js';
import type { RouterStage } from './router/router.js';

/** A sensor that can be paused: live sources and the replay source. */
export interface Pausable {
  pause(sensorId: string): Promise<void> | void;
  resume(sensorId: string): Promise<void> | void;
}

export interface CommandRespondersOptions {
  readonly bus: EventBus;
  /** Sensor id → the component that can pause it. */
  readonly sensors: ReadonlyMap<string, Pausable>;
  readonly router: Pick<RouterStage, 'setTier'>;
  readonly tools: Pick<ToolRegistry, 'execute'>;
}

const TIERS: readonly PrivacyTier[] = ['public', 'sensitive', 'private', 'local_only'];

export class CommandResponders implements Component {
  readonly name = 'commands';
  private subs: Subscription[] = [];

  constructor(private readonly o: CommandRespondersOptions) {}

  async start(): Promise<void> {
    const { bus } = this.o;
    const opts = { component: this.name };
    this.subs.push(
      bus.respond<{ sensor: string }>(
        'rpc/cmd/sensor/pause',
        async (req) => {
          const id = req.payload.sensor;
          await this.sensor(id).pause(id);
          return { sensor: id, state: 'paused' };
        },
        opts,
      ),
      bus.respond<{ sensor: string }>(
        'rpc/cmd/sensor/resume',
        async (req) => {
          const id = req.payload.sensor;
          await this.sensor(id).resume(id);
          return { sensor: id, state: 'running' };
        },
        opts,
      ),
      bus.respond<{ tier: PrivacyTier; scope?: string }>(
        'rpc/cmd/privacy',
        (req) => {
          const { tier, scope } = req.payload;
          if (!TIERS.includes(tier)) {
            throw new EdgeloomError('E_CMD_INVALID', `unknown privacy tier ${JSON.stringify(tier)}`, {
              where: 'privacy',
            });
          }
          const target = scope ?? 'default';
          this.o.router.setTier(target, tier);
          return { scope: target, tier };
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
            throw new EdgeloomError(r.error?.code ?? 'E_TOOL_FAILED', r.error?.message ?? 'tool failed', {
              where: req.payload.tool,
            });
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
    await Promise.all(subs.map((s) => s.unsubscribe()));
  }

  private sensor(id: string): Pausable {
    const s = this.o.sensors.get(id);
    if (s === undefined) {
      const known = [...this.o.sensors.keys()].join(', ') || 'none';
      throw new EdgeloomError('E_CMD_UNKNOWN_SENSOR', `no sensor "${id}" (known: ${known})`, { where: id });
    }
    return s;
  }
}
