"""livestyle.temporal: optical flow, warping, occlusion masks and the TemporalBlender (the only temporal state)."""

from livestyle.temporal.blender import Motion, TemporalBlender, TemporalConfig

__all__ = ["Motion", "TemporalBlender", "TemporalConfig"]
