import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applicableTargets, type BenchTarget, evaluateTargets, figureValue } from '../bench/run.js';
import { REPO_ROOT } from '../helpers/tools.js';

const targets: readonly BenchTarget[] = [
  { figure: 'ratio_by_topics.2000', min: 1.5, quick: { min: 1.1 }, why: 'ratio' },
  { figure: 'p99_us', max: 50, quick: 'skip', why: 'absolute time' },
  { figure: 'growth_pct', max: 5, why: 'memory' },
];

describe('benchmark targets (what --check gates on)', () => {
  it('reads a value inside a table figure by name.key', () => {
    expect(figureValue({ ratio_by_topics: { '2000': 2.1 } }, 'ratio_by_topics.2000')).toBe(2.1);
    expect(figureValue({ ratio_by_topics: { '2000': 2.1 } }, 'ratio_by_topics.20000')).toBeUndefined();
    expect(figureValue({ ratio_by_topics: { '2000': 2.1 } }, 'ratio_by_topics')).toBeUndefined();
  });

  it('a figure below its minimum, above its maximum or missing is missed', () => {
    const r = evaluateTargets({ ratio_by_topics: { '2000': 1.4 }, p99_us: 51 }, targets);
    expect(r.map((t) => [t.figure, t.met])).toEqual([
      ['ratio_by_topics.2000', false],
      ['p99_us', false],
      ['growth_pct', false],
    ]);
    const ok = evaluateTargets({ ratio_by_topics: { '2000': 1.5 }, p99_us: 50, growth_pct: 0 }, targets);
    expect(ok.every((t) => t.met)).toBe(true);
  });

  it('--quick takes the wider margins and leaves out absolute times', () => {
    const quick = applicableTargets(targets, true);
    expect(quick.map((t) => t.figure)).toEqual(['ratio_by_topics.2000', 'growth_pct']);
    const r = evaluateTargets({ ratio_by_topics: { '2000': 1.2 }, growth_pct: 1 }, quick);
    expect(r.every((t) => t.met)).toBe(true);
    expect(evaluateTargets({ ratio_by_topics: { '2000': 1.0 }, growth_pct: 1 }, quick)[0]!.met).toBe(false);
    expect(applicableTargets(targets, false)).toHaveLength(3);
  });

  it('every benchmark declares targets, so --check can fail on each of them', () => {
    const dir = join(REPO_ROOT, 'test/bench');
    const modules = readdirSync(dir).filter((f) => f.endsWith('.bench.ts'));
    expect(modules.length).toBeGreaterThan(10);
    const without = modules.filter(
      (f) =>
        !/^export const targets: readonly BenchTarget\[\] = \[\s*[{.]/m.test(
          readFileSync(join(dir, f), 'utf8'),
        ),
    );
    expect(without).toEqual([]);
  });
});
