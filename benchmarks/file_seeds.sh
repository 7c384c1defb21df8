#!/usr/bin/env bash
# Seeds of a benchmark's rows, one seed at a time, each committed to git as soon as it is filed:
#   CONFIG=benchmarks/casme2.yaml RUNS=results/casme2/runs bash benchmarks/file_seeds.sh all 0,1,2,3,4
# For each seed, benchmarks/one_seed.sh ROWS SEED (resumable: rerun the same command after an
# interruption), then `git commit` of RUNS alone, so a session that ends mid-way keeps every
# finished seed's predictions, metrics and config.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  echo "usage: bash benchmarks/file_seeds.sh ROW[,ROW...]|all SEED[,SEED...] [benchmark options]" >&2
  exit 2
fi
rows=$1 seeds=$2
shift 2
RUNS=${RUNS:-results/megc2019/runs}
IFS=, read -ra list <<< "$seeds"
for seed in "${list[@]}"; do
  bash benchmarks/one_seed.sh "$rows" "$seed" "$@"
  [[ -d $RUNS ]] || continue
  git add -- "$RUNS"
  if git diff --cached --quiet -- "$RUNS"; then continue; fi
  for try in 1 2 3 4 5 6 7 8 9 10; do  # another git command may hold the index for a moment
    if git commit -q -m "results: seed $seed of $rows filed under $RUNS (${CONFIG:-benchmarks/megc2019.yaml})" -- "$RUNS"; then
      break
    fi
    sleep 3
  done
done
