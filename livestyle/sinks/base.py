"""The sink protocol every output backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from livestyle.frames import Frame


@runtime_checkable
class FrameSink(Protocol):
    """Takes output frames. ``write`` raises ``SinkError`` when the sink is broken for good
    (disk full, camera closed); the pipeline then reports it once and removes it. ``close()`` is
    idempotent and finalises files."""

    name: str

    def write(self, frame: Frame) -> None:
        ...

    def close(self) -> None:
        ...

    def __enter__(self) -> "FrameSink":
        ...

    def __exit__(self, *exc: object) -> None:
        ...
