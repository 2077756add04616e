#!/usr/bin/env node
// Compare two `replay --emit jsonl` outputs line by line: same number of messages, same topics
// and fields; numbers equal within 1e-3 relative (ONNX Runtime's arm64 and x64 kernels round
// differently in the last digits). Used by scripts/arm64-smoke.sh. Exit 1 with the first difference.
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).map((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l !== ''),
);
const TOLERANCE = 1e-3;

function diff(x, y, path) {
  if (typeof x === 'number' && typeof y === 'number') {
    return Math.abs(x - y) <= TOLERANCE * Math.max(1, Math.abs(x)) ? undefined : `${path}: ${x} vs ${y}`;
  }
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    return `${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
  }
  if (typeof x !== 'object' || x === null)
    return x === y ? undefined : `${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const k of keys) {
    const d = diff(x[k], y[k], `${path}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

if (a.length === 0) {
  console.error('arm64-compare: the native output is empty; nothing to compare');
  process.exit(1);
}
if (a.length !== b.length) {
  console.error(`arm64-compare: ${a.length} native messages vs ${b.length} arm64 messages`);
  process.exit(1);
}
for (let i = 0; i < a.length; i++) {
  const d = diff(JSON.parse(a[i]), JSON.parse(b[i]), `line ${i + 1}`);
  if (d !== undefined) {
    console.error(`arm64-compare: ${d}`);
    process.exit(1);
  }
}
console.error(`arm64-compare: ${a.length} messages match`);
