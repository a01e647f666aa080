/**
 * The objective of the training-step graph (TrainStepGraph.ts): Loss.ts's cross-entropy or a·KD + b·CE, and its
 * gradient with respect to the logits.
 */
import { GraphBuilder, type Value } from "./GraphBuilder.js"
import { DT } from "./Proto.js"

/** Loss of the step: cross-entropy with the labels, or Loss.ts's a·KD + b·CE. */
export type StepLoss = "ce" | { readonly kd: { readonly teacherWeight: number; readonly labelWeight: number; readonly temperature: number } }

interface LossOut {
  readonly loss: Value
  readonly dLogits: Value
}

/** The objective of Loss.ts and its gradient with respect to the logits. */
export const objective = (g: GraphBuilder, loss: StepLoss, logits: Value, y: Value, teacher: { probs: Value; entropy: Value } | undefined): LossOut =>
  g.within("loss", () => {
    const n = g.sizeAsFloat(y, DT.int32)
    // CE: SparseSoftmaxCrossEntropyWithLogits gives per-example losses and softmax(z) − onehot(y).
    const ce = (): { value: Value; grad: Value } => {
      const sce = g.op("SparseSoftmaxCrossEntropyWithLogits", [logits, y], { T: { kind: "type", value: DT.float }, Tlabels: { kind: "type", value: DT.int32 } })
      return { value: g.mean(sce, [0]), grad: GraphBuilder.out(sce, 1) }
    }
    if (loss === "ce") {
      const { value, grad } = ce()
      return { loss: value, dLogits: g.div(grad, n) }
    }
    const { teacherWeight: a, labelWeight: b, temperature: t } = loss.kd
    if (!teacher) throw new Error("distillation needs teacher inputs")
    // KD = T²·mean(CE(p, z/T) − H(p)); ∂KD/∂z = (T/n)(softmax(z/T) − p)
    const zt = g.div(logits, g.scalar(t))
    const sce = g.op("SoftmaxCrossEntropyWithLogits", [zt, teacher.probs], { T: { kind: "type", value: DT.float } })
    const kl = g.mean(g.sub(sce, teacher.entropy), [0])
    const kd = g.mul(kl, g.scalar(t * t))
    let value = g.mul(kd, g.scalar(a))
    let grad = g.mul(GraphBuilder.out(sce, 1), g.scalar(a * t))
    if (b !== 0) {
      const c = ce()
      value = g.add(value, g.mul(c.value, g.scalar(b)))
      grad = g.add(grad, g.mul(c.grad, g.scalar(b)))
    }
    return { loss: value, dLogits: g.div(grad, n) }
  })

