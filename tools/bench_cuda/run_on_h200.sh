#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with an NVIDIA GPU, nvcc, g++ and a
# Python with PyTorch, transformers and safetensors, and no Node (the lent H200): builds the CUDA
# library and the test programs, runs the op harness on the GPU, the fixture parity, the
# transformers benchmark with full-size parity, and our benchmark, then writes one markdown table.
#   bash tools/bench_cuda/run_on_h200.sh [OUT_DIR]        (npm run bench:cuda where Node exists)
# Inputs: the fixture bundle .gpu-carry/pixtral-tiny.tar.xz (tools/bench_cuda/fixture_bundle.py
# pack; skipped when absent). Outputs in OUT_DIR (default $OUT, else ./bench-cuda-out):
# results.md (the table), run.log, op_harness.jsonl, fixture_parity.txt, hf.json, ours.json.
# Stages can be skipped for a rerun: SKIP="build harness fixtures hf ours" (any subset).
# About 7 minutes on an H200 (estimated: never run yet), most of it writing and loading 25 GB of
# random weights (WEIGHTS, default /tmp/pixtral12b-random, kept between stages); every stage has a
# timeout so that a hang still leaves the logs of the others.
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
  python3 native/cuda/build.py --archs 90 --programs -j "$(nproc)" >/tmp/build-cuda.log 2>&1 || { tail -40 /tmp/build-cuda.log; fail build; exit 1; }
  echo "built in $((SECONDS - start)) s"
fi

# The variants a failure is localised with: every fusion, CUDA graphs and PDL off.
plain="PIXTRAL_CUDA_FUSE=0 PIXTRAL_CUDA_GRAPHS=0 PIXTRAL_CUDA_PDL=0"

if wants harness; then
  stage "op harness on CUDA"
  timeout 90 "$release/op_harness" --backend cuda --seed 1 >"$out/op_harness.jsonl"
  rc=$?
  grep '"ok": false' "$out/op_harness.jsonl" | head -20
  tail -1 "$out/op_harness.jsonl"
  if [ $rc -ne 0 ]; then
    fail "op harness (exit $rc)"
    echo "again with $plain:"
    env $plain timeout 90 "$release/op_harness" --backend cuda --seed 1 | tail -1
  fi
fi

if wants fixtures && [ -f .gpu-carry/pixtral-tiny.tar.xz ]; then
  stage "fixture parity (bf16 tolerances; bf16 and f32 KV caches; then everything plain)"
  python3 tools/bench_cuda/fixture_bundle.py unpack .gpu-carry/pixtral-tiny.tar.xz /tmp/pixtral-tiny
  for run in "bf16" "f32" "bf16 $plain"; do
    set -- $run
    kv=$1
    shift
    echo "-- KV $kv $*" | tee -a "$out/fixture_parity.txt"
    env "$@" timeout 45 "$release/fixture_parity" --fixtures /tmp/pixtral-tiny --backend cuda --kv "$kv" >/tmp/fixture_parity.txt 2>&1
    rc=$?
    cat /tmp/fixture_parity.txt >>"$out/fixture_parity.txt"
    grep -v '^ok ' /tmp/fixture_parity.txt | head -20
    [ $rc -eq 0 ] || fail "fixture parity (KV $kv $*)"
  done
fi

if wants hf; then
  stage "transformers: random 12B weights, benchmark, fp32 reference logits"
  timeout 330 python3 tools/bench_cuda/transformers_bench.py run --weights "$weights" --out "$out" || fail "transformers benchmark"
fi

if wants ours; then
  stage "our engine: benchmark and logits"
  timeout 200 "$release/bench_cuda" --model "$weights" --prompts "$weights/prompts" --out "$weights/prompts" &&
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
