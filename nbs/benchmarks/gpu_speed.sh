#!/usr/bin/env bash
# Issue 21, part 5, in one device call of at most CALL_S seconds after its install (530 by default; a 590 s call holds it):
# a step that cannot finish in what is left is skipped, one running at the deadline is interrupted there. In this order:
# speed (a), the DDPM training, the PANDA training, speed (b), speed (c):
#   1. speed.py on CUDA, in three passes into one speed.csv (rows are written as they finish; a pass stops before a row
#      that would start after its budget):
#      a. what the targets read: DDPM's paper-UNet step, eager, channels-last, fp32 (strict) / TF32 / bf16 / bf16 with
#         GroupNorm in bf16 (bf16_lowp: --speed lowp_norm), batch 32 and 128 (60 s);
#      b. the same bf16 step at batch 128 compiled, and with CUDA graphs (compile's reduce-overhead mode) (90 s);
#      c. the rest as SPEED_BUDGET allows: DDPM, a PANDA window and the shared model, every precision, eager, compiled
#         and CUDA graphs, both memory formats, batch 32 and 128; with the roofline in every pass;
#   2. panda_train DDPM and PANDA at 64x64 (the paper recipe's UNet and lr), each for TRAIN_BUDGET seconds of training
#      (PANDA's two window models side by side on the one GPU, --workers 2, so both budgets run at once), with the speed
#      options SPEED_OPTS and precision TRAIN_PRECISION, sampling N_SAMPLES images each (the samples come back as .npz;
#      FID is computed here afterwards, where the Inception weights are).
#
# Prepare on the workstation, from the repository root:
#   bash ../shared/device/fetch-wheels.sh          # fastai, torch-fidelity, nbdev... wheels into .whl/
# Run on the device machine (device tool: carry [".whl"], timeout_s 590), from the repository root:
#   PANDA_COMMIT=$(git rev-parse HEAD) bash nbs/benchmarks/gpu_speed.sh
# It writes under $OUT/gpu_speed: speed.csv, speed_meta.json, nvidia-smi.csv, and ddpm/, panda/ (run.json, logs,
# samples.npz; the checkpoints are deleted, they would not fit in what a call brings back). Afterwards:
#   cp -r <files_at>/gpu_speed nbs/benchmarks/results/gpu_speed-h200-$(date +%F)
#   python nbs/benchmarks/speed.py table nbs/benchmarks/results/gpu_speed-h200-<date>
# and FID of the samples against the faces (panda.metrics / panda.evaluate.evaluate_samples on the CPU).
# Environment overrides: CALL_S (530), DEVICE (cuda), UNETS (paper), SPEED_BUDGET (60, pass c), TRAIN_BUDGET (110),
# N_SAMPLES (512), SPEED_OPTS (channels_last,fused_adam,cudnn_benchmark,resident_data), TRAIN_PRECISION (bf16),
# PRECISIONS (passes a and c; a: fp32,tf32,bf16,bf16_lowp, c: fp32,tf32,bf16), MODES (pass c: eager,compiled,cudagraphs),
# FAST_PRECISION (pass b: bf16), FAST_MODES (pass b: compiled,cudagraphs), FAST_BS (pass b: 128), BS (32,128),
# RECIPE (paper), SIZE (64). A CPU check of the script:
#   DEVICE=cpu UNETS=tiny PRECISIONS=fp32 MODES=eager FAST_MODES=eager FAST_PRECISION=fp32 BS=8 FAST_BS=8 SPEED_BUDGET=20 \
#     TRAIN_BUDGET=5 N_SAMPLES=8 RECIPE=cpu SIZE=32 SPEED_OPTS=fused_adam,resident_data TRAIN_PRECISION=fp32 OUT=/tmp/gs \
#     bash nbs/benchmarks/gpu_speed.sh
# (with PATH holding only a python3 of the project's environment, as the device machine has no console scripts)
set -euo pipefail
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH
fi
export PYTHONUNBUFFERED=1
OUT=${OUT:-bench_out}/gpu_speed
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv" || echo "nvidia-smi not available"
START=$(date +%s); END=$((START + ${CALL_S:-530}))   # this call's seconds after the install: every step ends by then
left() { echo $(( END - $(date +%s) )); }
step() {   # step NAME MIN_S COMMAND...: COMMAND, interrupted at the deadline; skipped when fewer than MIN_S seconds are left
  local name=$1 min=$2 l; shift 2; l=$(left)
  if [ "$l" -lt "$min" ]; then echo "$name: skipped, $l s left"; return 0; fi
  echo "$name: $l s left"
  timeout --signal=INT --kill-after=15 "$l" "$@" || echo "$name: failed or cut at the deadline (exit $?); what it wrote is kept"
}
SPEED=(python3 nbs/benchmarks/speed.py run "$OUT" --device "$DEVICE" --unets "${UNETS:-paper}" --steps 5)
TRAIN=(--recipe "${RECIPE:-paper}" --lr_schedule constant --size "${SIZE:-64}" --device "$DEVICE" --time_budget "${TRAIN_BUDGET:-110}" --epochs 100000
       --ema_decay 0.995 --precision "${TRAIN_PRECISION:-bf16}" --speed "${SPEED_OPTS:-channels_last,fused_adam,cudnn_benchmark,resident_data}"
       --n_samples "${N_SAMPLES:-512}" --sample_steps 50 --sampler ddim --eta 1)
# panda_train from the repository (PYTHONPATH), as the device machine has no installed console script
PANDA_TRAIN=(python3 -c 'import sys; sys.argv[0] = "panda_train"; from panda.cli import panda_train_main; panda_train_main()')
NEED=$(( ${TRAIN_BUDGET:-110} + 40 ))   # a training's budget, its start and its 512 samples
# In order of what the targets need most, so that a call cut short loses the least:
step "speed (a)" 20 "${SPEED[@]}" --models ddpm --precisions "${PRECISIONS:-fp32,tf32,bf16,bf16_lowp}" --modes eager --formats channels_last \
  --bs "${BS:-32,128}" --budget_s 60
step "DDPM training" "$NEED" "${PANDA_TRAIN[@]}" --method ddpm "${TRAIN[@]}" --out "$OUT/ddpm"
step "PANDA training" "$NEED" "${PANDA_TRAIN[@]}" --method panda --workers 2 "${TRAIN[@]}" --out "$OUT/panda"
step "speed (b)" 30 "${SPEED[@]}" --models ddpm --precisions "${FAST_PRECISION:-bf16}" --modes "${FAST_MODES:-compiled,cudagraphs}" \
  --formats channels_last --bs "${FAST_BS:-128}" --budget_s 90
step "speed (c)" 30 "${SPEED[@]}" --models ddpm,panda,shared --precisions "${PRECISIONS:-fp32,tf32,bf16}" --modes "${MODES:-eager,compiled,cudagraphs}" \
  --formats channels_last,contiguous --bs "${BS:-32,128}" --budget_s "${SPEED_BUDGET:-60}"
rm -f "$OUT"/ddpm/*.pt "$OUT"/panda/*.pt "$OUT"/*/samples.png
echo "commit ${PANDA_COMMIT:-unknown}, $(date -Iseconds)" > "$OUT/commit.txt"
ls -la "$OUT" "$OUT"/ddpm "$OUT"/panda || true
