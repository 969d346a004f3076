"""livestyle.stylize: model cards, execution-provider choice, ONNX Runtime sessions and the Stylizer."""

from livestyle.stylize.card import ModelCard, load_card
from livestyle.stylize.providers import DEVICES, choose_providers
from livestyle.stylize.registry import MODELS_DIR, default_model, find_model, list_models
from livestyle.stylize.stylizer import Stylizer

__all__ = ["DEVICES", "MODELS_DIR", "ModelCard", "Stylizer", "choose_providers", "default_model", "find_model",
           "list_models", "load_card"]
