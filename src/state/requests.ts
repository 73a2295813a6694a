/**
 * Request bookkeeping: the pending requests of one direction.
 *
 * `list` is the public array (`wire.requests`, `wire.peerRequests`) in the order the
 * requests were made. Replies usually come in order: `pull` first looks at the oldest
 * request and takes it in O(1) without any index. The first reply that is not for the
 * oldest builds a map of (piece, offset) -> requests, kept up to date from then on until
 * the list is empty again, so matching stays O(1) however many are in flight and in
 * whatever order they are answered.
 *
 * Taking the oldest does not shift the array: V8 moves every element of a short array for
 * `shift()`, with a write barrier each when the array is old and its requests young (as a
 * long-lived wire's are), which costs more than the rest of a block's path (docs/benchmarks.md).
 * The taken ones are skipped (`_head`) and dropped together: all at once when none is left, else
 * 32 at a time. Reading `list` drops them first, so `wire.requests` is always exact; an array
 * kept from an earlier read sees new requests at once and answered ones leave its front 32 at a
 * time.
 */

import type { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'

/**
 * A request's callback: `(err, null)` when it failed (choked, cancelled, timed out, rejected, the
 * wire closed), `(null, block)` when the block arrived. After `if (err) return`, `block` is a Buffer.
 */
export type RequestCallback = (...args: [err: Error, block: null] | [err: null, block: Buffer]) => void

/**
 * What a request's `callback` becomes once it has run (the wire's `_callback` swaps it in, so no
 * request needs a field more). Plugins edit `wire.requests` from outside (lt_donthave removes
 * entries, then calls `wire._callback(req, err, null)`), so the (piece, offset) index may still hold
 * a request that is over: `pull` skips those, and no callback runs twice.
 */
export const CALLED: RequestCallback = function called () {}

export class Request {
  piece: number
  offset: number
  length: number
  callback: RequestCallback
  /** @internal RequestList's: the next request with the same (piece, offset) but another length (rare). */
  _same: Request | null = null

  constructor (piece: number, offset: number, length: number, callback: RequestCallback) {
    this.piece = piece
    this.offset = offset
    this.length = length
    this.callback = callback
  }
}

function keyOf (piece: number, offset: number): number | string {
  // exact as a number while piece * 2^32 + offset stays below 2^53
  return piece < 0x200000 ? piece * 0x100000000 + offset : piece + ':' + offset
}

/** Requests taken from the front that are dropped together (see the file comment). */
const COMPACT_AT = 32

export class RequestList {
  /** Pending requests from `_head` on, oldest first; those before `_head` are answered. */
  private readonly _list: Request[] = []
  private _head = 0
  private _map: Map<number | string, Request> | null = null

  /** The pending requests, oldest first (the very array each time). */
  get list (): Request[] {
    if (this._head !== 0) this._compact()
    return this._list
  }

  get length (): number {
    return this._list.length - this._head
  }

  add (req: Request): void {
    this._list.push(req)
    if (this._map !== null) this._index(this._map, req)
  }

  private _index (map: Map<number | string, Request>, req: Request): void {
    const key = keyOf(req.piece, req.offset)
    const head = map.get(key)
    if (head === undefined) map.set(key, req)
    else {
      let r = head
      while (r._same !== null) r = r._same
      r._same = req
    }
  }

  /**
   * Find and remove the pending request (piece, offset, length); null when there is none.
   * Requests whose callback already ran (see `CALLED`) are dropped on the way.
   */
  pull (piece: number, offset: number, length: number): Request | null {
    for (;;) {
      const req = this._take(piece, offset, length)
      if (req === null || req.callback !== CALLED) return req
    }
  }

  private _take (piece: number, offset: number, length: number): Request | null {
    let map = this._map
    if (map === null) {
      const list = this._list
      const head = list[this._head]
      if (head === undefined) return null
      if (head.piece === piece && head.offset === offset && head.length === length) {
        this._takeHead()
        return head
      }
      // out of order: index what is pending (once; kept up to date until the list empties)
      map = this._map = new Map()
      for (let i = this._head; i < list.length; i++) this._index(map, list[i])
    }
    const key = keyOf(piece, offset)
    let req = map.get(key)
    if (req === undefined) return null
    if (req.length === length) {
      if (req._same === null) map.delete(key)
      else { map.set(key, req._same); req._same = null }
    } else {
      let prev = req
      req = req._same ?? undefined
      while (req !== undefined && req.length !== length) { prev = req; req = req._same ?? undefined }
      if (req === undefined) return null
      prev._same = req._same
      req._same = null
    }
    this._removeFromList(req)
    return req
  }

  /**
   * Remove this very request (not just one with the same piece, offset and length: a peer
   * may ask for the same block twice). False when it is no longer pending.
   */
  remove (req: Request): boolean {
    const map = this._map
    if (map === null) {
      // no index: one scan (usually the head), then out of the list
      const list = this._list
      const i = list[this._head] === req ? this._head : list.indexOf(req, this._head)
      if (i === -1) return false
      if (i === this._head) this._takeHead()
      else list.splice(i, 1)
      return true
    } else {
      const key = keyOf(req.piece, req.offset)
      const head = map.get(key)
      if (head === undefined) return false
      if (head === req) {
        if (req._same === null) map.delete(key)
        else map.set(key, req._same)
      } else {
        let prev = head
        while (prev._same !== null && prev._same !== req) prev = prev._same
        if (prev._same !== req) return false
        prev._same = req._same
      }
      req._same = null
    }
    this._removeFromList(req)
    return true
  }

  /** Remove and return the oldest request. */
  shift (): Request | undefined {
    const req = this._list[this._head]
    if (req !== undefined) this.pull(req.piece, req.offset, req.length)
    return req
  }

  /** Remove every request, returning them oldest first. */
  clear (): Request[] {
    const all = this.list.splice(0, this._list.length)
    for (const r of all) r._same = null
    this._map = null
    return all
  }

  /** Remove the requests for which `keep` is false, returning them. */
  removeWhere (drop: (req: Request) => boolean): Request[] {
    const dropped: Request[] = []
    for (const req of this.list.slice()) {
      if (drop(req)) {
        this.remove(req)
        dropped.push(req)
      }
    }
    return dropped
  }

  /** The oldest pending request is answered: skip it, and drop the skipped ones now and then. */
  private _takeHead (): void {
    const list = this._list
    const head = ++this._head
    if (head === list.length) this._empty()
    else if (head >= COMPACT_AT) this._compact()
  }

  /** Nothing is pending: drop the answered ones, back to the index-free fast path. */
  private _empty (): void {
    const list = this._list
    // pop() keeps the array's storage for the next request; `length = 0` would drop it, and
    // a seeder usually holds one request at a time
    if (list.length <= 4) while (list.length !== 0) list.pop()
    else list.length = 0
    this._head = 0
    this._map = null
  }

  private _compact (): void {
    // splice, not copyWithin: V8's copyWithin is the generic, slower path
    this._list.splice(0, this._head)
    this._head = 0
  }

  private _removeFromList (req: Request): void {
    const list = this._list
    if (list[this._head] === req) { this._takeHead(); return }
    if (list[list.length - 1] === req) list.pop()
    else {
      const i = list.indexOf(req, this._head)
      if (i !== -1) list.splice(i, 1)
    }
    if (list.length === this._head) this._empty()
  }
}

/**
 * The request timeout (`wire.setTimeout(ms)`): runs while requests of ours are pending and the
 * peer is not choking us, and fires `expire` when no reply came for `ms`. Re-armed on every
 * reply, but only when that moves the deadline by more than 5 % (a timer per block costs more
 * than the request).
 */
export class RequestTimer {
  private _timer: ReturnType<typeof setTimeout> | null = null
  private _ms = 0
  private _unref = false
  private _expiresAt = 0

  constructor (private readonly _expire: () => void) {}

  get running (): boolean {
    return this._timer !== null
  }

  configure (ms: number, unref: boolean): void {
    this._ms = ms
    this._unref = unref
  }

  /** Run (from now) when `run`, else stop. */
  reset (run: boolean): void {
    if (!run || !this._ms) { this.stop(); return }
    const expiresAt = Date.now() + this._ms
    if (this._timer !== null) {
      if (expiresAt - this._expiresAt < this._ms * 0.05) return
      clearTimeout(this._timer)
    }
    this._expiresAt = expiresAt
    this._timer = setTimeout(() => { this._timer = null; this._expire() }, this._ms)
    if (this._unref) this._timer.unref?.()
  }

  stop (): void {
    if (this._timer !== null) clearTimeout(this._timer)
    this._timer = null
    this._expiresAt = 0
  }
}

/** What our requests need of their wire. */
export interface RequestsHost {
  readonly peerChoking: boolean
  readonly finished: boolean
  emit (event: 'timeout'): boolean
}

/**
 * Our requests to the peer: the pending list (`wire.requests`), each callback run once, the
 * request timeout, and failing them all (a choke without BEP 6, the wire closing). Made on a
 * wire's first request (or `setTimeout`): an idle wire holds none.
 */
export class OurRequests {
  readonly list = new RequestList()
  private _timer: RequestTimer | null = null

  constructor (private readonly _host: RequestsHost) {}

  add (req: Request): void {
    this.list.add(req)
    if (this._timer !== null && !this._timer.running) this._timer.reset(true)
  }

  /**
   * Run a request's callback, once (plugins run it too: lt_donthave, after removing the request
   * from `wire.requests` itself, calls `wire._callback`). The timeout runs on while requests are
   * pending and the peer is not choking us.
   */
  settle (req: Request, err: Error | null, block: Uint8Array | null): void {
    const callback = req.callback
    if (callback === CALLED) return
    req.callback = CALLED
    if (this._timer !== null) this._timer.reset(!this._host.peerChoking && !this._host.finished && this.list.length > 0)
    ;(callback as (err: Error | null, block: Uint8Array | null) => void)(err, block)
  }

  /** Fail every pending request, the newest first (as 3.5.5 does). */
  failAll (err: Error): void {
    for (const req of this.list.clear().reverse()) this.settle(req, err, null)
  }

  /** `wire.setTimeout(ms)`: fail the oldest pending request (and emit `timeout`) when no reply came for `ms`. */
  setTimeout (ms: number, unref: boolean): void {
    const timer = (this._timer ??= new RequestTimer(() => this.expire()))
    timer.configure(ms, unref)
    timer.reset(this.list.length > 0)
  }

  stop (): void {
    this._timer?.stop()
  }

  /** No reply in time: the oldest request fails, and 'timeout' is emitted. */
  expire (): void {
    const req = this.list.shift()
    if (req !== undefined) this.settle(req, new WireError(ErrorCodes.REQUEST_TIMEOUT, 'request has timed out'), null)
    this._host.emit('timeout')
  }
}
