#!/usr/bin/env node
// The .deb's /etc/edgeloom/config.yaml: the Raspberry Pi example with models.dir and
// models.manifest pointing at the models the package installs read-only in /usr/lib/edgeloom/models.
// Only those two values (and their comments) change: the file a user edits is the documented one,
// byte for byte otherwise (a YAML round trip would move comments around).
//
//   node scripts/package/make-config.mjs IN.yaml OUT.yaml MODELS_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

const [input, output, modelsDir] = process.argv.slice(2);
if (input === undefined || output === undefined || modelsDir === undefined) {
  console.error('usage: make-config.mjs IN.yaml OUT.yaml MODELS_DIR');
  process.exit(2);
}
const edits = [
  {
    path: ['models', 'dir'],
    value: modelsDir,
    comment: 'installed with the package, read-only: dpkg owns them and updates them with the daemon',
  },
  {
    path: ['models', 'manifest'],
    value: `${modelsDir}/manifest.json`,
    comment: 'the manifest of exactly those files (sha256 checked)',
  },
];

let text = readFileSync(input, 'utf8');
const parse = (source) => {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new Error(`${input}: ${doc.errors[0].message}`);
  return doc;
};
const doc = parse(text);
// Replace from the end of the file backwards, so earlier offsets stay valid.
const spans = edits.map((edit) => {
  const node = doc.getIn(edit.path, true);
  if (node?.range === undefined || typeof node.value !== 'string') {
    throw new Error(`${input}: no ${edit.path.join('.')} string to point at ${modelsDir}`);
  }
  const lineEnd = text.indexOf('\n', node.range[1]);
  return { start: node.range[0], end: lineEnd === -1 ? text.length : lineEnd, edit };
});
for (const { start, end, edit } of spans.sort((a, b) => b.start - a.start)) {
  text = `${text.slice(0, start)}${edit.value} # ${edit.comment}${text.slice(end)}`;
}
const check = parse(text);
for (const edit of edits) {
  if (check.getIn(edit.path) !== edit.value) throw new Error(`${edit.path.join('.')} was not rewritten`);
}
writeFileSync(output, text);
