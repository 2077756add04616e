/**
 * The embedded MQTT broker (aedes over plain TCP), started when `mqtt.url` is empty so that a
 * fresh machine needs no Mosquitto to see edgeloom's messages. Sessions and retained messages live
 * in memory: they last as long as the daemon.
 *
 * Authentication (aedes's `authenticate` and `authorizePublish` hooks, run before a session is
 * registered, so a refused client never displaces an existing one):
 * - clients log in with the user's credential (broker-credentials.ts); anonymous clients only
 *   when `allowAnonymous` (a loopback-only option, see config rules);
 * - the daemon's client id is reserved for the daemon's own per-start credential: anyone else
 *   asking for it gets CONNACK 2 (identifier rejected) and the daemon stays connected;
 * - under the daemon's base topic only the daemon publishes, except commands (`<base>/cmd/...`,
 *   not `cmd/result`), so no client can forge its status, privacy settings or results.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import './mqtt-packet-numbers.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

/** A username and password the broker accepts (broker-credentials.ts makes them). */
export interface BrokerCredential {
  readonly username: string;
  readonly password: string;
}

export interface EmbeddedBrokerAuth {
  /** Credentials clients may log in with. */
  readonly users: readonly BrokerCredential[];
  /** Also accept clients that send no credentials. */
  readonly allowAnonymous: boolean;
  /** The daemon's own client: the only one allowed to use `clientId` and publish under `baseTopic`. */
  readonly daemon?: BrokerCredential & { readonly clientId: string; readonly baseTopic: string };
}

export interface EmbeddedBrokerOptions {
  /** Listen address (mqtt.embedded.host). */
  readonly host: string;
  /** Listen port, TCP; 0 picks a free one (see `port()`). */
  readonly port: number;
  readonly logger: Logger;
  /** Who may connect (required: an open broker is an explicit `{ users: [], allowAnonymous: true }`). */
  readonly auth: EmbeddedBrokerAuth;
}

export interface EmbeddedBrokerStats {
  /** Connections refused: bad or missing credentials. */
  readonly refusedCredentials: number;
  /** Connections refused for asking for the daemon's client id. */
  readonly refusedClientId: number;
  /** Publishes refused under the daemon's base topic. */
  readonly refusedPublishes: number;
}

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();
/** Compare secrets in constant time (hashed first, so lengths do not leak either). */
const sameSecret = (a: Buffer | string | undefined, b: string): boolean =>
  a !== undefined && timingSafeEqual(digest(a), digest(b));

function authError(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class EmbeddedBroker implements Component {
  readonly name = 'actions.mqtt-broker';
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  /** Connections authenticated with the daemon's own credential. */
  private readonly daemonClients = new WeakSet<Client>();
  private counters = { refusedCredentials: 0, refusedClientId: 0, refusedPublishes: 0 };

  constructor(private readonly options: EmbeddedBrokerOptions) {}

  stats(): EmbeddedBrokerStats {
    return { ...this.counters };
  }

  private hooks(): Pick<AedesOptions, 'authenticate' | 'authorizePublish'> {
    const { auth, logger } = this.options;
    const daemon = auth.daemon;
    return {
      authenticate: (client, username, password, done) => {
        const isDaemon =
          daemon !== undefined && username === daemon.username && sameSecret(password, daemon.password);
        if (daemon !== undefined && client.id === daemon.clientId && !isDaemon) {
          this.counters.refusedClientId++;
          logger.warn({ client: client.id }, "broker: refused a client asking for the daemon's client id");
          done(authError(2, 'client id reserved'), false);
          return;
        }
        if (isDaemon) {
          this.daemonClients.add(client);
          done(null, true);
          return;
        }
        const user = auth.users.some((u) => u.username === username && sameSecret(password, u.password));
        if (user || (username === undefined && password === undefined && auth.allowAnonymous)) {
          done(null, true);
          return;
        }
        this.counters.refusedCredentials++;
        logger.info(
          { client: client.id, username: username ?? null },
          'broker: refused a client (credentials)',
        );
        done(authError(username === undefined ? 5 : 4, 'not authorized'), false);
      },
      authorizePublish: (client, packet, done) => {
        if (daemon === undefined || client === null || this.daemonClients.has(client)) return done(null);
        const base = `${daemon.baseTopic}/`;
        const topic = packet.topic;
        const command = topic.startsWith(`${base}cmd/`) && topic !== `${base}cmd/result`;
        if (topic.startsWith(base) && !command) {
          this.counters.refusedPublishes++;
          logger.info({ client: client.id, topic }, "broker: refused a publish on the daemon's topics");
          return done(new Error(`only the daemon publishes on ${topic}`));
        }
        done(null);
      },
    };
  }

  async start(signal?: AbortSignal): Promise<void> {
    const { host, port, logger } = this.options;
    const aedes = await Aedes.createBroker(this.hooks());
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
            ErrorCode.E_MQTT_BROKER_LISTEN,
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
