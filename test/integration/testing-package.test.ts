/**
 * `edgeloom/testing` as a user gets it: `npm pack` makes the tarball, a fresh project outside the
 * repository installs it (offline: from npm's cache, pinned by this repository's own lock file, so
 * no network is needed and the versions are the tested ones), TypeScript checks the example test
 * (examples/testing/motion.test.ts) against the package's declarations — with lines that must
 * fail to compile, so types that silently became `any` are caught — and `node --test` runs it.
 * Nothing of the repository is on the consumer's resolution path: it sits in a temporary
 * directory, and only the tarball's files and its installed dependencies are there.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** npm of the Node running the tests (the same major as the project's). */
const NPM = existsSync(join(dirname(process.execPath), 'npm'))
  ? join(dirname(process.execPath), 'npm')
  : 'npm';

function run(command: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false' },
    timeout: 170_000,
  });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The consumer's lock: the tarball, and this repository's locked production dependencies (the
 * shrinkwrap or package-lock), so `npm ci --offline` takes each from npm's cache by its integrity.
 */
function consumerLock(tarball: string): object {
  const ref = `file:../${tarball}`; // from the consumer's directory
  const lockFile = ['npm-shrinkwrap.json', 'package-lock.json']
    .map((f) => join(REPO_ROOT, f))
    .find((f) => existsSync(f))!;
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean; [k: string]: unknown }>;
  };
  const root = lock.packages['']!;
  const integrity = `sha512-${createHash('sha512')
    .update(readFileSync(join(dir, tarball)))
    .digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { edgeloom: ref } },
    'node_modules/edgeloom': {
      version: root.version,
      resolved: ref,
      integrity,
      dependencies: root.dependencies,
      bin: root.bin,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && entry.dev !== true && entry.link !== true) packages[path] = entry;
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

/** Lines that must not compile: if the package's types were lost (`any`), these would, and tsc fails. */
const MUST_NOT_COMPILE = `import { replay } from 'edgeloom/testing';
const run = await replay({ fixture: 'x' });
// @ts-expect-error: a pattern no topic of the bus has
run.on('inference/face/a/b');
// @ts-expect-error: a motion event has no 'emotion'
run.on('agent/motion/motion')[0]?.payload.emotion;
// @ts-expect-error: an unknown configuration section
await replay({ fixture: 'x', config: { no_such_section: {} } });
`;

describe('edgeloom/testing from the packed tarball', () => {
  it('installs offline, type-checks and runs the example test as a user project would', () => {
    const packed = run(NPM, ['pack', '--pack-destination', dir, '--silent'], REPO_ROOT)
      .trim()
      .split('\n')
      .pop()!;
    expect(packed).toMatch(/^edgeloom-.*\.tgz$/);
    const consumer = join(dir, 'consumer');
    mkdirSync(join(consumer, 'test'), { recursive: true });
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { edgeloom: `file:../${packed}` },
      }),
    );
    writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(packed)));
    run(
      NPM,
      ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      consumer,
    );
    expect(readdirSync(join(consumer, 'node_modules', 'edgeloom'))).toEqual(
      expect.arrayContaining(['dist', 'package.json', 'fixtures']),
    );

    copyFileSync(join(REPO_ROOT, 'examples/testing/motion.test.ts'), join(consumer, 'test/motion.test.ts'));
    writeFileSync(join(consumer, 'test/types-hold.ts'), MUST_NOT_COMPILE);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // The user's own @types/node (a dev dependency of theirs; this repository's here).
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
        },
        include: ['test/*.ts'],
      }),
    );
    run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], consumer);

    const out = run(process.execPath, ['--test', '--test-reporter=tap', 'test/motion.test.ts'], consumer);
    expect(out).toMatch(/# pass 2/);
    expect(out).toMatch(/# fail 0/);
  }, 180_000);
});
