/**
 * `npm run bench [-- NAME...] [--json]`: runs every benchmark module (test/bench/*.bench.ts, compiled
 * to dist/) or the named ones. Each module exports `name` and `bench()`, which measures edgeloom
 * and its baseline in the same run and returns figures plus ratios (this machine is shared and
 * noisy, so only ratios measured side by side mean anything).
 * With --json, one JSON object `{ <name>: {...figures} }` is printed to stdout (and, when a single
 * benchmark is named, that benchmark's object alone).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchModule {
  readonly name: string;
  bench(options: { quick: boolean }): Promise<Record<string, number | string | boolean>>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  const results: Record<string, Record<string, number | string | boolean>> = {};
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as BenchModule;
    if (wanted.length > 0 && !wanted.includes(mod.name)) continue;
    if (!json) process.stderr.write(`bench ${mod.name} ...\n`);
    const r = await mod.bench({ quick });
    results[mod.name] = r;
    if (!json) {
      process.stdout.write(`\n## ${mod.name}\n`);
      for (const [k, v] of Object.entries(r)) process.stdout.write(`  ${k.padEnd(36)} ${v}\n`);
    }
  }
  if (wanted.length > 0 && Object.keys(results).length === 0) {
    process.stderr.write(`no benchmark named ${wanted.join(', ')}\n`);
    process.exit(2);
  }
  if (json) {
    const single = wanted.length === 1 ? results[wanted[0]!] : undefined;
    process.stdout.write(`${JSON.stringify(single ?? results)}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
