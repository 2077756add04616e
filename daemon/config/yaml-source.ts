import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigProblem } from './problems.js';

/** A parsed YAML config that can say where any key path was written. */
export interface YamlSource {
  /** The plain data (`{}` for an empty file). */
  readonly data: Record<string, unknown>;
  /**
   * `file:line:col` of the value at `path` (or of its key when `atKey`), falling back to the
   * deepest ancestor present in the file; undefined when not even the first segment is there.
   */
  locate(path: readonly (string | number)[], atKey?: boolean): string | undefined;
}

export type ParsedYaml =
  | { readonly ok: true; readonly source: YamlSource }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

/**
 * Parse `text` (the contents of `file`). Syntax errors, duplicate keys and a non-mapping root are
 * reported as problems with `file:line:col`, never thrown.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `yes`/`on` stay strings, so `enabled: yes` is a clear type error
  // instead of a silent boolean; uniqueKeys makes a duplicated key an error, not "last wins".
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        source: at(e.pos[0]),
        key: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const root = doc.contents;
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) return { ok: true, source: { data: {}, locate: () => undefined } };
  if (!isMap(root) || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        {
          source: at(root?.range?.[0] ?? 0),
          key: '',
          message: 'the top level must be a mapping of sections',
        },
      ],
    };
  }

  const locate = (path: readonly (string | number)[], atKey = false): string | undefined => {
    let node: unknown = root;
    let lastKey: Node | undefined;
    let lastValue: Node | undefined;
    let matched = 0;
    for (const segment of path) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        lastKey = pair.key as Node;
        next = pair.value;
      } else if (isSeq(node)) {
        next = node.items[Number(segment)];
        if (next === undefined) break;
        lastKey = next as Node;
      } else {
        break;
      }
      lastValue = (next ?? lastKey) as Node;
      node = next;
      matched++;
    }
    // A path missing from the file points at the deepest key that is there (its parent section).
    const target = atKey || matched < path.length ? lastKey : lastValue;
    const offset = target?.range?.[0];
    return offset === undefined ? undefined : at(offset);
  };

  return { ok: true, source: { data: data as Record<string, unknown>, locate } };
}
