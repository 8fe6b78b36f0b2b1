#!/usr/bin/env bash
# The `gpu` scale of the Table 1 benchmark (panda.bench), in one call on a lent GPU (about 5 minutes on an H100/H200),
# then the CUDA checks of the memory measurement (nbs/07_measure.ipynb's `cuda` cells: hand counts on CUDA, and the CPU
# profiler's figure against the GPU allocator's), about a minute more.
#
# Prepare on the workstation, from the repository root:
#   bash ../shared/device/fetch-wheels.sh          # fastai, torch-fidelity, nbdev... wheels into .whl/
# Then run on the device machine (device tool: carry [".whl"], timeout 600 s), from the repository root:
#   PANDA_COMMIT=$(git rev-parse HEAD) bash nbs/benchmarks/gpu_bench.sh
# (the command line must carry the commit, since the device copy has no .git). It writes under $OUT/gpu:
# results.csv, results.json, table1.csv, and the samples as uint8 .npz files (<= 1024 images, 12.6 MB each), plus
# measure_cuda.log. Every scale is fp32 (the paper's protocol); the sampler is recorded in results.json.
# Options (environment variables):
#   ROWS=DDPM,PANDA,shared-strips-coords-g0,...  the rows to run (panda.bench.row_spec; default DDPM,PANDA)
#   KEEP=<results dir>   start from that run's results.json: its rows with the same configuration are kept, not rerun
#                        (so one lease can add shared-model rows to a recorded DDPM/PANDA run)
#   MEASURE=0            skip the 07_measure CUDA checks
#   PRECISION=bf16       override the scale's fp32 (use a fresh OUT: another configuration is refused in a KEEP folder)
# Mind what a device call gives back: at most 8 files of at most 16 MiB, 64 MiB in all. A row's 2048 samples are two
# 12.6 MB files (they do not compress), so one call brings back the samples of at most two new rows; rows run beyond
# that keep their SWD, seam and colour figures (computed there) but lose their FID (2026-11-26: shared-strips-coords-g0.3
# lost half its samples so). Delete table1.csv (rebuilt from results.json) and nvidia-smi.csv to make room.
# The 07_measure CUDA cells passed on an H200 on 2026-11-26 (commit 2c292af); 09_bench's `cuda` cell passed there too,
# and its notebook then stops at the FID cell, which needs the Inception weights the device machine lacks.
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
if [ -n "${KEEP:-}" ]; then cp "$KEEP/results.json" "$OUT/gpu/"; fi
python3 - "$OUT/gpu" <<'PY'
import os, sys
from panda.bench import run_bench, table1
rows = [r.strip() for r in os.environ.get('ROWS', 'DDPM,PANDA').split(',') if r.strip()]
df = run_bench('gpu', out=sys.argv[1], device='cuda', fid=False, progress=False, rows=rows, precision=os.environ.get('PRECISION') or None)
print(table1(df).to_string(float_format=lambda v: f'{v:.3f}'))
PY
# The measurement's own CUDA checks (needs nbdev from the wheels); a failure is logged, it does not lose the results.
if [ "${MEASURE:-1}" != 0 ] && command -v nbdev_test >/dev/null; then
  timeout 240 nbdev_test --flags cuda --path nbs/07_measure.ipynb --do_print > "$OUT/gpu/measure_cuda.log" 2>&1 \
    && echo "07_measure cuda cells: passed" || echo "07_measure cuda cells: FAILED (see measure_cuda.log)"
fi
