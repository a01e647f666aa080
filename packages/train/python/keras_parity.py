"""The Keras side of packages/train/test/KerasParity.test.ts: for each case, the model `keras_spec.build` makes of a
growlab spec, with growlab's weights, computes what the test compares with growlab's own numbers.

    python keras_parity.py RUN.json

RUN.json: {"cases": [{"label", "dir", "spec", "adam": {"learningRate", "beta1", "beta2", "epsilon"},
"inputs": {"random": [n, ...], "cifar": [n, ...], "batch": [n, ...]}}]}. Each case's dir holds weights.json (a
`keras_spec.read_weights` manifest), random.f32, cifar.f32, batch.f32 (raw little-endian float32, row-major, the
shapes above) and labels.i32 (int32, one per batch row). This writes into the same dir:

- keras_random.f32, keras_cifar.f32: logits in inference mode, `model(x, training=False)`;
- keras_train_forward.f32: logits of the batch in training mode, `model(x, training=True)` (batch statistics);
- keras_relu_positive.u8: for every standalone ReLU layer (spec order), whether each input element of the batch is
  > 0 in training mode (uint8, row-major, concatenated; absent without such layers);
- keras_grads.f32: gradients of the batch's loss (training mode, tf.GradientTape) for the trainable weights,
  concatenated in weights.json's order;
- keras_after.f32: every weight after one `train_on_batch` on the batch from growlab's weights (Adam,
  SparseCategoricalCrossentropy from logits, jit_compile=False), concatenated in weights.json's order;

and RUN.json's dir gets result.json: versions, and per label {ok, countParams, trainableParams, loss, tapeLoss, relus, trainable} or
{ok: false, error, trace}. Every phase starts from growlab's weights (a training-mode call moves the BN statistics).
"""
import json
import os
import sys
import traceback

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the working tree from test runs
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_spec  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def f32(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def save(path, array):
    np.ascontiguousarray(np.asarray(array, dtype="<f4")).tofile(path)


def run_case(case):
    d = case["dir"]
    spec = case["spec"]
    shapes = case["inputs"]
    manifest = os.path.join(d, "weights.json")
    weights = keras_spec.read_weights(manifest)
    with open(manifest) as f:
        order = [w["name"] for w in json.load(f)["weights"]]
    model = keras_spec.build(spec)
    keras_spec.set_weights(model, spec, weights)
    for which in ("random", "cifar"):
        save(os.path.join(d, f"keras_{which}.f32"), model(f32(os.path.join(d, f"{which}.f32"), shapes[which]), training=False))
    xb = f32(os.path.join(d, "batch.f32"), shapes["batch"])
    yb = np.fromfile(os.path.join(d, "labels.i32"), dtype="<i4")
    save(os.path.join(d, "keras_train_forward.f32"), model(xb, training=True))
    # which side of 0 each ReLU input of the batch falls on (standalone ReLU layers), training mode
    relus = [keras_spec.layer_name(layer, i) for i, layer in enumerate(spec["layers"]) if layer["_tag"] == "activation" and layer["activation"] == "relu"]
    if relus:
        keras_spec.set_weights(model, spec, weights)
        taps = keras.Model(model.input, [model.get_layer(n).input for n in relus])(xb, training=True)
        np.concatenate([(np.asarray(t) > 0).reshape(-1) for t in taps]).astype(np.uint8).tofile(os.path.join(d, "keras_relu_positive.u8"))
    # gradients of the step's loss (training mode) with respect to the trainable weights, in weights.json's order
    keras_spec.set_weights(model, spec, weights)
    variables = keras_spec.weight_map(model, spec)
    trainable = [n for n in order if variables[n].trainable]
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        step_loss = loss_fn(yb, model(xb, training=True))
    grads = tape.gradient(step_loss, [variables[n].value for n in trainable])
    save(os.path.join(d, "keras_grads.f32"), np.concatenate([np.asarray(g).reshape(-1) for g in grads]))
    keras_spec.set_weights(model, spec, weights)
    adam = case["adam"]
    model.compile(
        optimizer=keras.optimizers.Adam(adam["learningRate"], beta_1=adam["beta1"], beta_2=adam["beta2"], epsilon=adam["epsilon"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    loss = model.train_on_batch(xb, yb)
    after = keras_spec.get_weights(model, spec)
    save(os.path.join(d, "keras_after.f32"), np.concatenate([after[n].reshape(-1) for n in order]))
    return {
        "ok": True, "countParams": int(model.count_params()), "trainableParams": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
        "loss": float(np.asarray(loss)), "tapeLoss": float(step_loss), "relus": relus, "trainable": trainable,
    }


def main(run_path):
    with open(run_path) as f:
        run = json.load(f)
    result = {"keras": keras.__version__, "tensorflow": tf.__version__, "cases": {}}
    for case in run["cases"]:
        try:
            result["cases"][case["label"]] = run_case(case)
        except Exception as e:  # reported to the test, which fails with it
            result["cases"][case["label"]] = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]}
    with open(os.path.join(os.path.dirname(os.path.abspath(run_path)), "result.json"), "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
