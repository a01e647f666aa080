/**
 * Where a graph-engine step spends its time, op by op: builds the step graph (src/graph) of a zoo model for some
 * GraphTrainer options, then runs it in a TensorFlow 1.x session of the venv's TensorFlow (the same 2.21 library and
 * graph rewrites — Grappler, the oneDNN layout pass — as tfjs-node's session) with RunOptions FULL_TRACE, and prints
 * the median time per op type (or per node) over the traced steps. Ops' times are exclusive only when ops do not
 * overlap: run with TF_NUM_INTEROP_THREADS=1 (and TF_NUM_INTRAOP_THREADS=1 for CPU time per core).
 *
 *   TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1 npx tsx packages/train/bench/step-ops.ts \
 *     [--model small|large2] [--batch 32] [--steps 40] [--by op|node] [--top 30] [--options '{"precision":"bf16-mixed"}']
 *
 * Python: $GROWLAB_PYTHON, else .growlab/venv/bin/python3.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as Zoo from "../src/Zoo.js"
import { defaultStepOptions, savedModelDir, type StepGraphOptions } from "../src/graph/TrainStepGraph.js"

const args = process.argv.slice(2)
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const spec = opt("model", "small") === "large2" ? Zoo.cnnLarge2 : Zoo.cnnSmall
const options: StepGraphOptions = { ...defaultStepOptions, ...JSON.parse(opt("options", "{}")) as Partial<StepGraphOptions> }
const python = process.env.GROWLAB_PYTHON ?? ".growlab/venv/bin/python3"
if (!existsSync(python)) throw new Error(`no python at ${python}: python3 -m venv .growlab/venv && .growlab/venv/bin/pip install tensorflow-cpu==2.21.0`)

const PROFILE = String.raw`
import os, sys, json, collections
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf
d, batch, steps, by, top, shape = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), json.loads(sys.argv[6])
tf1 = tf.compat.v1
tf1.disable_eager_execution()
sess = tf1.Session()
sigs = tf1.saved_model.loader.load(sess, ["serve"], d).signature_def
rng = np.random.default_rng(1)
for kind in "wmv":
    s = sigs["assign_" + kind]
    feed = {i.name: (rng.uniform(-0.05, 0.05, [x.size for x in i.tensor_shape.dim]) if kind == "w" else np.zeros([x.size for x in i.tensor_shape.dim])).astype("float32") for i in s.inputs.values()}
    sess.run([o.name for o in s.outputs.values()], feed)
s = sigs["train_step"]
feed = {s.inputs["x"].name: rng.uniform(0, 255, [batch] + shape).astype("float32"), s.inputs["y"].name: rng.integers(0, 10, batch).astype("int32"),
        s.inputs["lr"].name: np.float32(1e-4), s.inputs["b1p"].name: np.float32(0.9), s.inputs["b2p"].name: np.float32(0.999), s.inputs["eps"].name: np.float32(1e-7)}
fetch = [s.outputs["loss"].name]
for _ in range(10): sess.run(fetch, feed)
times, ops = collections.defaultdict(list), {}
for _ in range(steps):
    md = tf1.RunMetadata()
    sess.run(fetch, feed, options=tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE), run_metadata=md)
    per = collections.defaultdict(float)
    for dev in md.step_stats.dev_stats:
        for n in dev.node_stats:
            op = n.timeline_label.split("(")[0].split("=")[-1].strip() if n.timeline_label else n.node_name
            name = n.node_name.split(":")[0]
            ops[name] = op
            per[name if by == "node" else op] += (n.op_end_rel_micros - n.op_start_rel_micros) / 1000
    for k, v in per.items(): times[k].append(v)
rows = sorted(((float(np.median(v)), k) for k, v in times.items()), reverse=True)
for t, k in rows[:top]:
    print(f"{t:8.3f} ms  {k}" + (f"  [{ops.get(k, '')}]" if by == "node" else ""))
print(f"{sum(r[0] for r in rows):8.3f} ms  total (sum of per-{by} medians)")
`

const dir = savedModelDir(spec, options)
console.log(`${spec.name} batch ${opt("batch", "32")}, options ${JSON.stringify({ ...options, variant: undefined, beta1: undefined, beta2: undefined, epsilon: undefined, loss: undefined })}; ` +
  `TF_NUM_INTEROP_THREADS=${process.env.TF_NUM_INTEROP_THREADS ?? "default"} TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS ?? "default"}; ${dir}`)
const r = spawnSync(python, ["-c", PROFILE, dir, opt("batch", "32"), opt("steps", "40"), opt("by", "op"), opt("top", "30"), JSON.stringify(spec.inputShape)], {
  encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" }
})
if (r.status !== 0) throw new Error(`python failed: ${r.stderr.split("\n").slice(-5).join("\n")}`)
process.stdout.write(r.stdout)
