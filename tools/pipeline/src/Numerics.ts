/**
 * The numerics environment of a TensorFlow stage: every setting outside the pipeline file that changes the bits a
 * stage computes, as its effective value (so `TF_NUM_INTRAOP_THREADS=2` on a 2-core machine is the same key as the
 * default). Measured on smoke's `small` stage (one epoch, CIFAR-10 subset; model.arrow compared byte for byte,
 * README "Cache key"): these change the weights —
 *   intra-op threads (1 vs the default 2), oneDNN on/off (TF_ENABLE_ONEDNN_OPTS=0), the CPU instruction set oneDNN
 *   dispatches to (ONEDNN_MAX_CPU_ISA=AVX2 or DNNL_MAX_CPU_ISA=AVX2 on an AVX-512 machine),
 *   TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1;
 * these do not, and are recorded in the manifest but kept out of the key —
 *   inter-op threads (1, 2), OMP_NUM_THREADS=1, TF_DETERMINISTIC_OPS=1, KMP_BLOCKTIME=0,
 *   TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1, TF_OVERRIDE_GLOBAL_THREADPOOL=1, ONEDNN_MAX_CPU_ISA=AVX512_CORE (here).
 * Any other oneDNN / MKL setting (ONEDNN_*, DNNL_*, TF_ONEDNN_*, TF_SET_ONEDNN_*, MKL_*) is assumed to change
 * results (ONEDNN_DEFAULT_FPMATH_MODE=BF16, say, does by design) and enters the key as it is set.
 * The CPU model and its vector/matrix extensions stand for the kernels oneDNN picks on a machine, so a cache entry is
 * shared between machines with the same CPU, thread count and oneDNN setting, and never across them.
 */
import { existsSync, readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"

export type Env = Readonly<Record<string, string | undefined>>

/** The key part: what changes a TensorFlow stage's results besides its params, code and inputs. */
export interface Numerics {
  /** The native TensorFlow build (from the marker `npm run setup` writes), or the pure-JS fallback. */
  readonly backend: string
  readonly intraOpThreads: number
  /** "on" unless TF_ENABLE_ONEDNN_OPTS is 0/false (TensorFlow's default on x86-64 Linux is on). */
  readonly onednn: "on" | "off"
  /** ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA when set (oneDNN then dispatches to at most that ISA), else "native". */
  readonly maxCpuIsa: string
  /** CPU model and the extensions oneDNN dispatches on. */
  readonly cpu: string
  /** Other oneDNN / MKL settings as set (name=value, sorted); empty when none is. */
  readonly tuning: ReadonlyArray<string>
}

/** Recorded beside the key in the manifest, not part of it (measured not to change results). */
export interface NumericsInfo {
  readonly interOpThreads: number
  readonly ompNumThreads: string
}

const ISA_FLAGS = ["sse4_1", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16",
  "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"]

let cpuCache: string | undefined
/** `model name [flags]` of the first CPU in /proc/cpuinfo (the model and the ISA extensions present), or the platform. */
export const cpuIdentity = (): string => {
  if (cpuCache !== undefined) return cpuCache
  let text = ""
  if (existsSync("/proc/cpuinfo")) text = readFileSync("/proc/cpuinfo", "utf8")
  const first = text.split(/\n\s*\n/)[0] ?? ""
  const model = /^model name\s*:\s*(.*)$/m.exec(first)?.[1]?.trim() ?? `${process.platform}-${process.arch}`
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(first)?.[1] ?? "").split(/\s+/))
  cpuCache = `${model} [${ISA_FLAGS.filter((f) => flags.has(f)).join(" ")}]`
  return cpuCache
}

/** Settings of the oneDNN / MKL families measured not to change results (or only to log). */
const NEUTRAL = new Set(["TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "ONEDNN_VERBOSE", "DNNL_VERBOSE", "MKL_VERBOSE", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"])
const TUNING = /^(ONEDNN_|DNNL_|TF_ONEDNN_|TF_SET_ONEDNN_|MKL_)/

const positiveInt = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined
  const n = Number(v)
  return n > 0 ? n : undefined
}

/** The native TF build named by `node_modules/.growlab/tf-native.json` (written by `npm run setup`). */
export const nativeBuild = (root: string): string | undefined => {
  const marker = join(root, "node_modules", ".growlab", "tf-native.json")
  if (!existsSync(marker)) return undefined
  try {
    const m = JSON.parse(readFileSync(marker, "utf8")) as { backend?: string; tfVersion?: string; tfjsVersion?: string }
    return m.backend === "tensorflow" && m.tfVersion && m.tfjsVersion ? `tf-native ${m.tfVersion} tfjs-node ${m.tfjsVersion}` : undefined
  } catch {
    return undefined
  }
}

/**
 * The effective numerics of a TensorFlow stage process started with `env` on this machine. `cpus` is the stage's
 * resource request (its threads when TF_NUM_INTRAOP_THREADS is not set).
 */
export const numerics = (root: string, env: Env, cpus?: number): Numerics => {
  const onednnRaw = (env.TF_ENABLE_ONEDNN_OPTS ?? "").trim().toLowerCase()
  const isa = (env.ONEDNN_MAX_CPU_ISA ?? env.DNNL_MAX_CPU_ISA ?? "").trim().toUpperCase()
  const native = nativeBuild(root)
  return {
    backend: native ?? (env.GROWLAB_ALLOW_JS_BACKEND === "1" ? "tfjs pure-JS cpu (GROWLAB_ALLOW_JS_BACKEND=1)" : "tf-native-missing"),
    intraOpThreads: positiveInt(env.TF_NUM_INTRAOP_THREADS) ?? cpus ?? availableParallelism(),
    onednn: onednnRaw === "0" || onednnRaw === "false" ? "off" : "on",
    maxCpuIsa: isa === "" || isa === "ALL" ? "native" : isa,
    cpu: cpuIdentity(),
    tuning: Object.keys(env).filter((k) => TUNING.test(k) && !NEUTRAL.has(k) && env[k] !== undefined).sort().map((k) => `${k}=${env[k]}`)
  }
}

export const numericsInfo = (env: Env): NumericsInfo => ({
  interOpThreads: positiveInt(env.TF_NUM_INTEROP_THREADS) ?? availableParallelism(),
  ompNumThreads: env.OMP_NUM_THREADS ?? "unset"
})
