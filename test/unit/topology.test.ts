/**
 * The message path of daemon/bus/topology.ts, checked two ways:
 * - closed: every subscribed topic has a producer, every RPC a responder and a requester, every
 *   published topic a consumer or an external use (MQTT, the dashboard, the event stream);
 * - true to the sources: each module a row names publishes, subscribes or answers that topic,
 *   and every literal publish, subscribe and respond in daemon/ is in the table. MQTT rows are the
 *   bridge's own patterns (actions/mqtt-contract.ts), dashboard rows are topics its pages read.
 * The sources are read as text (comments stripped), as test/unit/layout.test.ts reads imports.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MQTT_SOURCE_PATTERNS } from '../../daemon/actions/mqtt-contract.js';
import { patternMatches } from '../../daemon/bus/topic-match.js';
import { RPC_ROUTES, TOPIC_ROUTES } from '../../daemon/bus/topology.js';
import { REPO_ROOT } from '../helpers/tools.js';

const DAEMON = join(REPO_ROOT, 'daemon');
const STATIC = join(DAEMON, 'observe/http/static');
/** The maps and the table itself name every topic in their docs and types: not users of them. */
const NOT_USERS = new Set(['bus/topics.ts', 'bus/rpc.ts', 'bus/patterns.ts', 'bus/topology.ts']);
const TOPIC_START = /^(sensor|inference|router|action|agent|tool|system|plugin|rpc)\//;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** daemon-relative path (with `/`) → its code without comments. */
const code = new Map(
  sources(DAEMON).map((path) => [
    relative(DAEMON, path).split(sep).join('/'),
    readFileSync(path, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:'"`])\/\/.*$/gm, '$1'),
  ]),
);

/** A template literal's `${…}` levels as one concrete level: `sensor/${kind}/x` → `sensor/x/x`. */
const concrete = (literal: string): string => literal.replace(/\$\{[^}]*\}/g, 'x');
/** A row key as one topic it stands for: `sensor/+/+/status` → `sensor/x/x/status`. */
const sample = (key: string): string => key.replaceAll('+', 'x');
/** Does a literal (a topic, or a pattern with `+`/`#`) reach the row key? */
const reaches = (literal: string, key: string): boolean => {
  const t = concrete(literal);
  return /[+#]/.test(t) ? patternMatches(t, sample(key)) : patternMatches(key, t);
};

/** Topic-like string and template literals in a module's code (after `re`'s capture group 2). */
function found(re: RegExp): { module: string; literal: string }[] {
  const out: { module: string; literal: string }[] = [];
  for (const [module, text] of code) {
    if (NOT_USERS.has(module)) continue;
    for (const m of text.matchAll(re)) {
      const literal = m[2]!;
      if (TOPIC_START.test(literal)) out.push({ module, literal });
    }
  }
  return out;
}
/** A one-line string or template literal (a topic never spans lines; a line end resyncs the quotes). */
const LIT = String.raw`(['\`])((?:[^'\`$\n]|\$(?!\{)|\$\{[^}\n]*\})+)\1`;
/** `.publish('t'`, `.publishAny(…)`, the replay's `this.publish('camera', \`t\``, and topics kept in `…Topic =`. */
const PUBLISHES = [
  ...found(new RegExp(String.raw`\.publish(?:Any|Latest)?\(\s*(?:'[a-z]+',\s*)?${LIT}`, 'g')),
  ...found(new RegExp(String.raw`\b\w*[tT]opic\s*=\s*${LIT}`, 'g')),
];
/** `.subscribe('p'` and the agents' `{ pattern: 'p' }` (an `rpc/` pattern names responders, not a subscription). */
const SUBSCRIBES = [
  ...found(new RegExp(String.raw`\.subscribe\(\s*${LIT}`, 'g')),
  ...found(new RegExp(String.raw`\bpattern:\s*${LIT}`, 'g')),
].filter((s) => !s.literal.startsWith('rpc/'));
const RESPONDS = found(new RegExp(String.raw`\.respond\(\s*${LIT}`, 'g'));

const topicRows = Object.entries(TOPIC_ROUTES);
const rpcRows = Object.entries(RPC_ROUTES);
/** Does the module's code carry a literal that reaches the key? */
const mentions = (module: string, key: string): boolean =>
  [...(code.get(module) ?? '').matchAll(new RegExp(LIT, 'g'))].some(
    (m) => TOPIC_START.test(m[2]!) && reaches(m[2]!, key),
  );

describe('topology: the message path is closed', () => {
  it('every topic has a publisher, and a subscriber or an external use', () => {
    const dead = topicRows.filter(([, r]) => r.publishers.length === 0).map(([k]) => k);
    const unread = topicRows
      .filter(([, r]) => r.subscribers.length === 0 && r.external.length === 0)
      .map(([k]) => k);
    expect({ dead, unread }).toEqual({ dead: [], unread: [] });
  });

  it('every RPC has a responder and a requester', () => {
    const unanswered = rpcRows.filter(([, r]) => r.responders.length === 0).map(([k]) => k);
    const unasked = rpcRows.filter(([, r]) => r.requesters.length === 0).map(([k]) => k);
    expect({ unanswered, unasked }).toEqual({ unanswered: [], unasked: [] });
  });

  it('names only modules that exist', () => {
    const named = [
      ...topicRows.flatMap(([, r]) => [...r.publishers, ...r.subscribers]),
      ...rpcRows.flatMap(([, r]) => [...r.requesters, ...r.responders]),
    ];
    expect(named.filter((m) => !existsSync(join(DAEMON, m)))).toEqual([]);
  });
});

describe('topology: the table is what the sources do', () => {
  it('found the calls it checks (the scan still reads the code)', () => {
    expect(PUBLISHES.length).toBeGreaterThan(15);
    expect(SUBSCRIBES.length).toBeGreaterThan(10);
    expect(RESPONDS.length).toBeGreaterThanOrEqual(5);
  });

  it('every module a row names uses that topic or RPC', () => {
    const unbacked: string[] = [];
    for (const [key, r] of topicRows)
      for (const m of [...r.publishers, ...r.subscribers])
        if (!mentions(m, key)) unbacked.push(`${key}: ${m}`);
    for (const [key, r] of rpcRows) {
      for (const m of r.responders)
        if (!RESPONDS.some((f) => f.module === m && reaches(f.literal, key)))
          unbacked.push(`${key}: ${m} answers`);
      for (const m of r.requesters)
        if (!/\.request\(/.test(code.get(m) ?? '')) unbacked.push(`${key}: ${m} asks`);
    }
    expect(unbacked).toEqual([]);
  });

  it('every literal publish, subscribe and respond in daemon/ is in the table', () => {
    const missing: string[] = [];
    const check = (
      calls: readonly { module: string; literal: string }[],
      rows: [string, readonly string[]][],
      what: string,
    ): void => {
      for (const { module, literal } of calls) {
        const hit = rows.filter(([key]) => reaches(literal, key));
        if (hit.length === 0) missing.push(`${module} ${what} ${literal}: no such topic in the table`);
        for (const [key, modules] of hit)
          if (!modules.includes(module)) missing.push(`${module} ${what} ${literal} (row ${key})`);
      }
    };
    check(
      PUBLISHES,
      topicRows.map(([k, r]) => [k, r.publishers]),
      'publishes',
    );
    check(
      SUBSCRIBES.filter((s) => s.literal !== '#'),
      topicRows.map(([k, r]) => [k, r.subscribers]),
      'subscribes',
    );
    check(
      RESPONDS,
      rpcRows.map(([k, r]) => [k, r.responders]),
      'answers',
    );
    expect(missing).toEqual([]);
  });

  it("the MQTT rows are exactly the bridge's patterns", () => {
    const bridged = topicRows
      .filter(([key]) => MQTT_SOURCE_PATTERNS.some((p) => patternMatches(p, sample(key))))
      .map(([k]) => k);
    const marked = topicRows.filter(([, r]) => r.external.includes('mqtt')).map(([k]) => k);
    expect(marked).toEqual(bridged);
  });

  it('the dashboard rows are topics its pages read', () => {
    const pages = readdirSync(STATIC)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(STATIC, f), 'utf8'))
      .join('\n');
    const unread = topicRows
      .filter(([, r]) => r.external.includes('dashboard'))
      .map(([k]) => k)
      .filter((k) => !pages.includes(k.split('+')[0]!));
    expect(unread).toEqual([]);
  });
});
