import { EdgeloomError, ErrorCode } from '../errors.js';

/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /** Where the offending value came from: `config.yaml:12:3`, `env EDGELOOM_X`, `overrides`, or ''. */
  readonly source: string;
  /** Dotted key path, e.g. `sensors.camera.fps` or `agents.voice.intents[0].name`; '' for the file. */
  readonly key: string;
  readonly message: string;
}

/** `config.yaml:12:3: sensors.camera.fps: must be >= 1 (got 0)`. */
export function formatProblem(p: ConfigProblem): string {
  return [p.source, p.key, p.message].filter((part) => part !== '').join(': ');
}

/**
 * Raised by `loadConfig` with every problem found (not just the first), so one edit-run cycle
 * fixes them all. `code` is `E_CONFIG_INVALID`; `where` is the first problem's key.
 */
export class ConfigError extends EdgeloomError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${formatProblem(p)}`);
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(ErrorCode.E_CONFIG_INVALID, `invalid configuration (${count}):\n${lines.join('\n')}`, {
      where: problems[0]?.key || problems[0]?.source,
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Path segments as written in messages: `a.b[2].c`. Numeric segments inside arrays become `[n]`. */
export function dottedPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** Short, stable rendering of an offending value for messages (never a secret: callers check). */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment); keys are short. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The closest candidate when it is close enough to be a likely typo (distance at most a third of
 * the word, at least 1), e.g. `fsp` → `fps`, `memory_mib` → `memory_mb`.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** ` (did you mean "fps"?)` or ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hit = closest(word, candidates);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}
