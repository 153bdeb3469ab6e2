#!/usr/bin/env bash
# Builds .portable/gradlab-gpu-bench.tar: the kernel benchmark, ready to run on
# an offline x86-64 GPU server that has a driver but no Node.js, npm or network
# (see docs/PORTABLE-GPU-RUN.md). Inside:
#   node.xz                  this machine's Node.js binary (xz -9)
#   kernels.mjs              bench/kernels.ts bundled by esbuild (webgpu left external)
#   kernels/gradlab-kernels.wasm  the wasm backend's kernels (found beside kernels.mjs, as in src/)
#   torch_kernels.py         PyTorch figures, used when the server has python3 with torch
#   node_modules/webgpu/     index.js, package.json, dist/linux-x64/dawn.node.xz
#   libvulkan1.deb           Debian's Vulkan loader, unpacked only where libvulkan.so.1 is missing
#   run.sh                   unpacks, finds the Vulkan driver, runs, writes JSON + Markdown
# Usage on the server:  tar -xf gradlab-gpu-bench.tar && ./gradlab-gpu-bench/run.sh OUT_DIR [h200]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.portable"
bundle="$out/gradlab-gpu-bench"
limit_bytes=$((64 * 1024 * 1024))

need() { command -v "$1" >/dev/null || { echo "portable-gpu-bundle: '$1' is required ($2)" >&2; exit 1; }; }
need node "the Node.js binary to ship"
need xz "apt-get install xz-utils"
[ -x "$root/node_modules/.bin/esbuild" ] || { echo "portable-gpu-bundle: run npm install first (esbuild)" >&2; exit 1; }
dawn="$root/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || { echo "portable-gpu-bundle: $dawn is missing (npm install)" >&2; exit 1; }

rm -rf "$bundle"
mkdir -p "$bundle/node_modules/webgpu/dist/linux-x64"

echo "portable-gpu-bundle: bundling bench/kernels.ts"
# benny's CommonJS dependencies require() Node built-ins, so the ES module bundle gets a require. benchmark.js
# (under benny) also looks lodash and platform up at run time through that require; the entry below bundles
# both and the banner's require hands them out, so no node_modules beyond webgpu are needed.
mkdir -p "$out/build"
cat > "$out/build/entry.mjs" <<ENTRY
import lodash from '$root/node_modules/lodash/lodash.js';
import platform from '$root/node_modules/platform/platform.js';
globalThis.__gradlabBundledModules = { lodash, platform };
await import('$root/bench/kernels.ts');
ENTRY
"$root/node_modules/.bin/esbuild" "$out/build/entry.mjs" --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:gpu.js --log-level=warning --outfile="$bundle/kernels.mjs" \
  --banner:js="import { createRequire as __gradlabCreateRequire } from 'node:module'; const require = (id) => globalThis.__gradlabBundledModules?.[id] ?? __gradlabCreateRequire(import.meta.url)(id);"
cp "$root/bench/torch_kernels.py" "$bundle/"
# The wasm backend reads its kernels from new URL('./kernels/gradlab-kernels.wasm', import.meta.url).
mkdir -p "$bundle/kernels"
cp "$root/src/backends/wasm/kernels/gradlab-kernels.wasm" "$bundle/kernels/"

echo "portable-gpu-bundle: compressing node ($(readlink -f "$(command -v node)")) and dawn.node"
xz -9 -T0 -c "$(readlink -f "$(command -v node)")" > "$bundle/node.xz"
xz -9 -T0 -c "$dawn" > "$bundle/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
cp "$root/node_modules/webgpu/index.js" "$root/node_modules/webgpu/package.json" "$bundle/node_modules/webgpu/"

echo "portable-gpu-bundle: fetching Debian's libvulkan1"
deb=""
if (cd "$bundle" && apt-get download libvulkan1 >/dev/null 2>&1); then
  deb=$(ls "$bundle"/libvulkan1_*.deb | head -n1)
else
  deb=$(ls /var/cache/apt/archives/libvulkan1_*.deb 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || { echo "portable-gpu-bundle: cannot get libvulkan1 (apt-get download failed and none is cached)" >&2; exit 1; }
  cp "$deb" "$bundle/"
fi
mv "$bundle"/libvulkan1_*.deb "$bundle/libvulkan1.deb"

cat > "$bundle/run.sh" <<'RUN'
#!/bin/sh
# Runs gradlab's kernel benchmark on this machine's GPU and writes every figure
# to OUT_DIR (JSON + Markdown + run.log) as well as to the console.
#   ./run.sh OUT_DIR [GPU]    GPU names the peak figures (h200, h200-nvl, h100, a100, l40s); default h200
# Environment: BACKENDS (default webgpu:vulkan,webgpu:vulkan:packed,webgpu:gles,wasm,cpu), QUICK=1 (small
# shapes), CHECK=N conformance cases per kernel before timing (default 3), TILES="..." matmul tilings
# to compare after the main run (default: a few; TILES= to skip), VK_DRIVER_FILES (else searched).
set -eu
OUT=${1:?usage: run.sh OUT_DIR [GPU]}
GPU=${2:-${GRADLAB_GPU_PEAK:-h200}}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/run.log"
log() { echo "[run.sh] $*" | tee -a "$LOG"; }

unxz_to() { # unxz_to SRC DST: xz, then python3's lzma, as decompressors
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  else echo "run.sh: need xz or python3 to unpack $1" >&2; exit 1; fi
}

log "bundle in $HERE, results to $OUT, peak figures of $GPU"
[ -x "$HERE/node" ] || { unxz_to "$HERE/node.xz" "$HERE/node"; chmod +x "$HERE/node"; }
DAWN="$HERE/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$DAWN" ] || unxz_to "$DAWN.xz" "$DAWN"
log "node $("$HERE/node" --version)"

# The Vulkan loader: the system's if it has one, else Debian's, unpacked here (no root needed).
if ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; } && ! ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1; then
  mkdir -p "$HERE/vulkan"
  if command -v dpkg >/dev/null 2>&1; then dpkg -x "$HERE/libvulkan1.deb" "$HERE/vulkan"
  else (cd "$HERE/vulkan" && ar x "$HERE/libvulkan1.deb" && tar -xf data.tar.*); fi
  LD_LIBRARY_PATH="$HERE/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
  log "libvulkan.so.1 not installed: using Debian's from libvulkan1.deb ($LD_LIBRARY_PATH)"
else
  log "libvulkan.so.1: the system's"
fi

# The NVIDIA driver's Vulkan ICD may sit outside the loader's default search path.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for dir in /usr/local/nvidia/share/vulkan/icd.d /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    if [ -f "$dir/nvidia_icd.json" ]; then VK_DRIVER_FILES="$dir/nvidia_icd.json"; export VK_DRIVER_FILES; break; fi
  done
fi
log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi 2>&1 | tee -a "$LOG" || log "nvidia-smi not found"

BACKENDS=${BACKENDS:-webgpu:vulkan,webgpu:vulkan:packed,webgpu:gles,wasm,cpu}
QUICK_FLAG=""
if [ "${QUICK:-0}" = 1 ]; then QUICK_FLAG=--quick; fi
set -- --backends "$BACKENDS" --gpu-peak "$GPU" --out "$OUT" --check "${CHECK:-3}" $QUICK_FLAG
log "main run: node kernels.mjs $*"
"$HERE/node" "$HERE/kernels.mjs" "$@" 2>&1 | tee -a "$LOG"

for tile in ${TILES-64x64x8x8x8 128x128x8x8x8 128x128x16x8x8 64x128x8x8x8 128x64x8x8x4}; do
  log "matmul with tile $tile"
  "$HERE/node" "$HERE/kernels.mjs" --backends webgpu:vulkan --only matmul --matmul-tile "$tile" --tag "tile-$tile" \
    --gpu-peak "$GPU" --out "$OUT" --no-torch $QUICK_FLAG 2>&1 | tee -a "$LOG"
done
log "done; results in $OUT"
RUN
chmod +x "$bundle/run.sh"

tar -C "$out" -cf "$out/gradlab-gpu-bench.tar" gradlab-gpu-bench
size=$(stat -c %s "$out/gradlab-gpu-bench.tar")
echo "portable-gpu-bundle: $out/gradlab-gpu-bench.tar is $((size / 1024 / 1024)) MiB:"
(cd "$bundle" && find . -type f -printf '  %8s  %p\n' | sort -k2)
if [ "$size" -ge "$limit_bytes" ]; then echo "portable-gpu-bundle: the bundle is over 64 MiB" >&2; exit 1; fi
