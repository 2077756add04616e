#!/usr/bin/env bash
# Fetch a Node runtime from the npm registry: the node-linux-<cpu> package (the official
# nodejs.org Linux build, republished), checked against the sha512 pinned in node-runtime.json,
# unpacked as DEST/bin/node (+ DEST/LICENSE). Reused when DEST already holds that exact tarball.
#
#   scripts/package/fetch-node.sh CPU VERSION DEST      CPU: x64 | arm64; VERSION: e.g. 24.22.3
#   scripts/package/fetch-node.sh CPU bundled|22|24 DEST  the bundled / a tested release, from node-runtime.json
#
# Prints DEST/bin/node, absolute. The registry is the only network it uses (npm pack).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cpu="$1" want="$2" dest="$(realpath -m "$3")" # absolute: it may end up on PATH
case "$cpu" in x64 | arm64) ;; *) echo "fetch-node: CPU must be x64 or arm64 (got $cpu)" >&2; exit 2 ;; esac

# VERSION, or a name for one in node-runtime.json ("bundled", or a major listed in "tested").
version=$(node -e '
const r = require(process.argv[1]);
const want = process.argv[2];
const v = want === "bundled" ? r.bundled : /^\d+$/.test(want) ? r.tested.find((t) => t.startsWith(`${want}.`)) : want;
if (!v) { console.error(`fetch-node: node-runtime.json names no Node ${want}`); process.exit(2); }
console.log(v);
' "$HERE/node-runtime.json" "$want")
spec="node-linux-$cpu@$version"
pinned=$(node -p 'require(process.argv[1]).integrity[process.argv[2]] ?? ""' "$HERE/node-runtime.json" "$spec")
if [ -z "$pinned" ]; then
  echo "fetch-node: no integrity pinned for $spec in scripts/package/node-runtime.json" >&2
  echo "  (npm view $spec dist.integrity, checked against the nodejs.org SHASUMS256, then add it)" >&2
  exit 2
fi

if [ -x "$dest/bin/node" ] && [ "$(cat "$dest/.integrity" 2>/dev/null)" = "$pinned" ]; then
  echo "$dest/bin/node"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity; the pin makes the registry's
# answer itself the one we reviewed.
got=$(cd "$tmp" && npm pack "$spec" --json --silent --loglevel=error | node -e '
const [r] = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(`${r.integrity} ${r.filename}`);
')
integrity=${got%% *} file=${got#* }
if [ "$integrity" != "$pinned" ]; then
  echo "fetch-node: $spec has integrity $integrity, node-runtime.json pins $pinned" >&2
  exit 1
fi
tar -xzf "$tmp/$file" -C "$tmp" package/bin/node package/LICENSE
rm -rf "$dest"
mkdir -p "$dest/bin"
mv "$tmp/package/bin/node" "$dest/bin/node"
mv "$tmp/package/LICENSE" "$dest/LICENSE"
echo "$pinned" > "$dest/.integrity"
echo "$dest/bin/node"
