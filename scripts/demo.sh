#!/usr/bin/env bash
# The demo, end to end on 2 CPU cores in a few minutes: render a synthetic CASME II-layout
# dataset, prepare its features (face alignment, TV-L1 flows), train LFD-TCMEN under honest
# leave-one-subject-out, and show the results. Rerunning reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
LFD=.venv/bin/lfd-tcmen
start=$(date +%s)

if [[ ! -f .demo/synth/CASME2-coding-synthetic.xlsx ]]; then
  echo "== 1/3 render the synthetic dataset (8 subjects) =="
  "$LFD" data synth --out .demo/synth --subjects 8 --seed 0
fi

echo "== 2/3 prepare features: align faces, optical flow per segment =="
"$LFD" prepare --dataset casme2 --root .demo/synth/CASME2_RAW_selected \
  --annotations .demo/synth/CASME2-coding-synthetic.xlsx --labels casme2-3class \
  --out .demo/store --workers 2

echo "== 3/3 train and evaluate: leave-one-subject-out, honest protocol =="
rm -rf runs/demo  # the demo retrains from scratch (about a minute); results are deterministic
"$LFD" train --config configs/synthetic.yaml --out runs/demo

echo
echo "== results (runs/demo) =="
cat runs/demo/folds.md
echo
echo "figures: runs/demo/confusion.png runs/demo/curves.png runs/demo/embedding.png (all in report.html)"
echo
echo "== predict one clip from key-frame images with a fold's model =="
clip=.demo/synth/CASME2_RAW_selected/sub01/$(ls .demo/synth/CASME2_RAW_selected/sub01 | head -1)
first=$(ls "$clip" | grep -E '^img[0-9]+\.jpg$' | sed -E 's/img([0-9]+)\.jpg/\1/' | sort -n | head -1)
middle=$(ls "$clip" | grep -E '^img[0-9]+\.jpg$' | sed -E 's/img([0-9]+)\.jpg/\1/' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "$LFD predict --onset $clip/img$first.jpg --apex $clip/img$middle.jpg --checkpoint runs/demo/folds/casme2__sub01/model.pt"
"$LFD" predict --onset "$clip/img$first.jpg" --apex "$clip/img$middle.jpg" --checkpoint runs/demo/folds/casme2__sub01/model.pt
echo "demo finished in $(( $(date +%s) - start )) s"
echo "report (open it in a browser): $(pwd)/runs/demo/report.html"
