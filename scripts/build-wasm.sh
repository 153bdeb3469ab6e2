#!/bin/sh
# Builds src/backends/wasm/kernels/*.c into src/backends/wasm/kernels/gradlab-kernels.wasm
# with Debian 12's clang and lld (apt-get install clang lld). The output is
# committed; CI rebuilds it and fails if the bytes differ (`--check`).
set -eu
cd "$(dirname "$0")/../src/backends/wasm/kernels"
CLANG=${CLANG:-clang}
WASM_LD=${WASM_LD:-wasm-ld}
OUT=gradlab-kernels.wasm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for src in *.c; do
  "$CLANG" --target=wasm32 -O3 -std=c11 -ffreestanding -nostdlib -fno-builtin-memcpy \
    -msimd128 -matomics -mbulk-memory -mnontrapping-fptoint -msign-ext \
    -ffile-prefix-map="$PWD"=. -Wall -Werror -c "$src" -o "$TMP/${src%.c}.o"
done
# Shared, imported memory (workers instantiate the same module on it); 4 GiB maximum.
"$WASM_LD" --no-entry --import-memory --shared-memory --max-memory=4294967296 \
  -z stack-size=262144 --stack-first --export=__heap_base --strip-all \
  "$TMP"/*.o -o "$TMP/$OUT"
if [ "${1:-}" = "--check" ]; then
  if cmp -s "$TMP/$OUT" "$OUT"; then echo "build-wasm: $OUT matches its sources"; else
    echo "build-wasm: $OUT differs from a fresh build of its sources; run scripts/build-wasm.sh and commit the result" >&2; exit 1; fi
else
  cp "$TMP/$OUT" "$OUT"
  echo "build-wasm: wrote src/backends/wasm/kernels/$OUT ($(wc -c < "$OUT") bytes)"
fi
