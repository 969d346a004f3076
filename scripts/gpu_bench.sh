#!/usr/bin/env bash
# GPU benchmark of the torch backend (issue 5, item 2), prepared to run once on the device machine:
#
#     bash scripts/gpu_bench.sh            # from the repository root; results under $OUT (default ./gpu-bench-out)
#
# Installs nothing: it runs the working tree with PYTHONPATH=. and `python -m livestyle`, so it needs only what the
# device image has (torch with CUDA, onnxruntime CPU, opencv, numpy; PyAV, tqdm and pytest may be missing).
# Steps, each with its own timeout (cut to what is left of BUDGET_S, default 470 s; skipped under 20 s left):
#   1. environment (GPU, torch, CUDA) and an import check of the bench path without PyAV/tqdm
#   2. parity: CUDA fp16 + CUDA graphs against ONNX Runtime fp32 on the CPU, full model at 1280x720 (and pytest -m gpu
#      when pytest is installed)
#   3. stylizer only (frames in memory; preprocess + inference + postprocess) at 1280x720 and 1920x1080, at the
#      model's default processing size and at full resolution (--scale 1), CUDA graphs; plus eager at 1080p full res
#   4. end to end (`livestyle bench --source synth`: capture, stylizer, temporal flow + blend, null sink) at 1280x720
#      and 1920x1080, with and without temporal blending
#   5. optional torch.compile run (TRY_COMPILE=1), last, because compiling can take minutes
#   6. pytest -m gpu tests/test_torch_backend.py, when pytest is installed
# Writes one JSON per run, log.txt, status.txt (exit status per step), and summary.md / summary.json with FPS and
# latency p50/p99 per run. A run cut by its timeout still writes its JSON (the bench stops cleanly on SIGTERM);
# its frame count says how much it measured.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-bench-out}"
mkdir -p "$OUT"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python}"
MODEL="${MODEL:-starry_night-full}"
FRAMES="${FRAMES:-300}"
E2E_FRAMES="${E2E_FRAMES:-200}"
BUDGET_S="${BUDGET_S:-470}"  # hard cap on the steps' total time; the summary takes a second after it
DEVICE="${DEVICE:-cuda}"  # cpu only for a dry run of this script on a machine without a GPU
LOG="$OUT/log.txt"
: >"$LOG"

say() { echo "== $*" | tee -a "$LOG"; }

# run NAME TIMEOUT CMD...: skipped when the budget is spent; output appended to the log, exit status recorded
run() {
  local name="$1" limit="$2"
  shift 2
  local left=$((BUDGET_S - SECONDS))
  if [ "$left" -lt 20 ]; then
    say "$name: skipped (budget of ${BUDGET_S}s spent)"
    echo "$name skipped-budget" >>"$OUT/status.txt"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "$name (limit ${limit}s, t=${SECONDS}s): $*"
  timeout "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  echo "$name rc=$rc" >>"$OUT/status.txt"
  say "$name: rc=$rc (t=${SECONDS}s)"
}

: >"$OUT/status.txt"
say "environment"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true; } | tee -a "$LOG" >"$OUT/nvidia-smi.txt"
run env 60 "$PY" -c "
import json, sys, torch, onnxruntime, cv2, numpy
info = {'python': sys.version.split()[0], 'torch': torch.__version__, 'cuda': torch.version.cuda,
        'cudnn': torch.backends.cudnn.version(), 'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        'onnxruntime': onnxruntime.__version__, 'ort_providers': onnxruntime.get_available_providers(),
        'opencv': cv2.__version__, 'numpy': numpy.__version__}
for mod in ('av', 'tqdm', 'onnx', 'pytest', 'triton'):
    try:
        __import__(mod); info[mod] = True
    except Exception:
        info[mod] = False
json.dump(info, open('$OUT/env.json', 'w'), indent=2); print(info)
"
# The bench path must import without PyAV and tqdm (they may be missing on this image)
run imports 60 "$PY" -c "
import sys
sys.modules['av'] = None; sys.modules['tqdm'] = None
import livestyle.cli, livestyle.bench, livestyle.pipeline, livestyle.stylize.backends, livestyle.stylize.torch_backend
print('bench path imports without av/tqdm')
"

say "parity"
run parity 150 "$PY" - "$MODEL" "$OUT/parity.json" "$DEVICE" <<'EOF'
import json, sys, time
import numpy as np
from livestyle.capture.registry import open_source
from livestyle.stylize.stylizer import Stylizer
from livestyle.stylize.torch_backend import TorchStylizer

model, out, device = sys.argv[1], sys.argv[2], sys.argv[3]
res = {"model": model, "runs": []}
ref = Stylizer(model, device="cpu")
for size in ((1280, 720), (1920, 1080)):
    with open_source("synth", size=size) as src:
        frames = [src.read().image for _ in range(3)]
    gpu = TorchStylizer(model, device=device, mode="graphs")
    for img in frames:
        d = np.abs(ref(img).astype(np.int16) - gpu(img).astype(np.int16))
        res["runs"].append({"size": list(size), "processing_size": list(gpu.processing_size(*size)),
                            "max_abs": int(d.max()), "mean_abs": float(d.mean()), "p99_abs": float(np.percentile(d, 99)),
                            "provider": gpu.provider})
json.dump(res, open(out, "w"), indent=2)
print(json.dumps(res, indent=2))
EOF
bench() {  # bench NAME TIMEOUT ARGS...
  local name="$1" limit="$2"
  shift 2
  run "$name" "$limit" "$PY" -m livestyle bench -m "$MODEL" --backend torch --device "$DEVICE" --json "$OUT/$name.json" "$@"
}

say "stylizer only"
bench so-720p-default 90 --stylizer-only --size 1280x720 --frames "$FRAMES" --warmup 30
bench so-1080p-default 90 --stylizer-only --size 1920x1080 --frames "$FRAMES" --warmup 30
bench so-720p-fullres 90 --stylizer-only --size 1280x720 --scale 1 --frames "$FRAMES" --warmup 30
bench so-1080p-fullres 90 --stylizer-only --size 1920x1080 --scale 1 --frames "$FRAMES" --warmup 30
bench so-1080p-fullres-eager 90 --stylizer-only --size 1920x1080 --scale 1 --torch-mode eager --frames "$FRAMES" --warmup 30

say "end to end (synth source, temporal blending, null sink)"
bench e2e-720p 90 --source synth --size 1280x720 --frames "$E2E_FRAMES" --warmup 20
bench e2e-1080p 90 --source synth --size 1920x1080 --frames "$E2E_FRAMES" --warmup 20
bench e2e-1080p-notemporal 90 --source synth --size 1920x1080 --no-temporal --frames "$E2E_FRAMES" --warmup 20

if [ "${TRY_COMPILE:-0}" = 1 ]; then
  say "torch.compile"
  bench so-1080p-default-compile 180 --stylizer-only --size 1920x1080 --torch-mode compile --frames "$FRAMES" --warmup 30
fi

if "$PY" -c "import pytest" 2>/dev/null; then  # the opt-in GPU test, last: the figures above come first
  run pytest-gpu 120 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/test_torch_backend.py
fi

say "summary"
"$PY" - "$OUT" <<'EOF' | tee -a "$LOG"
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
rows = []
for f in sorted(out.glob("*.json")):
    if f.name in ("env.json", "parity.json", "summary.json"):
        continue
    d = json.loads(f.read_text())
    c = d["config"]
    rows.append({"run": f.stem, "mode": c.get("mode") or ("pipelined" if c.get("pipelined") else "sequential"),
                 "capture_size": c.get("capture_size"), "processing_size": c.get("processing_size_used"),
                 "scale": c.get("scale"), "temporal": (c.get("temporal") or {}).get("enabled"),
                 "frames": d["frames"], "fps": round(d["fps"], 1), "p50_ms": round(d["latency_ms"]["p50"], 2),
                 "p99_ms": round(d["latency_ms"]["p99"], 2),
                 "stages_mean_ms": {k: round(v["mean_ms"], 2) for k, v in d["stages"].items()},
                 "provider": ", ".join(d.get("providers", []))})
(out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
lines = ["| run | size | processing | frames | FPS | p50 ms | p99 ms | stages (mean ms) |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    size = "x".join(map(str, r["capture_size"] or [])) or "?"
    proc = "x".join(map(str, r["processing_size"] or [])) or ("scale " + str(r["scale"]) if r["scale"] else "default")
    stages = ", ".join(f"{k} {v}" for k, v in r["stages_mean_ms"].items())
    lines.append(f"| {r['run']} | {size} | {proc} | {r['frames']} | {r['fps']} | {r['p50_ms']} | {r['p99_ms']} | {stages} |")
if rows:
    lines.append("")
    lines.append(f"provider: {rows[0]['provider']}")
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
cat "$OUT/status.txt"
say "done in ${SECONDS}s; results in $OUT"
