#!/usr/bin/env bash
# `npm run bench:gpu` on a lent GPU machine through the device tool (docs/bench/gpu/README.md).
# That machine has no network, no npm and no Node, and only 64 MiB of the working tree
# travels, so node_modules (240 MiB) cannot: `prepare` (here) makes .gpubench/ with
#   - bench-gpu.mjs: scripts/bench-gpu.ts bundled by esbuild (all of projc, no node_modules),
#   - node.xz: this machine's Node binary (x86-64, ~24 MB compressed),
#   - webgpu/: the `webgpu` package's loader and its linux-x64 dawn.node (~5 MB compressed),
#   - vulkan/: libvulkan1's .deb (Dawn's Vulkan backend needs the loader; the NVIDIA ICD is
#     the machine's own),
# and `run` (there) unpacks them under /tmp, without touching /, and runs the benchmark
# with its results under $OUT. Both steps also work on this machine (CPU adapter: smoke).
#
#   scripts/bench-gpu-device.sh prepare            # here, once
#   scripts/bench-gpu-device.sh run [ARGS...]      # there: device run, carry [".gpubench"]
#   scripts/bench-gpu-device.sh bundle             # only the bundle (test/bench runs it)
# $GPUBENCH_DIR overrides the folder (default .gpubench).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${GPUBENCH_DIR:-.gpubench}"

# The benchmark as one file: all of projc, nothing from node_modules but `webgpu`.
bundle() {
  mkdir -p "$dir"
  npx esbuild scripts/bench-gpu.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --outfile="$dir/bench-gpu.mjs" --log-level=warning
}

prepare() {
  # The bundle is rebuilt each time; the compressed binaries (~2 min of xz) are kept.
  mkdir -p "$dir/webgpu" "$dir/vulkan"
  bundle
  [ "$(uname -m)" = x86_64 ] || { echo "prepare on x86-64: the device machine is x86-64" >&2; exit 1; }
  [ -s "$dir/node.xz" ] || xz -T0 -6 -c "$(command -v node)" >"$dir/node.xz"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$dir/webgpu/"
  [ -s "$dir/webgpu/dawn.node.xz" ] ||
    xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$dir/webgpu/dawn.node.xz"
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  ls "$dir"/vulkan/libvulkan1_*.deb >/dev/null 2>&1 ||
    (apt-get $o update -qq && cd "$dir/vulkan" && apt-get $o download -qq libvulkan1) ||
    echo "warning: no libvulkan1 .deb; the run relies on the device machine's own loader" >&2
  du -sh "$dir"
}

run() {
  local t=/tmp/projc-gpubench
  rm -rf "$t" && mkdir -p "$t/node_modules/webgpu/dist/linux-x64" "$t/root"
  xz -dc "$dir/node.xz" >"$t/node" && chmod +x "$t/node"
  cp "$dir/webgpu/package.json" "$dir/webgpu/index.js" "$t/node_modules/webgpu/"
  xz -dc "$dir/webgpu/dawn.node.xz" >"$t/node_modules/webgpu/dist/linux-x64/dawn.node"
  # The bundle resolves `webgpu` from its own folder's node_modules.
  cp "$dir/bench-gpu.mjs" "$t/"
  for f in "$dir"/vulkan/*.deb; do [ -e "$f" ] && dpkg -x "$f" "$t/root"; done
  local lib="$t/root/usr/lib/x86_64-linux-gnu"
  [ -e "$lib/libvulkan.so.1" ] && export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -e "$icd" ] && export VK_DRIVER_FILES="$icd"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv || true
  "$t/node" --version
  PROJC_BENCH_GPU_COMMAND="scripts/bench-gpu-device.sh run${*:+ $*}" \
    "$t/node" "$t/bench-gpu.mjs" --out "${OUT:-docs/bench/gpu}" "$@"
}

case "${1:-}" in
  prepare) prepare ;;
  bundle) bundle ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 prepare | bundle | run [bench:gpu args...]" >&2; exit 2 ;;
esac
