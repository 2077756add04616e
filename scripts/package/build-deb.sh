#!/usr/bin/env bash
# `npm run package`: Debian packages of edgeloom for Raspberry Pi OS / Debian Bookworm and later.
#
#   scripts/package/build-deb.sh [--out DIR] [--work DIR] [ARCH...]   ARCH: arm64 | amd64 (default: both)
#
#   --out DIR    where the .deb files go (default: build/)
#   --work DIR   the work tree, reused between runs (default: build/work)
# (Flags rather than EDGELOOM_* variables: those are configuration keys, and the daemon refuses
# unknown ones.)
#
# Writes OUT/edgeloom_<version>_<arch>.deb. Nothing is downloaded but npm packages: the production
# dependencies for the target (npm ci --os --cpu: the native addons are that platform's
# prebuilds) and the Node runtime (scripts/package/fetch-node.sh, pinned in node-runtime.json).
#
# What a package installs:
#   /usr/lib/edgeloom/              package.json and what its `files` lists (dist/, config/,
#                                   models/, fixtures/, systemd/, ...), node_modules/ (production only,
#                                   trimmed to the target platform), node/bin/node (the runtime)
#   /usr/lib/edgeloom/models/       the bundled models and their manifest, read-only; the packaged
#                                   config points models.dir/models.manifest here
#   /usr/bin/edgeloom               runs the CLI on the bundled Node, whatever Node the host has
#   /usr/lib/systemd/system/edgeloom.service   systemd/edgeloom.service as it is
#   /etc/edgeloom/config.yaml       conffile, 0640 root:root: the Raspberry Pi example with the models
#                                   paths above (make-config.mjs); the service reads it through
#                                   LoadCredential=, so it never has to be readable by others
# with maintainer scripts in scripts/package/deb/ (daemon-reload; stop before removal).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/scripts/package"
OUT="$REPO/build"
WORK="$REPO/build/work"
PREFIX=/usr/lib/edgeloom
export ONNXRUNTIME_NODE_INSTALL=skip
log() { printf '[package] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

arches=()
while (($#)); do
  case "$1" in
    --out) OUT="$(realpath -m "$2")" && shift 2 ;;
    --work) WORK="$(realpath -m "$2")" && shift 2 ;;
    *) arches+=("$1") && shift ;;
  esac
done
((${#arches[@]})) || arches=(arm64 amd64)
for a in "${arches[@]}"; do
  case "$a" in arm64 | amd64) ;; *) die "unknown architecture $a (arm64 or amd64)" ;; esac
done
for tool in dpkg-deb readelf npm; do
  command -v "$tool" >/dev/null || die "$tool is missing (dpkg-deb: dpkg; readelf: binutils)"
done

pkg() { node -p "const p = require('$REPO/package.json'); $1"; }
VERSION=$(pkg 'p.version')
# The package.json `files` entries (dist/, config/, ...): copied as they are, so a file moved
# inside them needs no change here.
mapfile -t FILES < <(pkg 'p.files.map((f) => f.replace(/\/$/, "")).join("\n")')
MAIN=$(pkg 'p.bin.edgeloom')
NODE_BUNDLED=$(node -p "require('$HERE/node-runtime.json').bundled")
mkdir -p "$OUT" "$WORK"

# --- the JavaScript, once for every architecture --------------------------------------------
# Compiled into the work tree (the repo's dist/ belongs to the developer and the tests).
log "compiling (tsc -p tsconfig.build.json)"
rm -rf "$WORK/dist"
# No source maps and no declarations: a device runs the code; the types are for the npm package's
# users (edgeloom/testing), not for the service.
node "$REPO/node_modules/typescript/bin/tsc" -p "$REPO/tsconfig.build.json" --outDir "$WORK/dist" \
  --sourceMap false --declaration false || die "the TypeScript compile failed (messages above)"
test -f "$WORK/dist/${MAIN#dist/}" || die "the compile produced no $MAIN"

# --- production dependencies for one architecture --------------------------------------------
# npm ci --omit=dev for linux/<cpu>/glibc: sharp, serialport, classic-level and onnxruntime-node
# resolve to that platform's prebuilt binaries. --ignore-scripts: nothing of a foreign platform can
# run here, and none of them needs an install script when a prebuild exists. The lock file is
# npm-shrinkwrap.json (published with the package, so `npm install -g edgeloom` gets the versions
# tested here too); cached per its hash (npm ci itself refuses a lock file out of step with
# package.json).
deps_for() {
  local cpu="$1" dir="$WORK/deps-$1" key
  key=$(sha256sum <"$REPO/npm-shrinkwrap.json" | cut -c1-64)
  if [ "$(cat "$dir/.key" 2>/dev/null)" != "$key" ]; then
    log "npm ci --omit=dev for linux/$cpu"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$REPO/package.json" "$REPO/npm-shrinkwrap.json" "$REPO/.npmrc" "$dir/"
    (cd "$dir" && npm ci --omit=dev --os=linux --cpu="$cpu" --libc=glibc --ignore-scripts \
      --no-audit --no-fund --loglevel=error >&2)
    echo "$key" >"$dir/.key"
  fi
  echo "$dir/node_modules"
}

# Keep only what runs on linux/<cpu> with glibc. Sizes for arm64 (onnxruntime-node 1.30):
# onnxruntime-node ships every platform's runtime (288 MB, of which linux/arm64 is 24 MB);
# serialport's and classic-level's prebuilds/ hold every OS and libc (~8 MB); @types, declaration
# files and source maps are for compilers and debuggers only (~5 MB); each package's own tests,
# examples and benchmarks (at its top level only), C/C++ sources for builds from source that a
# prebuild makes unnecessary, and Markdown documentation (licence files kept) (~9 MB); the CommonJS
# twins of the MCP SDK's ESM dependencies (~4 MB, below).
trim_modules() {
  local nm="$1" cpu="$2" d p
  local ort="$nm/onnxruntime-node/bin/napi-v6"
  test -f "$ort/linux/$cpu/onnxruntime_binding.node" || die "onnxruntime-node has no linux/$cpu binding"
  for d in "$ort"/*; do [ "${d##*/}" = linux ] || rm -rf "$d"; done
  for d in "$ort"/linux/*; do [ "${d##*/}" = "$cpu" ] || rm -rf "$d"; done
  while IFS= read -r p; do
    for d in "$p"/*; do [ "${d##*/}" = "linux-$cpu" ] || rm -rf "$d"; done
    rm -f "$p/linux-$cpu"/*.musl.node
  done < <(find "$nm" -type d -name prebuilds -prune)
  rm -rf "$nm/@types"
  find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
    -o -name '*.cc' -o -name '*.cpp' -o -name '*.c' -o -name '*.h' -o -name '*.hpp' -o -name '*.gyp' \
    -o -name '*.gypi' -o \( -iname '*.md' ! -iname 'licen[cs]e*' ! -iname 'notice*' ! -iname 'copying*' \) \) -delete
  local extras=(\( -name test -o -name tests -o -name __tests__ -o -name example -o -name examples
    -o -name benchmark -o -name benchmarks \))
  find "$nm" -mindepth 2 -maxdepth 2 -path "$nm/[!@]*/*" -type d "${extras[@]}" -exec rm -rf {} +
  find "$nm" -mindepth 3 -maxdepth 3 -path "$nm/@*/*/*" -type d "${extras[@]}" -exec rm -rf {} +
  # The MCP SDK (@modelcontextprotocol/sdk) and what it pulls in (zod, zod-to-json-schema, hono,
  # @hono/node-server) ship every file twice, as ESM and as CommonJS. The daemon is ESM, and the
  # SDK's ESM build imports each of them as ESM, so the CommonJS copies never load (~4 MB, which
  # kept the arm64 package under 200 MB installed when the SDK came in).
  rm -rf "$nm/@modelcontextprotocol/sdk/dist/cjs" "$nm/zod-to-json-schema/dist/cjs" "$nm/hono/dist/cjs"
  find "$nm/zod" "$nm/@hono/node-server/dist" -type f -name '*.cjs' -delete
  find "$nm" -mindepth 1 -type d -empty -delete
}

# ELF e_machine of a file (62 x86-64, 183 aarch64), or nothing when it is not ELF.
elf_machine() {
  [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ] || return 0
  od -An -tu2 -j18 -N2 "$1" | tr -d ' '
}

# The newest symbol versions the binaries need (GLIBC_2.28, GLIBCXX_3.4.21, CXXABI_1.3.11), to
# check against Depends: below.
needed_version() {
  local prefix="$1"
  shift
  readelf -V "$@" 2>/dev/null | grep -oE "Name: ${prefix}_[0-9.]+" | sed "s/Name: ${prefix}_//" | sort -uV | tail -1
}
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }

# What Depends: promises, and the symbol versions it covers: glibc 2.28 (Buster and later; Node 24's
# own floor), libstdc++ from GCC 7 (GLIBCXX_3.4.23, CXXABI_1.3.11).
DEPENDS='libc6 (>= 2.28), libstdc++6 (>= 7), libgcc-s1 | libgcc1'
MAX_GLIBC=2.28 MAX_GLIBCXX=3.4.23 MAX_CXXABI=1.3.11

build_one() {
  local arch="$1" cpu machine
  case "$arch" in
    arm64) cpu=arm64 machine=183 ;;
    amd64) cpu=x64 machine=62 ;;
  esac
  local root="$WORK/root-$arch" app="$WORK/root-$arch$PREFIX" nm
  log "staging $arch"
  rm -rf "$root"
  mkdir -p "$app"

  # The app: package.json and its `files`.
  cp "$REPO/package.json" "$app/"
  for f in "${FILES[@]}"; do
    if [ "$f" = dist ]; then
      cp -a "$WORK/dist" "$app/dist"
    elif [ -e "$REPO/$f" ]; then
      mkdir -p "$(dirname "$app/$f")"
      cp -a "$REPO/$f" "$app/$f"
    else
      die "package.json files lists $f, which does not exist"
    fi
  done
  test -f "$app/models/manifest.json" || die "no models/manifest.json in the package"

  nm=$(deps_for "$cpu")
  cp -a "$nm" "$app/node_modules"
  trim_modules "$app/node_modules" "$cpu"

  # The runtime.
  "$HERE/fetch-node.sh" "$cpu" bundled "$WORK/node-$cpu" >/dev/null
  mkdir -p "$app/node/bin"
  cp "$WORK/node-$cpu/bin/node" "$app/node/bin/node"
  cp "$WORK/node-$cpu/LICENSE" "$app/node/LICENSE"

  # edgeloom on PATH.
  mkdir -p "$root/usr/bin"
  cat >"$root/usr/bin/edgeloom" <<EOF
#!/bin/sh
# edgeloom $VERSION, as packaged: the CLI on the Node runtime bundled with it ($PREFIX/node),
# whatever Node the host has, or none.
exec $PREFIX/node/bin/node $PREFIX/$MAIN "\$@"
EOF

  # The unit, as it is in the repo: it already runs /usr/bin/edgeloom and reads the credential from
  # /etc/edgeloom/config.yaml. Refuse to package a unit that no longer does.
  grep -qx 'ExecStart=/usr/bin/edgeloom run --config %d/config.yaml' "$REPO/systemd/edgeloom.service" ||
    die "systemd/edgeloom.service: ExecStart is not /usr/bin/edgeloom run --config %d/config.yaml"
  grep -qx 'LoadCredential=config.yaml:/etc/edgeloom/config.yaml' "$REPO/systemd/edgeloom.service" ||
    die "systemd/edgeloom.service: LoadCredential is not config.yaml:/etc/edgeloom/config.yaml"
  install -D -m 0644 "$REPO/systemd/edgeloom.service" "$root/usr/lib/systemd/system/edgeloom.service"

  # The config.
  mkdir -p "$root/etc/edgeloom"
  node "$HERE/make-config.mjs" "$REPO/config/raspberry-pi.example.yaml" "$root/etc/edgeloom/config.yaml" \
    "$PREFIX/models"

  # Documentation and licences.
  mkdir -p "$root/usr/share/doc/edgeloom"
  gzip -9n <"$REPO/README.md" >"$root/usr/share/doc/edgeloom/README.md.gz"
  cat >"$root/usr/share/doc/edgeloom/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: edgeloom
Source: https://github.com/edgeloom/edgeloom

Files: *
License: $(pkg 'p.license')

Files: usr/lib/edgeloom/node/*
Comment: Node.js $NODE_BUNDLED, the official build, from the npm package node-linux-$cpu
License: MIT and others, see usr/lib/edgeloom/node/LICENSE

Files: usr/lib/edgeloom/node_modules/*
License: each package's own, in its directory (package.json "license" and its LICENSE file)

Files: usr/lib/edgeloom/models/*
License: per model, see usr/lib/edgeloom/models/manifest.json ("licence") and models/*/LICENSE
EOF

  # Modes: everything root:root (dpkg-deb --root-owner-group), readable; programs executable; the
  # config readable by root only (it may come to hold a broker password or a cloud key).
  chmod -R u+rwX,go+rX,go-w "$root"
  chmod 0755 "$root/usr/bin/edgeloom" "$app/node/bin/node"
  chmod 0640 "$root/etc/edgeloom/config.yaml"

  # Every native binary is for this architecture, and needs no newer libc/libstdc++ than Depends says.
  local elves=() m f
  while IFS= read -r -d '' f; do
    m=$(elf_machine "$f")
    [ -z "$m" ] && continue
    [ "$m" = "$machine" ] || die "${f#"$root"} is a binary for ELF machine $m, not $arch"
    elves+=("$f")
  done < <(find "$root" -type f \( -name '*.node' -o -name '*.so' -o -name '*.so.*' -o -path '*/bin/*' \) -print0)
  ((${#elves[@]} >= 4)) || die "only ${#elves[@]} native binaries found (node, onnxruntime, sharp, ...)"
  local glibc glibcxx cxxabi
  glibc=$(needed_version GLIBC "${elves[@]}")
  glibcxx=$(needed_version GLIBCXX "${elves[@]}")
  cxxabi=$(needed_version CXXABI "${elves[@]}")
  version_le "$glibc" "$MAX_GLIBC" || die "a binary needs GLIBC_$glibc; raise libc6 in Depends"
  version_le "$glibcxx" "$MAX_GLIBCXX" || die "a binary needs GLIBCXX_$glibcxx; raise libstdc++6 in Depends"
  version_le "$cxxabi" "$MAX_CXXABI" || die "a binary needs CXXABI_$cxxabi; raise libstdc++6 in Depends"

  # Control files. Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and one
  # per directory or link.
  mkdir -p "$root/DEBIAN"
  local size
  size=$(find "$root" -path "$root/DEBIAN" -prune -o \( -type f -printf '%s\n' -o -printf '1024\n' \) |
    awk '{ kib += int(($1 + 1023) / 1024) } END { print kib }')
  # Recommends: the programs the packaged config runs (camera, microphone, speech), which apt
  # installs by default; package-deb.test.ts holds the two lists together through doctor's needs.
  cat >"$root/DEBIAN/control" <<EOF
Package: edgeloom
Version: $VERSION
Architecture: $arch
Maintainer: edgeloom developers <edgeloom@users.noreply.github.com>
Installed-Size: $size
Depends: $DEPENDS
Recommends: ffmpeg, alsa-utils, espeak-ng
Suggests: mosquitto, sox, v4l-utils
Section: misc
Priority: optional
Homepage: https://github.com/edgeloom/edgeloom
Description: sensor daemon for edge devices: camera, microphone, IMU to MQTT
 Camera frames, microphone audio and IMU readings become typed events on an
 internal bus; local models through ONNX Runtime (face detection and emotion,
 Silero VAD, Whisper) within a memory budget; a privacy-aware router; agents
 whose state is event-sourced in LevelDB; actions published over MQTT (Home
 Assistant discovery), none lost while the broker is down.
 .
 Runs as a hardened systemd service (DynamicUser=) on the Node.js runtime
 bundled in the package. Enable it with: systemctl enable --now edgeloom
EOF
  echo /etc/edgeloom/config.yaml >"$root/DEBIAN/conffiles"
  install -m 0755 "$HERE/deb/postinst" "$HERE/deb/prerm" "$HERE/deb/postrm" "$root/DEBIAN/"

  local deb="$OUT/edgeloom_${VERSION}_$arch.deb"
  log "dpkg-deb --build $deb"
  dpkg-deb --root-owner-group -Zxz -z6 --threads-max="$(nproc)" --build "$root" "$deb" >/dev/null
  log "$deb: $(du -h "$deb" | cut -f1) download, Installed-Size $((size / 1024)) MiB"
}

for a in "${arches[@]}"; do build_one "$a"; done
