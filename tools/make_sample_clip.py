"""Cut the bundled sample clip assets/sample.mp4 from the Intel sample video (CC BY 4.0) with PyAV.

Why: the default `livestyle run` on a machine without a webcam needs a short real clip in the repo. This re-encodes
a few seconds at 640x360 H.264 (small enough to commit): a room where a person walks in. An audio track of the
same span is re-encoded to AAC when the input has one (this one has none).

    python tools/make_sample_clip.py [--input one-by-one-person-detection.mp4] [--start 50] [--seconds 7] [-o assets/sample.mp4]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2

DEFAULT_INPUT = Path("/work/shared/data/videos/intel/one-by-one-person-detection.mp4")


def make_clip(src: Path, dst: Path, start: float, seconds: float, size: tuple[int, int], crf: int) -> int:
    """Write ``seconds`` of ``src`` from ``start`` to ``dst``; returns the number of video frames written."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    end = start + seconds
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or Fraction(25)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height = size
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": str(crf), "preset": "slow", "movflags": "+faststart"}
        ain = inp.streams.audio[0] if inp.streams.audio else None
        aout = out.add_stream("aac", rate=ain.rate, layout=ain.layout.name) if ain is not None else None
        written = 0
        for frame in inp.decode(vin):
            t = float(frame.pts * vin.time_base)
            if t < start:
                continue
            if t >= end:
                break
            rgb = frame.to_ndarray(format="rgb24")
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            new = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            new.pts = written
            new.time_base = Fraction(1) / rate
            for packet in vout.encode(new):
                out.mux(packet)
            written += 1
        for packet in vout.encode(None):
            out.mux(packet)
        if ain is not None and aout is not None:
            inp.seek(0)
            first_pts = None
            for frame in inp.decode(ain):
                t = float(frame.pts * ain.time_base)
                if t < start:
                    continue
                if t >= end:
                    break
                if first_pts is None:
                    first_pts = frame.pts
                frame.pts -= first_pts
                for packet in aout.encode(frame):
                    out.mux(packet)
            for packet in aout.encode(None):
                out.mux(packet)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--start", type=float, default=50.0, help="seconds into the input")
    parser.add_argument("--seconds", type=float, default=7.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--crf", type=int, default=20)
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).resolve().parents[1] / "assets" / "sample.mp4")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    n = make_clip(args.input, args.output, args.start, args.seconds, (w, h), args.crf)
    print(f"wrote {args.output} ({n} frames, {args.output.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
