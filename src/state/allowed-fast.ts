/**
 * BEP 6: the canonical allowed-fast set.
 *
 * x = (ip & 0xffffff00) as 4 big-endian bytes, followed by the 20-byte info hash; then repeatedly
 * x = SHA-1(x), and each of the digest's five big-endian u32 words, modulo the number of pieces, is
 * added to the set unless already in it, until the set holds k pieces.
 *
 * Node only (node:crypto), with the check of the `allowedFast` option that asks for the set
 * (state/fast.ts sends it): the Node entry installs `autoAllowedFast` on its Wire.
 */
import { createHash } from 'node:crypto'
import { Buffer } from 'buffer'
import { ipv4ToUint32, toBuffer } from '../util.js'
import { positive } from '../options.js'
import type { WireOptions } from '../types.js'
import type { AllowedFastSetFn, AutoAllowedFast } from './fast.js'

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

/** Check the `allowedFast` option (throws on a bad one): the automatic set, computed by `fn`, for state/fast.ts. */
export function autoAllowedFast (option: WireOptions['allowedFast'], fn: AllowedFastSetFn = allowedFastSet): AutoAllowedFast {
  if (option === null || typeof option !== 'object') throw new TypeError('allowedFast must be { ip, pieces, k? }')
  return {
    ip: ipv4ToUint32(option.ip),
    pieces: positive(option.pieces ?? NaN, 0, 'allowedFast.pieces'),
    k: positive(option.k, DEFAULT_ALLOWED_FAST_K, 'allowedFast.k'),
    fn,
    infoHash: null,
    haveSent: false,
    done: false
  }
}
