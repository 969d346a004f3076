"""Frame sources: camera, video file / URL, image folder, synthetic scene.

``open_source(spec)`` and ``default_source()`` are the entry points; ``SOURCE_KINDS`` lists what specs exist.
"""

from livestyle.capture.registry import SOURCE_KINDS, default_source, open_source, parse_source_spec

__all__ = ["SOURCE_KINDS", "default_source", "open_source", "parse_source_spec"]
