#!/usr/bin/env bash
# The `gpu` scale of the Table 1 benchmark (panda.bench), in one call on a lent GPU (about 5 minutes on an H100).
#
# Prepare on the workstation, from the repository root:
#   bash ../shared/device/fetch-wheels.sh          # fastai, torch-fidelity, nbdev... wheels into .whl/
# Then run on the device machine (device tool: carry [".whl"], timeout 600 s), from the repository root:
#   PANDA_COMMIT=$(git rev-parse HEAD) bash nbs/benchmarks/gpu_bench.sh
# (the command line must carry the commit, since the device copy has no .git). It writes under $OUT/gpu:
# results.csv, results.json, table1.csv, and the samples as uint8 .npz files (<= 1024 images, 12.6 MB each).
# FID/KID are computed afterwards on the workstation, where the 87 MB Inception weights are (they cannot travel
# in a 64 MiB call):
#   cp -r <files_at>/gpu nbs/benchmarks/results/gpu-h100-$(date +%F)
#   panda_bench --fid_only --out nbs/benchmarks/results/gpu-h100-$(date +%F)
set -euo pipefail
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH
fi
export PYTHONUNBUFFERED=1
OUT=${OUT:-bench_out}
mkdir -p "$OUT/gpu"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu/nvidia-smi.csv" || echo "nvidia-smi not available"
python3 - "$OUT/gpu" <<'PY'
import sys
from panda.bench import run_bench, table1
df = run_bench('gpu', out=sys.argv[1], device='cuda', fid=False, progress=False)
print(table1(df).to_string(float_format=lambda v: f'{v:.3f}'))
PY
