/**
 * The embedded MQTT broker (aedes over plain TCP), started when `mqtt.url` is empty so that a
 * fresh machine needs no Mosquitto to see edgeloom's messages (`mosquitto_sub -p 1883 -t
 * 'edgeloom/#'`). Sessions and retained messages live in memory: they last as long as the daemon.
 * Keep it on loopback unless the LAN should reach it (it has no authentication).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Component } from '../component.js';
import { EdgeloomError } from '../errors.js';
import type { Logger } from '../log.js';

export interface EmbeddedBrokerOptions {
  /** Listen address (mqtt.embedded.host). */
  readonly host: string;
  /** Listen port, TCP; 0 picks a free one (see `port()`). */
  readonly port: number;
  readonly logger: Logger;
}

export class EmbeddedBroker implements Component {
  readonly name = 'actions.mqtt-broker';
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  async start(signal?: AbortSignal): Promise<void> {
    const { host, port, logger } = this.options;
    const aedes = await Aedes.createBroker();
    this.aedes = aedes;
    aedes.on('clientError', (client, err) =>
      logger.debug({ client: client.id, err: err.message }, 'broker: client error'),
    );
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new EdgeloomError(
            'E_MQTT_BROKER_LISTEN',
            `embedded broker cannot listen on ${host}:${port}: ${err.message}`,
            {
              where: 'mqtt.embedded',
              cause: err,
            },
          ),
        );
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    }).catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
    if (signal?.aborted === true) {
      await this.stop();
      throw signal.reason;
    }
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
    logger.info({ host, port: this.boundPort }, 'embedded MQTT broker listening');
  }

  /** The port actually bound (useful with port 0); 0 before start. */
  port(): number {
    return this.boundPort;
  }

  /** `mqtt://host:port` for clients. */
  url(): string {
    return `mqtt://${this.options.host}:${this.boundPort}`;
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = undefined;
    this.server = undefined;
    if (server !== undefined) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      await closed;
    }
    if (aedes !== undefined) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}
