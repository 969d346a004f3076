"""Headless Chromium shows the MJPEG stream: the page's screenshot has the streamed frame's colour."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from livestyle.frames import Frame
from livestyle.sinks.http import MjpegSink

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)"),
]


@pytest.mark.parametrize("token", [None, "t0ken"])
def test_chromium_shows_the_stream(tmp_path: Path, token: str | None) -> None:
    colour = (200, 40, 90)
    image = np.empty((240, 320, 3), np.uint8)
    image[:] = colour
    sink = MjpegSink(0, token=token)
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            sink.write(Frame(image, i))
            i += 1
            stop.wait(0.04)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    shot = tmp_path / "shot.png"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=320,240",
        "--timeout=3000", sink.url,
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    finally:
        stop.set()
        feeder.join()
        sink.close()
    assert shot.is_file(), result.stderr[-2000:]
    screenshot = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB)
    centre = screenshot[80:160, 100:220].reshape(-1, 3).mean(0)
    assert np.abs(centre - colour).max() < 8, f"screenshot centre {centre} is not the streamed colour {colour}"
    assert sink.clients_served >= 1
