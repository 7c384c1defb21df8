#!/usr/bin/env bash
# The paper's first benchmark, end to end at full size, on synthetic frames: benchmarks/casme3.yaml
# (every method, ablation and variant, five seeds, 20 LOSO folds) from raw frames to its table, on
# a 20-subject CAS(ME)^3 Part A set rendered in the authors' layout (task videos with several
# micro-expressions each, frame numbers far from 0, the v2 label sheet). 9 micro-expressions per
# subject, as in the real Part A (860 rows, 94 subjects); 137 of the 180 are in the 3 classes.
# It proves the one command a CAS(ME)^3 licensee runs and measures its wall time; the scores are
# of synthetic clips, not of CAS(ME)^3. Resumable (rerun after an interruption); prints the
# wall time of this call.
#   bash benchmarks/casme3_synthetic.sh            # writes results/casme3_synthetic/
set -euo pipefail
cd "$(dirname "$0")/.."
LFD=.venv/bin/lfd-tcmen
SHEET="raw/cas(me)3_part_A_ME_label_JpgIndex-synthetic.xlsx"
mkdir -p runs/casme3_synthetic
cd runs/casme3_synthetic  # the config's data.path (features/casme3-3class) is relative to here
[[ -f "$SHEET" ]] || "../../$LFD" data synth --layout casme3 --subjects 20 --clips-per-subject 9 --seed 0 --out raw >/dev/null
start=$(date +%s)
"../../$LFD" benchmark --config ../../benchmarks/casme3.yaml --root raw/part_A \
  --annotations "$SHEET" \
  --out ../../results/casme3_synthetic --workers 2 --resume --no-progress "$@"
echo "wall time: $(( $(date +%s) - start )) s on $(nproc) core(s), $(lscpu | sed -n 's/^Model name: *//p')"
