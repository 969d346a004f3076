"""Shared fixtures. Hardware tests (gpu, camera, virtualcam) and slow ones are opt-in via markers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Keep every test on few threads: CI has 2 cores and tests run one after another.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def half_size_lite() -> str:
    """A bundled lite model that is still the half-size ``lite`` net (the fast path, guided upsampling), found by its
    card: the bundled lite models move to ``lite_hd_wide`` one by one, so no name is fixed here."""
    from livestyle.stylize.registry import list_models

    names = sorted(c.name for c in list_models() if c.architecture.get("arch") == "lite")
    if not names:
        pytest.skip("no bundled model is the half-size lite net any more")
    return names[0]
