"""Keras 3 models from growlab model specs, and growlab weights in them.

A spec is the JSON that `encodeModelSpec(spec)` writes (packages/core/src/ModelSpec.ts): `inputShape` (no batch
axis) and `layers`, each a dict with `_tag`, an optional `name` and, for DAGs, `input` (the name of an earlier layer;
absent: the previous layer, or the model input for the first) or, for `add`, `inputs`. Fields left out take
growlab's defaults, so pipeline definitions (the encoded form without defaults) build too.

    import keras_spec
    model = keras_spec.build(spec)                  # a functional keras.Model, one Keras layer per spec layer
    keras_spec.set_weights(model, spec, weights)    # weights: {"<layer>/<param>": np.ndarray} in growlab layouts
    weights = keras_spec.get_weights(model, spec)   # the same names back

Layer names are growlab's (`layer_name`: the spec's name, else `<_tag>_<index>`), so `model.get_layer(name)` finds a
spec layer. growlab's layouts are TensorFlow's (Dense kernel [in, out], Conv2D kernel [kh, kw, in, out],
channels-last), so weights copy over unchanged; params map as kernel, bias, gamma, beta, movingMean → moving_mean,
movingVariance → moving_variance.

CLI (a summary of the model a spec builds, as JSON on stdout):

    python keras_spec.py SPEC.json [--weights MANIFEST.json]

MANIFEST.json: {"file": "weights.f32", "weights": [{"name", "shape", "offset"}]} with offsets in float32 elements
into the raw little-endian file (relative paths are relative to the manifest); with it the weights are set (every
variable must be covered) and the summary says so.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402

__all__ = ["layer_name", "build", "set_weights", "get_weights", "weight_map", "read_weights", "PARAMS"]

# growlab param -> Keras variable name
PARAMS: dict[str, str] = {
    "kernel": "kernel",
    "bias": "bias",
    "gamma": "gamma",
    "beta": "beta",
    "movingMean": "moving_mean",
    "movingVariance": "moving_variance",
}
_FROM_KERAS = {v: k for k, v in PARAMS.items()}


def layer_name(layer: Mapping[str, Any], index: int) -> str:
    """growlab's stable name of layer `index`: its name, else `<_tag>_<index>` (ModelSpec.ts `layerName`)."""
    return layer.get("name") or f"{layer['_tag']}_{index}"


def _keras_layer(layer: Mapping[str, Any], name: str) -> keras.layers.Layer:
    L = keras.layers
    tag = layer["_tag"]
    if tag == "rescaling":
        return L.Rescaling(scale=layer["scale"], offset=layer.get("offset", 0.0), name=name)
    if tag == "dense":
        return L.Dense(layer["units"], activation=layer.get("activation", "linear"), use_bias=layer.get("useBias", True), name=name)
    if tag == "conv2d":
        return L.Conv2D(
            layer["filters"], layer["kernelSize"], strides=layer.get("strides", 1), padding=layer.get("padding", "valid"),
            activation=layer.get("activation", "linear"), use_bias=layer.get("useBias", True), name=name,
        )
    if tag == "maxPooling2d":
        pool = layer["poolSize"]
        return L.MaxPooling2D(pool, strides=layer.get("strides", pool), padding="valid", name=name)
    if tag == "flatten":
        return L.Flatten(name=name)
    if tag == "activation":
        return L.Activation(layer["activation"], name=name)
    if tag == "batchNormalization":
        return L.BatchNormalization(axis=-1, epsilon=layer.get("epsilon", 1e-3), momentum=layer.get("momentum", 0.99), name=name)
    if tag == "dropout":
        return L.Dropout(layer["rate"], name=name)
    if tag == "add":
        return L.Add(name=name)
    if tag == "globalAveragePooling2d":
        return L.GlobalAveragePooling2D(name=name)
    raise ValueError(f"layer {name}: unknown layer type {tag!r}")


def build(spec: Mapping[str, Any]) -> keras.Model:
    """A functional Keras model computing the spec: one layer per spec layer, named as growlab names it.

    Raises ValueError naming the layer when it reads a name that is not an earlier layer or repeats a name.
    The weights are Keras's initial ones: set growlab's with `set_weights`.
    """
    layers = spec["layers"]
    names = [layer_name(layer, i) for i, layer in enumerate(layers)]
    input_name = "input"
    while input_name in names:
        input_name = "_" + input_name
    x = keras.Input(shape=tuple(spec["inputShape"]), name=input_name)
    outputs: dict[str, Any] = {}
    previous = x
    for i, (layer, name) in enumerate(zip(layers, names)):
        if name in outputs:
            raise ValueError(f"layer {i}: name {name!r} is used by an earlier layer")

        def read(ref: str) -> Any:
            if ref not in outputs:
                raise ValueError(f"layer {name}: reads {ref!r}, which is not an earlier layer")
            return outputs[ref]

        k = _keras_layer(layer, name)
        if layer["_tag"] == "add":
            y = k([read(ref) for ref in layer["inputs"]])
        else:
            y = k(read(layer["input"]) if layer.get("input") is not None else previous)
        outputs[name] = y
        previous = y
    return keras.Model(inputs=x, outputs=previous, name=spec.get("name") or "growlab")


def weight_map(model: keras.Model, spec: Mapping[str, Any]) -> dict[str, Any]:
    """growlab weight name (`<layer>/<param>`) → the Keras variable, for every variable of the model, in spec order."""
    out: dict[str, Any] = {}
    for i, layer in enumerate(spec["layers"]):
        name = layer_name(layer, i)
        for v in model.get_layer(name).weights:
            short = v.name.split("/")[-1]
            if short not in _FROM_KERAS:
                raise ValueError(f"layer {name}: Keras variable {v.path!r} has no growlab counterpart")
            out[f"{name}/{_FROM_KERAS[short]}"] = v
    counted = sum(len(layer.weights) for layer in model.layers)
    if len(out) != counted or len(model.weights) != counted:
        raise ValueError(f"{counted} variables in the model's layers, {len(model.weights)} in the model, {len(out)} mapped")
    return out


def set_weights(model: keras.Model, spec: Mapping[str, Any], weights: Mapping[str, np.ndarray]) -> None:
    """Assigns growlab's weights (name → array in growlab's layout) to the model's variables.

    Every variable must be set and every given weight used, each with the variable's shape (ValueError listing the
    missing, unused or misshapen names otherwise).
    """
    variables = weight_map(model, spec)
    missing = [n for n in variables if n not in weights]
    unused = [n for n in weights if n not in variables]
    if missing or unused:
        raise ValueError(f"weights do not match the model: missing {missing}, unused {unused}")
    bad = [f"{n}: {list(np.shape(weights[n]))} for {list(v.shape)}" for n, v in variables.items() if tuple(np.shape(weights[n])) != tuple(v.shape)]
    if bad:
        raise ValueError(f"weight shapes differ: {bad}")
    for n, v in variables.items():
        v.assign(np.asarray(weights[n], dtype=v.dtype))


def get_weights(model: keras.Model, spec: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The model's variables under growlab's names (copies)."""
    return {n: np.array(v.numpy()) for n, v in weight_map(model, spec).items()}


def read_weights(manifest_path: str) -> dict[str, np.ndarray]:
    """Weights from a manifest {"file", "weights": [{"name", "shape", "offset"}]} over a raw float32 file."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    file = manifest["file"]
    if not os.path.isabs(file):
        file = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), file)
    flat = np.fromfile(file, dtype="<f4")
    out = {}
    for w in manifest["weights"]:
        size = int(np.prod(w["shape"], dtype=np.int64))
        if w["offset"] + size > flat.size:
            raise ValueError(f"{w['name']}: elements {w['offset']}..{w['offset'] + size} past the end of {file} ({flat.size})")
        out[w["name"]] = flat[w["offset"]:w["offset"] + size].reshape(w["shape"])
    return out


def _summary(model: keras.Model) -> dict[str, Any]:
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    return {
        "name": model.name,
        "layers": [layer.name for layer in model.layers],
        "countParams": int(model.count_params()),
        "trainableParams": trainable,
        "nonTrainableParams": int(model.count_params()) - trainable,
        "outputShape": list(model.output.shape),
        "keras": keras.__version__,
    }


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--weights"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        spec = json.load(f)
    model = build(spec)
    summary = _summary(model)
    if len(argv) == 3:
        set_weights(model, spec, read_weights(argv[2]))
        summary["weightsSet"] = len(weight_map(model, spec))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
