/**
 * Signed commands (daemon/actions/command-auth.ts): what verifies, what is refused, and that the
 * README's shell recipe (jq -cS for the canonical JSON, openssl for the HMAC) produces a signature
 * the daemon accepts — so an owner can sign from Home Assistant's shell_command or a cron job.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CommandAuth, MAX_NONCES, signCommand } from '../../daemon/actions/command-auth.js';
import { toolsAvailable } from '../helpers/tools.js';

const KEY = 'a-sixteen-plus-char-key';
const NOW = 1_800_000_000_000;

function auth(now = () => NOW): CommandAuth {
  return new CommandAuth({ key: KEY, maxSkewMs: 120_000, now });
}

describe('CommandAuth', () => {
  it('accepts a signed payload once and returns it without ts, nonce and sig', () => {
    const a = auth();
    const body = signCommand(
      KEY,
      'cmd/privacy',
      { tier: 'public', scope: 'mic0' },
      { nowMs: NOW, nonce: 'n0nce-0001' },
    );
    expect(a.verify('cmd/privacy', body)).toEqual({ tier: 'public', scope: 'mic0' });
    expect(() => a.verify('cmd/privacy', body)).toThrow(/nonce already used/);
  });

  it('does not depend on key order, but on every value and on the command topic', () => {
    const a = auth();
    const signedBody = signCommand(
      KEY,
      'cmd/privacy',
      { scope: 'mic0', tier: 'public' },
      { nowMs: NOW, nonce: 'order-0001' },
    );
    const reordered = Object.fromEntries(Object.entries(signedBody).reverse());
    expect(a.verify('cmd/privacy', reordered)).toEqual({ scope: 'mic0', tier: 'public' });
    const b = signCommand(
      KEY,
      'cmd/privacy',
      { tier: 'private', scope: 'mic0' },
      { nowMs: NOW, nonce: 'edit-00001' },
    );
    expect(() => a.verify('cmd/privacy', { ...b, tier: 'public' })).toThrow(/bad signature/);
    const c = signCommand(KEY, 'cmd/privacy', {}, { nowMs: NOW, nonce: 'topic-0001' });
    expect(() => a.verify('cmd/forget', c)).toThrow(/bad signature/);
  });

  it('refuses a wrong key, stale or future ts, malformed fields, and any signature without a key', () => {
    const a = auth();
    const wrong = signCommand(
      'another-key-of-16-chars',
      'cmd/forget',
      {},
      { nowMs: NOW, nonce: 'wrong-0001' },
    );
    expect(() => a.verify('cmd/forget', wrong)).toThrow(/bad signature/);
    const old = signCommand(KEY, 'cmd/forget', {}, { nowMs: NOW - 121_000, nonce: 'stale-0001' });
    expect(() => a.verify('cmd/forget', old)).toThrow(/away from the device clock/);
    const future = signCommand(KEY, 'cmd/forget', {}, { nowMs: NOW + 121_000, nonce: 'futur-0001' });
    expect(() => a.verify('cmd/forget', future)).toThrow(/away from the device clock/);
    const ok = signCommand(KEY, 'cmd/forget', {}, { nowMs: NOW, nonce: 'fine-00001' });
    expect(() => a.verify('cmd/forget', { ...ok, sig: 'zz' })).toThrow(/64 hex/);
    expect(() => a.verify('cmd/forget', { ...ok, nonce: 'x' })).toThrow(/nonce must be/);
    const none = new CommandAuth({ key: '', maxSkewMs: 120_000, now: () => NOW });
    expect(() => none.verify('cmd/forget', ok)).toThrow(/not enabled/);
    for (const f of [() => a.verify('cmd/forget', wrong), () => none.verify('cmd/forget', ok)]) {
      expect(f).toThrow(expect.objectContaining({ code: 'E_CMD_AUTH' }));
    }
  });

  it(`remembers nonces for twice the window, at most ${MAX_NONCES}, and then fails closed`, () => {
    let now = NOW;
    const a = auth(() => now);
    const sign = (i: number) => signCommand(KEY, 'cmd/forget', {}, { nowMs: now, nonce: `bulk-${i}-nonce` });
    for (let i = 0; i < MAX_NONCES; i++) a.verify('cmd/forget', sign(i));
    expect(() => a.verify('cmd/forget', sign(MAX_NONCES))).toThrow(/too many signed commands/);
    // Past the window the old nonces expire (their ts could no longer pass the skew check anyway).
    now += 240_001;
    expect(a.verify('cmd/forget', sign(MAX_NONCES))).toEqual({});
  });

  it.runIf(toolsAvailable('jq', 'openssl'))(
    "the README's jq + openssl recipe signs what the daemon accepts",
    () => {
      const script = [
        'set -eu',
        `body=$(jq -cnS --arg n "$NONCE" --argjson ts "$TS" '{tier:"public",scope:"mic0",ts:$ts,nonce:$n}')`,
        `sig=$(printf 'cmd/privacy\\n%s' "$body" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)`,
        `jq -c --arg s "$sig" '. + {sig:$s}' <<<"$body"`,
      ].join('\n');
      const r = spawnSync('bash', ['-c', script], {
        encoding: 'utf8',
        env: { ...process.env, KEY, NONCE: 'shell-nonce-01', TS: String(NOW) },
      });
      expect(r.status, r.stderr).toBe(0);
      const payload = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(auth().verify('cmd/privacy', payload)).toEqual({ tier: 'public', scope: 'mic0' });
    },
  );
});
