"""The transformation networks, re-exported for the training side.

The definition moved to :mod:`livestyle.stylize.torch_nets` so the runtime's torch backend can rebuild a model
without importing ``tools`` (``livestyle`` never imports ``tools``); trainer, exporter and tests keep importing
from here unchanged.
"""

from __future__ import annotations

from livestyle.stylize.torch_nets import (PRESETS, ConvLayer, NetConfig, ResidualBlock, TransformerNet, UpsampleConv,
                                          _norm, build_net, count_params)

__all__ = ["PRESETS", "ConvLayer", "NetConfig", "ResidualBlock", "TransformerNet", "UpsampleConv", "_norm",
           "build_net", "count_params"]
