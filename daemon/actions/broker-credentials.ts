/**
 * Credentials of the embedded broker.
 *
 * - The user's credential (`mqtt.embedded.username` / `password`): what Home Assistant,
 *   `mosquitto_sub` and other clients log in with. With no password configured one is generated
 *   once into `<storage.dir>/mqtt-embedded-password` (mode 0600, readable only by the daemon's
 *   user and root) and read from there on later starts:
 *   `mosquitto_sub -u edgeloom -P "$(sudo cat /var/lib/edgeloom/mqtt-embedded-password)" -t 'edgeloom/#'`.
 * - The daemon's own credential: random per start and never written anywhere. Only a client
 *   presenting it may use the daemon's client id or publish the daemon's topics, so a client that
 *   knows the user's password still cannot take over the daemon's session.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddedBrokerConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { type BrokerCredential, EmbeddedBroker, type EmbeddedBrokerAuth } from './embedded-broker.js';

export type { BrokerCredential } from './embedded-broker.js';

/** File name of the generated password inside storage.dir. */
export const GENERATED_PASSWORD_FILE = 'mqtt-embedded-password';

const generate = (): string => randomBytes(24).toString('base64url');

/** A fresh credential for the daemon's own client (see the module comment). */
export function daemonCredential(): BrokerCredential {
  return { username: `edgeloom-daemon-${randomBytes(6).toString('hex')}`, password: generate() };
}

/**
 * The user's credential: configured, or the generated file in `dir` (created on first use).
 * Without a `dir` (a store handed in without its path) the password lives in memory only and is
 * logged as such: nothing but the daemon can log in then.
 */
export async function userCredential(
  config: Pick<EmbeddedBrokerConfig, 'username' | 'password'>,
  dir: string | undefined,
  logger: Logger,
): Promise<BrokerCredential> {
  if (config.password !== '') return { username: config.username, password: config.password };
  if (dir === undefined) {
    logger.warn(
      'embedded broker: no password configured and no storage dir; a random one is used for this run',
    );
    return { username: config.username, password: generate() };
  }
  const file = join(dir, GENERATED_PASSWORD_FILE);
  try {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      // Someone loosened it; the password is a secret of the daemon's user.
      await chmod(file, 0o600);
      logger.warn(
        { file, mode: mode.toString(8) },
        'embedded broker: password file was readable by others; set to 0600',
      );
    }
    const password = (await readFile(file, 'utf8')).trim();
    if (password.length >= 16) return { username: config.username, password };
    logger.warn({ file }, 'embedded broker: password file too short; generating a new one');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new EdgeloomError(
        ErrorCode.E_MQTT_BROKER_CREDENTIALS,
        `cannot read the embedded broker's password file ${file}: ${(err as Error).message}`,
        { where: 'mqtt.embedded.password', cause: err },
      );
    }
  }
  const password = generate();
  try {
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    await chmod(file, 0o600); // writeFile's mode is masked by the umask; never wider than 0600
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_MQTT_BROKER_CREDENTIALS,
      `cannot write the embedded broker's password file ${file}: ${(err as Error).message}`,
      { where: 'mqtt.embedded.password', cause: err },
    );
  }
  logger.info({ file, username: config.username }, 'embedded broker: generated a password for clients');
  return { username: config.username, password };
}

/**
 * Start the embedded broker with authentication; returns it and the credential the daemon's own
 * client logs in with.
 */
export async function startEmbeddedBroker(options: {
  readonly config: EmbeddedBrokerConfig;
  readonly clientId: string;
  readonly baseTopic: string;
  readonly dir: string | undefined;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}): Promise<{ broker: EmbeddedBroker; login: BrokerCredential }> {
  const { auth, daemon } = await embeddedBrokerAuth(options);
  const { host, port } = options.config;
  const broker = new EmbeddedBroker({ host, port, logger: options.logger, auth });
  await broker.start(options.signal);
  return { broker, login: daemon };
}

/** The embedded broker's auth settings and the daemon client's credential, for one start. */
export async function embeddedBrokerAuth(options: {
  readonly config: EmbeddedBrokerConfig;
  readonly clientId: string;
  readonly baseTopic: string;
  /** Where the generated password lives (storage.dir); absent: in memory for this run. */
  readonly dir: string | undefined;
  readonly logger: Logger;
}): Promise<{ auth: EmbeddedBrokerAuth; daemon: BrokerCredential }> {
  const user = await userCredential(options.config, options.dir, options.logger);
  const daemon = daemonCredential();
  return {
    daemon,
    auth: {
      users: [user],
      allowAnonymous: options.config.allow_anonymous,
      daemon: { ...daemon, clientId: options.clientId, baseTopic: options.baseTopic },
    },
  };
}
