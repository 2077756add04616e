/**
 * The whole daemon (compiled CLI, `run`) against a real broker: a temporary YAML config that
 * replays a fixture into `mqtt.url`, the same replay's `--emit jsonl` as the list of what the
 * daemon attempts to publish, and comparisons that ignore what legitimately varies between runs
 * (wall-time latencies, bus envelope ids).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type CliChild, runCli, spawnCli } from './cli-process.js';
import { type Received, type Subscriber, waitFor } from './mqtt.js';
import { REPO_ROOT } from './tools.js';

export const DEVICE_ID = 'e2e-dev';
export const BASE = `edgeloom/${DEVICE_ID}`;
/** A `mqtt.stats_interval_ms` for tests that wait for the retained stats (the default is 30 s). */
export const STATS_INTERVAL_MS = 2000;
/** The bundled demo fixture (20 s: speech, faces, a fall) every daemon test replays. */
export const DEMO = join(REPO_ROOT, 'fixtures/demo');

export interface DaemonConfigOptions {
  /** Directory for the config file (and the default storage dir). */
  readonly dir: string;
  readonly brokerUrl: string;
  /** Absolute fixture directory replayed by `run`. */
  readonly fixture: string;
  /** Replay speed: 0 = as fast as possible, 1 = real time. */
  readonly speed: number;
  /** LevelDB directory; default `<dir>/state`. */
  readonly storageDir?: string;
  /** Config file name inside `dir`; default `config.yaml`. */
  readonly name?: string;
  /** Extra top-level keys merged over the defaults below (shallow per top-level key). */
  readonly extra?: Record<string, Record<string, unknown>>;
}

/** Intents the tests rely on: the kitchen-light sentence of the demo fixture. */
export const INTENTS = [
  {
    name: 'light_on',
    templates: ['turn on the {room} light', 'switch on the {room} light'],
    action: { tool: 'mqtt.publish', args: { topic: 'home/{room}/light/set', payload: 'ON' } },
  },
  {
    name: 'light_off',
    templates: ['turn off the {room} light'],
    action: { tool: 'mqtt.publish', args: { topic: 'home/{room}/light/set', payload: 'OFF' } },
  },
];

/** Write the YAML config and return its path. */
export function writeDaemonConfig(o: DaemonConfigOptions): string {
  const storageDir = o.storageDir ?? join(o.dir, 'state');
  mkdirSync(o.dir, { recursive: true });
  const config: Record<string, Record<string, unknown>> = {
    device: { id: DEVICE_ID, name: 'edgeloom e2e' },
    log: { level: 'info' },
    storage: { dir: storageDir },
    source: { mode: 'replay', replay: { fixture: o.fixture, speed: o.speed, loop: false } },
    // The reference transcriber answers each speech segment with the fixture's truth text, so the
    // intents are exercised with real sentences (no whisper weights can be fetched here).
    pipeline: { stt: { engine: 'reference' } },
    cloud: { enabled: false },
    mqtt: { url: o.brokerUrl, publish_allow: ['home/#'] },
    http: { enabled: false },
    agents: { voice: { min_match_score: 0.6, intents: INTENTS } },
  };
  for (const [k, v] of Object.entries(o.extra ?? {})) config[k] = { ...config[k], ...v };
  const path = join(o.dir, o.name ?? 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** `edgeloom run --config <path>` as a child process (logs on stdout). */
export function startDaemon(configPath: string, timeoutMs = 60_000): CliChild {
  return spawnCli(['run', '--config', configPath], { timeoutMs });
}

/** Wait until the replay inside a `run` daemon has published its last record. */
export function replayFinished(d: CliChild, timeoutMs = 40_000): Promise<void> {
  return d.waitForLog('replay finished', 'stdout', timeoutMs);
}

/** Send a signal and wait for the exit. */
export async function signalAndWait(d: CliChild, signal: NodeJS.Signals): Promise<void> {
  if (d.process.exitCode === null && d.process.signalCode === null) d.process.kill(signal);
  await d.exited;
}

/** SIGTERM, and fail (with the end of the daemon's output) unless it exits 0: a clean shutdown. */
export async function stopCleanly(d: CliChild): Promise<void> {
  await signalAndWait(d, 'SIGTERM');
  const exit = await d.exited;
  if (exit.code !== 0) {
    throw new Error(
      `daemon exited ${exit.code} on SIGTERM\n${exit.stdout.slice(-3000)}\n${exit.stderr.slice(-2000)}`,
    );
  }
}

/** One line of `replay --emit jsonl`. */
export interface Emitted {
  readonly t_ms: number;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

/** What the daemon attempts to publish for this fixture and config (deterministic, speed 0). */
export async function emitJsonl(fixture: string, configPath: string): Promise<Emitted[]> {
  const r = await runCli(['replay', fixture, '--speed', '0', '--config', configPath, '--emit', 'jsonl'], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`replay --emit jsonl exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Emitted);
}

/** The config written to `dir` and what the daemon attempts to publish with it (see emitJsonl). */
export async function demoBaseline(
  o: Omit<DaemonConfigOptions, 'fixture' | 'speed'>,
): Promise<{ config: string; baseline: Emitted[]; qos1: number }> {
  const config = writeDaemonConfig({ ...o, fixture: DEMO, speed: 0 });
  const baseline = await emitJsonl(DEMO, config);
  return { config, baseline, qos1: baseline.filter((m) => m.qos === 1).length };
}

/** Fields that differ between two runs of the same replay: wall-time latencies, envelope ids. */
const VOLATILE = new Set(['id', 'inference_ms', 'latency_ms']);

/** A message's identity across runs: topic and payload without the volatile fields. */
export function identity(topic: string, payload: unknown): string {
  if (typeof payload !== 'object' || payload === null) return `${topic} ${JSON.stringify(payload)}`;
  const kept = Object.entries(payload as Record<string, unknown>).filter(([k]) => !VOLATILE.has(k));
  return `${topic} ${JSON.stringify(Object.fromEntries(kept))}`;
}

/** Messages grouped by topic, each group in arrival order, as identities. */
export function byTopic(messages: readonly { topic: string; payload: unknown }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of messages) {
    const list = out.get(m.topic) ?? [];
    list.push(identity(m.topic, m.payload));
    out.set(m.topic, list);
  }
  return out;
}

/** Drop repeats (QoS 1 may deliver a message more than once), keeping first occurrences in order. */
export function firstOccurrences(list: readonly string[]): string[] {
  const seen = new Set<string>();
  return list.filter((x) => {
    if (seen.has(x)) return false;
    seen.add(x);
    return true;
  });
}

/**
 * The QoS 1 event messages a subscriber received: everything but the status, the privacy state,
 * the command results and Home Assistant discovery (those are not part of `--emit jsonl`).
 */
export function receivedQos1Events(messages: readonly Received[], base = BASE): Received[] {
  return messages.filter(
    (m) =>
      m.qos === 1 &&
      m.topic !== `${base}/status` &&
      m.topic !== `${base}/privacy` &&
      !m.topic.startsWith(`${base}/cmd/`) &&
      !m.topic.startsWith('homeassistant/'),
  );
}

/** Wait until a subscriber holds at least `count` QoS 1 event messages (see receivedQos1Events). */
export function waitForQos1(sub: Subscriber, count: number, timeoutMs: number): Promise<void> {
  return waitFor(
    () => receivedQos1Events(sub.messages).length >= count,
    `${count} QoS 1 messages`,
    timeoutMs,
  );
}
