#!/usr/bin/env bash
# The sketch model's GPU run, for the lent H200 (PyTorch there; no Node, no network).
#   bash tools/sketch-model/train_on_h200.sh stash            # keep the carried chunks in /tmp
#   MINUTES=6 bash tools/sketch-model/train_on_h200.sh train OUT_DIR
# Inputs: .gpu-data/<chunk>/train (pack_for_gpu.py) and .gpu-data/tekken.json. A warm machine keeps
# /tmp between calls, so chunks carried by earlier calls join the training set (each call can carry
# only 64 MiB). Outputs in OUT_DIR: train.log and the trained weights as weights.pt.part-* (fp32
# state dict + params, split under the 16 MiB file limit; `cat` them back into one file and give it
# to export.py --checkpoint).
set -uo pipefail
cd "$(dirname "$0")/../.."
store=/tmp/sketch-gpu
mkdir -p "$store/encoded/train"
for chunk in .gpu-data/*/train; do
  name=$(basename "$(dirname "$chunk")")
  cp "$chunk/shard-00000.bin" "$store/encoded/train/shard-$name.bin"
  sed "s/shard-00000.bin/shard-$name.bin/" "$chunk/index.jsonl" >"$store/encoded/train/index-$name.jsonl"
done
cp .gpu-data/tekken.json "$store/tekken.json"
cat "$store"/encoded/train/index-*.jsonl >"$store/encoded/train/index.jsonl"
echo "training set: $(wc -l <"$store/encoded/train/index.jsonl") examples from chunks: $(ls "$store/encoded/train" | grep -c '^shard-')"
[ "${1:-}" = train ] || exit 0

out="${2:-${OUT:-$PWD/sketch-gpu-out}}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
PYTHONUNBUFFERED=1 python3 tools/sketch-model/train.py --data "$store/encoded" --tekken "$store/tekken.json" \
  --out "$store/run" --device cuda --minutes "${MINUTES:-6}" --preload 16 --eval-split '' --export-every 0 \
  --batch-tokens "${BATCH_TOKENS:-32768}" --max-rows 48 --accum 1 --task-weights chart=1 \
  --lr "${LR:-2e-3}" --warmup 100 --steps 1000000 --save-minutes 2 >"$store/stdout.log" 2>&1
status=$?
tail -c 100000 "$store/stdout.log" >"$out/stdout.log"
cp "$store/run/train.log" "$out/train.log"
python3 - "$store/run/checkpoint.pt" "$store/weights.pt" <<'EOF'
import sys, torch
s = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
torch.save({"params": s["params"], "model": s["model"], "step": s["step"]}, sys.argv[2])
print("step", s["step"])
EOF
split -b 15M "$store/weights.pt" "$out/weights.pt.part-"
ls -la "$out"
tail -3 "$out/train.log"
exit $status
