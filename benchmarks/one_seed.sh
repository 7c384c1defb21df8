#!/usr/bin/env bash
# One seed of some rows of a benchmark, filed into each row's five-seed run folders:
#   bash benchmarks/one_seed.sh ststnet_paper 1 [benchmark options, e.g. --data DIR]
#   CONFIG=benchmarks/casme2.yaml RUNS=results/casme2/runs bash benchmarks/one_seed.sh all 0
# ROW is a row name, a comma-separated list of them, or "all" (every row of the config); the
# rows of one call train together, so both workers stay busy to the end. Trains seed K of ROW (the same command again resumes it after an interruption) in a
# scratch folder (OUT, default work/one_seed/ROW/seedK, git-ignored) and, once every fold of it is
# done, moves each protocol's run folder to results/megc2019/runs/ROW__<protocol>/seedK/, where
# git keeps its predictions, metrics and config (.gitignore). A seed already filed is left as it
# is. Why not `--seeds 0,1,2,3,4`: that trains the five seeds' folds interleaved, so no seed is
# finished before all are; one seed at a time fits a session's CPU (ststnet_paper: about 67 min a
# seed on 2 cores). Then `lfd-tcmen compare` and benchmarks/vs_published.sh read the seeds.
# CONFIG and RUNS (default results/megc2019/runs) name another benchmark and where its rows are.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: bash benchmarks/one_seed.sh ROW[,ROW...]|all SEED [benchmark options]   (e.g. ststnet_paper 1)" >&2
  exit 2
fi
row=$1 seed=$2
shift 2
LFD=.venv/bin/lfd-tcmen
PY=.venv/bin/python
CONFIG=${CONFIG:-benchmarks/megc2019.yaml}
RUNS=${RUNS:-results/megc2019/runs}
out=${OUT:-work/one_seed/$(basename "$CONFIG" .yaml)/$row/seed$seed}
if [[ $row == all ]]; then
  row=$("$LFD" benchmark --config "$CONFIG" --list --seeds "$seed" "$@" 2> /dev/null | awk 'NF >= 3 && $2 ~ /^(method|ablation|variant)$/ && !/skip/ {print $1}' | paste -sd, -)
fi
IFS=, read -ra rows <<< "$row"
# Rows not yet filed for this seed train; rows stopped between two protocols' moves have filed
# some protocols and left the rest in the scratch folder: those are finished (checked below) and
# moved without training again.
todo=()
for r in "${rows[@]}"; do
  if [[ -z $(compgen -G "$RUNS/${r}__*/seed$seed" || true) ]]; then todo+=("$r"); fi
done
if [[ ${#todo[@]} -gt 0 ]]; then
  "$LFD" benchmark --config "$CONFIG" --methods "$(IFS=,; echo "${todo[*]}")" --seeds "$seed" --resume \
    --workers "${WORKERS:-2}" --out "$out" --no-progress "$@" > /dev/null
fi
runs=()
for r in "${rows[@]}"; do
  runs+=($(compgen -G "$out/runs/${r}__*" || true))
done
if [[ ${#runs[@]} -eq 0 ]]; then
  echo "one_seed.sh: seed $seed of $row is already filed; nothing to do" >&2
  exit 0
fi
for run in "${runs[@]}"; do
  done_total=$("$PY" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["folds_done"], m["folds_total"])' "$run/metrics.json")
  read -r done total <<< "$done_total"
  if [[ $done != "$total" ]]; then
    echo "one_seed.sh: $run has $done of $total folds (see its metrics.json failed_folds); run the same command again" >&2
    exit 1
  fi
done
for run in "${runs[@]}"; do
  target=$RUNS/$(basename "$run")/seed$seed
  if [[ -e $target ]]; then
    echo "one_seed.sh: $target already exists; $run is left where it is" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$target")"
  rm -f "$run/.lfd-tcmen.lock"
  mv "$run" "$target"
  echo "$target: $("$PY" -c 'import json, sys; o = json.load(open(sys.argv[1]))["overall"]; print("UF1 %.4f, UAR %.4f" % (o["uf1"], o["uar"]))' "$target/metrics.json")"
done
