/**
 * BEP 6 (fast extension) state of one wire: both sides' allowed-fast sets, and the automatic
 * allowed-fast set of the `allowedFast` option.
 *
 * - Ours (`wire.allowedFastSet`): pieces the peer may request while we choke it. The serving
 *   side (serving.ts) asks the host whether a piece is in it when a request comes in while we
 *   choke, and when we choke (requests for these pieces stay queued, the others are rejected).
 * - The peer's (`wire.peerAllowedFastSet`): pieces we may request while it chokes us, from its
 *   allowed-fast messages. BEP 6 suggests 10; a peer that sends more (any number, each a valid
 *   piece index) must not make us hold an unbounded list, so the last
 *   ALLOWED_FAST_SET_MAX_LENGTH are kept, the oldest dropped first.
 * - Automatic: with `allowedFast: { ip, pieces, k }` the wire sends BEP 6's canonical set for the
 *   peer's IPv4 address and our info hash once, as soon as fast is negotiated and our handshake
 *   and our bitfield / have-all / have-none went out. An IPv6 peer gets none (BEP 6 defines no
 *   set for it). The set needs SHA-1, so it lives in allowed-fast.ts, Node only (the option's
 *   check, when it is due, the set itself): the Node entry gives its `autoAllowedFast` as
 *   `Wire._autoAllowedFast`. Here the wire tells it what went out.
 *
 * Made on first use (the option, an allowed-fast message, `allowedFast()`, reading either set):
 * a wire without BEP 6 holds none. The BEP 6 checks of both directions (a fast message from a
 * peer that did not negotiate fast, a fast call of ours without it) are here too.
 */
import type { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'
import { MessageId, encodeIndex } from '../protocol/codec.js'
import type { WireOptions } from '../types.js'

/** Most entries kept of the peer's allowed-fast set (the oldest go first). */
export const ALLOWED_FAST_SET_MAX_LENGTH = 100

/** BEP 6's set for a peer (state/allowed-fast.ts). */
export type AllowedFastSetFn = (ip: string | Uint8Array | number, infoHash: Uint8Array, numPieces: number, k?: number) => number[]

/** What the fast state needs of its wire (WireHost has all of it). */
export interface FastHost {
  /** Both sides announced BEP 6 in their handshakes. */
  readonly hasFast: boolean
  readonly finished: boolean
  send (data: Uint8Array): void
  fail (err: WireError): void
  /** Whether `index` is in range for this wire; else the wire fails, naming `what`. */
  checkIndex (index: number, what: string): boolean
  emit (event: string | symbol, ...args: any[]): boolean
}

/**
 * The automatic set (allowed-fast.ts, Node only). The fast state tells it when our handshake and
 * our have-message went out and when fast may have been negotiated; once all of it holds, it
 * sends its set through `allow`, once.
 */
export interface AutoAllowedFast {
  handshakeSent (fast: FastState, host: FastHost, infoHash: Buffer): void
  haveSent (fast: FastState, host: FastHost): void
  sendWhenDue (fast: FastState, host: FastHost): void
}

/** Checks the `allowedFast` option (throws on a bad one) and makes the automatic set: allowed-fast.ts's `autoAllowedFast`. */
export type AutoAllowedFastFn = (option: WireOptions['allowedFast']) => AutoAllowedFast

/** A BEP 6 message (suggest, have-all, have-none, reject, allowed-fast) is only valid once fast is negotiated: else the wire fails. */
export function fastOnly (host: Pick<FastHost, 'hasFast' | 'fail'>, what: string): boolean {
  if (host.hasFast) return true
  host.fail(new WireError(ErrorCodes.FAST_NOT_NEGOTIATED, `${what} from a peer that did not negotiate the fast extension`))
  return false
}

/** Our BEP 6 calls (haveAll, reject, allowedFast...) throw when fast is not negotiated. */
export function requireFast (hasFast: boolean): void {
  if (!hasFast) throw new Error('fast extension is disabled')
}

export class FastState {
  /** Pieces we allow the peer to request while we choke it (`wire.allowedFastSet`). */
  allowed: number[] = []
  /** Pieces the peer allows us to request while it chokes us (`wire.peerAllowedFastSet`). */
  peerAllowed: number[] = []

  constructor (private readonly _host: FastHost, private readonly _auto: AutoAllowedFast | null) {}

  /** `wire.allowedFast(index)`: add the piece to our set and tell the peer. */
  allow (index: number): void {
    if (!this.allowed.includes(index)) this.allowed.push(index)
    this._host.send(encodeIndex(MessageId.ALLOWED_FAST, index))
  }

  /** The peer's allowed-fast message. */
  onAllowedFast (index: number): void {
    const host = this._host
    if (!fastOnly(host, 'allowed-fast') || !host.checkIndex(index, 'allowed-fast')) return
    const set = this.peerAllowed
    if (!set.includes(index)) {
      set.push(index)
      if (set.length > ALLOWED_FAST_SET_MAX_LENGTH) set.shift()
    }
    host.emit('allowed-fast', index)
  }

  /** Our handshake went out with this info hash. */
  handshakeSent (infoHash: Buffer): void { this._auto?.handshakeSent(this, this._host, infoHash) }

  /** Our bitfield / have-all / have-none went out. */
  haveSent (): void { this._auto?.haveSent(this, this._host) }

  /** Send the automatic set if it is due (fast on, our handshake and have-message out), once. */
  sendAutoWhenDue (): void { this._auto?.sendWhenDue(this, this._host) }
}
