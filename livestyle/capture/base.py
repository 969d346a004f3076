"""The source protocol every capture backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from livestyle.frames import Frame


@runtime_checkable
class FrameSource(Protocol):
    """A context manager that yields frames.

    ``read()`` returns the next frame, or ``None`` at the end of a finite source. Live sources
    (``is_live``) return the newest frame and count the ones they skipped in ``dropped``.
    ``close()`` is idempotent.
    """

    is_live: bool

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        ...

    @property
    def fps(self) -> float:
        """Nominal frame rate (0.0 if unknown)."""
        ...

    @property
    def dropped(self) -> int:
        ...

    def read(self) -> Frame | None:
        ...

    def close(self) -> None:
        ...

    def __enter__(self) -> "FrameSource":
        ...

    def __exit__(self, *exc: object) -> None:
        ...
