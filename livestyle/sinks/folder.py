"""A folder of PNG frames: named like the input frames when names are given, else 000000.png, 000001.png, ..."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2

from livestyle.errors import SinkError
from livestyle.frames import Frame


class FolderSink:
    """Writes each frame as a PNG into ``folder`` (created if needed).

    With ``names``, frame ``i`` (its ``Frame.index``, which a folder source numbers from 0 in file order) is written
    as ``names[i]`` with a ``.png`` suffix, so folder -> folder keeps the input's names. Without, frames are numbered
    in the order they arrive.
    """

    def __init__(self, folder: str | Path, names: Sequence[str] | None = None, compression: int = 1) -> None:
        self.folder = Path(folder)
        self.name = f"folder:{self.folder}"
        self._names = [Path(n).with_suffix(".png").name for n in names] if names is not None else None
        self._params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]  # 1: fast; PNG stays lossless anyway
        self.frames_written = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create folder {self.folder}: {exc.strerror or exc}") from None
        if not self.folder.is_dir():
            raise SinkError(f"cannot write frames to {self.folder}: it is not a folder")

    def filename(self, frame: Frame) -> str:
        if self._names is not None and 0 <= frame.index < len(self._names):
            return self._names[frame.index]
        return f"{self.frames_written:06d}.png"

    def write(self, frame: Frame) -> None:
        path = self.folder / self.filename(frame)
        ok, data = cv2.imencode(".png", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), self._params)
        if not ok:
            raise SinkError(f"cannot encode frame {frame.index} as PNG")
        try:
            path.write_bytes(data.tobytes())
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror or exc}; free disk space or choose another folder") from None
        self.frames_written += 1

    def close(self) -> None:
        """Nothing buffered: each frame is on disk once ``write`` returns."""

    def __enter__(self) -> "FolderSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
