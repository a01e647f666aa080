/**
 * CIFAR ResNets (He et al. 2016, section 4.2) as model specs: a 3×3 stem convolution, three stages of residual blocks
 * (widths w1, w2, w3; the first block of stages 2 and 3 strides 2), global average pooling and a dense classifier.
 * Depth = 6·n + 2 for n blocks per stage: ResNet-8 (n = 1), 14 (n = 2), 20 (n = 3), 32, 56.
 *
 * Each block is conv3×3 → BN → ReLU → conv3×3 → BN, plus its shortcut, then add and ReLU. The shortcut is the
 * identity when the block keeps shape, else a projection (1×1 convolution with the block's stride, then BN).
 * Convolutions have no bias (BN follows each). Layer names say where a layer sits, so grown specs of the same
 * family share the names of the layers they have in common (what growth operators map weights by):
 *   stem, stem_bn, stem_relu, s<stage>b<block>_{conv1,bn1,relu1,conv2,bn2,proj,proj_bn,add,relu}, pool, logits.
 */
import type { LayerEncoded, ModelSpecEncoded } from "./ModelSpec.js"

export interface ResNetOptions {
  /** Blocks per stage (depth = 6·blocks + 2). */
  readonly blocks: number
  /** Channels of the three stages (the stem has the first stage's). */
  readonly widths: readonly [number, number, number]
  readonly classes?: number
  /** Default [32, 32, 3] (CIFAR-10). */
  readonly inputShape?: ReadonlyArray<number>
  /** Input scaling before the stem (default 1/255: raw pixel values in, as the study's CNNs take them). */
  readonly scale?: number
  readonly epsilon?: number
  readonly momentum?: number
  readonly name?: string
}

/** The name of block `block` (1-based) of stage `stage` (1-based). */
export const blockName = (stage: number, block: number): string => `s${stage}b${block}`

/** A ResNet spec (the encoded form, as pipeline definitions write it). */
export const resnet = (options: ResNetOptions): ModelSpecEncoded => {
  const { blocks, widths } = options
  const bn = (name: string): LayerEncoded => ({
    _tag: "batchNormalization", name,
    ...(options.epsilon === undefined ? {} : { epsilon: options.epsilon }),
    ...(options.momentum === undefined ? {} : { momentum: options.momentum })
  })
  const conv = (name: string, filters: number, kernelSize: number, strides: number, input?: string): LayerEncoded => ({
    _tag: "conv2d", name, filters, kernelSize, strides, padding: "same", useBias: false, ...(input === undefined ? {} : { input })
  })
  const relu = (name: string): LayerEncoded => ({ _tag: "activation", name, activation: "relu" })
  const layers: Array<LayerEncoded> = [
    { _tag: "rescaling", name: "scale", scale: options.scale ?? 1 / 255 },
    conv("stem", widths[0], 3, 1), bn("stem_bn"), relu("stem_relu")
  ]
  let last = "stem_relu"
  let channels = widths[0]
  for (let stage = 1; stage <= 3; stage++) {
    for (let block = 1; block <= blocks; block++) {
      const b = blockName(stage, block)
      const width = widths[stage - 1]
      const strides = stage > 1 && block === 1 ? 2 : 1
      layers.push(conv(`${b}_conv1`, width, 3, strides), bn(`${b}_bn1`), relu(`${b}_relu1`), conv(`${b}_conv2`, width, 3, 1), bn(`${b}_bn2`))
      let shortcut = last
      if (strides !== 1 || channels !== width) {
        layers.push(conv(`${b}_proj`, width, 1, strides, last), bn(`${b}_proj_bn`))
        shortcut = `${b}_proj_bn`
      }
      layers.push({ _tag: "add", name: `${b}_add`, inputs: [`${b}_bn2`, shortcut] }, relu(`${b}_relu`))
      last = `${b}_relu`
      channels = width
    }
  }
  layers.push({ _tag: "globalAveragePooling2d", name: "pool" }, { _tag: "dense", name: "logits", units: options.classes ?? 10 })
  return {
    name: options.name ?? `resnet-${6 * blocks + 2}-${widths.join("-")}`,
    inputShape: [...(options.inputShape ?? [32, 32, 3])],
    layers
  }
}
