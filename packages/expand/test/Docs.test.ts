/**
 * The README's operator table is the registry's (`Registry.docsTable()`), between the `operators:start` / `operators:end`
 * markers. GROWLAB_WRITE_DOCS=1 rewrites it there (and then fails on purpose, so a rewrite never passes as a check).
 */
import { describe, it, assert } from "@effect/vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Registry from "../src/Registry.js"

const README = fileURLToPath(new URL("../README.md", import.meta.url))
const START = "<!-- operators:start -->\n"
const END = "<!-- operators:end -->"

describe("README", () => {
  it("holds the registry's operator table", () => {
    const text = readFileSync(README, "utf8")
    const a = text.indexOf(START), b = text.indexOf(END)
    assert.isTrue(a >= 0 && b > a, "the README has the operators:start / operators:end markers")
    const table = `${Registry.docsTable()}\n`
    if (process.env.GROWLAB_WRITE_DOCS === "1") {
      writeFileSync(README, text.slice(0, a + START.length) + table + text.slice(b))
      assert.fail("wrote the operator table into README.md; run again without GROWLAB_WRITE_DOCS")
    }
    assert.strictEqual(text.slice(a + START.length, b), table, "README.md's operator table: regenerate with GROWLAB_WRITE_DOCS=1")
  })
})
