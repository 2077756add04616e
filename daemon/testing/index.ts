/**
 * `edgeloom/testing`: run recordings through the real pipeline from your own tests (README,
 * "Test your own setup"). Everything is the daemon of `edgeloom replay`, in-process: the same
 * config (the embedded demo's unless you name a file, then your overrides), the models, the
 * agents, your plugins and MCP tool servers, on the virtual clock of the fixture; the MQTT messages
 * are collected instead of sent, and agent memory lives in a temporary store removed at the end.
 *
 *     import { replay } from 'edgeloom/testing';
 *     const run = await replay({ fixture: 'fixtures/kitchen' });
 *     const falls = run.on('agent/motion/motion').filter((e) => e.payload.kind === 'fall');
 *
 * At speed 0 (the default) the replay waits after each record until every stage is idle, so two
 * runs collect the same events with the same times.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PatternCheck, PayloadMatching } from '../bus/patterns.js';
import type { TopicMap } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import { type ConfigOverrides, type EdgeloomConfig, loadConfig } from '../config/index.js';
import { buildDaemon, type Daemon } from '../daemon.js';
import { createLogger, type Logger, silentLogger } from '../log.js';
import { packageRoot } from '../util/package-root.js';
import { Collector } from './collector.js';
import type { BusEvent, Collected } from './types.js';

export type * from '../bus/topics.js';
export type { ConfigOverrides, EdgeloomConfig } from '../config/index.js';
export type * from './types.js';

export interface StartOptions {
  /** The recording to replay (a directory made by `edgeloom record` or `fixture make`); relative to the working directory. Absent: the config's own source. */
  readonly fixture?: string;
  /** A YAML config file (as `--config`); default the embedded demo config of the package. */
  readonly configFile?: string;
  /** Keys over the file's (deep-merged, validated like the file). */
  readonly config?: ConfigOverrides;
  /** EDGELOOM_* variables applied as in `run`; default none (the test's environment is not read). */
  readonly env?: Readonly<Record<string, string>>;
  /** 0 (default): as fast as the pipeline goes, deterministic; 1: real time. */
  readonly speed?: number;
  /** Replay the fixture again and again (stop() ends it). Default false. */
  readonly loop?: boolean;
  /** Bus patterns to collect (default everything: `#`). */
  readonly events?: readonly string[];
  /** Events kept at most; later ones are counted in `eventsDropped` (default 200 000). */
  readonly maxEvents?: number;
  /** Log level of the daemon's logs on stderr (default `silent`). */
  readonly logLevel?: string;
}

export interface TestDaemon extends Collected {
  /** The daemon's bus: publish into it, subscribe to it (typed by topic). */
  readonly bus: EventBus;
  /** The validated configuration it runs. */
  readonly config: EdgeloomConfig;
  /** Settles when the replay has played the fixture (not with `loop`), every stage idle. */
  readonly done: Promise<void>;
  /** The first collected event on `pattern` that `predicate` accepts, waiting for it (wall time, default 30 s). */
  waitFor<P extends string>(
    pattern: P & PatternCheck<TopicMap, P>,
    predicate?: (e: BusEvent<PayloadMatching<TopicMap, P>>) => boolean,
    timeoutMs?: number,
  ): Promise<BusEvent<PayloadMatching<TopicMap, P>>>;
  /** Stop every component and remove the temporary store. */
  stop(): Promise<void>;
}

export type ReplayResult = Collected;
/** What replay() takes: a fixture is required. */
export type ReplayOptions = StartOptions & { readonly fixture: string };

/** The absolute path of a recording bundled with edgeloom (`demo`, `faces`, …). */
export function bundledFixture(name: string): string {
  return join(packageRoot(), 'fixtures', name);
}

/** Start the daemon in-process, collecting its bus events and MQTT messages. */
export async function startDaemon(o: StartOptions = {}): Promise<TestDaemon> {
  const explicit = o.configFile !== undefined;
  const file = explicit ? resolve(o.configFile!) : join(packageRoot(), 'config', 'default.yaml');
  const config = loadConfig({
    file,
    env: o.env ?? {},
    hostname: 'edgeloom-test',
    ...(o.config === undefined ? {} : { overrides: o.config }),
  });
  // As the CLI resolves paths: the embedded config against the package, a user's against the cwd.
  const baseDir = explicit ? process.cwd() : dirname(dirname(file));
  const fixtureDir = o.fixture === undefined ? undefined : resolve(o.fixture);
  if (fixtureDir !== undefined && !existsSync(join(fixtureDir, 'fixture.json')))
    throw new Error(`edgeloom/testing: no fixture.json in ${fixtureDir}`);
  const logger: Logger =
    o.logLevel === undefined ? silentLogger() : createLogger({ level: o.logLevel, destination: 'stderr' });
  const collector = new Collector(o.maxEvents ?? 200_000);
  const daemon: Daemon = await buildDaemon({
    config,
    logger,
    baseDir,
    ephemeralStorage: true,
    mqtt: { kind: 'sink', sink: collector.sink },
    ...(fixtureDir === undefined
      ? {}
      : { replay: { fixtureDir, speed: o.speed ?? 0, loop: o.loop ?? false } }),
  });
  collector.origin = () => daemon.replay?.originMs ?? 0;
  // Subscribed before anything starts; guaranteed delivery, so a speed-0 replay also waits for it.
  for (const pattern of o.events ?? ['#']) {
    daemon.bus.subscribe(pattern, (env) => collector.add(env), {
      component: 'testing.collector',
      qos: 'batched',
      queueCapacity: 4096,
    });
  }
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop().catch(() => undefined);
    throw err;
  }
  const done = daemon.replay?.done ?? new Promise<void>(() => {});
  return Object.assign(collector.view(), {
    bus: daemon.bus,
    config,
    done,
    waitFor: <P extends string>(
      pattern: P & PatternCheck<TopicMap, P>,
      predicate: (e: BusEvent<PayloadMatching<TopicMap, P>>) => boolean = () => true,
      timeoutMs = 30_000,
    ) =>
      collector.waitFor(pattern, predicate as (e: BusEvent) => boolean, timeoutMs) as Promise<
        BusEvent<PayloadMatching<TopicMap, P>>
      >,
    stop: () => daemon.stop(),
  });
}

/** Replay a fixture to its end (speed 0 by default) and return what the daemon did. */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const d = await startDaemon({ ...o, loop: false });
  try {
    await d.done;
  } finally {
    await d.stop();
  }
  return { events: d.events, mqtt: d.mqtt, eventsDropped: d.eventsDropped, on: d.on };
}
