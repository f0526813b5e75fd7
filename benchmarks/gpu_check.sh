#!/usr/bin/env bash
# The CUDA path checked on a machine with an NVIDIA GPU, in one go (a lent GPU's minutes are
# few): calibrate the CUDA backend, then predicted against measured step and forward times
# at batch 8/1 and 64/64 (benchmarks/time_accuracy.py --device cuda, with the catalogue's
# entry for the card beside the calibration), then predicted against measured CUDA peak
# memory (benchmarks/memory_accuracy.py --device cuda). Every table and the profile land in
# $OUT (default /tmp/netcost-gpu); time_*.json re-score offline with
#   NETCOST_CACHE_DIR=$OUT/cache python benchmarks/time_accuracy.py --from-json $OUT/time_b8.json
# Runs under the machine's own python3 and torch; PYTHONPATH takes netcost from src/ (and
# SITE, a folder of extra pure-Python packages, e.g. platformdirs, if the image lacks one).
set -u
out=${OUT:-/tmp/netcost-gpu}
mkdir -p "$out/cache"
export PYTHONPATH="$PWD/src:$PWD/benchmarks${SITE:+:$SITE}" PYTHONUNBUFFERED=1
export NETCOST_CACHE_DIR="$out/cache"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv
card=$(python3 - <<'PY'
import torch
name = torch.cuda.get_device_name(0)
print(torch.__version__, name, file=__import__("sys").stderr)
print("h200" if "H200" in name else "h100-pcie" if "H100 PCIe" in name
      else "h100" if "H100" in name else "a100-80gb" if "A100" in name and "80GB" in name
      else "a100-40gb" if "A100" in name else "")
PY
)
catalogue=${card:+--catalogue $card}
only=${ONLY:-time_b8 time_b8_again time_b64 time_b64_again memory}  # the checks to run, e.g. ONLY="time_b8"
step() {  # name, seconds, command...: one check, its output kept, a failure not fatal
  local name=$1 limit=$2; shift 2
  [[ " $only " == *" $name "* ]] || return 0
  echo "== $name"
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt"
  echo "== $name: exit ${PIPESTATUS[0]}, $(date +%T)"
}
step time_b8 240 python3 benchmarks/time_accuracy.py --device cuda --budget 60 \
  --train-batch 8 --inference-batch 1 $catalogue --json "$out/time_b8.json"
step time_b8_again 100 python3 benchmarks/time_accuracy.py --device cuda --no-calibrate \
  --train-batch 8 --inference-batch 1 $catalogue --json "$out/time_b8_again.json"
step time_b64 120 python3 benchmarks/time_accuracy.py --device cuda --no-calibrate \
  --train-batch 64 --inference-batch 64 $catalogue --json "$out/time_b64.json"
step time_b64_again 100 python3 benchmarks/time_accuracy.py --device cuda --no-calibrate \
  --train-batch 64 --inference-batch 64 $catalogue --json "$out/time_b64_again.json"
step memory 150 python3 benchmarks/memory_accuracy.py --device cuda --batches 4,16,64 \
  --optimizers momentum,adam
