#!/usr/bin/env bash
# Train and export the bundled styles on a CPU (the GPU version is scripts/gpu_train.sh): each model gets a
# wall-clock budget per round, continues from its checkpoint (--resume) and is exported after every round, so
# running the script again (or ROUNDS=N) trains every model further. Exports go to $EXPORT (default runs/export/),
# NOT to models/: copy a model into models/ only after python -m tools.evaluate says it is better and you have looked
# at its pictures, then copy it with python -m tools.gpu_bundle install NAME --src $EXPORT.
#
#   nohup nice -n 19 tools/train_all.sh > runs/train_all.log 2>&1 &
#
# Environment: DATA (photos root, default /work/shared/data), PY (python), LITE_MIN / FULL_MIN (minutes per model
# and round), ROUNDS (default 1), NAMES ("starry_night-lite udnie-full ..." in the order to train; default: the six
# lite models then the six full ones), THREADS (torch threads), INIT=1 to start a model that has no checkpoint yet
# from the bundled model's weights (models/NAME.onnx), EXPORT (export folder), LITE_EXTRA / FULL_EXTRA (more
# tools.train options for one variant; they override the recipe's, e.g. LITE_EXTRA="--temporal-weight 600"), LR
# (default 1e-3; LR=3e-4 to fine-tune models that have stopped improving at 1e-3: docs/TRAINING.md, session 20),
# LR_FINAL (empty: a constant rate; else the rate decays, cosine, to it by the end of each round), LITE_ARCH
# (default lite_hd_wide, the full-resolution net of the bundled lite models whose card says so, 256 px crops,
# distilled from the style's bundled full model through targets made once by python -m tools.teacher --model
# STYLE-full into runs/teacher/STYLE: docs/TRAINING.md, "full-resolution lite"; lite_hd: a narrower one; lite: the
# half-size net through the fast path).
set -u
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/shared/data}
PY=${PY:-.venv/bin/python}
LITE_MIN=${LITE_MIN:-10}
FULL_MIN=${FULL_MIN:-10}
ROUNDS=${ROUNDS:-1}
THREADS=${THREADS:-2}
INIT=${INIT:-0}
EXPORT=${EXPORT:-runs/export}
LR=${LR:-1e-3}
LR_FINAL=${LR_FINAL:-}
LITE_ARCH=${LITE_ARCH:-lite_hd_wide}
export OMP_NUM_THREADS=$THREADS

declare -A STYLE_FILE=(
    [starry_night]=starry_night_vangogh [great_wave]=great_wave_hokusai_crop [the_scream]=the_scream_munch
    [composition_vii]=composition_vii_kandinsky [udnie]=udnie_picabia [water_lilies]=water_lilies_monet_1919)
NAMES=${NAMES:-"starry_night-lite great_wave-lite the_scream-lite composition_vii-lite udnie-lite water_lilies-lite \
starry_night-full great_wave-full the_scream-full composition_vii-full udnie-full water_lilies-full"}

# The recipe (docs/TRAINING.md). Both: VGG layers up to relu4_1, content at relu2_2, style image at 256 px, the
# saturation penalty (no blobs), Adam 1e-3, bf16 + channels-last where the CPU has native bf16 (--amp auto).
# lite: trained through the fast path (net at half size, guided upsampling) on 192 px crops: the net sees 96 px;
# temporal weight 250 (its crisper fast-path strokes flicker more: docs/TRAINING.md, "flicker"). lite_hd_wide: 256 px
# crops, temporal weight 100 (250 held its style distance at twice the full model's: docs/TRAINING.md, session 27).
# full: the net at full size on 192 px crops (1.7x the cost of the earlier 128 px per image, but objects closer to
# the scale they have at 512-640 px: the_scream-full 2.53 -> 2.06 in 219 steps, docs/TRAINING.md, session 21).
COMMON="--data $DATA/photos/kodak24 $DATA/photos/coco_permissive --batch 2 --lr $LR ${LR_FINAL:+--lr-final $LR_FINAL} \
--style-weight 20 \
--temporal-weight 20 --tv-weight 1e-6 --content-layers relu2_2 --style-layers relu1_2,relu2_2,relu3_3,relu4_1 \
--style-size 256 --saturation-weight 1 --logit-limit 4 --amp auto --steps 1000000 --sample-every 100 \
--checkpoint-every 50 --log-every 10 --threads $THREADS"
LITE_ARGS="--arch lite --size 192 --train-scale 0.5 --temporal-weight 250 ${LITE_EXTRA:-}"
FULL_ARGS="--arch full --size 192 ${FULL_EXTRA:-}"

for round in $(seq 1 "$ROUNDS"); do
    for NAME in $NAMES; do
        style=${NAME%-*}; variant=${NAME##*-}
        file=${STYLE_FILE[$style]:-}
        if [ -z "$file" ]; then echo "unknown style in $NAME"; continue; fi
        if [ "$variant" = lite ]; then MIN=$LITE_MIN; ARGS=$LITE_ARGS; else MIN=$FULL_MIN; ARGS=$FULL_ARGS; fi
        RUN="runs/$NAME"
        if [ "$variant" = lite ] && [ "$LITE_ARCH" != lite ]; then
            RUN="runs/$style-$LITE_ARCH"  # not runs/NAME: that may hold a checkpoint of the half-size net
            $PY -m tools.teacher --model "$style-full" --data "$DATA/photos" --recursive --out "runs/teacher/$style" \
                --size 410 --threads "$THREADS" --quiet || { echo "teacher targets for $style failed"; continue; }
            ARGS="--arch $LITE_ARCH --size 256 --temporal-weight 100 --teacher runs/teacher/$style --distill-weight 100 \
${LITE_EXTRA:-}"
        fi
        init=""
        if [ "$INIT" = 1 ] && [ ! -f "$RUN/last.safetensors" ] && [ -f "models/$NAME.onnx" ] \
                && { [ "$variant" != lite ] || grep -q "\"arch\": \"$LITE_ARCH\"" "models/$NAME.json"; }; then
            init="--init models/$NAME.onnx"
        fi
        echo "=== $(date -u +%H:%M:%S) round $round $NAME: train ${MIN} min $init"
        $PY -m tools.train --style "$DATA/styles/$file.jpg" --out "$RUN" --max-minutes "$MIN" \
            $COMMON $ARGS $init --resume || { echo "training $NAME failed"; continue; }
        echo "=== $(date -u +%H:%M:%S) $NAME: export to $EXPORT"
        $PY -m tools.export "$RUN/last.safetensors" -o "$EXPORT/$NAME.onnx" \
            --parity-photo "$DATA/photos/kodak24/kodim23.png" || { echo "export $NAME failed"; continue; }
    done
done
echo "=== $(date -u +%H:%M:%S) all done"
