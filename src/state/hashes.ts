/**
 * BEP 52 hash messages: hash request (21), hashes (22), hash reject (23).
 *
 *   hash request / hash reject: <len=49><id><pieces root:32><base layer><index><length><proof layers>
 *   hashes:                     <len=49+32n><id=22><same 48-byte header><n hashes of 32 bytes>
 *
 * A `hashes` reply holds `length` base-layer hashes followed by the uncle hashes, bottom up. Uncles
 * start at the layer where the requested hashes' own subtree has its root: the first log2(length)-1
 * proof layers are implied by the hashes themselves (BEP 52), so a reply carries
 * max(0, proofLayers - log2(length) + 1) uncles, `length` rounded up to a power of two (libtorrent
 * counts the same way and insists on the exact number).
 *
 * This module keeps the wire's state for these messages (our pending requests with their callbacks,
 * the peer's pending requests) and validates every incoming header. The Wire only dispatches to it.
 */
import { Buffer } from 'buffer'
import { MessageId, readHashHeader, encodeHashRequest, encodeHashes, type HashRequest, type HashesMessage } from '../protocol/codec.js'
export { HashRequest, HashesMessage } from '../protocol/codec.js'
import { ErrorCodes, WireError } from '../errors.js'
import { toBuffer, checkUint32 } from '../util.js'
import type { WireHost } from '../io/host.js'

/** Most hashes one request may name. libtorrent refuses more than 8192; BEP 52 says SHOULD NOT exceed 512. */
export const MAX_HASHES_PER_REQUEST = 8192
/**
 * Highest base layer / proof layer count a message may name. A file of 2^64 bytes has 2^50 blocks,
 * so a tree of 50 layers; 63 leaves room and keeps every shift in range.
 */
export const MAX_TREE_LAYERS = 63

export type HashRequestInput = Omit<HashRequest, 'piecesRoot'> & { piecesRoot: Uint8Array | string }

/** A hash request's callback: `(err, undefined)` (rejected, or the wire closed), or `(null, hashes)`. */
export type HashesCallback = (...args: [err: Error, reply: undefined] | [err: null, reply: HashesMessage]) => void


/** Number of uncle hashes in a reply to (length, proofLayers). */
export function uncleCount (length: number, proofLayers: number): number {
  return Math.max(0, proofLayers - ceilLog2(length) + 1)
}

/** ceil(log2(n)) for n >= 1. */
export function ceilLog2 (n: number): number {
  let k = 0
  while (2 ** k < n) k++
  return k
}

/** Why a hash request / reject / hashes header can never be honest, or null. */
function headerProblem (base: number, index: number, length: number, proofLayers: number): string | null {
  if (length === 0) return 'asks for 0 hashes'
  if (length > MAX_HASHES_PER_REQUEST) return `asks for ${length} hashes, more than ${MAX_HASHES_PER_REQUEST}`
  if (base > MAX_TREE_LAYERS) return `base layer ${base} is beyond any tree`
  if (proofLayers > MAX_TREE_LAYERS) return `${proofLayers} proof layers are beyond any tree`
  // index is a multiple of length (rounded up to a power of two) and the range stays inside a layer
  const span = 2 ** ceilLog2(length)
  if (index % span !== 0) return `index ${index} is not a multiple of ${span}`
  if (index / span >= 2 ** (MAX_TREE_LAYERS - base)) return `index ${index} is beyond any tree`
  return null
}

/** Check and normalise a request given by the application; throws on bad input. */
export function toHashRequest (req: HashRequestInput): HashRequest {
  if (req === null || typeof req !== 'object') throw new TypeError('hash request must be an object')
  const piecesRoot = Buffer.from(toBuffer(req.piecesRoot, 'piecesRoot'))
  if (piecesRoot.length !== 32) throw new RangeError('piecesRoot must be 32 bytes')
  const out = { piecesRoot, baseLayer: req.baseLayer, index: req.index, length: req.length, proofLayers: req.proofLayers }
  for (const k of ['baseLayer', 'index', 'length', 'proofLayers'] as const) checkUint32(out[k], k)
  const problem = headerProblem(out.baseLayer, out.index, out.length, out.proofLayers)
  if (problem !== null) throw new RangeError(`bad hash request: ${problem}`)
  return out
}

function sameRequest (a: HashRequest, b: HashRequest): boolean {
  return a.baseLayer === b.baseLayer && a.index === b.index && a.length === b.length &&
    a.proofLayers === b.proofLayers && a.piecesRoot.equals(b.piecesRoot)
}

interface Pending { req: HashRequest, cb: HashesCallback | null }

/** Hash message state of one wire. */
export class HashMessages {
  /** Our requests awaiting hashes or a reject, oldest first. */
  readonly requests: Pending[] = []
  /** The peer's requests awaiting our answer (respond / hashes() / hashReject()), oldest first. */
  readonly peerRequests: HashRequest[] = []
  private readonly _wire: WireHost

  constructor (wire: WireHost) {
    this._wire = wire
  }

  // ---- outgoing

  request (req: HashRequest, cb: HashesCallback | null): void {
    this.requests.push({ req, cb })
    this._wire.send(encodeHashRequest(MessageId.HASH_REQUEST, req))
  }

  /** Send hashes (base-layer hashes then uncles, as one buffer or a list of 32-byte hashes). */
  send (req: HashRequest, hashes: Uint8Array | Uint8Array[]): void {
    const payload = Array.isArray(hashes) ? Buffer.concat(hashes.map(h => toBuffer(h, 'hash'))) : Buffer.from(toBuffer(hashes, 'hashes'))
    const want = req.length + uncleCount(req.length, req.proofLayers)
    if (payload.length !== want * 32) {
      throw new RangeError(`hashes for this request must be ${want} hashes (${req.length} + ${want - req.length} uncles) of 32 bytes, got ${payload.length} bytes`)
    }
    this._pullPeer(req)
    for (const b of encodeHashes(req, payload)) this._wire.send(b)
  }

  reject (req: HashRequest): void {
    this._pullPeer(req)
    this._wire.send(encodeHashRequest(MessageId.HASH_REJECT, req))
  }

  /** Fail every pending callback (the wire closed). */
  clear (err: Error): void {
    this.peerRequests.length = 0
    const pending = this.requests.splice(0)
    for (const p of pending) p.cb?.(err, undefined)
  }

  // ---- incoming: body at buf[start..end), id byte excluded; the reader checked the body's size

  onRequest (buf: Buffer, start: number): void {
    const req = this._header(buf, start, 'hash request')
    if (req === null) return
    const w = this._wire
    // BEP 52: every hash request gets hashes or a reject. Nobody to answer it, or too many
    // unanswered (like block requests past the cap): refused at once, not queued.
    const full = this.peerRequests.length >= w.maxPeerRequests
    if (full || w.listenerCount('hash-request') === 0) {
      if (full) w.countDropped()
      w.sendRefusal(encodeHashRequest(MessageId.HASH_REJECT, req))
      return
    }
    this.peerRequests.push(req)
    let answered = false
    const respond = (err: Error | null, hashes?: Uint8Array | Uint8Array[]): void => {
      if (answered || w.finished || !this.peerRequests.includes(req)) return
      // a bad answer throws (to the application) and leaves the request pending
      if (err || hashes === undefined || hashes === null) this.reject(req)
      else this.send(req, hashes)
      answered = true
    }
    w.emit('hash-request', req, respond)
  }

  onHashes (buf: Buffer, start: number, end: number): void {
    const req = this._header(buf, start, 'hashes')
    if (req === null) return
    const n = (end - start - 48) / 32
    const uncles = uncleCount(req.length, req.proofLayers)
    if (n !== req.length + uncles) {
      this._fail(`hashes message holds ${n} hashes, its header says ${req.length} + ${uncles} uncles`)
      return
    }
    // one copy, so the hashes outlive the reader's buffer
    const body = Buffer.allocUnsafe(n * 32)
    body.set(buf.subarray(start + 48, end))
    const all: Buffer[] = []
    for (let i = 0; i < n; i++) all.push(body.subarray(i * 32, i * 32 + 32))
    const msg: HashesMessage = { ...req, hashes: all.slice(0, req.length), uncles: all.slice(req.length) }
    const p = this._pull(req)
    if (p !== null) p.cb?.(null, msg)
    if (this._wire.finished) return
    this._wire.emit('hashes', msg)
  }

  onReject (buf: Buffer, start: number): void {
    const req = this._header(buf, start, 'hash reject')
    if (req === null) return
    const p = this._pull(req)
    if (p !== null) p.cb?.(new WireError(ErrorCodes.HASH_REJECTED, 'hash request was rejected'), undefined)
    if (this._wire.finished) return
    this._wire.emit('hash-reject', req)
  }

  private _header (buf: Buffer, start: number, what: string): HashRequest | null {
    const req = readHashHeader(buf, start)
    const problem = headerProblem(req.baseLayer, req.index, req.length, req.proofLayers)
    if (problem === null) return req
    this._fail(`${what} ${problem}`)
    return null
  }

  private _fail (message: string): void {
    this._wire.fail(new WireError(ErrorCodes.BAD_HASH_MESSAGE, message))
  }

  private _pull (req: HashRequest): Pending | null {
    const i = this.requests.findIndex(p => sameRequest(p.req, req))
    return i < 0 ? null : this.requests.splice(i, 1)[0]
  }

  private _pullPeer (req: HashRequest): void {
    let i = this.peerRequests.indexOf(req)
    if (i < 0) i = this.peerRequests.findIndex(r => sameRequest(r, req))
    if (i >= 0) this.peerRequests.splice(i, 1)
  }
}
