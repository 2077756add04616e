/**
 * The error-code table (daemon/errors.ts ERRORS) is the one place codes are declared: every code
 * in it is raised where it says and nowhere else unlisted, no module spells a code as a string
 * (they refer to `ErrorCode.E_…`, so a code missing from the table does not compile), and the
 * README's "Error codes" table is the same table. On a mismatch the expected README block is in
 * the assertion's diff, ready to paste.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode as Code,
  EdgeloomError,
  ERRORS,
  type ErrorCode,
  isErrorCode,
} from '../../daemon/errors.js';
import { REPO_ROOT } from '../helpers/tools.js';

const DAEMON = join(REPO_ROOT, 'daemon');
const TABLE = 'errors.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** daemon-relative path (with `/`) → source text, the table itself left out. */
const files = new Map(
  sources(DAEMON)
    .map((f) => [relative(DAEMON, f).split(sep).join('/'), readFileSync(f, 'utf8')] as const)
    .filter(([path]) => path !== TABLE),
);

/**
 * Where each code is raised: every `ErrorCode.E_…` reference except the ones that only compare
 * (`isEdgeloomError(err, ErrorCode.X)`, `case ErrorCode.X:`, `=== ErrorCode.X`).
 */
function raisedIn(sourcesByPath: ReadonlyMap<string, string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const comparing = [
    /isEdgeloomError\(\s*[^,()]*(?:\([^()]*\)[^,()]*)*,\s*ErrorCode\.(E_[A-Z0-9_]+)/g,
    /(?:\bcase|===|!==)\s*ErrorCode\.(E_[A-Z0-9_]+)/g,
  ];
  for (const [path, text] of sourcesByPath) {
    const compared = new Set<number>();
    for (const re of comparing) {
      for (const m of text.matchAll(re)) compared.add(m.index + m[0].lastIndexOf('ErrorCode.'));
    }
    for (const m of text.matchAll(/ErrorCode\.(E_[A-Z0-9_]+)/g)) {
      if (compared.has(m.index)) continue;
      const code = m[1]!;
      if (!out.has(code)) out.set(code, new Set());
      out.get(code)!.add(path);
    }
  }
  return out;
}

/** Where the README says a code is raised: the folders (or top-level files) of its modules. */
function units(paths: readonly string[]): string {
  const seen = [...new Set(paths.map((p) => (p.includes('/') ? `${p.split('/')[0]}/` : p)))];
  return seen.map((u) => `\`${u}\``).join(', ');
}

function readmeTable(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, spec]) => `| \`${code}\` | ${spec.meaning.replace(/\|/g, '\\|')} | ${units(spec.raisedIn)} |`,
  );
  return ['| code | meaning | raised in |', '|---|---|---|', ...rows].join('\n');
}

describe('error codes', () => {
  const codes = Object.keys(ERRORS) as ErrorCode[];

  it('declares each code once, by its own name, with a meaning', () => {
    for (const code of codes) {
      expect(code).toMatch(/^E_[A-Z0-9_]+$/);
      expect(Code[code]).toBe(code);
      expect(isErrorCode(code)).toBe(true);
      expect(ERRORS[code].meaning.length).toBeGreaterThan(10);
    }
    expect(isErrorCode('E_NOT_IN_THE_TABLE')).toBe(false);
    expect(new EdgeloomError(Code.E_USAGE, 'x').code).toBe('E_USAGE');
  });

  it('raises every code where the table says, and nowhere it does not say', () => {
    const found = raisedIn(files);
    const table = new Map(codes.map((c) => [c, [...ERRORS[c].raisedIn].sort()]));
    const actual = new Map(codes.map((c) => [c, [...(found.get(c) ?? [])].sort()]));
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(table));
    expect([...found.keys()].filter((c) => !isErrorCode(c))).toEqual([]);
  });

  it('can tell a raise from a comparison, so the check above can fail', () => {
    const planted = raisedIn(
      new Map([
        [
          'a.ts',
          'if (isEdgeloomError(err, ErrorCode.E_BUS_CLOSED)) return;\nswitch (c) { case ErrorCode.E_CLOUD_TIMEOUT: }',
        ],
        ['b.ts', 'throw new EdgeloomError(ErrorCode.E_BUS_CLOSED, "closed");'],
      ]),
    );
    expect(Object.fromEntries([...planted].map(([c, s]) => [c, [...s]]))).toEqual({ E_BUS_CLOSED: ['b.ts'] });
  });

  it('spells no code as a string literal outside the table', () => {
    const literal = /['"](E_[A-Z][A-Z0-9_]*)['"]/g;
    const found: string[] = [];
    for (const [path, text] of files) {
      for (const m of text.matchAll(literal)) found.push(`${path}: ${m[1]}`);
    }
    expect(found).toEqual([]);
  });

  it('names only codes of the table in the documentation', () => {
    for (const doc of ['README.md', 'fixtures/README.md']) {
      const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
      const unknown = [...new Set(text.match(/\bE_[A-Z][A-Z0-9_]*\b/g) ?? [])].filter((c) => !isErrorCode(c));
      expect(unknown, doc).toEqual([]);
    }
  });

  it("matches the README's error-code table", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('<!-- error-codes:start -->');
    const end = readme.indexOf('<!-- error-codes:end -->');
    expect(start, 'README.md has an <!-- error-codes:start --> … end block').toBeGreaterThan(0);
    const block = readme.slice(start + '<!-- error-codes:start -->'.length, end).trim();
    expect(block).toBe(readmeTable());
  });
});
