/**
 * WireStream: the stream layer of a Wire, as libtorrent's peer_connection is to its
 * bt_peer_connection: bytes in, bytes out, the streams it is piped with, and how it ends. It
 * knows nothing of BitTorrent messages; the Wire (wire.ts) extends it and fills in the hooks at
 * the bottom (what a chunk of the peer's bytes means, what our own end and shutdown do).
 *
 * - In: `write` consumes a chunk at once when nothing waits on the writable side (see there);
 *   `_consume` hands it to `_onBytes`, decrypted once MSE agreed on RC4 (`_decrypt`), or to the
 *   MSE exchange while it runs (`_divert`), with the output batched meanwhile.
 * - Out: everything goes through the OutputQueue (io/output.ts): gathered, corked, encrypted,
 *   bounded by the send watermark; `_read` (the connection read us down) calls `_onOutputRead`.
 * - Piping: the streams we pipe into and those piped into us (io/connection.ts); the wire ends
 *   with its connection.
 * - Ending: `end()` and `destroy()` in 3.5.5's and 5.0.9's order of events; a protocol failure
 *   (`_failWith`) closes the connection at once and never throws at an application that
 *   attached no 'error' listener.
 */
import { Buffer } from 'buffer'
import stream from '../stream.js'
import randombytes from '../random.js'
import { debug } from '../log.js'
import { ErrorCodes, WireError, type ErrorCode } from '../errors.js'
import { OutputQueue } from './output.js'
import { addStream, hasStream, forEachStream, followConnection, closeDestinations, type Streams } from './connection.js'
import type { ConnectionTimeouts } from './timeouts.js'
import type { WireEvents } from '../types.js'

/**
 * Bytes written to us that may wait before write() asks the writer to wait for 'drain'. Our
 * _write consumes each chunk at once, so bytes wait only while a chunk is being processed (a
 * piped peer's replies), the wire is corked, or it holds back reading (state/extensions.ts):
 * then this bounds what the connection writes into us before it is paused. At the default
 * 16 KiB every 16 KiB block or socket chunk paused its source, and 'drain' resumed it a tick
 * later, a large part of the cost of a piped block (docs/benchmarks.md). At 128 KiB a whole
 * socket read (64 KiB) and the next one do not pause it.
 */
const WRITABLE_HIGH_WATER_MARK = 128 * 1024


const EMPTY = Buffer.alloc(0)
/** A short random id per wire in debug output, made only when debug output is on. */
const debugIds = new WeakMap<object, string>()

type PipeDest = NodeJS.WritableStream
type PipeSource = { unpipe?: (dest: any) => unknown }

type Listener<K extends keyof WireEvents> = (...args: WireEvents[K]) => void

// the EventEmitter methods, typed for the wire's events (types.ts): known names only; merged into the class
export interface WireStream {
  on<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  once<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  addListener<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  prependListener<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  prependOnceListener<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  off<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  removeListener<K extends keyof WireEvents> (event: K, listener: Listener<K>): this
  emit<K extends keyof WireEvents> (event: K, ...args: WireEvents[K]): boolean
}

export abstract class WireStream extends stream.Duplex {
  /** @internal The wire is shut down (ended, destroyed or failed): nothing more is sent or read. */
  _finished = false
  /** @internal The peer broke the protocol: its connection is destroyed rather than ended. */
  _protocolFailure = false
  /** @internal destroy() is ending the wire (see `destroy`). */
  _destroying = false
  /** @internal Inside `_consume`: a chunk written into us now waits in `_inbox`. */
  private _consuming = false
  /** @internal `end()` listens for 'finish' from its first call on. */
  private _finishListened = false
  /** @internal While an MSE exchange runs it takes the peer's bytes (mse/wire-adapter.ts). */
  _divert: ((chunk: Buffer) => void) | null = null
  /** @internal Once MSE agreed on RC4: the peer's bytes decrypted. */
  _decrypt: ((chunk: Buffer) => Buffer) | null = null
  /** @internal Streams we pipe into (io/connection.ts). */
  _dests: Streams<PipeDest> = null
  /** @internal Streams piped into us (`socket.pipe(wire)`): unpiped on a protocol failure, see `_failWith`. */
  private _sources: Streams<PipeSource> = null
  /** @internal Chunks written into us while we consume one (see `write`). */
  private _inbox: Buffer[] | null = null
  /** @internal handshakeTimeout / idleTimeout (io/timeouts.ts), when asked for. */
  _timers: ConnectionTimeouts | null = null
  /** @internal Everything we send goes through the output queue (io/output.ts). */
  readonly _out: OutputQueue

  /**
   * @internal 'close' from inside destroy(), as 3.5.5 emits it (see `destroy`); else
   * readable-stream emits it, after 'end' (or on the next tick after an error).
   */
  private readonly _closeInsideDestroy: boolean

  constructor (sendWatermark: number, closeInsideDestroy = false) {
    super({ writableHighWaterMark: WRITABLE_HIGH_WATER_MARK, emitClose: !closeInsideDestroy })
    this._closeInsideDestroy = closeInsideDestroy
    // readable-stream 3 gives every Writable a CorkedRequest, which only a stream with `_writev`
    // uses, to hand corked writes over in one call; a wire has no `_writev` (its corked writes are
    // consumed one by one), so it keeps none
    const self = this as unknown as { _writev?: unknown, _writableState: { corkedRequestsFree: unknown } }
    if (typeof self._writev !== 'function') self._writableState.corkedRequestsFree = null
    this._out = new OutputQueue(this, sendWatermark)
    // a prototype method as listener: no closure per wire ('finish' is listened for in `end`)
    this.on('pipe', this._onPipe)
  }

  // ---------------------------------------------------------------------------
  // What the Wire fills in

  /** @internal Bytes from the peer (decrypted), outside an MSE exchange. */
  protected abstract _onBytes (chunk: Buffer): void
  /** @internal Our own end() or destroy(): the protocol's state changes and their events. */
  protected abstract _onLocalEnd (): void
  /** @internal destroy() before those: fail what is pending with `err`. */
  protected abstract _onDestroying (err: Error): void
  /** @internal The connection read our output down (see `_read`). */
  protected abstract _onOutputRead (): void
  /** @internal The wire shuts down: stop the protocol's timers and state, fail what is pending with `err`. */
  protected abstract _onShutdown (err: Error): void
  /** @internal Whether the next write must wait (too much is held for the output to drain). */
  protected abstract _mustHoldWrite (): boolean
  /** @internal Keep `cb` (true) while `_mustHoldWrite`, to be called when reading may go on. */
  protected abstract _holdWrite (cb: () => void): boolean

  // ---------------------------------------------------------------------------
  // State


  /** Bytes we sent that the connection has not read yet (our readable side's buffer and what is gathered). */
  get outputBacklog (): number {
    return this._out.backlog
  }

  /** A short random id for debug output (5.x reads it), made on first use. */
  get _debugId (): string {
    let id = debugIds.get(this)
    if (id === undefined) debugIds.set(this, (id = randombytes(4).toString('hex')))
    return id
  }

  set _debugId (id: string) {
    debugIds.set(this, String(id))
  }

  /** @internal */
  _debug (fmt: string, ...args: unknown[]): void {
    debug('[' + this._debugId + '] ' + fmt, ...args)
  }

  // ---------------------------------------------------------------------------
  // Piping: the wire ends with its connection

  override pipe<T extends NodeJS.WritableStream> (dest: T, opts?: { end?: boolean }): T {
    this._dests = addStream(this._dests, dest)
    return super.pipe(dest, opts)
  }

  /**
   * pipe() unpipes us from a destination that closes, errors or finishes: one that is destroyed
   * (closed or errored) is our connection going, with no listener of our own per pipe() call.
   */
  override unpipe (dest?: any): this {
    super.unpipe(dest)
    if (dest != null && dest.destroyed === true) this._onConnectionGone()
    return this
  }

  /** @internal `socket.pipe(wire)`. */
  private _onPipe (src: PipeSource): void {
    if (hasStream(this._sources, src)) return
    this._sources = addStream(this._sources, src)
    // `socket.pipe(wire).pipe(socket)`: a source we also pipe into is followed through that pipe
    // (see `unpipe`); whether we do is known once the caller's statement is done
    process.nextTick(followSource, this, src)
  }

  /** @internal A source we do not pipe into: one bound function for its 'close' (and 'error'). */
  _followSource (src: PipeSource): void {
    if (hasStream(this._dests as Streams<unknown>, src) || this.destroyed) return
    followConnection(src, this._onConnectionGone.bind(this), src instanceof WireStream)
  }

  /** @internal */
  private _onConnectionGone (): void {
    if (this.destroyed) return
    // ending already (our end() or the peer's FIN): let 'end' and 'close' come as they do
    if (this._finished && !this._protocolFailure) { if (this.readableFlowing !== true) this.resume(); return }
    if (debug.enabled) this._debug('connection closed')
    this._shutdown(new WireError(ErrorCodes.WIRE_CLOSED, 'connection closed'))
    this.destroy()
  }

  // ---------------------------------------------------------------------------
  // In

  /**
   * A chunk written while nothing waits on our writable side is consumed at once, without
   * readable-stream's bookkeeping of a write (a process.nextTick per write() in readable-stream
   * 3): `_write` consumes every chunk synchronously, so nothing would wait anyway. A write with
   * a callback or an encoding, while corked, ending, destroyed, or with a write pending or held
   * back, takes the stream's own path. A write into us from inside our own processing (piped
   * in memory, the peer answers at once) waits in `_inbox` and is consumed right after.
   */
  override write (chunk: any, encoding?: any, cb?: any): boolean {
    const ws = (this as any)._writableState
    if (encoding !== undefined || cb !== undefined || ws.length !== 0 || ws.writing || ws.corked !== 0 || ws.ending ||
        ws.destroyed || !Buffer.isBuffer(chunk)) return super.write(chunk, encoding, cb)
    if (this._consuming) { (this._inbox ??= []).push(chunk); return true }
    this._consume(chunk)
    // too much waits for the output to drain: an empty write parks in `_write`, so the next
    // ones wait in the stream (and the connection is paused) until reading may go on
    if (!this._finished && this._mustHoldWrite()) super.write(EMPTY)
    return true
  }

  // also callable as 5.0.9's (streamx) `_write(chunk, cb)`: its test suite writes that way
  override _write (chunk: Buffer, encoding: string | ((err?: Error | null) => void), callback?: (err?: Error | null) => void): void {
    const cb = typeof encoding === 'function' ? encoding : callback!
    if (this._consuming) { (this._inbox ??= []).push(chunk); cb(); return }
    this._consume(chunk)
    // too much waits for the output to drain: stop reading from the connection (TCP holds the
    // peer back) until it is handed out, see `_read`
    if (!this._finished && this._holdWrite(cb)) return
    cb()
  }

  /** @internal Process bytes from the peer, then any written into us meanwhile. */
  private _consume (chunk: Buffer): void {
    this._consuming = true
    try {
      this._consumeOne(chunk)
      const inbox = this._inbox
      if (inbox !== null) for (let i = 0; i < inbox.length; i++) this._consumeOne(inbox[i])
    } finally {
      this._consuming = false
      if (this._inbox !== null) this._inbox.length = 0
    }
  }

  /** @internal */
  private _consumeOne (chunk: Buffer): void {
    if (this._finished) return
    if (this._timers !== null) this._timers.received()
    // What we send while this chunk is processed (replies to its requests...) leaves in as
    // few writes as possible: small messages are gathered (io/output.ts), and the streams
    // we pipe into are corked, so a socket sends the whole lot in one writev.
    const dests = this._dests
    const out = this._out
    const corked = out.beginBatch(dests as any)
    try {
      if (this._divert !== null) this._divert(chunk)
      else this._onBytes(this._decrypt === null ? chunk : this._decrypt(chunk))
    } finally {
      out.endBatch(dests as any, corked)
    }
  }

  // ---------------------------------------------------------------------------
  // Out

  /** The connection read our output down: hand out what waited for that, while the output stays under the watermark. */
  override _read (): void {
    if (this._out.onRead()) this._onOutputRead()
  }

  /** @internal Bytes for the peer that bypass encryption (the MSE exchange itself). */
  _pushRaw (data: Uint8Array): void {
    if (this._finished || this.destroyed) return
    this._out.sendRaw(data)
  }

  // ---------------------------------------------------------------------------
  // Ending

  override end (...args: any[]): this {
    // 'finish' only ever follows end(): listened for from here on, so an idle wire holds no
    // listener for it (put first, as it shuts the wire down before anyone else hears 'finish')
    if (!this._finishListened) {
      this._finishListened = true
      this.prependListener('finish', this._onFinish)
    }
    if (!this._finished && !this.destroyed && !this._destroying) {
      if (debug.enabled) this._debug('end')
      this._onLocalEnd()
    }
    return (super.end as any)(...args)
  }

  /**
   * As in 3.5.5 and 5.0.9, `destroy()` runs the state changes of `end()`: pending requests fail
   * (ERR_BT_WIRE_CLOSED), 'uninterested' and 'choke' are emitted, then 'finish', 'end' and
   * 'close' follow. With an error: the same state changes, then 'error' and 'close'. A wire that
   * already failed or ended is destroyed at once.
   *
   * A wire made with 3.5.5's constructor form is destroyed before destroy() returns and emits
   * 'close' then, as 3.5.5 does ('end' follows). WebTorrent 1.x relies on that: its rarity map
   * forgets a wire on 'close', and a 'close' that comes after the torrent (and so the map) was
   * destroyed makes it call removeListener with null, which throws. 5.0.9 emits 'close' later,
   * and code written for it may listen for 'close' after calling destroy(): other wires keep
   * 5.0.9's order.
   */
  override destroy (err?: Error | null): this {
    if (this.destroyed) return this
    // while destroy() ends the wire: the stream's own autoDestroy after 'end' (or a later call)
    // destroys it once 'finish' has shut it down; a second call before that changes nothing
    if (this._destroying) return this._finished ? super.destroy(err ?? undefined) : this
    if (this._finished) return super.destroy(err ?? undefined)
    this._destroying = true
    if (debug.enabled) this._debug('destroy %s', err?.message ?? '')
    this._onDestroying(err ?? new WireError(ErrorCodes.WIRE_CLOSED, 'wire was closed'))
    this._onLocalEnd()
    if (err != null) return super.destroy(err)
    this.end()
    // 'finish' came inside end() (were it still to come, `_onFinish` would destroy the wire)
    if (this._closeInsideDestroy && this._finished) super.destroy()
    return this
  }

  override _destroy (err: Error | null, cb: (err: Error | null) => void): void {
    if (debug.enabled) this._debug('destroy %s', err?.message ?? '')
    this._shutdown(err ?? new WireError(ErrorCodes.WIRE_CLOSED, 'wire was closed'))
    // a peer that broke the protocol gets its connection closed at once, and so does one that
    // left output unread when destroy() came (ending it would wait for a peer that may never
    // read); otherwise it is ended cleanly
    closeDestinations(this._dests, this._protocolFailure || (this._destroying && this._out.backlog > 0))
    this._dests = null
    cb(err)
    // 3.5.5's form: readable-stream does not emit 'close' (see the constructor); after an error,
    // behind the 'error' it emits on the next tick
    if (!this._closeInsideDestroy) return
    if (err === null) this.emit('close')
    else process.nextTick(() => this.emit('close'))
  }

  /** @internal */
  private _onFinish (): void {
    if (debug.enabled) this._debug('finish')
    this._shutdown(new WireError(ErrorCodes.WIRE_CLOSED, 'wire was closed'))
    this.push(null)
    // end(): what the connection has not read yet is handed to it now, as 3.5.5 does on
    // 'finish' (its own buffer holds it), so 'end' and 'close' follow even if the peer never reads
    if (!this._destroying) while (this.read() !== null);
    // nobody reads us: let 'end' (and so 'close') happen anyway
    if (this.readableFlowing !== true) this.resume()
    // destroy(): 'end' and 'close' follow within a few ticks; if unread output holds 'end' back
    // (a destination that does not read), the wire is destroyed anyway
    if (this._destroying) setTimeout(() => { if (!this.destroyed) super.destroy() }, 0)
  }

  /** @internal Stop everything: output, input, timers, the protocol's state; fail what is pending. */
  _shutdown (err: Error): void {
    if (this._finished) return
    this._out.close()
    this._finished = true
    this._divert = null
    this._decrypt = null
    this._onShutdown(err)
    this._timers?.stop()
  }

  /** @internal A protocol violation by the peer: close the wire with a coded error. */
  _fail (code: ErrorCode, message: string): void {
    this._failWith(new WireError(code, message))
  }

  /** @internal */
  _failWith (err: WireError): void {
    if (this.destroyed) return
    if (debug.enabled) this._debug('protocol error %s: %s', err.code, err.message)
    this._protocolFailure = true
    this._shutdown(err)
    // `src.pipe(wire)` listens for 'error' on us and rethrows when its listener is the only one:
    // that listener is not the application's. Unpipe such sources first (their listener goes).
    const sources = this._sources
    this._sources = null
    forEachStream(sources, src => src.unpipe?.(this))
    // A remote peer must never crash a process that attached no 'error' listener.
    if (this.listenerCount('error') > 0) this.destroy(err)
    else this.destroy()
  }
}

function followSource (wire: WireStream, src: PipeSource): void {
  wire._followSource(src)
}
