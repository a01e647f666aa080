/**
 * safetensors in PyTorch layout (TorchLayout.ts): `model.safetensors` whose tensor names are the state_dict keys of
 * a `torch.nn.Sequential` named like the spec's layers, and whose `__metadata__` holds
 * - `format`: "pt" (the convention Hugging Face tools read),
 * - `growlab.layout`: "pytorch" (NCHW inputs; conv weight [out, in, kh, kw]; linear weight [out, in]),
 * - `growlab.spec`: the model spec JSON (build the torch modules from it), `growlab.info`: provenance JSON,
 * - `growlab.names`: JSON list of { tensor, from, transform } (which growlab weight each tensor is, and how it was
 *   rearranged).
 *
 * File layout (safetensors spec): u64 little-endian header length N, N bytes of JSON header (padded with spaces to a
 * multiple of 8), then the tensors' little-endian bytes back to back in header order.
 */
import * as Effect from "effect/Effect"
import { encodeModelSpec } from "@growlab/core/ModelSpec"
import type { Model } from "@growlab/core/ModelArtifact"
import { ExportError } from "./Errors.js"
import * as Format from "./Format.js"
import { toTorch, type TorchTensor } from "./TorchLayout.js"

const FILE = "model.safetensors"

export const metadata = (model: Model, tensors: ReadonlyArray<TorchTensor>): Record<string, string> => ({
  format: "pt",
  "growlab.layout": "pytorch",
  "growlab.spec": JSON.stringify(encodeModelSpec(model.spec)),
  "growlab.info": JSON.stringify(model.info),
  "growlab.names": JSON.stringify(tensors.map((t) => ({ tensor: t.name, from: t.from, transform: t.transform })))
})

/** The safetensors bytes of named float32 tensors with string metadata. */
export const encodeTensors = (tensors: ReadonlyArray<Pick<TorchTensor, "name" | "shape" | "values">>, meta: Record<string, string>): Uint8Array => {
  const header: Record<string, unknown> = { __metadata__: meta }
  let offset = 0
  for (const t of tensors) {
    const bytes = t.values.length * 4
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.length / 8) * 8
  const out = new Uint8Array(8 + padded + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(padded), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + padded)
  let at = 8 + padded
  for (const t of tensors) {
    for (let i = 0; i < t.values.length; i++) view.setFloat32(at + i * 4, t.values[i], true)
    at += t.values.length * 4
  }
  return out
}

export const format = Format.make({
  name: "safetensors",
  description: "safetensors, PyTorch layout and state_dict names; spec and name mapping in __metadata__",
  files: [FILE],
  loader: `state = safetensors.torch.load_file("safetensors/model.safetensors"); net.load_state_dict(state)  # net: nn.Sequential built from __metadata__["growlab.spec"]`,
  usesTf: false,
  encode: (model) =>
    Effect.try({
      try: () => {
        const tensors = toTorch(model)
        return [{ name: FILE, bytes: encodeTensors(tensors, metadata(model, tensors)) }]
      },
      catch: (e) => new ExportError({ format: "safetensors", file: FILE, reason: String(e) })
    })
})
