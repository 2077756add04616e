#!/usr/bin/env bash
# arm64 smoke test of the Raspberry Pi package: the daemon exactly as edgeloom_<version>_arm64.deb
# installs it (its bundled Node 24, its trimmed arm64 production dependencies, its models) run
# under qemu user emulation, and its replay output compared with this checkout's native build.
#
#   scripts/arm64-smoke.sh [--deb FILE] [WORK_DIR]
#       --deb FILE   the package to test (default: build/edgeloom_<version>_arm64.deb, built with
#                    `npm run package -- arm64` when it is not there)
#       WORK_DIR     default $TMPDIR/edgeloom-arm64; the sysroot in it is reused between runs
#
# Needs: root (apt-get, dpkg --add-architecture, unshare), qemu-user-static, Debian mirror access
# for the sysroot. About 5-7 minutes on two cores (emulation is ~10-30x slower than native; the
# demo's 40 camera frames through the face models are most of it).
#
# What it does and why:
#  1. Unpacks the .deb (dpkg-deb -x) into WORK/root: what `apt install` would put on the Pi.
#  2. A sysroot for `qemu-aarch64-static -L`: libc6, libstdc++6, libgcc-s1 (arm64) from Debian, the
#     libraries the package Depends on.
#  3. ONNX Runtime's cpuinfo library parses /proc/cpuinfo at load time and segfaults on the x86
#     one qemu passes through (-L does not remap /proc), so each run happens in a private mount
#     namespace with a Cortex-A72 (Raspberry Pi 4) cpuinfo bind-mounted over it, and in a private
#     network namespace (the packaged config names a LAN broker, which is never contacted).
#  4. Runs the command /usr/bin/edgeloom execs (its bundled node and main.js, under WORK/root):
#     --version, the native addons loading, `models verify` of the packaged models, and replays
#     fixtures/imu (exact output match) and fixtures/demo (camera, microphone and IMU through the
#     face, VAD and whisper models): same messages, numbers within 1e-3 relative.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=$(node -p "require('$REPO/package.json').version")
DEB="$REPO/build/edgeloom_${VERSION}_arm64.deb"
if [ "${1:-}" = --deb ]; then DEB="$(realpath "$2")" && shift 2; fi
WORK="${1:-${TMPDIR:-/tmp}/edgeloom-arm64}"
export QEMU_CPU=cortex-a72 # the Raspberry Pi 4's core
# fd 3 = the script's stderr, so PASS/FAIL lines still show while a check's own output is redirected.
exec 3>&2
log() { printf '[arm64-smoke] %s\n' "$*" >&3; }

command -v qemu-aarch64-static >/dev/null || { log "qemu-aarch64-static missing (apt-get install qemu-user-static)"; exit 1; }
mkdir -p "$WORK"/{sysroot,debs,native}

# --- 1. the package ---------------------------------------------------------------------------
if [ ! -f "$DEB" ]; then
  log "no $DEB: building it (npm run package -- arm64)"
  bash "$REPO/scripts/package/build-deb.sh" arm64 >&3
fi
log "unpacking $DEB"
rm -rf "$WORK/root"
dpkg-deb -x "$DEB" "$WORK/root"
# The command /usr/bin/edgeloom runs: `exec NODE MAIN "$@"`, both absolute paths on the Pi.
read -r NODE_ARM MAIN < <(sed -n 's/^exec \([^ ]*\) \([^ ]*\) "\$@"$/\1 \2/p' "$WORK/root/usr/bin/edgeloom")
[ -n "${MAIN:-}" ] || { log "FAIL: /usr/bin/edgeloom has no 'exec NODE MAIN \"\$@\"' line"; exit 1; }
NODE_ARM="$WORK/root$NODE_ARM" MAIN="$WORK/root$MAIN"
APP="$WORK/root/usr/lib/edgeloom"

# --- 2. sysroot -----------------------------------------------------------------------------------
if [ ! -e "$WORK/sysroot/lib/ld-linux-aarch64.so.1" ]; then
  log "building the aarch64 sysroot from Debian packages"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
  apt-get update -qq
  (cd "$WORK/debs" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 2>/dev/null)
  for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$WORK/sysroot"; done
fi

# --- 3. a Raspberry Pi 4 /proc/cpuinfo ---------------------------------------------------------------
CPUINFO="$WORK/cpuinfo-cortex-a72"
: >"$CPUINFO"
for i in 0 1 2 3; do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >>"$CPUINFO"
done
printf 'Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n' >>"$CPUINFO"

# Run the package's arm64 node with arguments, from its app directory, inside the cpuinfo mount
# namespace and a network namespace of its own.
arm_node() {
  (cd "$APP" && unshare -mn sh -c 'mount --bind "$0" /proc/cpuinfo && s=$1 n=$2 && shift 2 && exec qemu-aarch64-static -L "$s" "$n" "$@"' \
    "$CPUINFO" "$WORK/sysroot" "$NODE_ARM" "$@")
}
edgeloom_arm() { arm_node "$MAIN" "$@"; }

# --- 4. checks --------------------------------------------------------------------------------------
fail=0
check() { if "$@"; then log "PASS: ${CHECK_NAME}"; else log "FAIL: ${CHECK_NAME}"; fail=1; fi; }

CHECK_NAME="the bundled node is arm64 ($(arm_node -p 'process.version + " " + process.arch' 2>&1))"
check test "$(arm_node -p process.arch 2>/dev/null)" = arm64

CHECK_NAME="edgeloom --version is $VERSION"
check test "$(edgeloom_arm --version 2>/dev/null)" = "$VERSION"

CHECK_NAME="native modules load on arm64 (onnxruntime-node, sharp, serialport, level)"
check arm_node --input-type=module -e "for (const m of ['onnxruntime-node','sharp','serialport','level']) await import(m); console.log('ok')"

CHECK_NAME="edgeloom models verify (the packaged models)"
check edgeloom_arm models verify

# Native baseline from this checkout, compiled on its own (dist/ in the repo is shared).
rm -rf "$WORK/native/dist"
if ! node "$REPO/node_modules/typescript/bin/tsc" -p "$REPO/tsconfig.build.json" --outDir "$WORK/native/dist" >&3; then
  log "FAIL: the TypeScript compile of the native baseline failed (messages above)"
  exit 1
fi
for d in node_modules models fixtures config package.json; do ln -sfn "$REPO/$d" "$WORK/native/$d"; done
for fixture in imu demo; do
  (cd "$WORK/native" && node dist/daemon/cli/main.js replay "fixtures/$fixture" --speed 0 --emit jsonl \
    >"$WORK/native-$fixture.jsonl" 2>"$WORK/native-$fixture.log")
  start=$(date +%s)
  CHECK_NAME="replay fixtures/$fixture exits 0 on arm64"
  check edgeloom_arm replay "fixtures/$fixture" --speed 0 --emit jsonl \
    >"$WORK/arm64-$fixture.jsonl" 2>"$WORK/arm64-$fixture.log"
  log "fixtures/$fixture: $(($(date +%s) - start)) s under emulation, $(wc -l <"$WORK/arm64-$fixture.jsonl") messages"
  CHECK_NAME="replay fixtures/$fixture matches native output"
  check node "$REPO/scripts/arm64-compare.mjs" "$WORK/native-$fixture.jsonl" "$WORK/arm64-$fixture.jsonl"
done

if [ "$fail" -ne 0 ]; then log "arm64 smoke test FAILED (logs in $WORK)"; exit 1; fi
log "arm64 smoke test passed"
