"""livestyle: real-time neural style transfer for live video.

The runtime (this package) needs numpy, OpenCV, ONNX Runtime and PyAV only; PyTorch is an optional backend
and is never imported unless chosen.
"""

__version__ = "0.1.0"
