/**
 * Home Assistant renders the templates of an MQTT discovery config with Jinja2. Home Assistant
 * itself cannot run here (nothing can be downloaded), so these tests render our templates with
 * the real Jinja2 (Debian's python3-jinja2) the way HA's MQTT integration calls them: a value
 * template gets `value` (the payload as text) and `value_json` (only when the payload is JSON); a
 * command template gets `value` (what the user chose or typed). HA adds filters of its own; the
 * templates edgeloom publishes use only Jinja2's built-ins (tojson, round, default, selectattr).
 */
import { spawn } from 'node:child_process';
import { needs } from './tools.js';

const PYTHON = '/usr/bin/python3';
const JINJA = '/usr/lib/python3/dist-packages/jinja2/__init__.py';

/** `needs()` for the renderer: skips on a developer's machine without it, fails under CI. */
export function jinjaAvailable(): boolean {
  return needs({ files: [PYTHON, JINJA] });
}

export interface TemplateJob {
  readonly template: string;
  /** The MQTT payload (value template) or the user's input (command template). */
  readonly value: string;
}

/** One rendered string per job, or `{ error }` when Jinja2 raised. */
export type Rendered = string | { readonly error: string };

const SCRIPT = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment()
out = []
for job in json.load(sys.stdin):
    variables = {"value": job["value"]}
    try:
        variables["value_json"] = json.loads(job["value"])
    except ValueError:
        pass
    try:
        out.append(env.from_string(job["template"]).render(**variables))
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`;

/** Render every job in one python3 process. */
export function renderTemplates(jobs: readonly TemplateJob[]): Promise<Rendered[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`python3 exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Rendered[]);
    });
    child.stdin.end(JSON.stringify(jobs));
  });
}

/** Render one template (see renderTemplates); throws when Jinja2 raised. */
export async function render(template: string, value: string): Promise<string> {
  const [r] = await renderTemplates([{ template, value }]);
  if (r === undefined || typeof r !== 'string') throw new Error(`template failed: ${JSON.stringify(r)}`);
  return r;
}
