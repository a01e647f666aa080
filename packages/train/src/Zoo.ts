/**
 * Named example specs from the original study, for tests and benchmarks only. Pipelines declare their models as
 * JSON `definitions` (the same objects as the `*Encoded` constants here); nothing in growlab depends on this module.
 */
import * as Schema from "effect/Schema"
import { ModelSpec, type ModelSpecEncoded } from "@growlab/core/ModelSpec"

const conv = (filters: number) => ({ _tag: "conv2d", filters, kernelSize: 3, activation: "relu" }) as const
const pool = { _tag: "maxPooling2d", poolSize: 2 } as const
const dense = (units: number, activation: "relu" | "linear" = "relu") => ({ _tag: "dense", units, activation }) as const
const rescale = { _tag: "rescaling", scale: 1 / 255 } as const

const cnn = (name: string, c2: number, c3: number, d: number): ModelSpecEncoded => ({
  name,
  inputShape: [32, 32, 3],
  layers: [rescale, conv(32), pool, conv(c2), pool, conv(c3), { _tag: "flatten" }, dense(d), dense(10, "linear")]
})

/** Experiment 1 small MLP: 1024 → 64 → 128 → 10 (ReLU hidden layers), inputs are 32×32 grey images flattened. */
export const mlpSmallEncoded: ModelSpecEncoded = {
  name: "mlp-small",
  inputShape: [1024],
  layers: [dense(64), dense(128), dense(10, "linear")]
}

/** Experiment 1 large MLP: 1024 → 128 → 256 → 10 (ReLU hidden layers). */
export const mlpLargeEncoded: ModelSpecEncoded = {
  name: "mlp-large",
  inputShape: [1024],
  layers: [dense(128), dense(256), dense(10, "linear")]
}

/** Experiments 2–5 small CNN: 122,570 parameters. */
export const cnnSmallEncoded: ModelSpecEncoded = cnn("cnn-small", 64, 64, 64)
/** Large model 1: conv2 64 → 128, dense 64 → 128. */
export const cnnLarge1Encoded: ModelSpecEncoded = cnn("cnn-large-1", 128, 64, 128)
/** Large model 2: conv2 and conv3 64 → 128, dense 64 → 128; 449,034 parameters. */
export const cnnLarge2Encoded: ModelSpecEncoded = cnn("cnn-large-2", 128, 128, 128)

const decode = Schema.decodeUnknownSync(ModelSpec)

export const mlpSmall: ModelSpec = decode(mlpSmallEncoded)
export const mlpLarge: ModelSpec = decode(mlpLargeEncoded)
export const cnnSmall: ModelSpec = decode(cnnSmallEncoded)
export const cnnLarge1: ModelSpec = decode(cnnLarge1Encoded)
export const cnnLarge2: ModelSpec = decode(cnnLarge2Encoded)

/** Every example spec by name. */
export const all: Readonly<Record<string, ModelSpec>> = {
  "mlp-small": mlpSmall,
  "mlp-large": mlpLarge,
  "cnn-small": cnnSmall,
  "cnn-large-1": cnnLarge1,
  "cnn-large-2": cnnLarge2
}
