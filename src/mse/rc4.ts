/**
 * RC4 for Message Stream Encryption (MSE / PE).
 *
 * MSE uses "RC4-drop1024": the first 1024 bytes of keystream are thrown away
 * before anything is encrypted. Two implementations share one interface:
 *
 * - `native`: Node's `crypto.createCipheriv('rc4', key, null)`. OpenSSL 3 keeps RC4
 *   in its legacy provider, so it is only there when Node was started with
 *   `--openssl-legacy-provider` (or built against an OpenSSL that still ships it).
 *   Availability is probed once at load with a known-answer test.
 * - `js`: a typed-array RC4 (Int32Array S-box, indices in locals, XOR a word at a time
 *   straight into the output), used everywhere else (default OpenSSL 3 builds, browsers).
 *
 * `createRc4(key)` picks native when it works, otherwise js.
 */
import { Buffer } from 'buffer'
import * as crypto from 'crypto'

export type Rc4Impl = 'native' | 'js'

/** A keystream cipher: encryption and decryption are the same operation. */
export interface StreamCipher {
  /** Which implementation this is. */
  readonly impl: Rc4Impl
  /** XOR `data` with the next `data.length` keystream bytes into a new Buffer; `data` is not touched. */
  update (data: Uint8Array): Buffer
  /**
   * XOR `data` with the keystream in place and return it. Only for buffers the caller owns
   * (freshly built messages); never for user payloads or chunks other readers may still see.
   */
  updateInPlace<T extends Uint8Array> (data: T): T
}

/** Keystream bytes MSE drops after keying. */
export const RC4_DROP = 1024

/** Whether this machine stores a Uint32 little-endian (the word path below assumes it). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * Pure TypeScript RC4. The state lives in an Int32Array (V8 loads and stores its
 * elements without the zero-extension a Uint8Array costs), and long runs are XORed
 * a 32-bit word at a time: four keystream bytes are gathered into one word and
 * applied with one load and one store.
 */
export class Rc4Js implements StreamCipher {
  readonly impl = 'js' as const
  private readonly s = new Int32Array(256)
  private i = 0
  private j = 0

  constructor (key: Uint8Array, drop = 0) {
    if (key.length < 1 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes')
    const s = this.s
    for (let k = 0; k < 256; k++) s[k] = k
    let j = 0
    const klen = key.length
    for (let k = 0; k < 256; k++) {
      const sk = s[k]
      j = (j + sk + key[k % klen]) & 255
      s[k] = s[j]
      s[j] = sk
    }
    if (drop > 0) this.skip(drop)
  }

  /** Advance the keystream by `n` bytes without producing output. */
  skip (n: number): void {
    const s = this.s
    let i = this.i
    let j = this.j
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255
      const si = s[i]
      j = (j + si) & 255
      s[i] = s[j]
      s[j] = si
    }
    this.i = i
    this.j = j
  }

  private xor (src: Uint8Array, dst: Uint8Array): void {
    const n = src.length
    let k = 0
    // the word path needs src and dst equally aligned; the head brings both to a word boundary
    if (LITTLE_ENDIAN && n >= 64 && ((src.byteOffset ^ dst.byteOffset) & 3) === 0) {
      const head = (4 - (src.byteOffset & 3)) & 3
      this.xorBytes(src, dst, 0, head)
      const words = (n - head) >>> 2
      this.xorWords(new Uint32Array(src.buffer, src.byteOffset + head, words), new Uint32Array(dst.buffer, dst.byteOffset + head, words))
      k = head + words * 4
    }
    this.xorBytes(src, dst, k, n)
  }

  private xorBytes (src: Uint8Array, dst: Uint8Array, from: number, to: number): void {
    const s = this.s
    let i = this.i
    let j = this.j
    for (let k = from; k < to; k++) {
      i = (i + 1) & 255
      const si = s[i]
      j = (j + si) & 255
      const sj = s[j]
      s[i] = sj
      s[j] = si
      dst[k] = src[k] ^ s[(si + sj) & 255]
    }
    this.i = i
    this.j = j
  }

  private xorWords (src: Uint32Array, dst: Uint32Array): void {
    const s = this.s
    let i = this.i
    let j = this.j
    const n = src.length
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255
      let si = s[i]
      j = (j + si) & 255
      let sj = s[j]
      s[i] = sj
      s[j] = si
      let w = s[(si + sj) & 255]
      i = (i + 1) & 255
      si = s[i]
      j = (j + si) & 255
      sj = s[j]
      s[i] = sj
      s[j] = si
      w |= s[(si + sj) & 255] << 8
      i = (i + 1) & 255
      si = s[i]
      j = (j + si) & 255
      sj = s[j]
      s[i] = sj
      s[j] = si
      w |= s[(si + sj) & 255] << 16
      i = (i + 1) & 255
      si = s[i]
      j = (j + si) & 255
      sj = s[j]
      s[i] = sj
      s[j] = si
      w |= s[(si + sj) & 255] << 24
      dst[k] = src[k] ^ w
    }
    this.i = i
    this.j = j
  }

  update (data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length)
    this.xor(data, out)
    return out
  }

  updateInPlace<T extends Uint8Array> (data: T): T {
    this.xor(data, data)
    return data
  }
}

/** RC4 through OpenSSL. Construct only when `nativeRc4Available`. */
export class Rc4Native implements StreamCipher {
  readonly impl = 'native' as const
  private readonly cipher: crypto.Cipheriv

  constructor (key: Uint8Array, drop = 0) {
    this.cipher = crypto.createCipheriv('rc4', key, null)
    if (drop > 0) this.cipher.update(new Uint8Array(drop))
  }

  update (data: Uint8Array): Buffer {
    return this.cipher.update(data)
  }

  updateInPlace<T extends Uint8Array> (data: T): T {
    data.set(this.cipher.update(data))
    return data
  }
}

function probeNative (): boolean {
  try {
    if (typeof crypto.createCipheriv !== 'function') return false
    if (typeof crypto.getCiphers === 'function' && !crypto.getCiphers().includes('rc4')) return false
    // RFC 6229, 40-bit key 0x0102030405, keystream offset 0
    const c = crypto.createCipheriv('rc4', Buffer.from('0102030405', 'hex'), null)
    return Buffer.from(c.update(new Uint8Array(8))).toString('hex') === 'b2396305f03dc027'
  } catch {
    return false
  }
}

/** Whether OpenSSL offers RC4 in this process (probed once at load). */
export const nativeRc4Available: boolean = probeNative()

export interface Rc4Options {
  /** Keystream bytes to drop first. Default `RC4_DROP` (1024), as MSE requires. */
  drop?: number
  /** 'auto' (default): native when available, else js. 'native' throws when unavailable. */
  impl?: Rc4Impl | 'auto'
}

/** An RC4 keystream for `key`, by default with the first 1024 bytes dropped (MSE). */
export function createRc4 (key: Uint8Array, opts: Rc4Options = {}): StreamCipher {
  const drop = opts.drop ?? RC4_DROP
  const impl = opts.impl ?? 'auto'
  if (impl === 'native' || (impl === 'auto' && nativeRc4Available)) {
    if (!nativeRc4Available) throw new Error('RC4 is not available from OpenSSL in this process')
    return new Rc4Native(key, drop)
  }
  return new Rc4Js(key, drop)
}
