"""The allocator setting the pipeline applies once per process (livestyle.memory)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from livestyle import memory


def test_opt_out_changes_nothing(monkeypatch) -> None:
    monkeypatch.setattr(memory, "_done", None)
    monkeypatch.setenv("LIVESTYLE_MALLOPT", "0")
    assert memory.keep_freed_buffers() is False
    assert memory.keep_freed_buffers() is False  # decided once


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_applies_on_linux_and_big_buffers_still_work(monkeypatch) -> None:
    monkeypatch.setattr(memory, "_done", None)
    monkeypatch.delenv("LIVESTYLE_MALLOPT", raising=False)
    ok = memory.keep_freed_buffers()
    assert isinstance(ok, bool)
    for _ in range(3):  # frame-sized arrays allocate, fill and free as before
        a = np.ones((480, 640, 3), np.float32)
        assert float(a.sum()) == 480 * 640 * 3
