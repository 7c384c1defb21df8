#!/usr/bin/env bash
# Our composite runs against STSTNet's published predictions, sample by sample: the authors' own
# LOSO log (../shared/data/peer_logs/STSTNet_logfile.txt, MEGC2019 format, UF1 .7353; the
# authors' script reports the last of its 800 epochs, so no test-subject epoch choice) paired with
# each run of results/megc2019 that has finished, by `lfd-tcmen compare` (paired subject-cluster
# bootstrap within each dataset, seeds resampled too, 10,000 resamples, Holm across the runs).
# Honest rows only: a leaky row against a last-epoch log would not be a like-for-like comparison.
# Needs the run folders: each seed filed by `bash benchmarks/one_seed.sh ROW K` (or a whole
# `lfd-tcmen benchmark --config benchmarks/megc2019.yaml --methods ROW --resume --workers 2`), the
# seed ensembles by `bash benchmarks/rows_table.sh ROW`; a run not there is named and left out.
#   bash benchmarks/vs_published.sh > results/vs_published.txt
set -euo pipefail
cd "$(dirname "$0")/.."
LFD=.venv/bin/lfd-tcmen
DATA=${LFD_TCMEN_DATA:-../shared/data}
LOG=$DATA/peer_logs/STSTNet_logfile.txt
RUNS=${RUNS:-results/megc2019/runs}  # where the benchmark put its run folders
runs=()
for run in lfd_tcmen__honest lfd_tcmen__honest/ensemble ststnet_paper__honest ststnet_paper__honest/ensemble \
  ststnet_shared__honest; do
  if compgen -G "$RUNS/$run/predictions.csv" > /dev/null || compgen -G "$RUNS/$run/seed*/predictions.csv" > /dev/null; then
    runs+=("$RUNS/$run")
  else
    echo "# left out (no predictions yet): $RUNS/$run" >&2
  fi
done
if [[ ${#runs[@]} -eq 0 ]]; then
  echo "vs_published.sh: no finished run under $RUNS; run the benchmark first" >&2
  exit 1
fi
echo "# bash benchmarks/vs_published.sh  ($(date -u +%F)): our runs against STSTNet's published predictions"
for run in "${runs[@]}"; do
  seeds=$(find "$run" -maxdepth 2 -name predictions.csv -path '*seed*' | sed 's|.*/\(seed[0-9]*\)/.*|\1|' | sort -V | paste -sd ' ')
  echo "#   $run: ${seeds:-one run}"
done
echo
"$LFD" compare "$LOG" "${runs[@]}"  # each run minus A, the published predictions
