"""The bench measures the real pipeline and reports what issue 5 asks for (keys, stages, machine, plot)."""

from __future__ import annotations

import json

import pytest

from livestyle.bench import BenchResult, machine_info, plot, run_bench, write_json
from livestyle.config import BenchConfig, ModelConfig, RunConfig, SourceConfig
from livestyle.pipeline import RunStats


@pytest.fixture(scope="module")
def results(fixtures_dir) -> list[BenchResult]:
    out = []
    for pipelined in (False, True):
        run = RunConfig(source=SourceConfig("synth", (64, 48)),
                        model=ModelConfig(model=str(fixtures_dir / "tiny-test.json"), device="cpu"),
                        pipelined=pipelined)
        out.append(run_bench(BenchConfig(run=run, frames=8, warmup=3)))
    return out


def test_counts_only_measured_frames(results) -> None:
    for r in results:
        assert r.stats.frames == 8 and len(r.stats.latencies_ms) == 8
        assert all(len(v) == 8 for v in r.stats.stages.values())
        # --backend auto on a machine without a GPU: OpenVINO's CPU plugin (bf16 where the CPU has it)
        assert r.stats.fps > 0 and r.providers[0].startswith("OpenVINO CPU") and r.models == ["tiny-test"]


def test_json_has_the_issue_keys(results, tmp_path) -> None:
    path = tmp_path / "bench.json"
    write_json(results[1], path, compare=[results[0]])
    data = json.loads(path.read_text())
    assert set(data) >= {"fps", "latency_ms", "stages", "config", "machine"}
    assert set(data["latency_ms"]) >= {"p50", "p95", "p99"}
    assert data["latency_ms"]["p50"] <= data["latency_ms"]["p95"] <= data["latency_ms"]["p99"]
    for stage in ("capture", "preprocess", "inference", "postprocess", "flow", "blend", "sink"):
        assert set(data["stages"][stage]) >= {"mean_ms", "p50_ms", "p95_ms"}
    assert data["config"]["source"] == "synth" and data["config"]["capture_size"] == [64, 48]
    assert data["config"]["threads_used"] == 1 and data["compare"][0]["config"]["pipelined"] is False


def test_table_and_plot(results, tmp_path) -> None:
    text = results[1].table()
    assert "inference" in text and "FPS (pipelined" in text and "p99" in text
    plot(results, tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_machine_info() -> None:
    info = machine_info()
    assert info["usable_cores"] >= 1 and info["onnxruntime"] and info["cpu"]
    assert info["cpu_mhz"] is None or info["cpu_mhz"] > 100  # the clock beside the model in every report


def test_stats_percentiles() -> None:
    s = RunStats(frames=4, elapsed_s=2.0, latencies_ms=[10, 20, 30, 40], stages={"inference": [1, 2, 3, 4]})
    assert s.fps == 2.0 and s.latency()["p50"] == 25.0
    assert s.stage_summary()["inference"]["mean_ms"] == 2.5


def test_each_loop_thread_reports_its_own_cpu(results) -> None:
    seq, pip = (r.usage for r in results)
    assert set(k for k in seq if k.endswith("_thread_cpu_ms_per_frame")) == {"main_thread_cpu_ms_per_frame"}
    assert {"infer_thread_cpu_ms_per_frame", "output_thread_cpu_ms_per_frame"} <= set(pip)
    # a thread's own CPU is part of the process's CPU, and it did some work
    assert 0 < pip["infer_thread_cpu_ms_per_frame"] <= pip["cpu_ms_per_frame"] * 1.05
    assert 0 < pip["output_thread_cpu_ms_per_frame"] <= pip["cpu_ms_per_frame"] * 1.05
    assert "CPU per thread, ms/frame: infer" in results[1].table()


def test_pipelined_bench_reports_where_the_balancing_put_the_stages(results) -> None:
    seq, pip = (r.usage for r in results)
    assert "flow_on_infer_share" not in seq  # one thread: nothing to place
    assert 0.0 <= pip["flow_on_infer_share"] <= 1.0 and 0.0 <= pip["post_on_output_share"] <= 1.0
    assert "balancing: postprocess on the output thread for" in results[1].table()
