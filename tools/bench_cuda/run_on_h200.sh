#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with an NVIDIA GPU, nvcc, g++, make and a
# Python with PyTorch, transformers and safetensors, and no Node (the lent H200): builds the CUDA
# library and the test programs, runs the op harness on the GPU, the fixture parity, the
# transformers benchmark with full-size parity, and our benchmark, then writes one markdown table.
#   bash tools/bench_cuda/run_on_h200.sh [OUT_DIR]        (npm run bench:cuda where Node exists)
# Inputs: the fixture bundle .gpu-carry/pixtral-tiny.tar.xz (tools/bench_cuda/fixture_bundle.py
# pack; skipped when absent). Outputs in OUT_DIR (default $OUT, else ./bench-cuda-out):
# results.md (the table), run.log, op_harness.jsonl, fixture_parity.txt, hf.json, ours.json.
# Stages can be skipped for a rerun: SKIP="build harness fixtures hf ours" (any subset).
# About 10 minutes on an H200, most of it writing and loading 25 GB of random weights
# (WEIGHTS, default /tmp/pixtral12b-random, kept between stages).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:-${OUT:-$PWD/bench-cuda-out}}"
mkdir -p "$out"
weights="${WEIGHTS:-/tmp/pixtral12b-random}"
release="$PWD/native/build/Release"
skip="${SKIP:-}"
export PYTHONUNBUFFERED=1
status=0
exec > >(tee -a "$out/run.log") 2>&1

stage() { echo; echo "== $1 ($(date +%T))"; }
wants() { [[ " $skip " != *" $1 "* ]]; }
fail() { echo "FAILED: $1"; status=1; }

stage "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
nvcc --version | tail -1

if wants build; then
  stage "build (sm_90 + PTX, libpixtral_cuda.so and the test programs)"
  start=$SECONDS
  make -C native/cuda -j"$(nproc)" ARCHS=90 all programs >/tmp/build-cuda.log 2>&1 || { tail -40 /tmp/build-cuda.log; fail build; exit 1; }
  echo "built in $((SECONDS - start)) s"
fi

if wants harness; then
  stage "op harness on CUDA"
  timeout 300 "$release/op_harness" --backend cuda --seed 1 >"$out/op_harness.jsonl"
  rc=$?
  grep '"ok": false' "$out/op_harness.jsonl" | head -20
  tail -1 "$out/op_harness.jsonl"
  [ $rc -eq 0 ] || fail "op harness (exit $rc)"
fi

if wants fixtures && [ -f .gpu-carry/pixtral-tiny.tar.xz ]; then
  stage "fixture parity (bf16 tolerances; bf16 and f32 KV caches)"
  python3 tools/bench_cuda/fixture_bundle.py unpack .gpu-carry/pixtral-tiny.tar.xz /tmp/pixtral-tiny
  for kv in bf16 f32; do
    timeout 300 "$release/fixture_parity" --fixtures /tmp/pixtral-tiny --backend cuda --kv $kv | tee -a "$out/fixture_parity.txt" | grep -v '^ok ' || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail "fixture parity ($kv KV cache)"
  done
fi

if wants hf; then
  stage "transformers: random 12B weights, benchmark, fp32 reference logits"
  python3 tools/bench_cuda/transformers_bench.py run --weights "$weights" --out "$out" || fail "transformers benchmark"
fi

if wants ours; then
  stage "our engine: benchmark and logits"
  "$release/bench_cuda" --model "$weights" --prompts "$weights/prompts" --out "$weights/prompts" &&
    cp "$weights/prompts/ours.json" "$out/" || fail "bench_cuda"
fi

stage "results"
if [ -f "$out/hf.json" ] && [ -f "$out/ours.json" ]; then
  python3 tools/bench_cuda/transformers_bench.py report --weights "$weights" --out "$out" >"$out/results.md" || fail report
  [ -f "$out/op_harness.jsonl" ] && echo "Op harness: $(tail -1 "$out/op_harness.jsonl")" >>"$out/results.md"
  [ -f "$out/fixture_parity.txt" ] && echo "Fixture parity: $(grep -E '^[0-9]+ passed' "$out/fixture_parity.txt" | tr '\n' ' ')" >>"$out/results.md"
  cat "$out/results.md"
fi
exit $status
