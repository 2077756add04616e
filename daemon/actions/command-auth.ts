/**
 * Signed MQTT commands: the credential that lets a command from the network do what only the
 * device's owner may (loosen a privacy tier, forget, override a safety pause).
 *
 * MQTT 3.1.1 carries no metadata with a message, so the proof travels in the payload: the
 * command's own JSON fields plus
 *   `ts`    — the sender's clock, ms since the epoch;
 *   `nonce` — 8 to 64 characters [A-Za-z0-9_-], new for every command;
 *   `sig`   — hex HMAC-SHA256 with `control.command_key` over
 *             `<command topic relative to the base, e.g. cmd/privacy>` + "\n" +
 *             the canonical JSON of the payload without `sig` (keys sorted, no spaces: `jq -cS`).
 * The topic is part of what is signed, so a signature for `cmd/privacy` does not authorise
 * `cmd/forget`. A command is refused (`E_CMD_AUTH`) when the MAC does not match, when `ts` is
 * more than `control.max_clock_skew_s` away from the device's clock, or when its nonce was seen
 * within that window (a replayed capture). Seen nonces are kept for twice the window, at most
 * MAX_NONCES; when that many fresh signed commands are pending, the next one is refused (fail
 * closed) rather than forgetting a nonce that could then be replayed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';

/** Nonces remembered at most (far above the 20 commands/s rate bound times the window). */
export const MAX_NONCES = 8192;
const NONCE_RE = /^[A-Za-z0-9_-]{8,64}$/;
const SIG_RE = /^[0-9a-f]{64}$/;
/** The fields a signature adds to a command's payload. */
export const AUTH_FIELDS = ['ts', 'nonce', 'sig'] as const;

/** The text a signature covers. */
export function signingText(command: string, body: Readonly<Record<string, unknown>>): string {
  const { sig: _sig, ...rest } = body;
  return `${command}\n${canonicalJson(rest)}`;
}

/** Sign a command payload (the CLI, scripts and tests); returns the payload with ts, nonce and sig. */
export function signCommand(
  key: string,
  command: string,
  body: Readonly<Record<string, unknown>>,
  options: { nowMs: number; nonce: string },
): Record<string, unknown> {
  const unsigned = { ...body, ts: options.nowMs, nonce: options.nonce };
  const sig = createHmac('sha256', key).update(signingText(command, unsigned)).digest('hex');
  return { ...unsigned, sig };
}

export interface CommandAuthOptions {
  /** control.command_key; empty = signed commands are refused. */
  readonly key: string;
  /** Largest |device clock − ts|, ms. */
  readonly maxSkewMs: number;
  /** Wall clock, ms since the epoch. */
  readonly now: () => number;
}

export class CommandAuth {
  /** nonce → time it may be forgotten, in insertion (≈ time) order. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly o: CommandAuthOptions) {}

  /** Whether the payload claims a signature (then it must verify: no silent fallback). */
  static isSigned(body: Readonly<Record<string, unknown>>): boolean {
    return body.sig !== undefined;
  }

  /**
   * Check a signed payload for `command`; returns it without ts, nonce and sig. Throws
   * `E_CMD_AUTH` naming what is wrong.
   */
  verify(command: string, body: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const fail = (why: string): never => {
      throw new EdgeloomError(ErrorCode.E_CMD_AUTH, `signed command refused: ${why}`, { where: command });
    };
    if (this.o.key === '') fail('signed commands are not enabled on this device (control.command_key)');
    const { ts, nonce, sig } = body;
    if (typeof sig !== 'string' || !SIG_RE.test(sig)) fail('sig must be 64 hex digits');
    if (typeof ts !== 'number' || !Number.isFinite(ts)) fail('ts must be ms since the epoch');
    if (typeof nonce !== 'string' || !NONCE_RE.test(nonce))
      fail('nonce must be 8-64 characters [A-Za-z0-9_-]');
    const expected = createHmac('sha256', this.o.key).update(signingText(command, body)).digest();
    if (!timingSafeEqual(expected, Buffer.from(sig as string, 'hex'))) fail('bad signature');
    const now = this.o.now();
    if (Math.abs(now - (ts as number)) > this.o.maxSkewMs) {
      fail(`ts is ${Math.round((now - (ts as number)) / 1000)} s away from the device clock`);
    }
    this.expire(now);
    if (this.seen.has(nonce as string)) fail('nonce already used (a replayed command)');
    if (this.seen.size >= MAX_NONCES) fail('too many signed commands in the replay window; retry later');
    this.seen.set(nonce as string, now + 2 * this.o.maxSkewMs);
    const { ts: _ts, nonce: _nonce, sig: _sig, ...rest } = body;
    return rest;
  }

  private expire(now: number): void {
    for (const [nonce, until] of this.seen) {
      if (until > now) break; // insertion order is time order: the rest are newer
      this.seen.delete(nonce);
    }
  }
}
