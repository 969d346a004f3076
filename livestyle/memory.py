"""Keep freed frame buffers in the process heap instead of handing them back to the kernel.

Every stage allocates a few full-size arrays per frame (a 640x480 float RGB image is 3.7 MB). glibc serves
allocations above its mmap threshold with fresh ``mmap`` pages and returns them on ``free``, so each frame
can page-fault its buffers in again. Measured on the 2-vCPU AMD EPYC KVM machine (docs/BENCHMARKS.md): at
1280x720 the pipeline took 1,100-1,600 page faults and 16-20 ms of system CPU per frame, 560-1,000 and 8-16 ms
with the thresholds raised; at 640x480 glibc's own adaptive threshold already recycles (about 170 faults per
frame either way). A guided upsample timed alone in a loop: 10.3 ms of CPU with 3,700 faults per call, 2.8 ms
with none. Raising the mmap and trim thresholds once per process (``mallopt``) lets the heap recycle those
blocks. Linux/glibc only; elsewhere, or with ``LIVESTYLE_MALLOPT=0``, nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling on 64-bit; a 1920x1080 float RGB frame (25 MB) fits below
TRIM_THRESHOLD = 512 * 1024 * 1024

_done: bool | None = None


def keep_freed_buffers() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; True when they are in force."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux") or os.environ.get("LIVESTYLE_MALLOPT", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("malloc thresholds raised: %s", _done)
    return _done
