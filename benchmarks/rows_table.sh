#!/usr/bin/env bash
# The benchmark table of some rows, built from their filed seed folders alone (nothing trained):
#   bash benchmarks/rows_table.sh ststnet_paper > results/megc2019/ststnet_paper.md
#   bash benchmarks/rows_table.sh lfd_tcmen,ststnet_paper [benchmark options, e.g. --resamples N]
# Rows filed one seed at a time by benchmarks/one_seed.sh live in results/megc2019/runs beside
# rows whose run folders are gone, so `benchmark --report-only` into results/megc2019 would
# rewrite its table.md without them. This builds the table in a scratch folder whose runs/ is
# RUNS (default results/megc2019/runs) and prints it: mean ± sd over the config's seeds (or
# --seeds), the seed-ensemble rows, and ΔUF1 against the config's reference row with its paired
# subject-cluster bootstrap interval when that row is among ROWS. Each row's seeds.json and
# ensemble/ are (re)written in its run folder, where git keeps them.
# CONFIG (default benchmarks/megc2019.yaml) names another benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || $1 == -* ]]; then
  echo "usage: bash benchmarks/rows_table.sh ROW[,ROW...] [benchmark options]   (e.g. ststnet_paper)" >&2
  exit 2
fi
rows=$1
shift
LFD=.venv/bin/lfd-tcmen
CONFIG=${CONFIG:-benchmarks/megc2019.yaml}
RUNS=${RUNS:-results/megc2019/runs}
if [[ ! -d $RUNS ]]; then
  echo "rows_table.sh: no run folders at $RUNS; file seeds with benchmarks/one_seed.sh first" >&2
  exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ln -s "$(cd "$RUNS" && pwd)" "$scratch/runs"
echo "<!-- bash benchmarks/rows_table.sh $rows $* ($(date -u +%F)), from the seed folders under $RUNS -->"
echo
"$LFD" benchmark --config "$CONFIG" --methods "$rows" --report-only --out "$scratch" --no-progress "$@" 2> "$scratch/log" \
  || { grep -v '^report: ' "$scratch/log" >&2; exit 1; }
