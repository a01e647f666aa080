/**
 * Seeded randomness shared by every package (subsets, pixel noise, growth noise, Net2Net mappings), so a seed
 * fully determines a stage's output. xoshiro128** for uniforms, Box-Muller for normals.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Standard normal. */
  readonly normal: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
}

const splitmix32 = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** A generator for a seed; `stream` separates independent uses of one seed (e.g. per layer). */
export const make = (seed: number, stream = 0): Rng => {
  const init = splitmix32((seed >>> 0) ^ Math.imul(stream + 1, 0x27d4eb2d))
  let a = init(), b = init(), c = init(), d = init()
  const u32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11)
    return r
  }
  const next = () => u32() / 4294967296
  let spare: number | undefined
  const normal = () => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s }
    let u = 0
    while (u === 0) u = next()
    const v = next()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  return { next, normal, int: (n: number) => Math.floor(next() * n) }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0

/** Fisher-Yates shuffle of [0, n). */
export const permutation = (rng: Rng, n: number): Int32Array => {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = p[i]; p[i] = p[j]; p[j] = t
  }
  return p
}
