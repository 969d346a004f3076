"""livestyle.segment: person mask (MediaPipe selfie segmentation in ONNX Runtime), its temporal stabilisation,
and compositing the stylized frame over the original through it."""

from livestyle.segment.compose import MODES, compose, feather
from livestyle.segment.segmenter import PersonSegmenter
from livestyle.segment.stabilise import MaskStabiliser, edge_flicker

__all__ = ["MODES", "MaskStabiliser", "PersonSegmenter", "compose", "edge_flicker", "feather"]
