#!/usr/bin/env bash
# Trained on one flow method, tested on others: the synthetic set's clips prepared three times
# (Dual TV-L1, Farneback, DIS), LFD-TCMEN trained on the TV-L1 store (the demo's run), its fold
# models re-tested on the Farneback and DIS flows of the same clips. Resumable; ~5 min on 2 cores
# when the demo has run (`make demo`), which supplies .demo/synth, .demo/store and runs/demo.
#   bash benchmarks/flow_methods.sh [RUN ...]     # default runs/demo
set -euo pipefail
cd "$(dirname "$0")/.."
LFD=.venv/bin/lfd-tcmen
OUT=runs/flow_methods
mkdir -p "$OUT"
if [[ ! -f .demo/synth/CASME2-coding-synthetic.xlsx ]]; then
  "$LFD" data synth --out .demo/synth --subjects 8 --seed 0
fi
[[ -f .demo/store/manifest.json ]] || "$LFD" prepare --dataset casme2 --root .demo/synth/CASME2_RAW_selected \
  --annotations .demo/synth/CASME2-coding-synthetic.xlsx --protocol casme2-3class --out .demo/store --workers 2 --no-progress
[[ -d runs/demo/folds ]] || "$LFD" train --config configs/synthetic.yaml --out runs/demo --no-progress
stores=()
for method in farneback dis; do
  echo "flow_method: $method" > "$OUT/preprocess_$method.yaml"
  "$LFD" prepare --dataset casme2 --root .demo/synth/CASME2_RAW_selected \
    --annotations .demo/synth/CASME2-coding-synthetic.xlsx --protocol casme2-3class \
    --out "$OUT/store_$method" --config "$OUT/preprocess_$method.yaml" --workers 2 --no-progress
  stores+=(--store "$method=$OUT/store_$method")
done
.venv/bin/python benchmarks/flow_robustness.py "${@:-runs/demo}" "${stores[@]}"
