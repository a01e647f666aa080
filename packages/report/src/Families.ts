/**
 * Method families and the report's colours. A method's name is the first part of its label (the value of the var that
 * names methods: `scaled-noisy-diagonal-normal` of `scaled-noisy-diagonal-normal, target=large2, learningRate=0.001`);
 * its family is the first word of the name that is not a qualifier of noise, fill or schedule (`noisy`, `scaled`,
 * `normal`, `zeros`, a number, ...), so `symmetric`, `noisy-symmetric` and `scaled-noisy-symmetric-uniform` are one
 * family, `envelope-zeros` and `envelope-scaled-noise` another, `scratch` and `scratch-50` a third. The `families` param
 * names families by hand instead.
 *
 * Colours: every family gets one hue (a single-hue scheme: blues, oranges, greens, ...), the family of the reference
 * greys; the names in a family get shades of it, so a method keeps one colour in every chart and methods of one family
 * look alike. Deterministic: families in alphabetical order (the reference's last), names sorted within their family.
 */
import * as vega from "vega"

/** Code-point order (not the locale's): the same on every machine. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Words that qualify a growth method rather than name it (noise, its distribution, the fill, the schedule). */
const QUALIFIERS = new Set(["noisy", "noise", "scaled", "normal", "uniform", "zeros", "random", "fallback", "continued"])

/** Hues for the families, in order; the reference's family is drawn in greys. */
const SCHEMES = ["blues", "oranges", "greens", "reds", "purples", "teals", "browns", "warmgreys"] as const
const REFERENCE_SCHEME = "greys"

/** The name of a method from its label: its first comma-separated part. */
export const nameOf = (label: string): string => label.split(", ")[0]

/** The family of a method name by the default rule (see the module comment). */
export const defaultFamily = (name: string): string => {
  const words = name.split(/[-_\s=]+/).filter((w) => w !== "")
  const word = words.find((w) => !QUALIFIERS.has(w.toLowerCase()) && !/^\d+(\.\d+)?(e-?\d+)?$/i.test(w))
  return word ?? name
}

export interface Family {
  readonly name: string
  /** Whether the family holds a reference method (drawn in greys, and as context in every small multiple). */
  readonly reference: boolean
  /** The method names of the family, sorted. */
  readonly names: ReadonlyArray<string>
}

export interface Palette {
  /** Every method label, family by family (families in order, labels sorted in each): the colour scale's domain. */
  readonly domain: ReadonlyArray<string>
  /** The colour of each label of `domain`, in its order. */
  readonly range: ReadonlyArray<string>
  readonly families: ReadonlyArray<Family>
  readonly familyOf: (label: string) => string
  readonly colourOf: (label: string) => string
}

const toHex = (colour: string): string => {
  const m = /^rgb\((\d+), ?(\d+), ?(\d+)\)$/.exec(colour)
  return m ? `#${[m[1], m[2], m[3]].map((v) => Number(v).toString(16).padStart(2, "0")).join("")}` : colour
}

/** Shades of a scheme for k names: from its middle to its dark end (light ends are hard to see as lines). */
const shades = (scheme: string, k: number): ReadonlyArray<string> => {
  const interpolate = vega.scheme(scheme) as (t: number) => string
  return Array.from({ length: k }, (_, j) => toHex(interpolate(k === 1 ? 0.7 : 0.45 + (0.5 * j) / (k - 1))))
}

/**
 * The palette of a report's methods. `isReference` marks reference labels; `overrides` (family → method names, from the
 * `families` param) wins over the default rule.
 */
export const palette = (
  labels: ReadonlyArray<string>,
  isReference: (label: string) => boolean,
  overrides: Readonly<Record<string, ReadonlyArray<string>>> = {}
): Palette => {
  const byName = new Map<string, string>()
  for (const [family, names] of Object.entries(overrides)) for (const n of names) byName.set(n, family)
  const familyOfName = (name: string) => byName.get(name) ?? defaultFamily(name)
  const domain = [...new Set(labels)].sort()
  const members = new Map<string, Set<string>>()
  const referenceFamilies = new Set<string>()
  for (const label of domain) {
    const name = nameOf(label)
    const family = familyOfName(name)
    members.set(family, (members.get(family) ?? new Set()).add(name))
    if (isReference(label)) referenceFamilies.add(family)
  }
  // families alphabetically, the reference's last
  const families: Array<Family> = [...members.keys()]
    .sort((a, b) => Number(referenceFamilies.has(a)) - Number(referenceFamilies.has(b)) || byCodePoint(a, b))
    .map((name) => ({ name, reference: referenceFamilies.has(name), names: [...members.get(name)!].sort() }))
  const colourOfName = new Map<string, string>()
  let hue = 0
  for (const f of families) {
    const scheme = f.reference ? REFERENCE_SCHEME : SCHEMES[hue++ % SCHEMES.length]
    shades(scheme, f.names.length).forEach((c, j) => colourOfName.set(f.names[j], c))
  }
  const familyOf = (label: string) => familyOfName(nameOf(label))
  const colourOf = (label: string) => colourOfName.get(nameOf(label)) ?? "#888888"
  // legends list the methods family by family, in the families' order
  const rank = new Map(families.map((f, i) => [f.name, i]))
  const ordered = [...domain].sort((a, b) => rank.get(familyOf(a))! - rank.get(familyOf(b))! || byCodePoint(a, b))
  return { domain: ordered, range: ordered.map(colourOf), families, familyOf, colourOf }
}

/**
 * The palette under other names (`fullOf`: shown name → the label the palette knows), e.g. a panel's methods without
 * the vars its title already names; colours and families stay those of the full labels. With it, `shortOf`: the
 * reverse map (full label → shown name), for renaming the data drawn with the palette.
 */
export const relabelWith = (p: Palette, fullOf: ReadonlyMap<string, string>): { readonly palette: Palette; readonly shortOf: ReadonlyMap<string, string> } => {
  const shortOf = new Map([...fullOf].map(([short, full]) => [full, short]))
  const domain = p.domain.filter((l) => shortOf.has(l)).map((l) => shortOf.get(l)!)
  const full = (l: string) => fullOf.get(l) ?? l
  return {
    palette: {
      domain, range: domain.map((l) => p.colourOf(full(l))), families: p.families,
      familyOf: (l) => p.familyOf(full(l)), colourOf: (l) => p.colourOf(full(l))
    },
    shortOf
  }
}

/** The palette under other names (see `relabelWith`). */
export const relabel = (p: Palette, fullOf: ReadonlyMap<string, string>): Palette => relabelWith(p, fullOf).palette
