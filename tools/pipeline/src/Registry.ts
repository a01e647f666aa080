/**
 * The registered stage kinds: which module declares each kind, which outputs it has, whether it runs TensorFlow and
 * which external files it reads. Pipeline files can name these kinds only. The plugin reads this table without
 * loading any stage code (fast graph construction); a test checks that it matches the stages the modules declare.
 *
 * `module` is the stage's entry: the code the runner loads for the kind, and whose import closure (bundled) is the
 * code part of the kind's cache key (StageKey.ts). Lookups go through `kindEntry`, which only sees the table's own
 * entries (a pipeline's `"kind": "toString"` is not a kind).
 */
/** An output as the plugin and the runner need it without loading stage code (a test checks it against the stage). */
export interface OutputEntry {
  readonly kind: string
  /** File, or folder when `dir`, inside the stage's artifact folder. */
  readonly file: string
  readonly dir?: boolean
  readonly optional?: boolean
}

export interface KindEntry {
  readonly package: string
  /** The module that declares the stage (`<package>/<Module>`), and the name of its exported declaration. */
  readonly module: string
  readonly export: string
  readonly outputs: Readonly<Record<string, OutputEntry>>
  /** Runs TensorFlow: its results depend on the native TF build and the numerics environment (threads, oneDNN, CPU). */
  readonly usesTf: boolean
  /** Reads dataset files from outside the workspace (their content is part of its key). */
  readonly readsDatasets?: boolean
  /** What an instance of the kind asks for unless its pipeline file says otherwise. */
  readonly resources: StageResources
}

/** Resources with every field resolved (gpus 0 when none). */
export interface StageResources {
  readonly cpus: number
  readonly memoryMiB: number
  readonly gpus: number
  readonly timeMinutes: number
}

/**
 * Defaults: one cpu per stage (two 1-thread stages side by side finished the quick experiment 4 1.13–1.42x sooner
 * than one 2-thread stage at a time on this 2-core machine; README "Scale-out"), memory about twice the peak resident
 * size measured here (a full CIFAR-10 training of the small CNN: 2.1 GB; the CIFAR-10 dataset stage: 0.64 GB), and
 * time limits well above the longest stage of the study (≈ 41 min).
 */
const light: StageResources = { cpus: 1, memoryMiB: 2048, gpus: 0, timeMinutes: 60 }
const training: StageResources = { cpus: 1, memoryMiB: 4096, gpus: 0, timeMinutes: 12 * 60 }

const file = (kind: string, name: string, extra: Partial<OutputEntry> = {}): OutputEntry => ({ kind, file: name, ...extra })
const model = file("model", "model.arrow")

const table: Readonly<Record<string, KindEntry>> = {
  dataset: {
    package: "@growlab/data", module: "@growlab/data/DatasetStage", export: "datasetStage", usesTf: false, readsDatasets: true, resources: { ...light, memoryMiB: 4096 },
    outputs: { train: file("dataset", "train.arrow"), test: file("dataset", "test.arrow"), validation: file("dataset", "validation.arrow", { optional: true }) }
  },
  train: {
    package: "@growlab/train", module: "@growlab/train/TrainStage", export: "trainStage", usesTf: true, resources: training,
    outputs: { model, metrics: file("metrics", "metrics.arrow") }
  },
  evaluate: {
    package: "@growlab/train", module: "@growlab/train/EvaluateStage", export: "evaluateStage", usesTf: true, resources: { ...light, memoryMiB: 4096 },
    outputs: { evaluation: file("evaluation", "evaluation.arrow") }
  },
  expand: {
    package: "@growlab/expand", module: "@growlab/expand/ExpandStage", export: "expandStage", usesTf: true, resources: light,
    outputs: { model, expansion: file("expansion", "expansion.arrow"), figures: file("figure", "figures", { dir: true }) }
  },
  net2wider: {
    package: "@growlab/net2net", module: "@growlab/net2net/Net2WiderStage", export: "net2widerStage", usesTf: true, resources: light,
    outputs: { model, expansion: file("expansion", "expansion.arrow") }
  },
  net2deeper: {
    package: "@growlab/net2net", module: "@growlab/net2net/Net2DeeperStage", export: "net2deeperStage", usesTf: true, resources: light,
    outputs: { model, expansion: file("expansion", "expansion.arrow") }
  },
  "residual-deeper": {
    package: "@growlab/net2net", module: "@growlab/net2net/ResidualDeeperStage", export: "residualDeeperStage", usesTf: true, resources: light,
    outputs: { model, expansion: file("expansion", "expansion.arrow") }
  },
  gradcam: {
    package: "@growlab/gradcam", module: "@growlab/gradcam/GradcamStage", export: "gradcamStage", usesTf: true, resources: { ...light, memoryMiB: 4096 },
    outputs: { maps: file("gradcam", "gradcam.arrow"), figures: file("figure", "figures", { dir: true }) }
  },
  export: {
    // the exported bytes do not depend on the TensorFlow build or threads (weights are copied, not computed)
    package: "@growlab/export", module: "@growlab/export/ExportStage", export: "exportStage", usesTf: false, resources: light,
    outputs: { exports: file("model", "exports", { dir: true }) }
  },
  report: {
    package: "@growlab/report", module: "@growlab/report/ReportStage", export: "reportStage", usesTf: false, resources: light,
    outputs: { report: file("report", "report.html"), summary: file("report", "summary.md"), tables: file("table", "tables", { dir: true }) }
  }
}

/** The output `name` of `kind`, own entries only. */
export const outputEntry = (kind: string, name: string): OutputEntry | undefined => {
  const entry = kindEntry(kind)
  return entry && Object.prototype.hasOwnProperty.call(entry.outputs, name) ? entry.outputs[name] : undefined
}

/** The kind's entry, or undefined when `kind` is not one of the table's own keys. */
export const kindEntry = (kind: string): KindEntry | undefined =>
  Object.prototype.hasOwnProperty.call(table, kind) ? table[kind] : undefined

export const kinds: ReadonlyArray<string> = Object.keys(table)

/** Every kind with its entry. */
export const registry: ReadonlyMap<string, KindEntry> = new Map(Object.entries(table))
