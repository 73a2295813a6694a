/**
 * WireCore: the protocol state of a Wire and what the peer's messages do. Between the stream
 * layer below (io/wire-stream.ts: bytes in and out, piping, ending) and the public API above
 * (wire.ts: what an application calls). The reader (protocol/reader.ts) frames the peer's bytes
 * and calls the ReaderSink methods here; `_onMessage` is the dispatch switch, one small handler
 * per message (libtorrent's bt_peer_connection has the same shape), each checking what it reads
 * and failing the wire with a coded WireError. The state of each concern lives in its module,
 * made on first use: our requests (state/requests.ts), serving the peer's (state/serving.ts),
 * BEP 6 (state/fast.ts), BEP 10 (state/extensions.ts), BEP 52 (state/hashes.ts), MSE (mse/).
 * Those modules reach the wire only through its WireHost (the Host class at the bottom).
 */
import { Buffer } from 'buffer'
import { PeerPieces, HaveAllBitField, type BitField } from './bitfield.js'
import type { WireType, WireOptions, PeerExtensions } from './types.js'
import { debug } from './log.js'
import speedometer from 'speedometer'
import * as codec from './protocol/codec.js'
import { MessageId, u32, type ReservedBitName } from './protocol/codec.js'
import { ErrorCodes, WireError } from './errors.js'
import { Extensions, OurExtensions, ourExtendedHandshake } from './state/extensions.js'
import { MessageReader, SECOND_HANDSHAKE, type ReaderSink } from './protocol/reader.js'
import { OurRequests } from './state/requests.js'
import { Serving, type Respond } from './state/serving.js'
import { FastState, fastOnly, type AutoAllowedFastFn } from './state/fast.js'
import { WireStream, FIRST_FREE_FLAG } from './io/wire-stream.js'
import { ConnectionTimeouts } from './io/timeouts.js'
import { wireSettings, wouldRunMse, type WireLimits } from './options.js'
import type { WireHost } from './io/host.js'
import { HashMessages } from './state/hashes.js'
import type { MseSupport, WireEncryption } from './mse/types.js'

/** @internal */
export const NO_MSE = 'message stream encryption is not available in this build'

// Bits of `_flags` of ours (io/wire-stream.ts has the first ones)
/** @internal */
export const F_HANDSHAKE_SENT = FIRST_FREE_FLAG
/** @internal */
export const F_HANDSHAKE_RECEIVED = FIRST_FREE_FLAG << 1
/** @internal */
export const F_EXTENDED_HANDSHAKE_SENT = FIRST_FREE_FLAG << 2

export abstract class WireCore extends WireStream {
  /** Remote peer id (hex). */
  peerId: string | null = null
  type: WireType
  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  hasFast = false
  uploaded = 0
  downloaded = 0

  /** @internal */ _reader: MessageReader<WireLimits>

  /** @internal */ _uploadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ _downloadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ _keepAliveInterval: ReturnType<typeof setInterval> | null = null
  // Created on first use: an idle wire may never need them.
  /** @internal Our requests (state/requests.ts), made on the first. */ _ours: OurRequests | null = null
  /** @internal Serving the peer's requests (state/serving.ts), made on its first. */ _serving: Serving | null = null
  /** @internal BEP 10 state (state/extensions.ts). */
  _ext: Extensions | null = null
  /**
   * @internal The named reserved bits (codec.NamedBit) we announced (bits 0-8) and the peer
   * announced (bits 9-17): `extensions` and `peerExtensions` are made from them when read.
   */
  _bits = 0
  /** @internal The handshakes' values as objects, once read or set (or the peer's unnamed reserved bits). */
  _views: HandshakeViews | null = null
  /** @internal */ _peerPieces: BitField | HaveAllBitField | null = null
  /** @internal BEP 6 allowed-fast sets (state/fast.ts), made on first use. */
  _fast: FastState | null = null
  /** @internal What helper modules reach the wire through (io/host.ts), made on first use. */
  private _wireHost: WireHost | null = null
  /** @internal Message stream encryption (mse/wire-adapter.ts), on a wire that encrypts. */
  _mse: WireEncryption | null = null
  /** @internal BEP 52 hash messages (hashes.ts), created on first use. */
  _hashMessages: HashMessages | null = null

  /** @internal The Node entry's subclass gives the `allowedFast` option (state/allowed-fast.ts: SHA-1 from node:crypto); null in browser builds. */
  static _autoAllowedFast: AutoAllowedFastFn | null = null

  /** @internal The Node entry's subclass gives MSE (node:crypto); null in browser builds. */
  static _mseSupport: MseSupport | null = null

  /** Whether RC4 comes from Node's OpenSSL (else a JavaScript RC4 runs), as in 5.x. False in browser builds. */
  static nativeRC4 = false

  /** See options.ts for the four forms (3.5.5's, 5.x's, an options object, none). */
  constructor (type: WireType | WireOptions = null, retries?: number, peEnabled?: boolean) {
    const o = wireSettings(type, retries, peEnabled)
    super(o.sendWatermark)
    this.type = o.type
    const ctor = this.constructor as typeof WireCore
    if (o.allowedFast !== undefined) {
      if (ctor._autoAllowedFast === null) throw new Error('the allowed-fast set (SHA-1) is not available in this build')
      this._fast = new FastState(this._host(), ctor._autoAllowedFast(o.allowedFast))
    }
    this._reader = new MessageReader(this, o.limits, true)
    if (debug.enabled) this._debug('new wire type=%s', this.type)
    if (o.handshakeTimeout !== 0 || o.idleTimeout !== 0) this._timers = new ConnectionTimeouts(o.handshakeTimeout, o.idleTimeout, (code, message) => this._fail(code, message))
    const mse = o.encryption
    if (mse !== null && ctor._mseSupport !== null) this._mse = ctor._mseSupport.attach(this._host(), mse)
    else if (mse !== null && wouldRunMse(this.type, mse)) throw new Error(NO_MSE)
  }



  // The limits from the options (options.ts: one object the wires made alike share)
  /** The longest message (its length prefix) accepted from the peer. */
  get maxMessageLength (): number { return this._reader.limits.maxMessageLength }
  /** The most pieces the peer's bitfield and piece indices may name. */
  get maxPieces (): number { return this._reader.limits.maxPieces }
  /** The peer's pending requests past which its requests are refused. */
  get maxPeerRequests (): number { return this._reader.limits.maxPeerRequests }
  /** Requests of 0 bytes or over 128 KiB the peer may send before the wire closes. */
  get maxInvalidRequests (): number { return this._reader.limits.maxInvalidRequests }

  /** What we announced in our handshake, by name ({} before it). */
  get extensions (): Record<string, boolean> {
    return (this._view().ourNamed ??= (this._flags & F_HANDSHAKE_SENT) !== 0 ? codec.namedBitsObject(this._bits & 511) : {})
  }

  set extensions (value: Record<string, boolean>) { this._view().ourNamed = value }

  /** What the peer announced in its handshake: its reserved bits by name ({} before it). */
  get peerExtensions (): Partial<PeerExtensions> {
    return (this._view().peerNamed ??= (this._flags & F_HANDSHAKE_RECEIVED) !== 0 ? codec.namedBitsObject(this._bits >>> 9) : {})
  }

  set peerExtensions (value: Partial<PeerExtensions>) { this._view().peerNamed = value }

  /** @internal One of our named bits, as `extensions[name]` reads (that object, once made or set). */
  _ourBit (name: ReservedBitName): boolean | undefined {
    const o = this._views?.ourNamed
    return o != null ? o[name] : (this._bits & codec.NamedBit[name]) !== 0
  }

  /** @internal One of the peer's named bits, as `peerExtensions[name]` reads. */
  _peerBit (name: ReservedBitName): boolean | undefined {
    const o = this._views?.peerNamed
    return o != null ? o[name] : ((this._bits >>> 9) & codec.NamedBit[name]) !== 0
  }

  /** @internal Our handshake announced these NamedBit flags. */
  _setOurBits (bits: number): void {
    this._bits = (this._bits & ~511) | bits
    if (this._views !== null) this._views.ourNamed = null
  }

  /** @internal */ _requests (): OurRequests { return (this._ours ??= new OurRequests(this._host())) }
  /** @internal */ _serve (): Serving { return (this._serving ??= new Serving(this._host(), this._out)) }
  /** @internal */ _fastState (): FastState { return (this._fast ??= new FastState(this._host(), null)) }
  /** @internal */ _extensions (): Extensions { return (this._ext ??= new Extensions()) }
  /** @internal */ _view (): HandshakeViews { return (this._views ??= new HandshakeViews()) }

  /** @internal Our side of BEP 10 (plugins, our ids and handshake fields): the state grows into OurExtensions, once. */
  _ourExtensions (): OurExtensions { const ext = this._ext; return ext instanceof OurExtensions ? ext : (this._ext = new OurExtensions(ext)) }

  /** Our current upload speed in bytes/s. */
  uploadSpeed (delta?: number): number { this._uploadSpeed ??= speedometer(); return this._uploadSpeed(delta) }

  /** Our current download speed in bytes/s. */
  downloadSpeed (delta?: number): number { this._downloadSpeed ??= speedometer(); return this._downloadSpeed(delta) }


  // ---------------------------------------------------------------------------
  // The stream layer's hooks (io/wire-stream.ts)

  /** @internal */ protected _onBytes (chunk: Buffer): void { this._reader.write(chunk) }

  /**
   * @internal Our own end, as 3.5.5 and 5.0.9 have it: the peer counts as not interested and
   * choking from now on, with the 'uninterested' and 'choke' events (pending requests fail).
   * The connection is no longer held back for plugins (state/extensions.ts): the wire finishes.
   */
  protected _onLocalEnd (): void { this._onNotInterested(); this._onChoke(); this._ext?.endHolding() }

  /** @internal */ protected _onDestroying (err: Error): void { this._ours?.failAll(err) }

  /** @internal The output drained: the peer's waiting requests, then its held extended messages. */
  protected _onOutputRead (): void {
    const serving = this._serving
    if (serving !== null && serving.waiting) serving.release()
    if (this._ext !== null && this._ext.holding) this._ext.release(this._hostForCall())
    if (this._finished) return
    if (this._out.open()) this.emit('output-drain')
  }

  /** @internal */ protected _onShutdown (err: Error): void {
    this._reader.stop()
    this._mse?.destroy()
    if (this._keepAliveInterval !== null) clearInterval(this._keepAliveInterval)
    this._keepAliveInterval = null
    this._serving?.clear()
    if (this._ext !== null) this._ext.shutdown()
    this._ours?.failAll(err)
    this._hashMessages?.clear(err)
    this._ours?.stop()
  }

  /** @internal Too many of the peer's extended messages wait for the output (state/extensions.ts). */
  protected _mustHoldWrite (): boolean { return this._ext !== null && this._ext.mustHoldWrite }
  /** @internal */ protected _holdWrite (cb: () => void): boolean { return this._ext !== null && this._ext.holdWrite(cb) }

  /** @internal Queue bytes for the peer (io/output.ts gathers, encrypts and bounds them). */
  _push (data: Uint8Array): void {
    if (this._finished || this.destroyed) return
    if (this._mse !== null && this._mse.holding) { this._mse.hold(data); return }
    this._out.send(data)
  }

  // ---------------------------------------------------------------------------
  // Incoming (ReaderSink)

  /** @internal */ _onReadError (err: WireError): void { this._failWith(err) }
  /** @internal */ _onKeepAlive (): void { this.emit('keep-alive') }
  /** @internal */ _onHandshakeBytes (buf: Buffer, off: number): void {
    // views will do: all three are only read (into hex strings and the decoded bits) before
    // anything else runs, and nothing keeps them
    this._onHandshake(buf.subarray(off + 28, off + 48), buf.subarray(off + 48, off + 68), buf.subarray(off + 20, off + 28))
  }

  /** @internal */ _onHandshake (infoHashBuffer: Buffer, peerIdBuffer: Buffer, reserved: Buffer): void {
    if ((this._flags & F_HANDSHAKE_RECEIVED) !== 0) {
      this._fail(ErrorCodes.DUPLICATE_HANDSHAKE, SECOND_HANDSHAKE)
      return
    }
    this._flags |= F_HANDSHAKE_RECEIVED
    const infoHash = infoHashBuffer.toString('hex')
    const peerId = peerIdBuffer.toString('hex')
    const named = codec.namedBits(reserved)
    this.peerId = peerId
    // most peers set named bits only: then nothing more is kept (a copy: `reserved` is a view of the chunk)
    const raw = codec.encodeNamedBits(named).equals(reserved) ? null : Buffer.from(reserved)
    if (raw !== null || this._views !== null) {
      const v = this._view()
      v.idBytes = null // made from peerId when read
      v.rawReserved = raw
      v.peerNamed = null
    }
    this._bits = (this._bits & 511) | (named << 9)
    if (debug.enabled) this._debug('got handshake i=%s p=%s exts=%o', infoHash, peerId, codec.namedBitsObject(named))
    if (this._ourBit('fast') && this._peerBit('fast')) this.hasFast = true
    this._timers?.handshakeDone()
    // the decoded bits are made for those who hear of them, and not kept: `peerExtensions` is
    // made again when read (an equal object, not the same one), 96 bytes per wire otherwise
    const ext = this._ext
    const extensions = ext !== null || this.listenerCount('handshake') > 0 ? codec.namedBitsObject(named) as PeerExtensions : null
    if (extensions !== null) this.emit('handshake', infoHash, peerId, extensions)
    if (this._finished) return
    if (ext !== null && !ext.onHandshake(this._hostForCall(), infoHash, peerId, extensions)) return
    if (this._peerBit('extended') && (this._flags & F_HANDSHAKE_SENT) !== 0 && this._ourBit('extended') && (this._flags & F_EXTENDED_HANDSHAKE_SENT) === 0) {
      this._sendExtendedHandshake()
    }
    this._fast?.sendAutoWhenDue()
  }

  /** @internal */ _onMessage (id: number, buf: Buffer, start: number, end: number): void {
    switch (id) {
      case MessageId.CHOKE: return this._onChoke()
      case MessageId.UNCHOKE: return this._onUnchoke()
      case MessageId.INTERESTED: return this._onInterested()
      case MessageId.NOT_INTERESTED: return this._onNotInterested()
      case MessageId.HAVE: return this._onHave(u32(buf, start))
      case MessageId.BITFIELD: return this._onBitfield(buf, start, end)
      case MessageId.REQUEST: return this._serve().onRequest(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.CANCEL: return this._onCancel(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.PORT: return this._onPort((buf[start] << 8) | buf[start + 1])
      case MessageId.SUGGEST: return this._onSuggest(u32(buf, start))
      case MessageId.HAVE_ALL: return this._onHaveAll()
      case MessageId.HAVE_NONE: return this._onHaveNone()
      case MessageId.REJECT: return this._onReject(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.ALLOWED_FAST: return this._fastState().onAllowedFast(u32(buf, start))
      case MessageId.EXTENDED: return this._extensions().onMessage(this._hostForCall(), buf[start], buf.subarray(start + 1, end))
      case MessageId.HASH_REQUEST:
        return this._hashMessagesOn() ? this._hashes().onRequest(buf, start) : this._onUnknown(id, buf, start, end)
      case MessageId.HASHES:
        return this._hashMessagesOn() ? this._hashes().onHashes(buf, start, end) : this._onUnknown(id, buf, start, end)
      case MessageId.HASH_REJECT:
        return this._hashMessagesOn() ? this._hashes().onReject(buf, start) : this._onUnknown(id, buf, start, end)
      default: return this._onUnknown(id, buf, start, end)
    }
  }

  /** @internal */ _onUnknown (id: number, buf: Buffer, start: number, end: number): void {
    if (debug.enabled) this._debug('got unknown message id=%d', id)
    const msg = Buffer.allocUnsafe(1 + end - start)
    msg[0] = id
    msg.set(buf.subarray(start, end), 1)
    this.emit('unknownmessage', msg)
  }

  /** @internal */ private _onChoke (): void {
    this.peerChoking = true
    this.emit('choke')
    if (!this.hasFast) {
      const err = new WireError(ErrorCodes.PEER_CHOKED, 'peer is choking')
      this._ours?.failAll(err)
    }
  }

  /** @internal */ private _onUnchoke (): void { this.peerChoking = false; this.emit('unchoke') }

  /** @internal */ private _onInterested (): void { this.peerInterested = true; this.emit('interested') }

  /** @internal */ private _onNotInterested (): void { this.peerInterested = false; this.emit('uninterested') }

  /** @internal */ _checkIndex (index: number, what: string): boolean {
    if (index < this.maxPieces) return true
    this._fail(ErrorCodes.PIECE_INDEX_OUT_OF_RANGE, `${what} for piece ${index}, beyond the ${this.maxPieces} pieces this wire accepts`)
    return false
  }

  /** @internal */ private _onHave (index: number): void {
    if (!this._checkIndex(index, 'have')) return
    const pieces = this._pieces()
    if (pieces.get(index)) return
    pieces.set(index, true)
    this.emit('have', index)
  }

  /** @internal */ private _onBitfield (buf: Buffer, start: number, end: number): void {
    // a copy: the bitfield lives on and is changed by later `have`s
    const bytes = Buffer.allocUnsafe(end - start)
    bytes.set(buf.subarray(start, end))
    this._peerPieces = new PeerPieces(bytes, this.maxPieces)
    this.emit('bitfield', this._peerPieces)
  }

  /** @internal */ _onPiece (index: number, offset: number, block: Buffer): void {
    const ours = this._ours
    const req = ours !== null ? ours.list.pull(index, offset, block.length) : null
    if (req !== null) ours!.settle(req, null, block)
    this.downloaded += block.length
    this.downloadSpeed(block.length)
    this.emit('download', block.length)
    this.emit('piece', index, offset, block)
  }

  /** @internal */ private _onCancel (index: number, offset: number, length: number): void {
    // any length: a cancel only removes what is pending (a request of a bad length never is)
    if (!this._checkIndex(index, 'cancel')) return
    this._serving?.pull(index, offset, length)
    this.emit('cancel', index, offset, length)
  }

  /** @internal */ private _onPort (port: number): void { this.emit('port', port) }

  /** @internal */ private _fastOnly (what: string): boolean { return this.hasFast || fastOnly(this._host(), what) }

  /** @internal */ private _onSuggest (index: number): void {
    if (!this._fastOnly('suggest') || !this._checkIndex(index, 'suggest')) return
    this.emit('suggest', index)
  }

  /** @internal */ private _onHaveAll (): void {
    if (!this._fastOnly('have-all')) return
    this._peerPieces = new HaveAllBitField()
    this.emit('have-all')
  }

  /** @internal */ private _onHaveNone (): void {
    if (!this._fastOnly('have-none')) return
    this._peerPieces = new PeerPieces(0, this.maxPieces)
    this.emit('have-none')
  }

  /** @internal */ private _onReject (index: number, offset: number, length: number): void {
    // any length: a reject only fails what we asked for (code may request 0 bytes of itself)
    if (!this._fastOnly('reject') || !this._checkIndex(index, 'reject')) return
    const ours = this._ours
    const req = ours !== null ? ours.list.pull(index, offset, length) : null
    if (req !== null) ours!.settle(req, new WireError(ErrorCodes.REQUEST_REJECTED, 'request was rejected'), null)
    this.emit('reject', index, offset, length)
  }

  // ---------------------------------------------------------------------------
  // Helpers

  /** @internal */ _sendExtendedHandshake (): void {
    this.extended(0, ourExtendedHandshake(this._ext))
    this._flags |= F_EXTENDED_HANDSHAKE_SENT
  }

  /** @internal The WireHost of this wire: helper modules reach it only through this. */
  _host (): WireHost { return (this._wireHost ??= new Host(this)) }

  /**
   * @internal A WireHost for one call into a module that keeps none (state/extensions.ts): the
   * wire's own if it has one, else a passing one (32 bytes, young garbage), so a wire that only
   * exchanged extended handshakes holds no host.
   */
  _hostForCall (): WireHost { return this._wireHost ?? new Host(this) }


  /** @internal */ _hashes (): HashMessages { return (this._hashMessages ??= new HashMessages(this._host())) }

  /** @internal
   * Whether BEP 52 hash messages are ours to handle: either side set the v2 bit, or the
   * application uses them (a `hash-request` listener, or hash messages of its own). libtorrent
   * exchanges them on v2 torrents without setting the bit, so the bit alone is not enough; for
   * everyone else, ids 21-23 stay `unknownmessage` as in 3.5.5 and nothing is sent back.
   */
  private _hashMessagesOn (): boolean {
    return this._hashMessages !== null || this._ourBit('v2') === true || this._peerBit('v2') === true ||
      this.listenerCount('hash-request') > 0
  }

  /** @internal What the peer has (made on first use). */
  _pieces (): BitField | HaveAllBitField { return (this._peerPieces ??= new PeerPieces(0, this.maxPieces)) }

  /** Send a block (wire.ts). */
  abstract piece (index: number, offset: number, buffer: Uint8Array): void
  /** Send an extended message (wire.ts). */
  abstract extended (ext: string | number, obj: unknown): void
}


/**
 * The handshakes' values as the objects 3.5.5 kept (`peerIdBuffer`, `peerReserved`, `extensions`,
 * `peerExtensions`), made when first read or set: most wires never need them, and these are one
 * field of the wire rather than four. Once made or set, each is what the wire reads.
 */
class HandshakeViews {
  /** `peerIdBuffer` */
  idBytes: Buffer | null = null
  /** `peerReserved`: the peer's 8 reserved bytes when they hold more than its named bits (else made from those when read). */
  rawReserved: Buffer | null = null
  /** `extensions` */
  ourNamed: Record<string, boolean> | null = null
  /** `peerExtensions` */
  peerNamed: Partial<PeerExtensions> | null = null
}

/** The WireHost of one wire (io/host.ts): one small object, its methods on the prototype. */
class Host implements WireHost {
  constructor (private readonly _w: WireCore) {}
  send (data: Uint8Array): void { this._w._push(data) }
  sendRaw (data: Uint8Array): void { this._w._pushRaw(data) }
  // past REJECT_BACKLOG bytes of unread output refusals are dropped, not queued (io/output.ts)
  sendRefusal (data: Uint8Array): void { if (this._w._out.refusalFits()) this._w._push(data) }
  divert (fn: ((chunk: Buffer) => void) | null): void { this._w._incoming = fn === null ? null : chunk => { fn(chunk); return undefined } }
  feed (chunk: Buffer): void { if (!this._w._finished) this._w._reader.write(chunk) }
  setCiphers (encrypt: (data: Uint8Array) => Buffer, decrypt: (data: Uint8Array) => Buffer): void {
    this._w._out.cipher = encrypt
    this._w._incoming = decrypt
  }

  fail (err: WireError): void { this._w._failWith(err) }
  emit (event: string | symbol, ...args: any[]): boolean { return this._w.emit(event as any, ...args) }
  listenerCount (event: string | symbol): number { return this._w.listenerCount(event) }
  get finished (): boolean { return this._w._finished }
  get destroyed (): boolean { return this._w.destroyed }
  get maxPeerRequests (): number { return this._w.maxPeerRequests }
  countDropped (): void { this._w._serve().dropped++ }
  get type (): string | null { return this._w.type }
  get peerChoking (): boolean { return this._w.peerChoking }
  get outputOpen (): boolean { return this._w._out.open() }
  get amChoking (): boolean { return this._w.amChoking }
  get hasFast (): boolean { return this._w.hasFast }
  get maxInvalidRequests (): number { return this._w.maxInvalidRequests }
  checkIndex (index: number, what: string): boolean { return this._w._checkIndex(index, what) }
  allowsFast (index: number): boolean { const w = this._w; return w.hasFast && w._fast !== null && w._fast.allowed.includes(index) }
  sendPiece (index: number, offset: number, block: Uint8Array): void { this._w.piece(index, offset, block) }
  emitRequest (index: number, offset: number, length: number, respond: Respond): void { this._w.emit('request', index, offset, length, respond) }
  debug (fmt: string, ...args: unknown[]): void { if (debug.enabled) this._w._debug(fmt, ...args) }
}
