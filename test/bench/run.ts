/**
 * `npm run bench [-- NAME...] [--quick] [--json] [--check] [--OPTION VALUE...]`: runs every
 * benchmark module (test/bench/*.bench.ts, compiled to dist/) or the named ones. Each module
 * exports `name` and `bench()`, which measures edgeloom and its baseline in the same run and
 * returns figures plus ratios (this machine is shared and noisy, so only ratios measured side by
 * side mean anything).
 *
 * A module may export `targets`: limits on its own figures (`a.b` names a value inside a figure
 * that is an object, e.g. `ratio_vs_mqemitter_by_topics.2000`). They are printed beside the
 * figures, included in the JSON (`targets: [{ figure, max|min, value, met }]`), and with
 * `--check` the run exits 1 when one is missed (a missing or non-numeric figure counts as missed).
 *
 * `--quick` runs each benchmark's short form; with no name it runs only the modules that export
 * `quick = true` (the subset `.ci/run` runs), and each target uses its `quick` margin instead:
 * wider, for a shared CI machine, and `'skip'` for a target on an absolute time (a noisy machine
 * cannot promise one; only ratios are checked there).
 *
 * With --json, one JSON object `{ <name>: {...figures} }` is printed to stdout (and, when a single
 * benchmark is named, that benchmark's object alone). Options a benchmark reads for itself
 * (`--hours 24` for the soak) are passed through in `args`. With no name, every benchmark runs and
 * `all` is set, so long ones (the soak) run their short form.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Figure = number | string | boolean;
/** Figures by name; a figure may be a table of numbers (a value per topic count, per stage, ...). */
export type Figures = Record<string, Figure | Readonly<Record<string, number>>>;

export interface BenchOptions {
  /** `--quick`: a shorter run. */
  readonly quick: boolean;
  /** Every benchmark is running (no name given): keep long ones short. */
  readonly all: boolean;
  /** The command line after `npm run bench --`, for options a module reads itself. */
  readonly args: readonly string[];
}

/** A limit on one figure: `max` (figure ≤ max) and/or `min` (figure ≥ min). */
export interface BenchTarget {
  readonly figure: string;
  readonly max?: number;
  readonly min?: number;
  /** The limit under `--quick` (replaces min/max), or 'skip' to leave it out there. Default: the same. */
  readonly quick?: { readonly min?: number; readonly max?: number } | 'skip';
  /** What the limit protects, printed beside it. */
  readonly why: string;
}

export interface BenchModule {
  readonly name: string;
  readonly targets?: readonly BenchTarget[];
  /** Part of the `--quick` subset (ratios that fit a CI run). */
  readonly quick?: boolean;
  bench(options: BenchOptions): Promise<Figures>;
}

export interface TargetResult {
  readonly figure: string;
  readonly max?: number;
  readonly min?: number;
  readonly value: number | string | boolean | undefined;
  readonly met: boolean;
  readonly why: string;
}

/** A figure by name, or a value inside an object figure by `name.key`. */
export function figureValue(figures: Figures, path: string): Figure | undefined {
  const direct = figures[path];
  if (direct !== undefined) return typeof direct === 'object' ? undefined : direct;
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const table = figures[path.slice(0, dot)];
  return typeof table === 'object' ? table[path.slice(dot + 1)] : undefined;
}

/** The targets that apply: under --quick each takes its quick margin, and 'skip' ones drop out. */
export function applicableTargets(targets: readonly BenchTarget[], quick: boolean): BenchTarget[] {
  if (!quick) return [...targets];
  const out: BenchTarget[] = [];
  for (const t of targets) {
    if (t.quick === 'skip') continue;
    if (t.quick === undefined) out.push(t);
    else out.push({ figure: t.figure, min: t.quick.min, max: t.quick.max, why: t.why });
  }
  return out;
}

export function evaluateTargets(figures: Figures, targets: readonly BenchTarget[]): TargetResult[] {
  return targets.map((t) => {
    const value = figureValue(figures, t.figure);
    const met =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (t.max === undefined || value <= t.max) &&
      (t.min === undefined || value >= t.min);
    return {
      figure: t.figure,
      ...(t.max === undefined ? {} : { max: t.max }),
      ...(t.min === undefined ? {} : { min: t.min }),
      value,
      met,
      why: t.why,
    };
  });
}

function describe(t: TargetResult): string {
  const limit = [t.min === undefined ? '' : `≥ ${t.min}`, t.max === undefined ? '' : `≤ ${t.max}`]
    .filter((s) => s !== '')
    .join(' and ');
  return `target ${limit}: ${t.met ? 'met' : 'MISSED'} (${t.why})`;
}

/** `--name value` options; the positional names are the benchmarks. */
function positional(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) out.push(a);
    else if (!['--json', '--quick', '--check'].includes(a) && !a.includes('=')) i++; // skip its value
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const check = args.includes('--check');
  const wanted = positional(args);
  const subset = quick && wanted.length === 0;
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  const results: Record<string, Record<string, unknown>> = {};
  const missed: string[] = [];
  // Every module is loaded before any runs: a benchmark that runs for hours (the soak) must not
  // import, at its end, a module compiled after it started against the older ones it holds (a
  // 24 h soak lost its printed figures that way when dist/ was rebuilt during the run).
  const modules: BenchModule[] = [];
  for (const file of files) modules.push((await import(pathToFileURL(join(dir, file)).href)) as BenchModule);
  for (const mod of modules) {
    if (wanted.length > 0 && !wanted.includes(mod.name)) continue;
    if (subset && mod.quick !== true) continue;
    if (!json) process.stderr.write(`bench ${mod.name} ...\n`);
    const t0 = performance.now();
    const figures = await mod.bench({ quick, all: wanted.length === 0, args });
    if (!json) process.stderr.write(`bench ${mod.name}: ${Math.round((performance.now() - t0) / 1000)} s\n`);
    const targets = evaluateTargets(figures, applicableTargets(mod.targets ?? [], quick));
    for (const t of targets) if (!t.met) missed.push(`${mod.name}.${t.figure} = ${t.value}`);
    results[mod.name] = targets.length > 0 ? { ...figures, targets } : figures;
    if (!json) {
      process.stdout.write(`\n## ${mod.name}\n`);
      const printed = new Set<string>();
      const line = (k: string, v: Figure): void => {
        const t = targets.find((x) => x.figure === k);
        printed.add(k);
        process.stdout.write(`  ${k.padEnd(40)} ${String(v).padEnd(14)}${t ? ` ${describe(t)}` : ''}\n`);
      };
      for (const [k, v] of Object.entries(figures)) {
        if (typeof v !== 'object') line(k, v);
        else for (const [sub, x] of Object.entries(v)) line(`${k}.${sub}`, x);
      }
      for (const t of targets.filter((x) => !printed.has(x.figure))) {
        process.stdout.write(`  ${t.figure.padEnd(36)} ${'(missing)'.padEnd(14)} ${describe(t)}\n`);
      }
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
  if (check && missed.length > 0) {
    process.stderr.write(`bench --check: ${missed.length} target(s) missed: ${missed.join('; ')}\n`);
    process.exit(1);
  }
}

// Run only as the entry point: the unit tests import the target logic above.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
