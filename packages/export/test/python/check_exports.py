"""Loads growlab's exports with the tools researchers use, outside growlab, and writes their logits.

    python check_exports.py EXPORT_DIR INPUT.f32 N,H,W,C OUT_DIR

EXPORT_DIR holds keras/model.keras, onnx/model.onnx and safetensors/model.safetensors (any subset). INPUT.f32 is
float32 little-endian images [N, H, W, C] (channels-last, as growlab feeds them). For each format this writes
OUT_DIR/<format>.f32 (the logits, float32, row-major) and OUT_DIR/result.json: per format, the output shape, the
versions used and what was checked, or why it was skipped.

The safetensors check builds a torch.nn.Sequential from the spec in the file's __metadata__ (one module per spec
layer, named like the layer) and loads the file with load_state_dict(strict=True): the mapping a PyTorch user follows.
"""
import json
import os
import sys
import traceback

import numpy as np

export_dir, input_file, shape_arg, out_dir = sys.argv[1:5]
shape = [int(s) for s in shape_arg.split(",")]
x = np.fromfile(input_file, dtype="<f4").reshape(shape)
os.makedirs(out_dir, exist_ok=True)
result = {}


def save(fmt, logits, **info):
    logits = np.ascontiguousarray(np.asarray(logits, dtype="<f4"))
    logits.tofile(os.path.join(out_dir, f"{fmt}.f32"))
    result[fmt] = {"ok": True, "shape": list(logits.shape), **info}


def attempt(fmt, fn):
    path = os.path.join(export_dir, fmt)
    if not os.path.isdir(path):
        return
    try:
        fn(path)
    except ImportError as e:
        result[fmt] = {"ok": False, "skipped": f"{type(e).__name__}: {e}"}
    except Exception as e:  # reported to the test, which fails with it
        result[fmt] = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}


def keras_check(path):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    model = keras.saving.load_model(os.path.join(path, "model.keras"))
    logits = model(x, training=False)
    save("keras", np.asarray(logits), keras=keras.__version__, loader="keras.saving.load_model")


def onnx_check(path):
    import onnx
    import onnxruntime as ort

    file = os.path.join(path, "model.onnx")
    proto = onnx.load(file)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(file, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": x})
    meta = {p.key: p.value for p in proto.metadata_props}
    save("onnx", logits, onnx=onnx.__version__, onnxruntime=ort.__version__, opset=proto.opset_import[0].version,
         checker="onnx.checker.check_model(full_check=True)", spec_in_metadata="growlab.spec" in meta)


def tf_same_pads(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def torch_sequential(spec):
    """The torch modules of a growlab spec, named like its layers (inputs NCHW)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    class Rescale(nn.Module):
        def __init__(self, scale, offset):
            super().__init__()
            self.scale, self.offset = scale, offset

        def forward(self, t):
            return t * self.scale + self.offset

    def act(name, rank):
        return {"linear": None, "relu": nn.ReLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(),
                "softmax": nn.Softmax(dim=1)}[name]

    mods = OrderedDict()
    shape = list(spec["inputShape"])  # channels-last as in the spec: [h, w, c] or [features]
    for i, layer in enumerate(spec["layers"]):
        tag = layer["_tag"]
        name = layer.get("name") or f"{tag}_{i}"
        if tag == "rescaling":
            mods[name] = Rescale(layer["scale"], layer.get("offset", 0))
        elif tag == "conv2d":
            h, w, c = shape
            k, s = layer["kernelSize"], layer.get("strides", 1)
            if layer.get("padding", "valid") == "same":
                top, bottom = tf_same_pads(h, k, s)
                left, right = tf_same_pads(w, k, s)
                mods[f"{name}_pad"] = nn.ZeroPad2d((left, right, top, bottom))
                h, w = h + top + bottom, w + left + right
            mods[name] = nn.Conv2d(c, layer["filters"], k, stride=s, bias=layer.get("useBias", True))
            shape = [(h - k) // s + 1, (w - k) // s + 1, layer["filters"]]
            a = act(layer.get("activation", "linear"), 3)
            if a is not None:
                mods[f"{name}_act"] = a
        elif tag == "maxPooling2d":
            p = layer["poolSize"]
            s = layer.get("strides") or p
            mods[name] = nn.MaxPool2d(p, s)
            shape = [(shape[0] - p) // s + 1, (shape[1] - p) // s + 1, shape[2]]
        elif tag == "flatten":
            mods[name] = nn.Flatten()
            shape = [int(np.prod(shape))]
        elif tag == "dense":
            mods[name] = nn.Linear(shape[0], layer["units"], bias=layer.get("useBias", True))
            shape = [layer["units"]]
            a = act(layer.get("activation", "linear"), 1)
            if a is not None:
                mods[f"{name}_act"] = a
        elif tag == "activation":
            a = act(layer["activation"], len(shape))
            mods[name] = a if a is not None else nn.Identity()
        elif tag == "batchNormalization":
            bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            mods[name] = bn(shape[-1], eps=layer.get("epsilon", 1e-3))
        elif tag == "dropout":
            mods[name] = nn.Dropout(layer["rate"])
        else:
            raise ValueError(f"layer {name}: no torch equivalent for {tag}")
    return nn.Sequential(mods), len(shape)


def safetensors_check(path):
    file = os.path.join(path, "model.safetensors")
    from safetensors import safe_open

    with safe_open(file, framework="np") as f:
        meta = f.metadata()
    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    spec = json.loads(meta["growlab.spec"])
    net, out_rank = torch_sequential(spec)
    net.load_state_dict(load_file(file), strict=True)
    net.eval()
    inp = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x.copy())
    with torch.no_grad():
        y = net(inp).numpy()
    if out_rank == 3:
        y = y.transpose(0, 2, 3, 1)
    save("safetensors", y, torch=torch.__version__, layout=meta.get("growlab.layout"),
         loader="torch.nn.Sequential from __metadata__['growlab.spec'] + load_state_dict(strict=True)")


attempt("keras", keras_check)
attempt("onnx", onnx_check)
attempt("safetensors", safetensors_check)
with open(os.path.join(out_dir, "result.json"), "w") as f:
    json.dump(result, f, indent=2)
