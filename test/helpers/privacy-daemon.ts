/**
 * Shared pieces of the privacy attack tests: the attacker's tool (`mosquitto_pub`, as a person on
 * the network would use it), signed commands as the owner sends them, a command/result round trip
 * over a real broker, the compiled CLI with JSON output, and a byte search over a store's files.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signCommand } from '../../daemon/actions/command-auth.js';
import { runCli } from './cli-process.js';
import type { Subscriber } from './mqtt.js';
import { waitFor } from './mqtt.js';

/** The owner's command key in the attack tests' configs (control.command_key). */
export const COMMAND_KEY = 'owner-secret-key-0123456789';

/** Run `mosquitto_pub` once (QoS 1) and wait for it to exit; rejects on a non-zero exit. */
export function mosquittoPub(
  port: number,
  topic: string,
  message: string,
  extra: readonly string[] = [],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message, ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${stderr}`)),
    );
  });
}

/** A payload signed with `key` for `command` (relative, e.g. `cmd/privacy`), fresh nonce, now. */
export function signed(command: string, body: Record<string, unknown>, key = COMMAND_KEY): string {
  return JSON.stringify(
    signCommand(key, command, body, { nowMs: Date.now(), nonce: randomBytes(8).toString('hex') }),
  );
}

/**
 * Publish a command with `send` and wait for its answer on `<base>/cmd/result` (the next one
 * carrying the `id` the payload carries; a replayed payload repeats its id). The subscriber must
 * already hold `<base>/cmd/result`.
 */
export async function roundTrip(
  sub: Subscriber,
  base: string,
  id: string,
  send: () => Promise<void>,
  timeoutMs = 15_000,
): Promise<Record<string, unknown>> {
  const results = () =>
    sub
      .on(`${base}/cmd/result`)
      .map((m) => m.payload as Record<string, unknown>)
      .filter((p) => p.id === id);
  const before = results().length;
  await send();
  await waitFor(() => results().length > before, `result of command ${id}`, timeoutMs);
  return results()[before]!;
}

/** Run the compiled CLI; fail with its output unless it exits with `code`. */
export async function cli(
  args: readonly string[],
  env: Record<string, string> = {},
  code = 0,
): Promise<string> {
  const r = await runCli(args, { env, timeoutMs: 60_000 });
  if (r.code !== code) {
    throw new Error(`edgeloom ${args.join(' ')} exited ${r.code} (wanted ${code})\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** JSON lines printed by a CLI command. */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

/** Files under `dir` whose bytes contain `needle` (LevelDB .log/.ldb files, the socket excluded). */
export function filesContaining(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    if (readFileSync(join(dir, entry.name)).includes(bytes)) found.push(entry.name);
  }
  return found;
}
