"""Errors a user can act on. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class LivestyleError(Exception):
    """Base class: the message says what is wrong and what to do."""


class ConfigError(LivestyleError):
    """A bad option value (size, strength, device, sink spec...)."""


class SourceError(LivestyleError):
    """A source that cannot be opened or read (missing file, empty folder, no camera)."""


class ModelError(LivestyleError):
    """A model file that is missing, corrupt, not ONNX, or has the wrong input shape."""


class SinkError(LivestyleError):
    """A sink that cannot be opened or written (port in use, disk full, no virtual camera)."""


class BackendUnavailable(LivestyleError):
    """An optional backend or execution provider that is not installed; the message carries the install hint."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(f"{what}: {hint}")
        self.what = what
        self.hint = hint
