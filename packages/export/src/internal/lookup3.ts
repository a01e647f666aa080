/**
 * Bob Jenkins' lookup3 `hashlittle` (byte-wise form), the checksum of HDF5's version-2 superblock and object
 * headers (H5_checksum_lookup3 with initval 0).
 */
const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

export const hashlittle = (key: Uint8Array, initval = 0): number => {
  let length = key.length
  let a = (0xdeadbeef + length + initval) | 0
  let b = a
  let c = a
  let k = 0
  const word = (at: number, n: number): number => {
    let w = 0
    for (let i = 0; i < n; i++) w |= key[at + i] << (8 * i)
    return w
  }
  while (length > 12) {
    a = (a + word(k, 4)) | 0
    b = (b + word(k + 4, 4)) | 0
    c = (c + word(k + 8, 4)) | 0
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0
    length -= 12
    k += 12
  }
  if (length === 0) return c >>> 0
  a = (a + word(k, Math.min(length, 4))) | 0
  if (length > 4) b = (b + word(k + 4, Math.min(length - 4, 4))) | 0
  if (length > 8) c = (c + word(k + 8, length - 8)) | 0
  c ^= b; c = (c - rot(b, 14)) | 0
  a ^= c; a = (a - rot(c, 11)) | 0
  b ^= a; b = (b - rot(a, 25)) | 0
  c ^= b; c = (c - rot(b, 16)) | 0
  a ^= c; a = (a - rot(c, 4)) | 0
  b ^= a; b = (b - rot(a, 14)) | 0
  c ^= b; c = (c - rot(b, 24)) | 0
  return c >>> 0
}
