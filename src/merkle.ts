/**
 * Verification of BEP 52 `hashes` replies against a file's pieces root.
 *
 * A v2 file's merkle tree has one leaf per 16 KiB block (SHA-256 of the block, the last one may be
 * short), padded with zero leaves to a power of two; every inner node is SHA-256(left || right).
 * A reply names a run of hashes in one layer (`baseLayer` layers above the leaves) and carries the
 * uncle hashes that link the run's subtree to the root. Verifying recomputes the root from them.
 *
 * The tree's height comes from the file's length, which the caller knows from the torrent (the
 * `length` next to `pieces root` in the file tree): a reply must end exactly at the root, or hashes
 * of one layer could be passed off as another's.
 *
 * Node only (node:crypto); the Wire itself does not need it.
 */
import { createHash } from 'node:crypto'
import { Buffer } from 'buffer'
import { ceilLog2, uncleCount, MAX_HASHES_PER_REQUEST } from './state/hashes.js'
import { toBuffer } from './util.js'

/** BEP 52 leaf size: 16 KiB blocks. */
export const MERKLE_BLOCK_SIZE = 16384

export interface HashesReply {
  piecesRoot: Uint8Array
  baseLayer: number
  index: number
  length: number
  proofLayers: number
  /** `length` base-layer hashes. */
  hashes: Uint8Array[]
  /** Uncle hashes, bottom up. */
  uncles: Uint8Array[]
}

function sha256 (a: Uint8Array, b: Uint8Array): Buffer {
  return createHash('sha256').update(a).update(b).digest()
}

const pads: Buffer[] = [Buffer.alloc(32)]
/** The hash of a subtree that lies wholly beyond the file's end, `layer` layers above the leaves. */
export function padHash (layer: number): Buffer {
  while (pads.length <= layer) pads.push(sha256(pads[pads.length - 1], pads[pads.length - 1]))
  return pads[layer]
}

function isHash (h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === 32
}

function isCount (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff
}

/**
 * True when `reply` (a `hashes` event's message) proves its base-layer hashes against `piecesRoot`,
 * the 32-byte root of a file of `fileLength` bytes. Anything malformed, inconsistent or tampered
 * gives false; only bad arguments of the caller's own (root, length) throw.
 */
export function verifyHashes (piecesRoot: Uint8Array | string, fileLength: number, reply: HashesReply): boolean {
  const root = toBuffer(piecesRoot, 'piecesRoot')
  if (root.length !== 32) throw new RangeError('piecesRoot must be 32 bytes')
  if (!Number.isSafeInteger(fileLength) || fileLength <= 0) throw new RangeError('fileLength must be a positive integer')
  if (reply === null || typeof reply !== 'object') return false
  const { baseLayer: base, index, length, proofLayers, hashes, uncles } = reply
  if (!isHash(reply.piecesRoot) || !Buffer.from(reply.piecesRoot).equals(root)) return false
  if (!isCount(base) || !isCount(index) || !isCount(length) || !isCount(proofLayers)) return false
  if (length === 0 || length > MAX_HASHES_PER_REQUEST) return false
  if (!Array.isArray(hashes) || !Array.isArray(uncles) || !hashes.every(isHash) || !uncles.every(isHash)) return false

  const height = ceilLog2(Math.ceil(fileLength / MERKLE_BLOCK_SIZE))
  if (base > height) return false
  const layerSize = 2 ** (height - base)
  const k = ceilLog2(length)
  const span = 2 ** k
  if (index % span !== 0 || index + length > layerSize) return false
  if (hashes.length !== length || uncles.length !== uncleCount(length, proofLayers)) return false
  // the proof must end at the root
  if (base + Math.max(proofLayers + 1, k) !== height) return false

  // the run's own subtree, padded at the end of the layer
  let level: Uint8Array[] = hashes.slice()
  const pad = padHash(base)
  while (level.length < span) level.push(pad)
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(sha256(level[i], level[i + 1]))
    level = next
  }
  let node = level[0]
  let pos = index / span
  for (const uncle of uncles) {
    node = (pos & 1) === 0 ? sha256(node, uncle) : sha256(uncle, node)
    pos = Math.floor(pos / 2)
  }
  return Buffer.from(node).equals(root)
}
