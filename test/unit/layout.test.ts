/**
 * The layout of daemon/ as the README's "Layout" section describes it, checked on the sources:
 * data flows one way (sensors → bus → pipeline → router → agents → actions/MQTT), so a module
 * imports only from its own folder and from folders below it in LAYERS; no import cycle, type-only
 * imports included (a type cycle is still two modules that cannot be understood apart); only
 * pipeline/onnx-session.ts imports onnxruntime-node; and no module past MAX_LINES (split it).
 * Imports are read with TypeScript's own pre-processor (static, `export … from` and `import()`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/tools.js';

const DAEMON = join(REPO_ROOT, 'daemon');

/**
 * Lowest first. A unit is a folder under daemon/ or a file at its top level. A unit may import
 * from units in lower tiers only; units of one tier do not import each other.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'log.ts', 'component.ts'],
  ['util'],
  ['config', 'bus'],
  ['controller.ts', 'shutdown.ts'],
  ['media', 'storage'],
  ['recording'],
  ['sensors'],
  ['replay'],
  ['models'],
  ['pipeline'],
  ['router'],
  ['agents'],
  ['actions'],
  ['privacy'],
  ['control', 'plugins'],
  ['mcp'],
  ['observe', 'systemd'],
  ['daemon.ts'],
  ['cli', 'testing'],
];

/** The style guide's "split past ~400 lines", with a little slack for a closing comment. */
const MAX_LINES = 410;

const TIER = new Map(LAYERS.flatMap((units, tier) => units.map((u) => [u, tier] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The unit of a daemon-relative path: its first segment. */
function unitOf(path: string): string {
  return path.split(sep)[0]!;
}

interface Graph {
  /** daemon-relative path → daemon-relative paths it imports. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
  /** daemon-relative path → bare module specifiers (packages, node:). */
  readonly packages: ReadonlyMap<string, readonly string[]>;
  readonly unresolved: readonly string[];
}

/**
 * Every module a source file imports or re-exports: static `import … from`, `export … from`,
 * side-effect `import '…'` and dynamic `import('…')` (type-only imports included). A scan of the
 * text, which Biome's formatting keeps regular; TypeScript 7 has no compiler API to ask.
 */
function moduleSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [
    /(?:^|[;\n])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]!);
  return found;
}

function importGraph(): Graph {
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of sources(DAEMON)) {
    const from = relative(DAEMON, file);
    const local: string[] = [];
    const bare: string[] = [];
    for (const fileName of moduleSpecifiers(readFileSync(file, 'utf8'))) {
      if (!fileName.startsWith('.')) {
        bare.push(fileName);
        continue;
      }
      const target = join(dirname(file), fileName.replace(/\.js$/, '.ts'));
      try {
        statSync(target);
        local.push(relative(DAEMON, target));
      } catch {
        unresolved.push(`${from} → ${fileName}`);
      }
    }
    edges.set(from, local);
    packages.set(from, bare);
  }
  return { edges, packages, unresolved };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Imports that leave their unit for a unit not in a lower layer. */
function upwardImports(edges: ReadonlyMap<string, readonly string[]>): string[] {
  const upward: string[] = [];
  for (const [from, targets] of edges) {
    const a = unitOf(from);
    for (const to of targets) {
      const b = unitOf(to);
      if (a !== b && !(TIER.get(b)! < TIER.get(a)!)) upward.push(`${from} → ${to}`);
    }
  }
  return upward;
}

describe('daemon/ layout', () => {
  const graph = importGraph();

  it('resolves every relative import to a file', () => {
    expect(graph.unresolved).toEqual([]);
  });

  it('places every folder and top-level file of daemon/ in a layer', () => {
    const units = new Set([...graph.edges.keys()].map(unitOf));
    expect([...units].filter((u) => !TIER.has(u)).sort()).toEqual([]);
  });

  it('imports only downstream of the data flow: from its own folder or a lower layer', () => {
    expect(upwardImports(graph.edges)).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles(graph.edges)).toEqual([]);
  });

  it('finds a cycle and an upward import when there is one (the checks can fail)', () => {
    // The two that main had: the fixture merge importing the reader's types while the reader
    // imports the merge, and the model memory tool in models/ importing pipeline/.
    const planted = new Map(graph.edges);
    const add = (from: string, to: string) => planted.set(from, [...(planted.get(from) ?? []), to]);
    add(join('recording', 'merge.ts'), join('recording', 'reader.ts'));
    add(join('models', 'manager.ts'), join('pipeline', 'onnx-session.ts'));
    expect(cycles(planted)).toContainEqual([join('recording', 'merge.ts'), join('recording', 'reader.ts')]);
    expect(upwardImports(planted)).toEqual([
      `${join('models', 'manager.ts')} → ${join('pipeline', 'onnx-session.ts')}`,
    ]);
  });

  it('lets only pipeline/onnx-session.ts import onnxruntime-node', () => {
    const importers = [...graph.packages]
      .filter(([, bare]) => bare.some((s) => s === 'onnxruntime-node' || s.startsWith('onnxruntime-node/')))
      .map(([file]) => file);
    expect(importers).toEqual([join('pipeline', 'onnx-session.ts')]);
  });

  it(`keeps every module at most ${MAX_LINES} lines`, () => {
    const long = sources(DAEMON)
      .map((f) => ({ file: relative(DAEMON, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines}`);
    expect(long).toEqual([]);
  });
});
