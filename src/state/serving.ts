/**
 * Serving the peer's requests (our upload side): the queue of its pending requests
 * (`wire.peerRequests`), the 'request' event with its `respond` callback, the send watermark,
 * and BEP 6 rejects.
 *
 * A request from the peer is
 * - refused when it asks for 0 bytes or more than MAX_BLOCK_LENGTH (128 KiB), and counted
 *   (`invalidPeerRequests`): past `maxInvalidRequests` of them the wire fails, as libtorrent
 *   disconnects a peer past 300;
 * - refused while we choke the peer, unless BEP 6 lets it ask for that piece (our allowed-fast set);
 * - refused when `maxPeerRequests` of its requests are pending (counted: `droppedPeerRequests`);
 * - else queued and handed to the application as 'request' (piece, offset, length, respond):
 *   `respond(null, block)` sends the block, `respond(err)` a reject under BEP 6 (nothing without it).
 * Refused means rejected under BEP 6 (a reject message tells the peer its request will not be
 * served), through `sendRefusal`, which drops rejects once the peer leaves too much of our output
 * unread; without BEP 6 the request is dropped silently, as BEP 3 has no reject.
 *
 * The send watermark (io/output.ts): while our unread output plus the bytes of requests handed out
 * and not answered yet (`committed`) is at or over it, a new request waits in the queue (capped,
 * cancelable, rejected on choke like any other); its 'request' event comes from `release()`, which
 * the wire calls from the stream's `_read` once the connection has read our output down.
 *
 * When we choke the peer, BEP 6 has us reject every pending request but those for pieces in the
 * allowed-fast set (a MUST); without BEP 6 they are forgotten (BEP 3: a choke discards them).
 *
 * Made on the peer's first request: an idle wire holds none.
 */
import { MessageId, MAX_BLOCK_LENGTH, encodeBlock } from '../protocol/codec.js'
import { ErrorCodes, WireError } from '../errors.js'
import { Request, RequestList, type RequestCallback } from './requests.js'
import type { OutputQueue } from '../io/output.js'

/** The application's answer to one of the peer's requests. */
export type Respond = (err: Error | null, block?: Uint8Array) => void

/** What serving needs of its wire (WireHost has all of it). */
export interface ServingHost {
  readonly amChoking: boolean
  /** Both sides announced BEP 6 in their handshakes. */
  readonly hasFast: boolean
  readonly finished: boolean
  readonly maxPeerRequests: number
  readonly maxInvalidRequests: number
  /** Whether `index` is in range for this wire; else the wire fails, naming `what`. */
  checkIndex (index: number, what: string): boolean
  /** Whether BEP 6 lets the peer request `index` while we choke it (fast on, and in our allowed-fast set). */
  allowsFast (index: number): boolean
  send (data: Uint8Array): void
  sendRefusal (data: Uint8Array): void
  /** Send a block (`wire.piece`: counted as uploaded, 'upload' event). */
  sendPiece (index: number, offset: number, block: Uint8Array): void
  /** The 'request' event. */
  emitRequest (index: number, offset: number, length: number, respond: Respond): void
  fail (err: WireError): void
  debug (fmt: string, ...args: unknown[]): void
}

/** The callback of a queued request whose 'request' event has not been emitted yet (it waits for the output to drain). */
const WAITING: RequestCallback = function waiting () {}

export class Serving {
  /** The peer's pending requests, oldest first. */
  readonly requests = new RequestList()
  /** Requests refused because `maxPeerRequests` were pending (`wire.droppedPeerRequests`). */
  dropped = 0
  /** Requests of 0 bytes or over MAX_BLOCK_LENGTH (`wire.invalidPeerRequests`). */
  invalid = 0
  /** Some queued requests may wait for the output to drain: the wire calls `release()` when it has. */
  waiting = false

  constructor (private readonly _host: ServingHost, private readonly _out: OutputQueue) {}

  /** The peer's request message. */
  onRequest (index: number, offset: number, length: number): void {
    const host = this._host
    if (!host.checkIndex(index, 'request')) return
    if (length === 0 || length > MAX_BLOCK_LENGTH) { this._onInvalid(index, offset, length); return }
    if (host.amChoking && !host.allowsFast(index)) {
      if (host.hasFast) this._refuse(index, offset, length)
      return
    }
    const requests = this.requests
    if (requests.length >= host.maxPeerRequests) {
      this.dropped++
      if (host.hasFast) this._refuse(index, offset, length)
      return
    }
    const req = new Request(index, offset, length, WAITING)
    requests.add(req)
    // over the watermark (or behind requests that are): the 'request' event waits for `release`
    if (this.waiting || !this._out.open()) {
      this.waiting = true
      return
    }
    this._emit(req)
  }

  /** The output drained: emit the waiting requests, oldest first, while it stays under the watermark. */
  release (): void {
    // a copy: answers given inside the event take requests out of the list
    const pending = this.requests.list.slice()
    for (let i = 0; i < pending.length; i++) {
      const req = pending[i]
      if (req.callback !== WAITING) continue
      if (this._host.finished || !this._out.open()) return
      this._emit(req)
    }
    this.waiting = false
  }

  /** The application answered `req` (through its `respond`): a block, or an error (a reject under BEP 6). */
  respond (req: Request, err: Error | null, block: Uint8Array | undefined): void {
    // answered already, cancelled, rejected, dropped by a choke, or the wire closed
    if (!this.requests.remove(req)) return
    this._out.committed -= req.length
    const host = this._host
    if (err || block === undefined || block === null) {
      host.debug('error satisfying request index=%d offset=%d length=%d (%s)', req.piece, req.offset, req.length, err?.message)
      if (host.hasFast) host.send(reject(req))
      return
    }
    host.sendPiece(req.piece, req.offset, block)
  }

  /** A pending request leaves unanswered: the peer cancelled it, or we rejected it (`wire.reject`). */
  pull (index: number, offset: number, length: number): void {
    const req = this.requests.pull(index, offset, length)
    if (req !== null) this._forget(req)
  }

  /** We choked the peer. */
  onChoke (): void {
    const host = this._host
    if (host.hasFast) {
      for (const req of this.requests.removeWhere(r => !host.allowsFast(r.piece))) {
        this._forget(req)
        host.send(reject(req))
      }
    } else {
      this.requests.clear()
      this._out.committed = 0
    }
  }

  /** The wire shut down: the pending requests are forgotten (their `respond` does nothing now). */
  clear (): void {
    this.requests.clear()
  }

  /** Hand a queued request to the application, with the one closure it needs: `respond` must name its request. */
  private _emit (req: Request): void {
    const respond = responder(this, req)
    // the request's callback slot holds its respond function while the application has it
    req.callback = respond as unknown as Request['callback']
    this._out.committed += req.length
    this._host.emitRequest(req.piece, req.offset, req.length, respond)
  }

  /** A request handed out and never answered no longer counts against the watermark. */
  private _forget (req: Request): void {
    if (req.callback !== WAITING) this._out.committed -= req.length
  }

  private _onInvalid (index: number, offset: number, length: number): void {
    const host = this._host
    if (++this.invalid > host.maxInvalidRequests) {
      host.fail(new WireError(ErrorCodes.REQUEST_TOO_LARGE, `more than ${host.maxInvalidRequests} requests of 0 bytes or over ${MAX_BLOCK_LENGTH} (last: ${length} bytes)`))
      return
    }
    host.debug('refusing request index=%d offset=%d length=%d', index, offset, length)
    if (host.hasFast) this._refuse(index, offset, length)
  }

  /** Refuse a request that was never queued (BEP 6 reject, bounded by `sendRefusal`). */
  private _refuse (index: number, offset: number, length: number): void {
    this._host.sendRefusal(encodeBlock(MessageId.REJECT, index, offset, length))
  }
}

function reject (req: Request): Uint8Array {
  return encodeBlock(MessageId.REJECT, req.piece, req.offset, req.length)
}

function responder (serving: Serving, req: Request): Respond {
  return (err, block) => serving.respond(req, err, block)
}
