/**
 * JSON with object keys sorted (recursively) and no whitespace: one byte sequence per value, so a
 * hash or a MAC over it does not depend on the order a sender wrote the keys in. It is what
 * `jq -cS .` prints for the values edgeloom signs (strings, integers, booleans, null, arrays and
 * objects of them), so a shell script can produce it too.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}
