"""livestyle: real-time neural style transfer for live video.

The runtime (this package) needs numpy, OpenCV, ONNX Runtime, PyAV and (on x86-64/ARM64, for the CPU backend)
OpenVINO; PyTorch is an optional backend and is never imported unless chosen.
"""

__version__ = "0.1.0"
