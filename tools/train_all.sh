#!/usr/bin/env bash
# Train and export the bundled styles: the six lite models first (starry_night first: it is the default model),
# then the six full models. Each model gets a wall-clock budget and is exported to models/ (and, with COMMIT=1,
# committed) as soon as it finishes, so models land one by one.
#
#   nohup tools/train_all.sh > runs/train_all.log 2>&1 &
#
# Environment: DATA (photos root, default /work/shared/data), PY (python), LITE_MIN / FULL_MIN (minutes per
# model), STYLES ("name:style_file ..." to train a subset), THREADS (torch threads), COMMIT=1 to git-commit each exported model, ONLY="lite" or "full" to do one half.
set -u
cd "$(dirname "$0")/.."
DATA=${DATA:-/work/shared/data}
PY=${PY:-.venv/bin/python}
LITE_MIN=${LITE_MIN:-7}
FULL_MIN=${FULL_MIN:-6}
THREADS=${THREADS:-2}
COMMIT=${COMMIT:-0}
ONLY=${ONLY:-"lite full"}
export OMP_NUM_THREADS=$THREADS

STYLES=${STYLES:-"starry_night:starry_night_vangogh great_wave:great_wave_hokusai_crop the_scream:the_scream_munch \
composition_vii:composition_vii_kandinsky udnie:udnie_picabia water_lilies:water_lilies_monet_1919"}

# The CPU recipe (docs/TRAINING.md): small crops, VGG layers up to relu4_1, content at relu2_2.
COMMON="--data $DATA/photos/kodak24 $DATA/photos/coco_permissive --batch 2 --lr 2e-3 --style-weight 20 \
--temporal-weight 20 --tv-weight 1e-6 --content-layers relu2_2 --style-layers relu1_2,relu2_2,relu3_3,relu4_1 \
--style-size 256 --steps 100000 --sample-every 100 --checkpoint-every 50 --log-every 10 --threads $THREADS"

commit() {  # commit only the given paths; retry while another engineer holds the index lock
    for i in 1 2 3 4 5 6 7 8 9 10; do
        git add "$@" && git commit -q -m "models: $NAME (trained on CPU by tools/train_all.sh)" -- "$@" && return 0
        sleep 5
    done
    echo "commit of $NAME failed" >&2
}

for variant in $ONLY; do
    if [ "$variant" = lite ]; then MIN=$LITE_MIN; SIZE=160; else MIN=$FULL_MIN; SIZE=128; fi
    for pair in $STYLES; do
        style=${pair%%:*}; file=${pair##*:}
        NAME=$style-$variant
        echo "=== $(date -u +%H:%M:%S) $NAME: train ${MIN} min at ${SIZE}px"
        $PY -m tools.train --style "$DATA/styles/$file.jpg" --out "runs/$NAME" --arch "$variant" --size $SIZE \
            --max-minutes "$MIN" $COMMON --resume || { echo "training $NAME failed"; continue; }
        echo "=== $(date -u +%H:%M:%S) $NAME: export"
        $PY -m tools.export "runs/$NAME/last.safetensors" -o "models/$NAME.onnx" \
            --parity-photo "$DATA/photos/kodak24/kodim23.png" || { echo "export $NAME failed"; continue; }
        if [ "$COMMIT" = 1 ]; then
            commit "models/$NAME.onnx" "models/$NAME.fp16.onnx" "models/$NAME.json" "models/styles/$file.jpg"
        fi
    done
done
echo "=== $(date -u +%H:%M:%S) all done"
