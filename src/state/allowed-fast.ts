/**
 * BEP 6: the canonical allowed-fast set.
 *
 * x = (ip & 0xffffff00) as 4 big-endian bytes, followed by the 20-byte info hash; then repeatedly
 * x = SHA-1(x), and each of the digest's five big-endian u32 words, modulo the number of pieces, is
 * added to the set unless already in it, until the set holds k pieces.
 *
 * Node only (node:crypto), with the automatic set of the `allowedFast` option (the option's
 * check, when the set is due, the set itself): the Node entry installs `autoAllowedFast` on its
 * Wire; state/fast.ts tells the set what happened on the wire.
 */
import { createHash } from 'node:crypto'
import { Buffer } from 'buffer'
import { ipv4ToUint32, toBuffer } from '../util.js'
import { positive } from '../options.js'
import type { WireOptions } from '../types.js'
import type { AllowedFastSetFn, AutoAllowedFast, FastHost, FastState } from './fast.js'

/** BEP 6's suggested set size. */
export const DEFAULT_ALLOWED_FAST_K = 10

/**
 * The allowed-fast set BEP 6 gives the peer at `ip` for a torrent of `numPieces` pieces: k piece
 * indices in the canonical order (the first j of a larger set are the set of size j). k is capped at
 * `numPieces`. BEP 6 has no provision for IPv6: an IPv6 address (other than IPv4-mapped) throws.
 */
export function allowedFastSet (ip: string | Uint8Array | number, infoHash: Uint8Array | string, numPieces: number, k: number = DEFAULT_ALLOWED_FAST_K): number[] {
  const addr = ipv4ToUint32(ip)
  if (addr === null) throw new RangeError('BEP 6 defines the allowed-fast set for IPv4 addresses only')
  const ih = toBuffer(infoHash, 'infoHash')
  if (ih.length !== 20) throw new RangeError('infoHash must be 20 bytes')
  if (!Number.isInteger(numPieces) || numPieces < 0 || numPieces > 0xffffffff) throw new RangeError('numPieces must be an integer 0..2^32-1')
  if (!Number.isInteger(k) || k < 0) throw new RangeError('k must be a non-negative integer')
  const want = Math.min(k, numPieces)
  const set: number[] = []
  if (want === 0) return set
  const seen = new Set<number>()
  let x: Buffer = Buffer.allocUnsafe(24)
  x.writeUInt32BE((addr & 0xffffff00) >>> 0, 0)
  ih.copy(x, 4)
  while (set.length < want) {
    x = createHash('sha1').update(x).digest()
    for (let j = 0; j < 20 && set.length < want; j += 4) {
      const index = x.readUInt32BE(j) % numPieces
      if (!seen.has(index)) {
        seen.add(index)
        set.push(index)
      }
    }
  }
  return set
}

/**
 * A wire's automatic allowed-fast set (the `allowedFast` option): BEP 6's set for the peer's
 * IPv4 address and our info hash, sent once fast is negotiated and our handshake and
 * bitfield / have-all / have-none went out (the peer then knows which pieces we have).
 */
class AutomaticSet implements AutoAllowedFast {
  /** Our info hash, once our handshake went out. */
  private _infoHash: Buffer | null = null
  /** Our bitfield / have-all / have-none went out. */
  private _haveSent = false
  /** The set was sent (or cannot be). */
  private _done = false

  /** `ip`: the peer's IPv4 address as a u32; null for IPv6 (BEP 6 has no set for it: none is sent). */
  constructor (private readonly _ip: number | null, private readonly _pieces: number, private readonly _k: number, private readonly _fn: AllowedFastSetFn) {}

  handshakeSent (fast: FastState, host: FastHost, infoHash: Buffer): void {
    this._infoHash = infoHash
    this.sendWhenDue(fast, host)
  }

  haveSent (fast: FastState, host: FastHost): void {
    this._haveSent = true
    this.sendWhenDue(fast, host)
  }

  sendWhenDue (fast: FastState, host: FastHost): void {
    if (this._done || !host.hasFast || !this._haveSent || this._infoHash === null) return
    this._done = true
    if (this._ip === null || host.finished) return
    for (const index of this._fn(this._ip, this._infoHash, this._pieces, this._k)) fast.allow(index)
  }
}

/** @internal Check the `allowedFast` option (throws on a bad one): the automatic set, computed by `fn`, for state/fast.ts. */
export function autoAllowedFast (option: WireOptions['allowedFast'], fn: AllowedFastSetFn = allowedFastSet): AutoAllowedFast {
  if (option === null || typeof option !== 'object') throw new TypeError('allowedFast must be { ip, pieces, k? }')
  return new AutomaticSet(
    ipv4ToUint32(option.ip),
    positive(option.pieces ?? NaN, 0, 'allowedFast.pieces'),
    positive(option.k, DEFAULT_ALLOWED_FAST_K, 'allowedFast.k'),
    fn
  )
}
