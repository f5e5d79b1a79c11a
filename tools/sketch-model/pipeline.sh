#!/bin/sh
# The small built-in sketch model from a clean clone, in one command (after `npm ci`):
#
#   sh tools/sketch-model/pipeline.sh                  # CPU, Debian's python3-torch
#   DEVICE=cuda TRAIN_FLAGS="--batch-tokens 65536 --max-rows 64 --steps 20000 --decay-steps 3000" \
#     PYTHON=python3 sh tools/sketch-model/pipeline.sh  # a GPU machine with a recent PyTorch
#
# Every stage is resumable and re-run safe: the generator and the encoder skip what exists, the
# trainer continues from WORK/run/checkpoint.pt. Stages: data (tools/sketch-data) -> tokenizer
# (make-tokenizer.ts) -> encoded shards (encode.ts) -> training (train.py) -> model folder and parity
# folder (export.py) -> evaluation (npm run eval:sketch). Nothing it writes goes into git.
set -eu
cd "$(dirname "$0")/../.."

DATA=${DATA:-/work/data/sketch}              # generated examples (images + targets)
WORK=${WORK:-/work/data/sketch-model}        # tokenizer, encoded shards, run, exports
TRAIN_COUNT=${TRAIN_COUNT:-40000}
PYTHON=${PYTHON:-/usr/bin/python3}
DEVICE=${DEVICE:-cpu}
TRAIN_FLAGS=${TRAIN_FLAGS:-"--steps 3000 --decay-steps 400 --accum 1"}
NICE=${NICE:-nice -n 10}
TSX="node --import tsx"

mkdir -p "$DATA" "$WORK"
# 1. Data: the held-out splits (fixed seeds, the unseen style only in eval-unseen) and the training split.
$NICE $TSX tools/sketch-data/generate.ts --out "$DATA" --split eval --seed 1001 --count 500
$NICE $TSX tools/sketch-data/generate.ts --out "$DATA" --split eval-unseen --seed 2002 --count 200 --tasks sketch,chart
$NICE $TSX tools/sketch-data/generate.ts --out "$DATA" --split train --seed 1 --count "$TRAIN_COUNT"

# 2. Tokenizer, learned once on the training targets (later runs keep it: the data depends on it).
[ -f "$WORK/tekken.json" ] || $NICE $TSX tools/sketch-model/make-tokenizer.ts --data "$DATA" --split train --out "$WORK/tekken.json"

# 3. Encoded shards: the product's prompt ids, image grids and target ids.
for split in eval eval-unseen train; do
  $NICE $TSX tools/sketch-model/encode.ts --data "$DATA" --split "$split" --tokenizer "$WORK/tekken.json" --out "$WORK/encoded"
done

# 4. Training (seeded; resumes from $WORK/run/checkpoint.pt).
# shellcheck disable=SC2086
$NICE "$PYTHON" tools/sketch-model/train.py --data "$WORK/encoded" --tekken "$WORK/tekken.json" --out "$WORK/run" \
  --source "$DATA" --device "$DEVICE" $TRAIN_FLAGS

# 5. The model folder the product loads, and its parity folder (engine vs. PyTorch).
"$PYTHON" tools/sketch-model/export.py --checkpoint "$WORK/run/checkpoint.pt" --out "$WORK/model" \
  --parity "$WORK/parity" --parity-data "$WORK/encoded/eval"
PIXTRAL_FIXTURES="$WORK/parity" node --import tsx --test test/engine/parity.test.ts

# 6. Evaluation on the held-out splits (table, pictures) with the product's engine.
npm run eval:sketch -- --data "$DATA" --model "$WORK/model" --out "$WORK/eval"
