"""tools/bench_ops: every output-thread operation gets a single-thread CPU time (issue 12's per-op comparison)."""

from __future__ import annotations

import json

from tools import bench_ops


def test_every_op_is_timed_and_written(tmp_path, half_size_lite: str) -> None:
    """A half-size model, so that the guided upsampling it times is the live path's, not a no-op."""
    out = tmp_path / "ops.json"
    assert bench_ops.main(["--model", half_size_lite, "--size", "400x300", "--runs", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    ops = data["ops"]
    for name in ("inference", "postprocess: guided upsample", "flow (estimate_motion)", "blend (whole)",
                 "blend: warp cubic", "blend: warp linear", "frame total (capture to blend)"):
        assert 0 < ops[name]["min_ms"] <= ops[name]["median_ms"]
    assert data["size"] == [400, 300] and data["machine"]["cpu"]


def test_bad_size_is_one_line_and_exit_2(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit) as exc:
        bench_ops.main(["--size", "big"])
    assert exc.value.code == 2 and "--size" in capsys.readouterr().err


def test_ort_profile_splits_inference_by_operator(tmp_path) -> None:
    out = tmp_path / "ops.json"
    assert bench_ops.main(["--size", "160x120", "--runs", "3", "--ort-profile", "--json", str(out)]) == 0
    prof = json.loads(out.read_text())["ort_profile_ms"]
    assert prof["Conv"] > 0 and all(v >= 0 for v in prof.values())
