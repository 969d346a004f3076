"""Convert MediaPipe's selfie-segmentation TFLite model to ONNX, once, so the runtime needs only ONNX Runtime.

Why a hand-written converter: the model is ~250 ops of a handful of kinds (conv, depthwise conv, hard-swish,
squeeze-excite, bilinear upsampling) plus MediaPipe's custom op ``Convolution2DTransposeBias``, which tf2onnx and
tflite2onnx do not know. Reading the flatbuffer with the ``tflite`` package and emitting NCHW ONNX nodes with
``onnx.helper`` is short, exact and needs no TensorFlow.

Source: the PyPI wheel ``mediapipe==0.10.14`` ships
``mediapipe/modules/selfie_segmentation/selfie_segmentation{,_landscape}.tflite`` (Apache-2.0).

Converter dependencies (not runtime ones; ``pip install 'livestyle[convert]'``, best in a throwaway venv):
``tflite`` (flatbuffer schema), ``onnx``, ``numpy``; ``onnxruntime`` for the self-check; optionally the
``mediapipe`` wheel itself (``pip install --no-deps mediapipe==0.10.14`` + ``numpy<2 protobuf<5 absl-py attrs
matplotlib``) for ``--verify-mediapipe``, which compares the ONNX output with MediaPipe's own inference.

Usage::

    pip download mediapipe==0.10.14 --no-deps -d /tmp/mp
    python tools/convert_selfie.py --wheel /tmp/mp/mediapipe-0.10.14-*.whl --variant landscape \
        --out models/selfie_segmentation.onnx [--verify-mediapipe]

The ONNX graph: input ``input`` float32 NCHW RGB in [0, 1] (MediaPipe's ImageToTensor range, no aspect
preservation), output ``mask`` float32 N1HW person probability in [0, 1] at the input size. Height and width are
dynamic (any multiple of 16 works: padding is SAME_UPPER and the upsamplings use scales); the native size is in
the card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL_DIR = "mediapipe/modules/selfie_segmentation/"
VARIANTS = {"general": "selfie_segmentation.tflite", "landscape": "selfie_segmentation_landscape.tflite"}
OPSET = 17


def _activation(nodes: list, name: str, code: int, add_init) -> str:
    """Append the fused activation of a TFLite op (0 none, 1 relu, 3 relu6) and return the final tensor name."""
    import onnx.helper as oh

    if code == 0:
        return name
    if code == 1:
        nodes.append(oh.make_node("Relu", [name], [name + "/relu"]))
        return name + "/relu"
    if code == 3:
        lo, hi = add_init(name + "/lo", np.array(0.0, np.float32)), add_init(name + "/hi", np.array(6.0, np.float32))
        nodes.append(oh.make_node("Clip", [name, lo, hi], [name + "/relu6"]))
        return name + "/relu6"
    raise NotImplementedError(f"fused activation {code}")


def convert(tflite_bytes: bytes, *, dynamic: bool = True):
    """Return an ``onnx.ModelProto`` equivalent to the TFLite selfie-segmentation graph (NHWC -> NCHW)."""
    import onnx
    import onnx.helper as oh
    import onnx.numpy_helper as onh
    import tflite

    model = tflite.Model.GetRootAsModel(tflite_bytes, 0)
    graph = model.Subgraphs(0)
    op_names = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}

    def tname(i: int) -> str:
        return graph.Tensors(i).Name().decode()

    def tshape(i: int) -> list[int]:
        return [int(d) for d in graph.Tensors(i).ShapeAsNumpy()]

    def raw_const(i: int) -> np.ndarray | None:
        t = graph.Tensors(i)
        buf = model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32}[t.Type()]
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(tshape(i))

    consts: dict[str, np.ndarray] = {}  # tensor name -> value (DEQUANTIZE folded to float32)
    nodes: list = []
    initializers: list = []

    def const(i: int) -> np.ndarray:
        name = tname(i)
        if name in consts:
            return consts[name]
        value = raw_const(i)
        if value is None:
            raise KeyError(f"{name} is not a constant")
        return value

    def add_init(name: str, value: np.ndarray) -> str:
        initializers.append(onh.from_array(np.ascontiguousarray(value), name))
        return name


    def operand(i: int) -> str:
        """A binary-op operand: activations pass through; constants become NCHW-broadcastable initializers."""
        name = tname(i)
        if name in consts or raw_const(i) is not None:
            v = const(i).astype(np.float32)
            if v.ndim == 4:
                v = v.transpose(0, 3, 1, 2)
            elif v.ndim == 1 and v.size > 1:
                v = v.reshape(1, -1, 1, 1)
            return add_init(name + "/nchw", v)
        return name

    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [int(i) for i in op.InputsAsNumpy()]
        outs = [int(i) for i in op.OutputsAsNumpy()]
        out = tname(outs[0])
        if kind == "DEQUANTIZE":
            consts[out] = raw_const(ins[0]).astype(np.float32)
            continue
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts_cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
            opts = opts_cls()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            w = const(ins[1])
            if kind == "CONV_2D":
                weight, group = w.transpose(0, 3, 1, 2), 1  # OHWI -> OIHW
            else:
                weight = w.transpose(3, 0, 1, 2)  # 1HW(C*m) -> (C*m)1HW
                group = tshape(ins[0])[3]
            inputs = [tname(ins[0]), add_init(out + "/W", weight)]
            if len(ins) > 2 and ins[2] >= 0:
                inputs.append(add_init(out + "/B", const(ins[2])))
            pad = "SAME_UPPER" if opts.Padding() == tflite.Padding.SAME else "VALID"
            nodes.append(
                oh.make_node(
                    "Conv", inputs, [out + "/pre"], group=group, auto_pad=pad,
                    kernel_shape=list(weight.shape[2:]), strides=[opts.StrideH(), opts.StrideW()],
                    dilations=[opts.DilationHFactor(), opts.DilationWFactor()],
                )
            )
            final = _activation(nodes, out + "/pre", opts.FusedActivationFunction(), add_init)
            nodes.append(oh.make_node("Identity", [final], [out]))
        elif kind in ("ADD", "MUL"):
            opts = tflite.AddOptions() if kind == "ADD" else tflite.MulOptions()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            nodes.append(
                oh.make_node(kind.capitalize(), [operand(ins[0]), operand(ins[1])], [out + "/pre"])
            )
            final = _activation(nodes, out + "/pre", opts.FusedActivationFunction(), add_init)
            nodes.append(oh.make_node("Identity", [final], [out]))
        elif kind == "RELU":
            nodes.append(oh.make_node("Relu", [tname(ins[0])], [out]))
        elif kind == "HARD_SWISH":
            nodes.append(oh.make_node("HardSwish", [tname(ins[0])], [out]))
        elif kind == "LOGISTIC":
            nodes.append(oh.make_node("Sigmoid", [tname(ins[0])], [out]))
        elif kind == "AVERAGE_POOL_2D":
            opts = tflite.Pool2DOptions()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            _, h, w, _ = tshape(ins[0])
            if (opts.FilterHeight(), opts.FilterWidth()) != (h, w) or tshape(outs[0])[1:3] != [1, 1]:
                raise NotImplementedError("only global average pooling is supported")
            nodes.append(oh.make_node("GlobalAveragePool", [tname(ins[0])], [out]))
        elif kind == "MEAN":
            axes = sorted(int(a) for a in const(ins[1]).ravel())
            if axes != [1, 2] or len(tshape(outs[0])) != 4:
                raise NotImplementedError(f"MEAN over axes {axes}")
            nodes.append(oh.make_node("GlobalAveragePool", [tname(ins[0])], [out]))
        elif kind == "RESIZE_BILINEAR":
            opts = tflite.ResizeBilinearOptions()
            table = op.BuiltinOptions()
            opts.Init(table.Bytes, table.Pos)
            mode = (
                "align_corners" if opts.AlignCorners()
                else "half_pixel" if opts.HalfPixelCenters() else "asymmetric"
            )
            _, h, w, _ = tshape(ins[0])
            oh_, ow = (int(x) for x in const(ins[1]).ravel())
            if dynamic:
                if oh_ % h or ow % w:
                    raise NotImplementedError("non-integer upsampling cannot be made dynamic")
                scales = add_init(out + "/scales", np.array([1, 1, oh_ / h, ow / w], np.float32))
                inputs = [tname(ins[0]), "", scales]
            else:
                sizes = add_init(out + "/sizes", np.array([1, tshape(ins[0])[3], oh_, ow], np.int64))
                inputs = [tname(ins[0]), "", "", sizes]
            nodes.append(
                oh.make_node("Resize", inputs, [out], mode="linear", coordinate_transformation_mode=mode)
            )
        elif kind == "CUSTOM" and code.CustomCode().decode() == "Convolution2DTransposeBias":
            # MediaPipe's custom op: options are a raw TfLiteTransposeConvParams {padding, stride_w, stride_h}.
            padding, stride_w, stride_h = struct.unpack("<3i", bytes(op.CustomOptionsAsNumpy()))
            w = const(ins[1])  # O H W I
            _, kh, kw, _ = w.shape
            _, ih, iw, _ = tshape(ins[0])
            _, oh2, ow2, _ = tshape(outs[0])
            pad_h = max((ih - 1) * stride_h + kh - oh2, 0)
            pad_w = max((iw - 1) * stride_w + kw - ow2, 0)
            if (pad_h or pad_w) and dynamic:
                raise NotImplementedError("padded transpose conv cannot be made dynamic")
            nodes.append(
                oh.make_node(
                    "ConvTranspose",
                    [tname(ins[0]), add_init(out + "/W", w.transpose(3, 0, 1, 2)), add_init(out + "/B", const(ins[2]))],
                    [out],
                    kernel_shape=[kh, kw], strides=[stride_h, stride_w],
                    pads=[pad_h // 2, pad_w // 2, pad_h - pad_h // 2, pad_w - pad_w // 2],
                )
            )
            del padding  # SAME/VALID only decides the output size, which the pads above reproduce
        else:
            raise NotImplementedError(f"TFLite op {kind} is not supported by this converter")

    (in_idx,) = [int(i) for i in graph.InputsAsNumpy()]
    (out_idx,) = [int(i) for i in graph.OutputsAsNumpy()]
    n, h, w, c = tshape(in_idx)
    hdim, wdim = ("height", "width") if dynamic else (h, w)
    nodes.insert(0, oh.make_node("Identity", ["input"], [tname(in_idx)]))
    nodes.append(oh.make_node("Identity", [tname(out_idx)], ["mask"]))
    g = oh.make_graph(
        nodes,
        "selfie_segmentation",
        [oh.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, c, hdim, wdim])],
        [oh.make_tensor_value_info("mask", onnx.TensorProto.FLOAT, [1, 1, hdim, wdim])],
        initializers,
    )
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", OPSET)], producer_name="livestyle.convert_selfie")
    m.ir_version = 8
    m.doc_string = (
        f"MediaPipe selfie segmentation ({model.Description().decode()}), converted from TFLite by "
        "tools/convert_selfie.py. Apache-2.0, Copyright The MediaPipe Authors. Input RGB [0,1] NCHW; "
        f"native size {w}x{h}."
    )
    onnx.checker.check_model(m, full_check=True)
    return m, (w, h)


def _read_tflite(args: argparse.Namespace) -> bytes:
    if args.tflite:
        return Path(args.tflite).read_bytes()
    with zipfile.ZipFile(args.wheel) as zf:
        return zf.read(WHEEL_DIR + VARIANTS[args.variant])


def _test_images(size: tuple[int, int], images: list[str]) -> list[np.ndarray]:
    """RGB float [0,1] NHWC batches at the model size: given photos (resized) plus a random image."""
    import cv2

    w, h = size
    out = []
    for p in images:
        bgr = cv2.imread(p, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {p}")
        out.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (w, h), interpolation=cv2.INTER_AREA))
    out.append(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8))
    return out


def _run_onnx(path: Path, rgb: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = (rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    return sess.run(["mask"], {"input": x})[0][0, 0]


def _run_mediapipe(variant: str, rgb: np.ndarray) -> np.ndarray:
    """MediaPipe's own graph on an image already at model size, so its resizes are identities."""
    import mediapipe as mp

    sel = 0 if variant == "general" else 1
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=sel) as seg:
        return seg.process(np.ascontiguousarray(rgb)).segmentation_mask


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--wheel", help="path to the mediapipe wheel (pip download mediapipe==0.10.14 --no-deps)")
    src.add_argument("--tflite", help="path to an extracted .tflite")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="landscape")
    ap.add_argument("--out", default="models/selfie_segmentation.onnx")
    ap.add_argument("--static", action="store_true", help="fixed input size instead of dynamic H, W")
    ap.add_argument("--verify-mediapipe", action="store_true", help="compare with mediapipe's own inference")
    ap.add_argument("--image", action="append", default=[], help="photo(s) for the verification")
    args = ap.parse_args(argv)

    tfl = _read_tflite(args)
    model, size = convert(tfl, dynamic=not args.static)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import onnx

    onnx.save(model, out)
    report = {
        "out": str(out),
        "native_size": list(size),
        "tflite_sha256": hashlib.sha256(tfl).hexdigest(),
        "onnx_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "bytes": out.stat().st_size,
    }
    if args.verify_mediapipe:
        diffs = []
        for rgb in _test_images(size, args.image):
            a, b = _run_onnx(out, rgb), _run_mediapipe(args.variant, rgb)
            diffs.append(float(np.abs(a - b).max()))
        report["max_abs_diff_vs_mediapipe"] = max(diffs)
        report["per_image_max_abs_diff"] = diffs
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
