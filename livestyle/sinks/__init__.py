"""Frame sinks: preview window, virtual camera, video file, image folder, MJPEG HTTP stream.

``open_sink(spec, size=..., fps=...)`` and ``default_sink_spec()`` are the entry points; ``SINK_KINDS`` lists the
specs; ``ACTIONS`` the live controls a preview window reports.
"""

from livestyle.sinks.actions import ACTIONS
from livestyle.sinks.registry import SINK_KINDS, default_sink_spec, open_sink

__all__ = ["ACTIONS", "SINK_KINDS", "default_sink_spec", "open_sink"]
