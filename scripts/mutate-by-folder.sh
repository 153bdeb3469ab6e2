#!/usr/bin/env bash
# Runs StrykerJS (stryker.config.mjs) once per group of mutated files, each with
# its own JSON report under bench/results/tmp/mutation/, then merges them into
# bench/results/mutation-score.{json,md}. One group at a time, so an interrupted
# run keeps every finished group's report (rerun with the remaining groups named).
#   bash scripts/mutate-by-folder.sh [GROUP ...]   groups: ledger weights fused ops
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A GLOBS=(
  [ledger]='src/tensor/memory-ledger.ts'
  [weights]='src/train/weights/safetensors-*.ts,src/train/weights/llama2c.ts,src/train/weights/host-dtypes.ts'
  [fused]='src/backends/cpu/fused.ts'
  [ops]='src/autograd/ops/**/*.ts'
)
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(ledger weights fused ops)
mkdir -p bench/results/tmp/mutation
for group in "${groups[@]}"; do
  [ -n "${GLOBS[$group]:-}" ] || { echo "mutate-by-folder: unknown group '$group' (use: ${!GLOBS[*]})" >&2; exit 2; }
  echo "== $group: ${GLOBS[$group]} ($(date -u +%H:%M:%S))"
  STRYKER_JSON_REPORT="bench/results/tmp/mutation/$group.json" npx stryker run stryker.config.mjs --mutate "${GLOBS[$group]}"
done
reports=()
for group in ledger weights fused ops; do
  [ -f "bench/results/tmp/mutation/$group.json" ] && reports+=("bench/results/tmp/mutation/$group.json")
done
GRADLAB_MUTATE_COMMAND="${GRADLAB_MUTATE_COMMAND:-bash scripts/mutate-by-folder.sh}" npx tsx scripts/mutation-summary.ts "${reports[@]}" bench/results/mutation-score
