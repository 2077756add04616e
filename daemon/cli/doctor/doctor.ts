/**
 * `edgeloom doctor`: is this machine ready to run the given configuration? Every check reports
 * honestly what it found (no camera, no serial port, broker down, ...) with the fix; a `fail` is
 * something the configuration needs, a `warn` something worth knowing. The checks only look:
 * nothing is opened, written or started (the store is read back from a copy, storage.ts).
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { EdgeloomConfig } from '../../config/index.js';
import { ChecksumCache } from '../../models/checksum.js';
import { loadManifest } from '../../models/manifest.js';
import { checkEntryFiles } from '../../models/verify.js';
import { packageRoot } from '../../util/package-root.js';
import { checkBoard } from './board.js';
import { checkAudio, checkCamera, checkPrograms, checkSerial, needsOf } from './devices.js';
import type { DoctorProbe } from './probe.js';
import { checkStorage } from './storage.js';
import type { CheckLevel, CheckResult } from './types.js';

export type { CheckLevel, CheckResult } from './types.js';

/** The oldest Node edgeloom is tested on (package.json engines; CI runs 22 and 24). */
export const MIN_NODE = [22, 12] as const;

export interface DoctorOptions {
  readonly probe: DoctorProbe;
  /** Serial port paths from the OS (default: serialport's SerialPort.list()). */
  readonly listSerialPorts?: () => Promise<readonly string[]>;
  /** Node version to judge (default process.versions.node). */
  readonly nodeVersion?: string;
  /** Directory relative config paths are resolved against (default the working directory). */
  readonly baseDir?: string;
  /** Time limit for the broker TCP connect, ms (default 2000). */
  readonly brokerTimeoutMs?: number;
  /** Where the board's device-tree model string is read (default BOARD_MODEL_FILES). */
  readonly boardModelFiles?: readonly string[];
}

async function serialportList(): Promise<readonly string[]> {
  const { SerialPort } = await import('serialport');
  return (await SerialPort.list()).map((p) => p.path);
}

export function checkNode(version: string): CheckResult {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { level: 'ok', check: 'node', detail: `v${version}` }
    : {
        level: 'fail',
        check: 'node',
        detail: `v${version} is older than ${MIN_NODE.join('.')}`,
        fix: 'install the .deb, which bundles Node 24 LTS, or Node 22 or later from https://nodejs.org or NodeSource',
      };
}

/** The model files the enabled stages load, checked against their sha256; others summarised. */
async function checkModels(config: EdgeloomConfig, baseDir: string): Promise<CheckResult[]> {
  // Same fallback as `edgeloom models`: the default relative paths, when absent here, mean the
  // installed package's own models/.
  const path = (value: string, fallback: string): string => {
    const abs = isAbsolute(value) ? value : resolve(baseDir, value);
    return value === fallback && !existsSync(abs) ? join(packageRoot(), fallback) : abs;
  };
  const manifestFile = path(config.models.manifest, 'models/manifest.json');
  const modelsDir = path(config.models.dir, 'models');
  if (!existsSync(manifestFile)) {
    // What a fresh install-service without seeding left behind: say where and how to put it there.
    return [
      {
        level: 'fail',
        check: 'models',
        detail: `no model manifest at ${manifestFile} (models.manifest)`,
        fix: `sudo edgeloom install-service (seeds ${dirname(manifestFile)} with the manifest and the bundled models), or point models.dir and models.manifest at ${join(packageRoot(), 'models')}`,
      },
    ];
  }
  let manifest: ReturnType<typeof loadManifest>;
  try {
    manifest = loadManifest(manifestFile);
  } catch (err) {
    return [
      {
        level: 'fail',
        check: 'models',
        detail: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err),
        fix: 'set models.manifest, or copy models/ from the package (see README)',
      },
    ];
  }
  const p = config.pipeline;
  const wanted = new Set<string>();
  if (p.vad.enabled) wanted.add(p.vad.model);
  if (p.face.enabled) for (const id of [p.face.detector_model, p.face.emotion_model]) wanted.add(id);
  if (p.stt.enabled) wanted.add(p.stt.model);
  const cache = new ChecksumCache();
  const out: CheckResult[] = [];
  for (const id of wanted) {
    const entry = manifest.models.find((m) => m.id === id);
    if (entry === undefined) {
      out.push({
        level: 'fail',
        check: `model ${id}`,
        detail: `not in ${manifestFile}`,
        fix: 'fix the model id in pipeline.*',
      });
      continue;
    }
    const files = await checkEntryFiles(entry, modelsDir, cache);
    const missing = files.filter((f) => f.state === 'missing').map((f) => f.absPath);
    const bad = files.filter((f) => f.state === 'mismatch').map((f) => f.absPath);
    if (missing.length > 0) {
      out.push({
        level: 'fail',
        check: `model ${id}`,
        detail: `missing ${missing.join(', ')}`,
        fix: entry.bundled ? `copy the package's models/ to ${modelsDir}` : `edgeloom models fetch ${id}`,
      });
    } else if (bad.length > 0) {
      out.push({
        level: 'fail',
        check: `model ${id}`,
        detail: `sha256/size mismatch: ${bad.join(', ')}`,
        fix: `delete the file(s) and run edgeloom models fetch ${id}`,
      });
    } else {
      const unpinned = files.some((f) => f.state === 'unpinned')
        ? ' (unpinned: no sha256 in the manifest yet)'
        : '';
      out.push({
        level: 'ok',
        check: `model ${id}`,
        detail: `${files.length} file(s), sha256 verified${unpinned}`,
      });
    }
  }
  const others = manifest.models.length - wanted.size;
  if (others > 0)
    out.push({
      level: 'ok',
      check: 'models',
      detail: `${others} other manifest entries not used by this configuration`,
    });
  return out;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'mqtt:': 1883,
  'mqtts:': 8883,
  'ws:': 80,
  'wss:': 443,
};

async function checkBroker(
  config: EdgeloomConfig,
  probe: DoctorProbe,
  timeoutMs: number,
): Promise<CheckResult> {
  const { url, embedded } = config.mqtt;
  if (url === '') {
    return { level: 'ok', check: 'broker', detail: `embedded broker on ${embedded.host}:${embedded.port}` };
  }
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port === '' ? (DEFAULT_PORTS[u.protocol] ?? 1883) : Number(u.port);
  } catch {
    return {
      level: 'fail',
      check: 'broker',
      detail: `mqtt.url ${url} is not a URL`,
      fix: 'mqtt://host:1883',
    };
  }
  // TLS and WebSocket brokers are only checked for an open port.
  const plain = url.startsWith('mqtt:');
  const answer = await probe.brokerAnswer(host, port, timeoutMs, plain);
  if (answer === 'mqtt')
    return { level: 'ok', check: 'broker', detail: `${host}:${port} answers MQTT (CONNACK)` };
  if (answer === 'tcp' && !plain) {
    return {
      level: 'ok',
      check: 'broker',
      detail: `${host}:${port} accepts connections (TLS/WebSocket not checked)`,
    };
  }
  return {
    level: 'fail',
    check: 'broker',
    detail:
      answer === 'tcp'
        ? `${host}:${port} (mqtt.url) accepts TCP but did not answer an MQTT CONNECT within ${timeoutMs} ms`
        : `${host}:${port} (mqtt.url) did not accept a TCP connection within ${timeoutMs} ms`,
    fix: 'start the broker (systemctl status mosquitto), check mqtt.url and the firewall',
  };
}

const MIB = 1024 * 1024;

function checkMemory(config: EdgeloomConfig): CheckResult {
  const budgetMb = config.budget.memory_mb;
  const totalMb = Math.round(totalmem() / MIB);
  // libuv reads MemAvailable (page cache counts as free), which is what a new process can get.
  const freeMb = Math.round(freemem() / MIB);
  const detail = `${freeMb} MiB available of ${totalMb} MiB; budget.memory_mb ${budgetMb}`;
  if (totalMb < budgetMb) {
    return { level: 'fail', check: 'memory', detail, fix: `lower budget.memory_mb below ${totalMb}` };
  }
  if (freeMb < budgetMb) {
    return { level: 'warn', check: 'memory', detail, fix: 'stop other services or lower budget.memory_mb' };
  }
  return { level: 'ok', check: 'memory', detail };
}

/** Free space where the LevelDB logs and the outbox go (the nearest existing parent when absent). */
async function checkDisk(config: EdgeloomConfig, baseDir: string): Promise<CheckResult> {
  let dir = isAbsolute(config.storage.dir) ? config.storage.dir : resolve(baseDir, config.storage.dir);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const s = await statfs(dir);
  const freeMb = Math.round((s.bavail * s.bsize) / MIB);
  const detail = `${freeMb} MiB free at ${dir} (storage.dir ${config.storage.dir})`;
  if (freeMb < 100)
    return { level: 'fail', check: 'disk', detail, fix: 'free space: the outbox and event logs need room' };
  if (freeMb < 1024) return { level: 'warn', check: 'disk', detail, fix: 'keep at least 1 GiB free' };
  return { level: 'ok', check: 'disk', detail };
}

function checkSystemd(probe: DoctorProbe): CheckResult {
  if (probe.which('systemctl') === undefined) {
    return {
      level: 'warn',
      check: 'systemd',
      detail: 'systemctl not found',
      fix: 'run under systemd: see systemd/edgeloom.service',
    };
  }
  const r = probe.exec('systemctl', ['is-active', 'edgeloom'], 5000);
  const state = r.stdout.trim() || r.stderr.trim().split('\n')[0] || `exit ${r.status}`;
  return state === 'active'
    ? { level: 'ok', check: 'systemd', detail: 'edgeloom.service is active' }
    : {
        level: 'warn',
        check: 'systemd',
        detail: `edgeloom.service: ${state}`,
        fix: 'install systemd/edgeloom.service, then systemctl enable --now edgeloom',
      };
}

/** Run every check, in the order they are printed. */
export async function runDoctor(config: EdgeloomConfig, options: DoctorOptions): Promise<CheckResult[]> {
  const { probe } = options;
  const baseDir = options.baseDir ?? process.cwd();
  const needs = needsOf(config);
  const results: CheckResult[] = [checkNode(options.nodeVersion ?? process.versions.node)];
  results.push(...checkBoard(probe, config, options.boardModelFiles));
  results.push(checkCamera(probe, config, needs));
  results.push(checkAudio(probe, needs));
  results.push(await checkSerial(probe, config, needs, options.listSerialPorts ?? serialportList));
  results.push(...checkPrograms(probe, needs));
  results.push(...(await checkModels(config, baseDir)));
  results.push(await checkBroker(config, probe, options.brokerTimeoutMs ?? 2000));
  results.push(checkMemory(config));
  results.push(await checkDisk(config, baseDir));
  results.push(
    ...(await checkStorage(
      isAbsolute(config.storage.dir) ? config.storage.dir : resolve(baseDir, config.storage.dir),
      config,
    )),
  );
  results.push(checkSystemd(probe));
  return results;
}

/** `ok    camera  /dev/video0 (MJPG,YUYV)` and, for warn/fail, `  → fix`. Columns are aligned. */
export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length));
  return results
    .map((r) => {
      const line = `${r.level.padEnd(4)}  ${r.check.padEnd(width)}  ${r.detail}`;
      return r.fix !== undefined && r.level !== 'ok' ? `${line}  → ${r.fix}` : line;
    })
    .join('\n');
}

/** 1 when any check failed, else 0. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.level === 'fail') ? 1 : 0;
}

export function countLevels(results: readonly CheckResult[]): Record<CheckLevel, number> {
  const counts: Record<CheckLevel, number> = { ok: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.level] += 1;
  return counts;
}
