/**
 * ONNX (`model.onnx`, IR version 7, opset 13) written with our own protobuf encoder: the graph of OnnxGraph.ts plus
 * `metadata_props` `growlab.spec` (JSON), `growlab.info` (JSON) and `growlab.layout` (input NHWC as growlab's).
 * Runs in onnxruntime: `ort.InferenceSession("model.onnx").run(None, {"input": x})` with x float32 [n, h, w, c].
 */
import * as Effect from "effect/Effect"
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import { ExportError } from "./Errors.js"
import * as Format from "./Format.js"
import { encodeModel } from "./internal/onnxProto.js"
import { graphOf } from "./OnnxGraph.js"

const FILE = "model.onnx"
export const IR_VERSION = 7
export const OPSET = 13

export const format = Format.make({
  name: "onnx",
  description: "ONNX (opset 13), input NHWC float32 as growlab's, spec in metadata_props",
  files: [FILE],
  loader: `logits = onnxruntime.InferenceSession("onnx/model.onnx").run(None, {"input": x_nhwc_float32})[0]`,
  usesTf: false,
  encode: (model) =>
    Effect.try({
      try: () => [{
        name: FILE,
        bytes: encodeModel({
          irVersion: IR_VERSION,
          opsetVersion: OPSET,
          producerName: "growlab",
          producerVersion: "0.1.0",
          docString: "exported by @growlab/export from a growlab model artifact",
          graph: graphOf(model),
          metadata: {
            "growlab.spec": JSON.stringify(encodeModelSpec(model.spec)),
            "growlab.info": JSON.stringify(model.info),
            "growlab.layout": "input and output as growlab's: channels-last (NHWC) float32; Conv kernels stored OIHW as <layer>/kernel_oihw"
          }
        })
      }],
      catch: (e) => new ExportError({ format: "onnx", file: FILE, reason: String(e) })
    })
})
