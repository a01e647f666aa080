/**
 * Strict reading of JSON text for pipeline files. `JSON.parse` keeps the last of two equal keys (a stage written
 * twice silently loses the first) and overflows the stack on deep nesting; this scanner runs first, without
 * recursion, and reports the first duplicate key or excessive depth with its dotted path.
 */

export type JsonProblem =
  | { readonly _tag: "DuplicateKey"; readonly path: string; readonly key: string }
  | { readonly _tag: "TooDeep"; readonly path: string; readonly limit: number }

/** Nesting limit of pipeline files (the study's deepest value is 7 levels). */
export const MAX_DEPTH = 64

interface Frame {
  readonly kind: "object" | "array"
  readonly keys: Set<string>
  readonly path: string
  index: number
  /** The key whose value is being read (objects). */
  key: string | undefined
}

const childPath = (frame: Frame | undefined): string =>
  frame === undefined ? "" : frame.kind === "array" ? join(frame.path, String(frame.index)) : join(frame.path, frame.key ?? "")

const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`)

/**
 * Scans `text` (assumed to be JSON; syntax errors are left to JSON.parse) for duplicate object keys and nesting deeper
 * than `limit`. Returns the first problem found, or undefined.
 */
export const scan = (text: string, limit = MAX_DEPTH): JsonProblem | undefined => {
  const stack: Array<Frame> = []
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === "{" || c === "[") {
      const parent = stack[stack.length - 1]
      const path = childPath(parent)
      if (stack.length >= limit) return { _tag: "TooDeep", path: path || "(root)", limit }
      stack.push({ kind: c === "{" ? "object" : "array", keys: new Set(), path, index: 0, key: undefined })
      i++
    } else if (c === "}" || c === "]") {
      stack.pop()
      i++
    } else if (c === ",") {
      const top = stack[stack.length - 1]
      if (top?.kind === "array") top.index++
      if (top?.kind === "object") top.key = undefined
      i++
    } else if (c === "\"") {
      // read the string, honouring escapes
      let j = i + 1
      while (j < n && text[j] !== "\"") j += text[j] === "\\" ? 2 : 1
      const top = stack[stack.length - 1]
      if (top?.kind === "object" && top.key === undefined) {
        let k = j + 1
        while (k < n && /\s/.test(text[k])) k++
        if (text[k] === ":") {
          let key: string
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string
          } catch {
            return undefined // malformed string: JSON.parse reports it
          }
          if (top.keys.has(key)) return { _tag: "DuplicateKey", path: top.path || "(root)", key }
          top.keys.add(key)
          top.key = key
        }
      }
      i = j + 1
    } else {
      i++
    }
  }
  return undefined
}
