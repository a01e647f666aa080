/**
 * The registered stage kinds: which package provides each kind and which outputs it declares. Pipeline files can
 * name these kinds only. The plugin reads this table without loading any stage code (fast graph construction);
 * a test checks that it matches the stages the packages actually export.
 */
export interface KindEntry {
  readonly package: string
  readonly outputs: ReadonlyArray<string>
}

export const registry: Readonly<Record<string, KindEntry>> = {
  dataset: { package: "@growlab/data", outputs: ["train", "test", "validation"] },
  train: { package: "@growlab/train", outputs: ["model", "metrics"] },
  evaluate: { package: "@growlab/train", outputs: ["evaluation"] },
  expand: { package: "@growlab/expand", outputs: ["model", "expansion", "figures"] },
  net2wider: { package: "@growlab/net2net", outputs: ["model", "expansion"] },
  net2deeper: { package: "@growlab/net2net", outputs: ["model", "expansion"] },
  gradcam: { package: "@growlab/gradcam", outputs: ["maps", "figures"] },
  report: { package: "@growlab/report", outputs: ["report", "summary", "tables"] }
}

export const kinds = Object.keys(registry)
