#!/usr/bin/env bash
# Train all twelve bundled models on one GPU at once (issue 11.5), prepared to run on the device machine:
#
#   here:   .venv/bin/python -m tools.gpu_bundle prepare          # photos, paintings, VGG19 weights -> .gpu_train/
#   device: bash scripts/gpu_train.sh                             # run with carry [".gpu_train"]; results in $OUT
#   here:   .venv/bin/python -m tools.gpu_bundle import DIR       # DIR = the run's files_at: export to runs/export/
#
# The device takes at most 64 MiB of working tree and the tracked files alone are 68 MiB (the bundled ONNX models);
# the bundle carries the models' weights in fp16 (.gpu_train/init, for INIT=1) instead. So, before the device call,
# leave the ONNX files out of the index for the duration, and put it back afterwards (session 22 did exactly this):
#   printf '/models/*.onnx\n/docs/temporal_comparison.gif\n' >> .git/info/exclude
#   git rm -q --cached models/*.onnx docs/temporal_comparison.gif        # 3.9 MiB of tree + 53 MiB of bundle
#   ... device run ...;  git reset -q; (remove the two lines from .git/info/exclude)
#
# The twelve trainings run as parallel processes on the one GPU (bf16 autocast + channels-last, the documented
# recipe at 256 px, batch 4: lite through the fast path, full at full size), each for MINUTES of wall time, then
# their weights (net tensors only, with the run's metadata) and logs are packed into at most 8 files under $OUT
# (the device tool brings back 8 files of 16 MiB at most). Exports, fp16 conversion and the parity checks are done
# here by `tools.gpu_bundle import`, with the same tools.export as the CPU path.
#
# Environment: OUT (results folder, default ./gpu-train-out), MINUTES (training wall time per model, default 7),
# NAMES (subset, e.g. "starry_night-lite udnie-full"), SIZE (crop, default 256), BATCH (default 4), STEPS (cap, default
# 1000000), INIT=1 (start each model from the bundled one: BUNDLE/init/NAME.safetensors, else models/), PYTHON (default python3), BUNDLE (default
# .gpu_train), LR (default 1e-3) and LR_FINAL (default 1e-4: the rate decays, cosine, to it by the end of MINUTES;
# empty for a constant rate), LITE_ARCH (default lite_hd_wide, the full-resolution net of the bundled lite models
# whose card says so, distilled from the style's bundled full model run on each crop,
# BUNDLE/init/STYLE-full.safetensors, with --distill-weight 100: docs/TRAINING.md, "full-resolution lite"; lite_hd:
# a narrower one; lite: the half-size net through the fast path).
# On a machine without a GPU it runs on the CPU (for a dry run with MINUTES=0.2 SIZE=64).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-train-out}"
MINUTES="${MINUTES:-7}"
SIZE="${SIZE:-256}"
BATCH="${BATCH:-4}"
STEPS="${STEPS:-1000000}"
INIT="${INIT:-0}"
LR="${LR:-1e-3}"
LR_FINAL="${LR_FINAL-1e-4}"
PY="${PYTHON:-python3}"
LITE_ARCH="${LITE_ARCH:-lite_hd_wide}"
BUNDLE="${BUNDLE:-.gpu_train}"
NAMES="${NAMES:-starry_night-lite great_wave-lite the_scream-lite composition_vii-lite udnie-lite water_lilies-lite \
starry_night-full great_wave-full the_scream-full composition_vii-full udnie-full water_lilies-full}"
RUNS="${RUNS:-runs/gpu}"
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
if [ -f "$BUNDLE/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin" ]; then
    export LIVESTYLE_VGG_WEIGHTS="$BUNDLE/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
fi
DATA="${DATA:-$BUNDLE}"
[ -d "$DATA/photos" ] || DATA=../shared/data
LOG="$OUT/log.txt"
{ echo "== $(date -u +%H:%M:%S) gpu_train: $NAMES"; echo "minutes $MINUTES size $SIZE batch $BATCH data $DATA";
  nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 || true
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } >"$LOG" 2>&1

declare -A STYLE_FILE=(
    [starry_night]=starry_night_vangogh [great_wave]=great_wave_hokusai_crop [the_scream]=the_scream_munch
    [composition_vii]=composition_vii_kandinsky [udnie]=udnie_picabia [water_lilies]=water_lilies_monet_1919)
# The recipe of tools/train_all.sh (docs/TRAINING.md), at GPU size.
COMMON="--data $DATA/photos/kodak24 $DATA/photos/coco_permissive --batch $BATCH --lr $LR ${LR_FINAL:+--lr-final $LR_FINAL} --style-weight 20 \
--temporal-weight 20 --tv-weight 1e-6 --content-layers relu2_2 --style-layers relu1_2,relu2_2,relu3_3,relu4_1 \
--style-size 256 --saturation-weight 1 --logit-limit 4 --amp auto --steps $STEPS --sample-every 0 \
--checkpoint-every 500 --log-every 20 --threads 1 --size $SIZE --max-minutes $MINUTES --resume"

pids=()
for NAME in $NAMES; do
    style=${NAME%-*}; variant=${NAME##*-}
    file=${STYLE_FILE[$style]:-}
    [ -n "$file" ] || { echo "unknown style in $NAME" >>"$LOG"; continue; }
    if [ "$variant" != lite ]; then ARGS="--arch full"
    elif [ "$LITE_ARCH" = lite ]; then ARGS="--arch lite --train-scale 0.5 --temporal-weight 250"
    else
        teacher="$BUNDLE/init/$style-full.safetensors"; [ -f "$teacher" ] || teacher="$style-full"
        ARGS="--arch $LITE_ARCH --temporal-weight 100 --teacher-model $teacher --distill-weight 100"
    fi
    init=""
    # a bundled model of another architecture (the half-size lite, when LITE_ARCH differs) cannot start this one
    if [ "$variant" = lite ] && ! grep -q "\"arch\": \"$LITE_ARCH\"" "models/$NAME.json" 2>/dev/null; then :
    elif [ "$INIT" = 1 ] && [ -f "$BUNDLE/init/$NAME.safetensors" ]; then init="--init $BUNDLE/init/$NAME.safetensors"
    elif [ "$INIT" = 1 ] && [ -f "models/$NAME.onnx" ]; then init="--init models/$NAME.onnx"; fi
    style_path="$DATA/styles/$file.jpg"
    "$PY" -m tools.train --style "$style_path" --out "$RUNS/$NAME" $COMMON $ARGS $init \
        >"$RUNS/$NAME.out" 2>&1 &
    pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
echo "== $(date -u +%H:%M:%S) trainings done, $fails failed" >>"$LOG"
for NAME in $NAMES; do
    echo "--- $NAME" >>"$LOG"; tail -c 600 "$RUNS/$NAME.out" | tr '\r' '\n' | tail -3 >>"$LOG"
done
"$PY" -m tools.gpu_bundle pack "$RUNS" "$OUT" $NAMES >>"$LOG" 2>&1
echo "== $(date -u +%H:%M:%S) packed: $(ls "$OUT" | tr '\n' ' ')" | tee -a "$LOG"
exit $fails
