#!/usr/bin/env bash
# Trained on one flow method, tested on others: the synthetic set's clips (make demo's, 8
# subjects, 96 clips) prepared three times (Dual TV-L1, Farneback, DIS); LFD-TCMEN trained on the
# TV-L1 store with five seeds, once as configs/synthetic.yaml and once with train.flow_jitter 0.5
# (flows re-rendered at random in training; the probability was fixed before any run), its fold
# models re-tested on the Farneback and DIS flows of the same clips and on re-rendered TV-L1 flows,
# with the paired subject-bootstrap interval of the jittered run against the plain one.
# Resumable; ~15 min on 2 cores.
#   bash benchmarks/flow_methods.sh > results/flow_methods.txt
set -euo pipefail
cd "$(dirname "$0")/.."
LFD=.venv/bin/lfd-tcmen
OUT=runs/flow_methods
SEEDS=0,1,2,3,4
mkdir -p "$OUT"
if [[ ! -f .demo/synth/CASME2-coding-synthetic.xlsx ]]; then
  "$LFD" data synth --out .demo/synth --subjects 8 --seed 0
fi
[[ -f .demo/store/manifest.json ]] || "$LFD" prepare --dataset casme2 --root .demo/synth/CASME2_RAW_selected \
  --annotations .demo/synth/CASME2-coding-synthetic.xlsx --labels casme2-3class --out .demo/store --workers 2 --no-progress
"$LFD" train --config configs/synthetic.yaml --seeds "$SEEDS" --out "$OUT/tvl1" --resume --workers 2 --no-progress >&2
"$LFD" train --config configs/synthetic.yaml --seeds "$SEEDS" --set train.flow_jitter=0.5 \
  --out "$OUT/tvl1_flow_jitter" --resume --workers 2 --no-progress >&2
stores=()
for method in farneback dis; do
  echo "flow_method: $method" > "$OUT/preprocess_$method.yaml"
  "$LFD" prepare --dataset casme2 --root .demo/synth/CASME2_RAW_selected \
    --annotations .demo/synth/CASME2-coding-synthetic.xlsx --labels casme2-3class \
    --out "$OUT/store_$method" --config "$OUT/preprocess_$method.yaml" --workers 2 --no-progress >&2
  stores+=(--store "$method=$OUT/store_$method")
done
echo "# bash benchmarks/flow_methods.sh  ($(date -u +%F), $(nproc) cores): trained on TV-L1 flows, tested on others"
.venv/bin/python benchmarks/flow_robustness.py "$OUT/tvl1" "$OUT/tvl1_flow_jitter" "${stores[@]}"
