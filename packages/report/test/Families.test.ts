/** Method families and colours: one hue per family, shades within it, the same colour for a method in every chart. */
import { describe, it, assert } from "@effect/vitest"
import * as Charts from "../src/Charts.js"
import * as Families from "../src/Families.js"

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
/** Hue in degrees of a colour. */
const hue = (hex: string): number => {
  const [r, g, b] = rgb(hex).map((v) => v / 255)
  const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min
  if (d === 0) return NaN
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4
  return (h * 60 + 360) % 360
}

describe("families", () => {
  it("names a method's family by its first word that is not a qualifier", () => {
    const cases: Array<[string, string]> = [
      ["symmetric", "symmetric"], ["noisy-symmetric", "symmetric"], ["scaled-noisy-symmetric-uniform", "symmetric"],
      ["diagonal", "diagonal"], ["diagonal-random", "diagonal"], ["scaled-noisy-diagonal-normal", "diagonal"],
      ["envelope-zeros", "envelope"], ["envelope-scaled-noise", "envelope"], ["net2wider", "net2wider"], ["net2wider-noisy", "net2wider"],
      ["scratch", "scratch"], ["scratch-50", "scratch"], ["small-continued", "small"], ["1-3", "1-3"]
    ]
    assert.deepStrictEqual(cases.map(([name]) => [name, Families.defaultFamily(name)]), cases)
  })

  it("colours: one hue per family, shades of it per name, greys for the reference's family, the same for every target", () => {
    const labels = [
      "symmetric, target=a", "noisy-symmetric, target=a", "symmetric, target=b", "diagonal, target=a", "envelope-zeros, target=a",
      "scratch, target=a", "scratch-50, target=a"
    ]
    const p = Families.palette(labels, (l) => l.startsWith("scratch"))
    assert.deepStrictEqual(p.families.map((f) => [f.name, f.reference, f.names]), [
      ["diagonal", false, ["diagonal"]], ["envelope", false, ["envelope-zeros"]], ["symmetric", false, ["noisy-symmetric", "symmetric"]],
      ["scratch", true, ["scratch", "scratch-50"]]
    ])
    // family by family in the legend's order, the reference's last
    assert.deepStrictEqual(p.domain, ["diagonal, target=a", "envelope-zeros, target=a", "noisy-symmetric, target=a", "symmetric, target=a", "symmetric, target=b", "scratch, target=a", "scratch-50, target=a"])
    assert.strictEqual(p.colourOf("symmetric, target=a"), p.colourOf("symmetric, target=b"), "one name, one colour, whatever the target")
    assert.notStrictEqual(p.colourOf("symmetric, target=a"), p.colourOf("noisy-symmetric, target=a"), "two names of a family: two shades")
    assert.isBelow(Math.abs(hue(p.colourOf("symmetric, target=a")) - hue(p.colourOf("noisy-symmetric, target=a"))), 20, "…of one hue")
    const hues = ["diagonal, target=a", "envelope-zeros, target=a", "symmetric, target=a"].map((l) => hue(p.colourOf(l)))
    for (const [i, a] of hues.entries()) for (const b of hues.slice(i + 1)) assert.isAbove(Math.min(Math.abs(a - b), 360 - Math.abs(a - b)), 20, "families apart")
    for (const l of ["scratch, target=a", "scratch-50, target=a"]) {
      const [r, g, b] = rgb(p.colourOf(l))
      assert.isTrue(r === g && g === b, `${l} grey: ${p.colourOf(l)}`)
    }
    assert.deepStrictEqual(Families.palette([...labels].reverse(), (l) => l.startsWith("scratch")).range, p.range, "independent of the input order")
    // by hand: the families param
    const mine = Families.palette(labels, () => false, { hypercloning: ["symmetric", "noisy-symmetric", "diagonal"] })
    assert.strictEqual(mine.familyOf("diagonal, target=a"), "hypercloning")
    assert.strictEqual(mine.familyOf("envelope-zeros, target=a"), "envelope")
  })

  it("every chart colours a method with the palette's colour, its legend listing only what it draws", () => {
    const p = Families.palette(["symmetric, target=a", "diagonal, target=a", "scratch, target=a", "symmetric, target=b"], (l) => l.startsWith("scratch"))
    const bars = Charts.bars("t", "x", [{ method: "symmetric, target=b", value: 0.5 }, { method: "scratch, target=a", value: 0.4 }], p) as {
      layer: ReadonlyArray<{ encoding: { color?: { scale: { domain: Array<string>; range: Array<string> } } } }>
    }
    const scale = bars.layer[0].encoding.color!.scale
    assert.deepStrictEqual(scale.domain, ["symmetric, target=b", "scratch, target=a"])
    assert.deepStrictEqual(scale.range, scale.domain.map(p.colourOf))
    // a panel's short names keep their full labels' colours
    const short = Families.relabel(p, new Map([["symmetric", "symmetric, target=a"], ["scratch", "scratch, target=a"]]))
    assert.deepStrictEqual(short.domain, ["symmetric", "scratch"])
    assert.deepStrictEqual(short.range, [p.colourOf("symmetric, target=a"), p.colourOf("scratch, target=a")])
  })
})
