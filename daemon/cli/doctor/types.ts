/** One line of `edgeloom doctor`: `ok|warn|fail  <check>  <detail>  → <fix>`. */
export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly level: CheckLevel;
  /** What was checked, e.g. `node`, `camera`, `program ffmpeg`, `model silero-vad-v5`. */
  readonly check: string;
  /** What was found. */
  readonly detail: string;
  /** What to do about a warn or fail. */
  readonly fix?: string;
}
