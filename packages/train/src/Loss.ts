/**
 * Training objectives. With logits z (student) [n, k], integer labels y [n], teacher logits t [n, k] and
 * temperature T:
 *
 *   CE  = (1/n) Σ_i −log softmax(z_i)[y_i]
 *   KD  = T² · (1/n) Σ_i KL(p_i ‖ q_i) = T² · (1/n) Σ_i Σ_c p_ic (log p_ic − log q_ic),
 *         p_i = softmax(t_i / T) (teacher), q_i = softmax(z_i / T) (student)
 *   loss = a·KD + b·CE          (a = teacherWeight, b = labelWeight; weights are used as given, not normalised)
 *
 * The study's setups are a:b = 1:1, 1:3, 3:1, 1:5, 5:1 (small-model logits : labels) and the Reference (CE only).
 * The T² factor (Hinton et al., 2015) keeps the gradient scale of the KD term independent of T:
 *   ∂KD/∂z_i = (T/n)(q_i − p_i),   ∂CE/∂z_i = (1/n)(softmax(z_i) − onehot(y_i)).
 * The training engine evaluates KD as T²·(CE(p, z/T) − H(p)) with H(p) = −Σ_c p_c log p_c precomputed once per
 * dataset (the teacher is fixed), which is the same quantity.
 *
 * The functions here are the reference implementations in plain tfjs ops (any backend); `internal/native.ts` has the
 * fused TensorFlow kernels the trainer uses, tested against these.
 */
import * as tf from "@tensorflow/tfjs"

export interface Distill {
  /** a: weight of the KD term (the teacher's logits). */
  readonly teacherWeight: number
  /** b: weight of the cross-entropy with the labels. */
  readonly labelWeight: number
  /** T: softmax temperature of both teacher and student in the KD term. */
  readonly temperature: number
}

/** Per-example cross-entropy [n] of logits [n, k] against int32 labels [n]. */
export const crossEntropyPerExample = (logits: tf.Tensor, labels: tf.Tensor): tf.Tensor1D =>
  tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, logits.shape[1] as number), tf.logSoftmax(logits)), 1)) as tf.Tensor1D)

/** CE: mean softmax cross-entropy. */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar =>
  tf.tidy(() => tf.mean(crossEntropyPerExample(logits, labels)) as tf.Scalar)

/** KD: T² · mean_i KL(softmax(t_i/T) ‖ softmax(z_i/T)). */
export const distillation = (studentLogits: tf.Tensor, teacherLogits: tf.Tensor, temperature: number): tf.Scalar =>
  tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature))
    const logQ = tf.logSoftmax(tf.div(studentLogits, temperature))
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1)
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar
  })

/** The training objective: CE alone, or a·KD + b·CE when distilling (teacher logits required then). */
export const objective = (logits: tf.Tensor, labels: tf.Tensor, distill?: Distill, teacherLogits?: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    if (!distill) return crossEntropy(logits, labels)
    if (!teacherLogits) throw new Error("distillation needs the teacher's logits")
    const kd = tf.mul(distillation(logits, teacherLogits, distill.temperature), distill.teacherWeight)
    return (distill.labelWeight === 0 ? kd : tf.add(kd, tf.mul(crossEntropy(logits, labels), distill.labelWeight))) as tf.Scalar
  })

/** The teacher's soft targets at temperature T: probabilities softmax(t/T) [n, k] and their entropies H [n]. */
export interface TeacherTargets {
  readonly probs: tf.Tensor2D
  readonly entropy: tf.Tensor1D
}

export const teacherTargets = (teacherLogits: tf.Tensor, temperature: number): TeacherTargets =>
  tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature))
    const probs = tf.exp(logP) as tf.Tensor2D
    return { probs, entropy: tf.neg(tf.sum(tf.mul(probs, logP), 1)) as tf.Tensor1D }
  })
