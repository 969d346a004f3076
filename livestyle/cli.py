"""The command line: ``livestyle run | stylize | bench | models``, and ``train | export | gatys | gatys-video``.

The training commands hand their arguments to ``tools.<name>.main`` (``livestyle.training``): they need the
``train`` extra and say so in one line when it is missing.

The only module that prints or chooses exit codes. Every ``LivestyleError`` (including bad option values, which
the parsers in ``config`` raise as ``ConfigError``) becomes one line ``livestyle: error: ...`` on stderr and exit
code 2; argparse's own usage errors exit 2 as well. A SIGINT/SIGTERM during ``run`` is the normal way to end a
live filter: the loop stops within a second, files are finalised, the summary is printed and the exit code is 0.
Interrupting ``stylize`` or ``bench`` leaves the work unfinished, so those exit 130 (after finalising outputs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from livestyle import __version__
from livestyle.config import (BACKENDS, DEVICES, MASK_MODES, TORCH_MODES, WARP_MODES, BenchConfig, EffectsConfig,
                              ModelConfig, RunConfig, SinkConfig, SourceConfig, parse_backend, parse_device,
                              parse_mask, parse_positive_int, parse_scale, parse_sink_spec, parse_size,
                              parse_strength, parse_styles, parse_torch_mode, parse_warp)
from livestyle.errors import ConfigError, LivestyleError, SourceError
from livestyle.training import TOOLS

log = logging.getLogger("livestyle")

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------------------------------- parser


def _strength(text: str) -> float:
    return parse_strength(text, "strength")


def _temporal_strength(text: str) -> float:
    return parse_strength(text, "temporal strength")


def _frames(text: str) -> int:
    return parse_positive_int(text, "frame count")


def _add_model_args(p: argparse.ArgumentParser, *, size_flag: str = "--size") -> None:
    p.add_argument("--model", "-m", metavar="M", help="model name (see `livestyle models`) or path to a .json card "
                   "or .onnx file (default: the bundled default model)")
    p.add_argument("--device", type=parse_device, default="auto", metavar="D",
                   help=f"execution device: {', '.join(DEVICES)} (default auto: TensorRT > CUDA > CPU)")
    p.add_argument("--backend", type=parse_backend, default="auto", metavar="B",
                   help=f"inference backend: {', '.join(BACKENDS)} (default auto: onnxruntime on a GPU, openvino on "
                        "the CPU, bf16 where the CPU has it, LIVESTYLE_OV_PRECISION=fp32 to turn that off; torch "
                        "needs pip install 'livestyle[torch]' and runs fp16 with CUDA graphs on a GPU, see "
                        "docs/GPU.md)")
    p.add_argument("--torch-mode", type=parse_torch_mode, metavar="MODE",
                   help=f"torch backend on CUDA: {', '.join(TORCH_MODES)} (default graphs)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(size_flag, dest="proc_size", type=parse_size, metavar="WxH",
                   help="stylizer processing size; output keeps the input size (default: the model's choice)")
    g.add_argument("--scale", type=parse_scale, metavar="F", help="processing size as a fraction of the input size")
    p.add_argument("--threads", type=lambda s: parse_positive_int(s, "thread count"), metavar="N",
                   help="ONNX Runtime intra-op threads (default: 1 when pipelined, ORT's default otherwise)")
    _add_models_dir_arg(p)


def _add_models_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models-dir", action="append", default=[], metavar="DIR",
                   help="a folder of your own models (<name>.onnx + <name>.json), searched before the bundled "
                        "ones; repeatable (also: LIVESTYLE_MODELS=DIR[:DIR...])")


def _add_effect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-temporal", action="store_true", help="turn off flow-warped temporal blending")
    p.add_argument("--temporal-strength", type=_temporal_strength, metavar="F",
                   help="weight of the warped previous output, 0..1")
    p.add_argument("--warp", type=parse_warp, metavar="MODE",
                   help=f"remap of the previous output: {', '.join(WARP_MODES)} (default cubic, which keeps strokes "
                        "sharp; linear is about 10%% faster on a slow CPU but softens strokes in motion: "
                        "docs/BENCHMARKS.md)")
    p.add_argument("--strength", type=_strength, default=1.0, metavar="F",
                   help="mix of stylized over original, 0..1 (default 1)")
    p.add_argument("--preserve-colors", action="store_true", help="keep the input's colours, take the style's texture")
    p.add_argument("--mask", type=parse_mask, default="none", metavar="MODE",
                   help=f"person segmentation: {', '.join(MASK_MODES)} (stylize only that part)")


def _sink_help() -> str:
    return "output: preview, vcam, file:PATH, folder:DIR, http:PORT (repeatable; default: preview if a display " \
           "is usable, else file:livestyle-output.mp4)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livestyle", description="Real-time neural style transfer for live video.")
    parser.add_argument("--version", action="version", version=f"livestyle {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="the live filter: source -> style -> outputs",
                         description="Run the live filter. With no arguments: the webcam (else the bundled sample "
                                     "clip), the default model, and a preview window (else an output file).")
    run.add_argument("--source", "-s", metavar="S", help="0 / cam:0 (webcam), a video file or URL, a folder of "
                     "frames, an image, synth[:WxH] (default: webcam, else the sample clip)")
    run.add_argument("--capture-size", type=parse_size, metavar="WxH", help="ask the source for this frame size")
    run.add_argument("--sink", "-o", action="append", type=parse_sink_spec, default=[], metavar="SPEC",
                     help=_sink_help())
    _add_model_args(run)
    run.add_argument("--styles", type=parse_styles, default=(), metavar="A,B,C",
                     help="more models preloaded for live switching (preview keys)")
    _add_effect_args(run)
    run.add_argument("--max-frames", type=_frames, metavar="N", help="stop after N frames")
    run.add_argument("--host", default="127.0.0.1", help="address the http sink binds (default 127.0.0.1)")
    run.add_argument("--token", help="access token the http sink requires (?token=...)")
    run.add_argument("--sequential", action="store_true", help="one thread for every stage (reference mode)")
    run.set_defaults(func=cmd_run)

    sty = sub.add_parser("stylize", help="stylize an image, a video or a folder of frames offline",
                         description="Stylize INPUT (image, video file or folder of frames) into OUTPUT (image, "
                                     ".mp4 video, or a folder of PNG frames keeping the input's names and size). "
                                     "Every frame, in order.")
    sty.add_argument("input", metavar="INPUT")
    sty.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    _add_model_args(sty)
    _add_effect_args(sty)
    sty.add_argument("--sequential", action="store_true", help="one thread for every stage")
    sty.add_argument("--no-progress", action="store_true", help="no progress bar")
    sty.set_defaults(func=cmd_stylize)

    bench = sub.add_parser("bench", help="measure per-stage time, throughput and latency",
                           description="Run the pipeline on a source and report per-stage timings, end-to-end "
                                       "latency and throughput (frames go to a null sink unless --sink is given).")
    bench.add_argument("--source", "-s", default="synth", metavar="S", help="source spec (default synth)")
    bench.add_argument("--size", dest="capture_size", type=parse_size, default=(640, 480), metavar="WxH",
                       help="capture size (default 640x480)")
    bench.add_argument("--frames", type=_frames, default=200, metavar="N", help="measured frames (default 200)")
    bench.add_argument("--warmup", type=lambda s: int(s) if s.isdigit() else _frames(s), default=20, metavar="N",
                       help="frames run before measuring (default 20)")
    _add_model_args(bench, size_flag="--proc-size")
    _add_effect_args(bench)
    bench.add_argument("--sink", action="append", type=parse_sink_spec, default=[], metavar="SPEC",
                       help="also write to these outputs (default: none, a null sink)")
    bench.add_argument("--sequential", action="store_true", help="measure the one-thread reference mode")
    bench.add_argument("--compare", action="store_true", help="measure sequential then pipelined")
    bench.add_argument("--prefetch", action="store_true",
                       help="read-ahead capture thread (what `stylize` uses): more throughput, more latency")
    bench.add_argument("--stylizer-only", action="store_true",
                       help="time the stylizer alone (preprocess, inference, postprocess on frames held in memory): "
                            "no capture, temporal blending or sinks")
    bench.add_argument("--json", metavar="F", help="write the figures as JSON")
    bench.add_argument("--plot", metavar="F", help="write a chart of stage times and latency (PNG)")
    bench.set_defaults(func=cmd_bench)

    models = sub.add_parser("models", help="list the bundled models (and yours: --models-dir, LIVESTYLE_MODELS)")
    models.add_argument("--json", action="store_true", help="machine-readable list")
    _add_models_dir_arg(models)
    models.set_defaults(func=cmd_models)

    tool_help = {"train": "train a feed-forward style model (tools.train)",
                 "export": "export a trained checkpoint to ONNX + model card (tools.export)",
                 "gatys": "Gatys optimizer: one high-quality stylized image (tools.gatys)",
                 "gatys-video": "Gatys optimizer over a video with temporal consistency (tools.gatys_video)"}
    for name in TOOLS:
        tool = sub.add_parser(name, add_help=False, help=f"{tool_help[name]}; needs pip install 'livestyle[train]'",
                              description=f"{tool_help[name]}. `livestyle {name} --help` lists its options.")
        tool.set_defaults(func=cmd_tool, tool=name, tool_argv=[])
    return parser


# --------------------------------------------------------------------------------------------------- configs


def _temporal_config(args: argparse.Namespace) -> Any:
    from livestyle.temporal import TemporalConfig

    cfg = TemporalConfig()
    changes: dict[str, Any] = {}
    if args.no_temporal:
        changes["enabled"] = False
    if args.temporal_strength is not None:
        changes["strength"] = args.temporal_strength
    if args.warp is not None:
        changes["interpolation"] = args.warp
    return dataclasses.replace(cfg, **changes) if changes else cfg


def _model_config(args: argparse.Namespace, styles: Sequence[str] = ()) -> ModelConfig:
    return ModelConfig(model=args.model, styles=tuple(styles), device=args.device, size=args.proc_size,
                       scale=args.scale, threads=args.threads, backend=args.backend, torch_mode=args.torch_mode)


def _effects(args: argparse.Namespace) -> EffectsConfig:
    return EffectsConfig(strength=args.strength, preserve_colors=args.preserve_colors, mask=args.mask)


def _summary(stats: Any, targets: Sequence[str]) -> str:
    lat = stats.latency()
    line = (f"livestyle: {stats.frames} frames in {stats.elapsed_s:.1f} s, {stats.fps:.1f} FPS, "
            f"latency p50 {lat['p50']:.0f} ms p99 {lat['p99']:.0f} ms")
    if stats.dropped:
        line += f", {stats.dropped} dropped"
    return line + (f" -> {', '.join(targets)}" if targets else "")


def _target(sink: Any) -> str:
    name = str(getattr(sink, "name", type(sink).__name__))
    for prefix in ("file:", "folder:", "image:"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


# --------------------------------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from livestyle.pipeline import SignalStop, build_pipeline

    _reject_duplicate_outputs(args.sink)
    config = RunConfig(
        source=SourceConfig(args.source, args.capture_size), model=_model_config(args, args.styles),
        temporal=_temporal_config(args), effects=_effects(args),
        sinks=SinkConfig(tuple(args.sink), host=args.host, token=args.token),
        max_frames=args.max_frames, pipelined=not args.sequential)
    stop = threading.Event()
    with SignalStop(stop):
        pipe = build_pipeline(config, stop_event=stop)
        sinks = list(pipe.sinks)
        stats = pipe.run()
    print(_summary(stats, [_target(s) for s in sinks if getattr(s, "name", None) not in stats.failed_sinks]))
    if stats.stop_reason == "sinks":
        print(f"livestyle: error: every output failed ({', '.join(stats.failed_sinks)}); see the messages above",
              file=sys.stderr)
        return EXIT_USAGE
    return 0


def _reject_duplicate_outputs(specs: list[Any]) -> None:
    """Two writers on one file or folder would interleave or clobber each other's output."""
    seen: set[Path] = set()
    for spec in specs:
        kind, _, target = str(spec).partition(":")
        if kind not in ("file", "folder") or not target:
            continue
        key = Path(target).expanduser().resolve()
        if key in seen:
            raise ConfigError(f"--sink {spec} names the same output twice: give each file or folder sink its own path")
        seen.add(key)


def cmd_stylize(args: argparse.Namespace) -> int:
    from livestyle.capture.registry import open_source
    from livestyle.pipeline import ImageFileSink, SignalStop, build_pipeline

    src_path = Path(args.input)
    if not src_path.exists():
        raise SourceError(f"input {args.input} does not exist: give an image, a video file or a folder of frames")
    out = Path(args.output)
    if out.resolve() == src_path.resolve():
        raise ConfigError(f"output {out} is the input: choose another path")
    if out.suffix and out.suffix.lower() not in IMAGE_EXTS + VIDEO_EXTS and not out.is_dir():
        raise ConfigError(f"unknown output type {out.suffix!r}: use an image (.png, .jpg), a video (.mp4, .mkv, ...) "
                          "or a folder name without an extension")
    config = RunConfig(source=SourceConfig(str(src_path)), model=_model_config(args), temporal=_temporal_config(args),
                       effects=_effects(args), pipelined=not args.sequential, prefetch=True)
    stop = threading.Event()
    source = open_source(str(src_path))
    try:
        total = _frame_count(source)
        suffix = out.suffix.lower()
        if suffix in IMAGE_EXTS:
            if total is not None and total > 1:
                raise ConfigError(f"{out} is a single image but {args.input} has {total} frames: "
                                  "write to a folder or an .mp4 instead")
            sinks = [ImageFileSink(out)]
        elif suffix in VIDEO_EXTS:
            from livestyle.sinks.registry import open_sink

            fps = float(getattr(source, "fps", 0.0) or 0.0) or 30.0
            audio = str(src_path) if src_path.suffix.lower() in VIDEO_EXTS else None
            sinks = [open_sink(f"file:{out}", size=tuple(source.size), fps=fps, audio_from=audio)]
        else:
            sinks = [_folder_sink(out, src_path, source)]
    except BaseException:
        source.close()
        raise
    from tqdm import tqdm

    with SignalStop(stop) as sig:
        try:
            pipe = build_pipeline(config, stop_event=stop, sinks=sinks, source=source)
        except BaseException:
            for s in sinks:
                s.close()
            source.close()
            raise
        # the bar starts once the models are loaded, so an error above is a clean line of its own
        bar = tqdm(total=total, unit="frame", desc="stylize", disable=args.no_progress, leave=False)
        pipe.on_frame = lambda _f: bar.update(1)
        try:
            stats = pipe.run()
        finally:
            bar.close()
    if stats.stop_reason == "sinks":
        print(f"livestyle: error: could not write {out}; see the message above", file=sys.stderr)
        return EXIT_USAGE
    print(_summary(stats, [str(out)]))
    return EXIT_INTERRUPTED if sig.signum is not None else 0


def _frame_count(source: Any) -> int | None:
    for attr in ("frame_count", "num_frames", "length"):
        v = getattr(source, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    try:
        n = len(source)
        return n if n > 0 else None
    except TypeError:
        return None


def _folder_sink(out: Path, src_path: Path, source: Any) -> Any:
    """A folder of PNG frames named like the input frames (numbered for a video)."""
    from livestyle.sinks.registry import open_sink

    names = getattr(source, "names", None)
    return open_sink(f"folder:{out}", size=tuple(source.size), fps=float(getattr(source, "fps", 0) or 30.0),
                     names=list(names) if names else None)


def cmd_bench(args: argparse.Namespace) -> int:
    from livestyle.bench import plot, run_bench, write_json
    from livestyle.pipeline import SignalStop

    if args.stylizer_only:
        return _bench_stylizer(args)
    modes = [False, True] if args.compare else [not args.sequential]
    results = []
    stop = threading.Event()
    with SignalStop(stop) as sig:
        for pipelined in modes:
            run = RunConfig(source=SourceConfig(args.source, args.capture_size), model=_model_config(args),
                            temporal=_temporal_config(args), effects=_effects(args),
                            sinks=SinkConfig(tuple(args.sink)), pipelined=pipelined, prefetch=args.prefetch)
            sinks = None
            if args.sink:
                from livestyle.sinks.registry import open_sink

                sinks = [open_sink(str(s), size=args.capture_size, fps=30.0) for s in args.sink]
            result = run_bench(BenchConfig(run=run, frames=args.frames, warmup=args.warmup), stop_event=stop,
                               sinks=sinks)
            results.append(result)
            print(result.table())
            if sig.signum is not None:
                break
    if args.json:
        write_json(results[-1], args.json, compare=results[:-1])
    if args.plot:
        plot(results, args.plot)
    return EXIT_INTERRUPTED if sig.signum is not None else 0


def _bench_stylizer(args: argparse.Namespace) -> int:
    from livestyle.bench import plot, run_stylizer_bench, write_json
    from livestyle.pipeline import SignalStop

    if args.sink or args.compare or args.sequential or args.prefetch:
        raise ConfigError("--stylizer-only times the stylizer alone: drop --sink, --compare, --sequential and --prefetch")
    stop = threading.Event()
    with SignalStop(stop) as sig:
        result = run_stylizer_bench(_model_config(args), source=args.source, size=args.capture_size,
                                    frames=args.frames, warmup=args.warmup, stop_event=stop)
    print(result.table())
    if args.json:
        write_json(result, args.json)
    if args.plot:
        plot([result], args.plot, labels=["stylizer only"])
    return EXIT_INTERRUPTED if sig.signum is not None else 0


def _card_dict(card: Any) -> dict[str, Any]:
    if hasattr(card, "to_dict"):
        return json.loads(json.dumps(card.to_dict(), default=str))
    data = dataclasses.asdict(card) if dataclasses.is_dataclass(card) else dict(vars(card))
    for key in ("path", "card_path", "onnx_path"):
        v = getattr(card, key, None)
        if v is not None:
            data[key] = v
    if "path" not in data:
        files = data.get("files") or {}
        base = getattr(card, "root", None) or getattr(card, "directory", None)
        if base is not None and files.get("fp32"):
            data["path"] = str(Path(base) / files["fp32"])
    return json.loads(json.dumps(data, default=str))


def cmd_models(args: argparse.Namespace) -> int:
    from livestyle.stylize.registry import list_models, search_path

    cards = [_card_dict(c) for c in list_models()]
    if args.json:
        print(json.dumps(cards, indent=2))
        return 0
    if not cards:
        print(f"no models found in {', '.join(str(p) for p in search_path())}")
        return 0
    rows = [(c.get("name", ""), c.get("style", ""), c.get("variant", ""), str(c.get("path", ""))) for c in cards]
    widths = [max(len(r[i]) for r in rows + [("name", "style", "variant", "path")]) for i in range(4)]
    for r in [("name", "style", "variant", "path")] + rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return 0


def cmd_tool(args: argparse.Namespace) -> int:
    from livestyle.training import run_tool

    return run_tool(args.tool, args.tool_argv)


# --------------------------------------------------------------------------------------------------- entry


def _split_tool_command(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """(``livestyle`` options + the command, the tool's own arguments) when ``argv`` names a training command.

    The tool parses its own arguments (including ``--help``), so they must not reach livestyle's parser.
    """
    for i, token in enumerate(argv):
        if token in TOOLS:
            return list(argv[: i + 1]), list(argv[i + 1:])
        if not token.startswith("-"):
            return None
    return None


def _use_models_dirs(args: argparse.Namespace) -> None:
    """``--models-dir`` for this command (none given: none kept from an earlier ``main()`` in this process)."""
    if hasattr(args, "models_dir"):
        from livestyle.stylize.registry import use_models_dirs

        use_models_dirs(args.models_dir)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("livestyle: %(levelname)s: %(message)s"))
    root = logging.getLogger("livestyle")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        tool = _split_tool_command(argv)
        args = parser.parse_args(tool[0] if tool else argv)
        _setup_logging(args.verbose)
        if tool:
            args.tool_argv = tool[1]
        if args.command is None:  # `livestyle` alone: the default live filter
            args = parser.parse_args([*argv, "run"])
        _use_models_dirs(args)
        return int(args.func(args))
    except LivestyleError as exc:
        print(f"livestyle: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("livestyle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `livestyle models | head`: the reader left; no traceback (Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "build_parser"]
