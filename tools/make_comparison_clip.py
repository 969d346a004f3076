"""Side-by-side clip of per-frame stylization (left) and temporally blended output (right) on a real video.

    .venv/bin/python -m tools.make_comparison_clip                       # docs/temporal_comparison.gif
    .venv/bin/python -m tools.make_comparison_clip --model udnie-lite --clip intel/one-by-one-person-detection.mp4

Frames are stylized at ``--process-width`` (640 px, the stylizer at the card's recommended size, as the product
runs) and blended with the default :class:`livestyle.temporal.TemporalBlender`, then shrunk to ``--width`` per
side. The GIF uses one global palette and no dithering, so the GIF encoding adds no flicker of its own; the
warping error of both halves (measured at the processing size) is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from livestyle.errors import ConfigError, LivestyleError

ROOT = Path(__file__).resolve().parents[1]


def label_bar(width: int, text: str, height: int = 22) -> np.ndarray:
    bar = np.full((height, width, 3), 24, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    (tw, th), _ = cv2.getTextSize(text, font, scale, 1)
    cv2.putText(bar, text, ((width - tw) // 2, (height + th) // 2), font, scale, (240, 240, 240), 1, cv2.LINE_AA)
    return bar


def side_by_side(left: np.ndarray, right: np.ndarray, labels: tuple[str, str], gap: int = 4) -> np.ndarray:
    """Two equally sized RGB frames next to each other, each under its label."""
    if left.shape != right.shape:
        raise ValueError(f"left {left.shape} and right {right.shape} differ")
    w = left.shape[1]
    cols = [np.vstack([label_bar(w, t), img]) for t, img in zip(labels, (left, right))]
    sep = np.full((cols[0].shape[0], gap, 3), 24, np.uint8)
    return np.hstack([cols[0], sep, cols[1]])


def write_gif(frames: list[np.ndarray], path: Path, fps: float, colors: int = 256) -> None:
    """Animated GIF with one palette for all frames and no dithering (no encoder flicker)."""
    from PIL import Image

    step = max(1, len(frames) // 8)
    sample = np.vstack(frames[::step])
    palette = Image.fromarray(sample).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    imgs = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=round(1000 / fps), loop=0, optimize=True)


def write_mp4(frames: list[np.ndarray], path: Path, fps: float) -> None:
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=round(fps))
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = "yuv420p"
        s.options = {"crf": "23"}
        for f in frames:
            out.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(s.encode())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.make_comparison_clip", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="starry_night-lite", help="model name or card path")
    p.add_argument("--clip", default="davis/blackswan", help="clip under ../shared/data/videos, or a path")
    p.add_argument("--frames", type=int, default=36, help="frames from the start of the clip (36: GIF under 3 MB)")
    p.add_argument("--fps", type=float, default=16.0, help="playback rate")
    p.add_argument("--process-width", type=int, default=640)
    p.add_argument("--width", type=int, default=320, help="width of each side in the output")
    p.add_argument("--colors", type=int, default=64, help="GIF palette size (one palette for the whole clip)")
    p.add_argument("--output", "-o", default=str(ROOT / "docs" / "temporal_comparison.gif"), help=".gif or .mp4")
    args = p.parse_args(argv)
    try:
        from livestyle.stylize.stylizer import Stylizer
        from livestyle.temporal import TemporalBlender, TemporalConfig
        from livestyle.temporal.metrics import reference_flows, warping_error
        from tools.evaluate import load_clip

        out = Path(args.output)
        if out.suffix.lower() not in (".gif", ".mp4"):
            raise ConfigError(f"output must end in .gif or .mp4, got {out.name}")
        frames = load_clip(args.clip, args.frames, args.process_width)
        st = Stylizer(args.model, device="cpu", precision="fp32")
        blender = TemporalBlender(TemporalConfig())
        per_frame, blended = [], []
        for f in frames:
            s = st(f)
            per_frame.append(s)
            blended.append(blender(f, s))
    except LivestyleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    flows = reference_flows(frames)
    we = (warping_error(per_frame, flows), warping_error(blended, flows))
    h = int(round(frames[0].shape[0] * args.width / frames[0].shape[1] / 2)) * 2
    small = lambda img: cv2.resize(img, (args.width, h), interpolation=cv2.INTER_AREA)  # noqa: E731
    labels = (f"per-frame {st.card.name}", "temporal blending (default)")
    video = [side_by_side(small(a), small(b), labels) for a, b in zip(per_frame, blended)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        write_gif(video, out, args.fps, args.colors)
    else:
        write_mp4(video, out, args.fps)
    cv2.imwrite(str(out.with_name(out.stem + "_poster.jpg")), cv2.cvtColor(video[len(video) // 2], cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"{out}: {len(video)} frames {video[0].shape[1]}x{video[0].shape[0]} at {args.fps:g} fps, "
          f"{out.stat().st_size / 1e6:.2f} MB; warping error per-frame {we[0]:.5f}, blended {we[1]:.5f} "
          f"({args.clip}, {len(frames)} frames at {frames[0].shape[1]} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
