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
import { Extensions, ourExtendedHandshake } from './state/extensions.js'
import { MessageReader, SECOND_HANDSHAKE, type ReaderSink } from './protocol/reader.js'
import { OurRequests } from './state/requests.js'
import { Serving, type Respond } from './state/serving.js'
import { FastState, fastOnly, type AutoAllowedFastFn } from './state/fast.js'
import { WireStream } from './io/wire-stream.js'
import { ConnectionTimeouts } from './io/timeouts.js'
import { wireSettings, wouldRunMse, type WireLimits } from './options.js'
import type { WireHost } from './io/host.js'
import { HashMessages } from './state/hashes.js'
import type { MseSupport, WireEncryption } from './mse/types.js'
import { toBuffer } from './util.js'

/** @internal */
export const NO_MSE = 'message stream encryption is not available in this build'

export abstract class WireCore extends WireStream {
  /** Remote peer id (hex). */
  peerId: string | null = null
  /** The peer's id as 20 bytes (null before its handshake). */
  peerIdBuffer: Buffer | null = null
  /** The peer's 8 reserved bytes as it sent them (null before its handshake). */
  peerReserved: Buffer | null = null
  /** What we announced in our handshake, by name ({} before it). */
  extensions: Record<string, boolean> = {}
  /** What the peer announced in its handshake, by name ({} before it): the object its 'handshake' event carried. */
  peerExtensions: Partial<PeerExtensions> = {}
  type: WireType
  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  hasFast = false
  uploaded = 0
  downloaded = 0

  /** @internal */ _reader: MessageReader<WireLimits>

  /** @internal Our handshake went out. */
  _handshakeSent = false
  /** @internal The peer's handshake came. */
  _handshakeReceived = false
  /** @internal Our extended handshake (BEP 10) went out. */
  _extendedHandshakeSent = false

  /** @internal */ _uploadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ _downloadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ _keepAliveInterval: ReturnType<typeof setInterval> | null = null
  /** @internal What the modules of each concern reach the wire through (io/host.ts). */
  readonly _host: WireHost = new Host(this)
  // The state of each concern, made on first use (`_ensure...()`): an idle wire may never need it.
  /** @internal Our requests (state/requests.ts). */
  _requests: OurRequests | null = null
  /** @internal Serving the peer's requests (state/serving.ts). */
  _serving: Serving | null = null
  /** @internal BEP 10 state (state/extensions.ts). */
  _extensions: Extensions | null = null
  /** @internal What the peer has. */
  _peerPieces: BitField | HaveAllBitField | null = null
  /** @internal BEP 6 allowed-fast sets (state/fast.ts). */
  _fast: FastState | null = null
  /** @internal BEP 52 hash messages (state/hashes.ts). */
  _hashes: HashMessages | null = null
  /** @internal Message stream encryption (mse/wire-adapter.ts), on a wire that encrypts. */
  _mse: WireEncryption | null = null

  /** @internal The Node entry's subclass gives the `allowedFast` option (state/allowed-fast.ts: SHA-1 from node:crypto); null in browser builds. */
  static _autoAllowedFast: AutoAllowedFastFn | null = null

  /** @internal The Node entry's subclass gives MSE (node:crypto); null in browser builds. */
  static _mseSupport: MseSupport | null = null

  /** Whether RC4 comes from Node's OpenSSL (else a JavaScript RC4 runs), as in 5.x. False in browser builds. */
  static nativeRC4 = false

  /** See options.ts for the four forms (3.5.5's, 5.x's, an options object, none). */
  constructor (type: WireType | WireOptions = null, retries?: number, peEnabled?: boolean) {
    const o = wireSettings(type, retries, peEnabled)
    super(o.sendWatermark, o.closeInsideDestroy)
    this.type = o.type
    const ctor = this.constructor as typeof WireCore
    if (o.allowedFast !== undefined) {
      if (ctor._autoAllowedFast === null) throw new Error('the allowed-fast set (SHA-1) is not available in this build')
      this._fast = new FastState(this._host, ctor._autoAllowedFast(o.allowedFast))
    }
    this._reader = new MessageReader(this, o.limits, true)
    if (debug.enabled) this._debug('new wire type=%s', this.type)
    if (o.handshakeTimeout !== 0 || o.idleTimeout !== 0) this._timers = new ConnectionTimeouts(o.handshakeTimeout, o.idleTimeout, (code, message) => this._fail(code, message))
    const mse = o.encryption
    if (mse !== null && ctor._mseSupport !== null) this._mse = ctor._mseSupport.attach(this._host, mse)
    else if (mse !== null && wouldRunMse(this.type, mse)) throw new Error(NO_MSE)
  }



  // The limits from the options (options.ts), which the reader reads
  /** The longest message (its length prefix) accepted from the peer. */
  get maxMessageLength (): number { return this._reader.limits.maxMessageLength }
  /** The most pieces the peer's bitfield and piece indices may name. */
  get maxPieces (): number { return this._reader.limits.maxPieces }
  /** The peer's pending requests past which its requests are refused. */
  get maxPeerRequests (): number { return this._reader.limits.maxPeerRequests }
  /** Requests of 0 bytes or over 128 KiB the peer may send before the wire closes. */
  get maxInvalidRequests (): number { return this._reader.limits.maxInvalidRequests }

  /** @internal One of our named reserved bits, as announced in our handshake (or set in `extensions`). */
  _ourBit (name: ReservedBitName): boolean { return this.extensions[name] === true }

  /** @internal One of the peer's named reserved bits. */
  _peerBit (name: ReservedBitName): boolean { return this.peerExtensions[name] === true }

  /** @internal */ _ensureRequests (): OurRequests { return (this._requests ??= new OurRequests(this._host)) }
  /** @internal */ _ensureServing (): Serving { return (this._serving ??= new Serving(this._host, this._out)) }
  /** @internal */ _ensureFast (): FastState { return (this._fast ??= new FastState(this._host, null)) }
  /** @internal */ _ensureExtensions (): Extensions { return (this._extensions ??= new Extensions()) }

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
  protected _onLocalEnd (): void { this._markPeerUninterested(); this._markPeerChoking(); this._extensions?.endHolding() }

  /** @internal */ protected _onDestroying (err: Error): void { this._requests?.failAll(err) }

  /** @internal The output drained: the peer's waiting requests, then its held extended messages. */
  protected _onOutputRead (): void {
    const serving = this._serving
    if (serving !== null && serving.waiting) serving.release()
    if (this._extensions !== null && this._extensions.holding) this._extensions.release(this._host)
    if (this._finished) return
    if (this._out.open()) this.emit('output-drain')
  }

  /** @internal */ protected _onShutdown (err: Error): void {
    this._reader.stop()
    this._mse?.destroy()
    if (this._keepAliveInterval !== null) clearInterval(this._keepAliveInterval)
    this._keepAliveInterval = null
    this._serving?.clear()
    if (this._extensions !== null) this._extensions.shutdown()
    this._requests?.failAll(err)
    this._hashes?.clear(err)
    this._requests?.stop()
  }

  /** @internal Too many of the peer's extended messages wait for the output (state/extensions.ts). */
  protected _mustHoldWrite (): boolean { return this._extensions !== null && this._extensions.mustHoldWrite }
  /** @internal */ protected _holdWrite (cb: () => void): boolean { return this._extensions !== null && this._extensions.holdWrite(cb) }

  /** @internal Queue bytes for the peer (io/output.ts gathers, encrypts and bounds them). */
  _push (data: Uint8Array): void {
    if (this._finished || this.destroyed) return
    if (this._mse !== null && this._mse.holding) { this._mse.hold(data); return }
    this._out.send(data)
  }

  // ---------------------------------------------------------------------------
  // Incoming (ReaderSink), then one handler per message.
  //
  // The handlers carry the names and arguments of bittorrent-protocol 3.5.5's and 5.0.9's
  // (`_onHave(index)`, `_onBitField(buffer)`, `_onExtended(id, payload)`...): both originals' test
  // suites call them to play a message from the peer, so a direct call goes through the same
  // checks as the message itself (a bad index fails the wire with its coded error). The names
  // are kept in ../shared/API-CONTRACT.md and docs/api.md ("Private members kept for
  // compatibility"); `_onClose` is not one of ours: WebTorrent 1.x writes it onto wires.

  /** @internal */ _onReadError (err: WireError): void { this._failWith(err) }
  /** @internal */ _onKeepAlive (): void { this.emit('keep-alive') }
  /** @internal */ _onHandshakeBytes (buf: Buffer, off: number): void {
    // views will do: all three are only read (into hex strings and the decoded bits) before
    // anything else runs, and nothing keeps them
    this._onHandshake(buf.subarray(off + 28, off + 48), buf.subarray(off + 48, off + 68), buf.subarray(off + 20, off + 28))
  }

  /**
   * @internal The peer's handshake. `extensions` is its 8 reserved bytes, or (as the originals
   * pass it) an object of named bits such as `{ dht, fast, extended }`.
   */
  _onHandshake (infoHashBuffer: Uint8Array, peerIdBuffer: Uint8Array, reservedOrNamed: Uint8Array | Partial<Record<ReservedBitName, boolean>>): void {
    if (this._handshakeReceived) {
      this._fail(ErrorCodes.DUPLICATE_HANDSHAKE, SECOND_HANDSHAKE)
      return
    }
    this._handshakeReceived = true
    if (this._mse !== null && !this._mse.peerHandshake(this._handshakeSent)) return
    const infoHash = toBuffer(infoHashBuffer, 'infoHash').toString('hex')
    const peerId = toBuffer(peerIdBuffer, 'peerId').toString('hex')
    // the reader passes views of the peer's chunk: what is kept is copied
    const named = reservedOrNamed instanceof Uint8Array ? codec.decodeReserved(reservedOrNamed) : reservedOrNamed
    this.peerId = peerId
    this.peerIdBuffer = Buffer.from(peerIdBuffer)
    this.peerReserved = reservedOrNamed instanceof Uint8Array ? Buffer.from(reservedOrNamed) : codec.encodeReserved(name => named[name] === true)
    this.peerExtensions = named
    if (debug.enabled) this._debug('got handshake i=%s p=%s exts=%o', infoHash, peerId, named)
    // BEP 6: fast is on when both sides set its bit
    if (this._ourBit('fast') && this._peerBit('fast')) this.hasFast = true
    this._timers?.handshakeDone()
    const extensions = named as PeerExtensions
    this.emit('handshake', infoHash, peerId, extensions)
    const ext = this._extensions
    if (this._finished) return
    if (ext !== null && !ext.onHandshake(this._host, infoHash, peerId, extensions)) return
    if (this._peerBit('extended') && this._handshakeSent && this._ourBit('extended') && !this._extendedHandshakeSent) {
      this._sendExtendedHandshake()
    }
    this._fast?.sendAutoWhenDue()
  }

  /** @internal */ _onMessage (id: number, buf: Buffer, start: number, end: number): void {
    switch (id) {
      case MessageId.CHOKE: return this._onChoke()
      case MessageId.UNCHOKE: return this._onUnchoke()
      case MessageId.INTERESTED: return this._onInterested()
      case MessageId.NOT_INTERESTED: return this._onUninterested()
      case MessageId.HAVE: return this._onHave(u32(buf, start))
      case MessageId.BITFIELD: return this._takeBitField(buf.subarray(start, end))
      case MessageId.REQUEST: return this._onRequest(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.CANCEL: return this._onCancel(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.PORT: return this._onPort((buf[start] << 8) | buf[start + 1])
      case MessageId.SUGGEST: return this._onSuggest(u32(buf, start))
      case MessageId.HAVE_ALL: return this._onHaveAll()
      case MessageId.HAVE_NONE: return this._onHaveNone()
      case MessageId.REJECT: return this._onReject(u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
      case MessageId.ALLOWED_FAST: return this._onAllowedFast(u32(buf, start))
      case MessageId.EXTENDED: return this._ensureExtensions().onMessage(this._host, buf[start], buf.subarray(start + 1, end))
      case MessageId.HASH_REQUEST:
        return this._hashMessagesOn() ? this._ensureHashes().onRequest(buf, start) : this._onUnknown(id, buf, start, end)
      case MessageId.HASHES:
        return this._hashMessagesOn() ? this._ensureHashes().onHashes(buf, start, end) : this._onUnknown(id, buf, start, end)
      case MessageId.HASH_REJECT:
        return this._hashMessagesOn() ? this._ensureHashes().onReject(buf, start) : this._onUnknown(id, buf, start, end)
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

  /** @internal */ _onChoke (): void { this._markPeerChoking() }

  /** @internal The peer counts as choking us ('choke'); without BEP 6 our pending requests fail. */
  private _markPeerChoking (): void {
    this.peerChoking = true
    this.emit('choke')
    if (!this.hasFast) {
      const err = new WireError(ErrorCodes.PEER_CHOKED, 'peer is choking')
      this._requests?.failAll(err)
    }
  }

  /** @internal */ _onUnchoke (): void { this.peerChoking = false; this.emit('unchoke') }

  /** @internal */ _onInterested (): void { this.peerInterested = true; this.emit('interested') }

  /** @internal */ _onUninterested (): void { this._markPeerUninterested() }

  /** @internal The peer counts as not interested ('uninterested'). */
  private _markPeerUninterested (): void { this.peerInterested = false; this.emit('uninterested') }

  /** @internal */ _checkIndex (index: number, what: string): boolean {
    // a message carries a u32; a direct call may pass anything
    if (index >>> 0 === index && index < this.maxPieces) return true
    this._fail(ErrorCodes.PIECE_INDEX_OUT_OF_RANGE, `${what} for piece ${index}, beyond the ${this.maxPieces} pieces this wire accepts`)
    return false
  }

  /**
   * @internal The length checks the reader makes before a body arrives, for direct calls of the
   * handlers that take a body (`_onBitField`, `_onExtended`).
   */
  private _checkLength (id: number, length: number): boolean {
    const limits = this._reader.limits
    const err = length > limits.maxMessageLength ? codec.messageTooLong(length, limits) : codec.checkLength(id, length, limits)
    if (err === null) return true
    this._failWith(err)
    return false
  }

  /** @internal */ _onHave (index: number): void {
    if (!this._checkIndex(index, 'have')) return
    const pieces = this._ensurePeerPieces()
    if (pieces.get(index)) return
    pieces.set(index, true)
    this.emit('have', index)
  }

  /** @internal A direct call gets the reader's length check first. */
  _onBitField (buffer: Uint8Array): void {
    if (this._checkLength(MessageId.BITFIELD, buffer.length + 1)) this._takeBitField(buffer)
  }

  /** @internal The peer's bitfield, its length checked. */
  private _takeBitField (buffer: Uint8Array): void {
    // a copy: the bitfield lives on and is changed by later `have`s
    const bytes = Buffer.allocUnsafe(buffer.length)
    bytes.set(buffer)
    this._peerPieces = new PeerPieces(bytes, this.maxPieces)
    this.emit('bitfield', this._peerPieces)
  }

  /** @internal */ _onRequest (index: number, offset: number, length: number): void { this._ensureServing().onRequest(index, offset, length) }

  /** @internal */ _onPiece (index: number, offset: number, block: Buffer): void {
    const ours = this._requests
    const req = ours !== null ? ours.list.pull(index, offset, block.length) : null
    if (req !== null) ours!.settle(req, null, block)
    this.downloaded += block.length
    this.downloadSpeed(block.length)
    this.emit('download', block.length)
    this.emit('piece', index, offset, block)
  }

  /** @internal */ _onCancel (index: number, offset: number, length: number): void {
    // any length: a cancel only removes what is pending (a request of a bad length never is)
    if (!this._checkIndex(index, 'cancel')) return
    this._serving?.pull(index, offset, length)
    this.emit('cancel', index, offset, length)
  }

  /** @internal */ _onPort (port: number): void { this.emit('port', port) }

  /** @internal */ private _fastOnly (what: string): boolean { return this.hasFast || fastOnly(this._host, what) }

  /** @internal */ _onSuggest (index: number): void {
    if (!this._fastOnly('suggest') || !this._checkIndex(index, 'suggest')) return
    this.emit('suggest', index)
  }

  /** @internal */ _onHaveAll (): void {
    if (!this._fastOnly('have-all')) return
    this._peerPieces = new HaveAllBitField()
    this.emit('have-all')
  }

  /** @internal */ _onHaveNone (): void {
    if (!this._fastOnly('have-none')) return
    this._peerPieces = new PeerPieces(0, this.maxPieces)
    this.emit('have-none')
  }

  /** @internal */ _onReject (index: number, offset: number, length: number): void {
    // any length: a reject only fails what we asked for (code may request 0 bytes of itself)
    if (!this._fastOnly('reject') || !this._checkIndex(index, 'reject')) return
    const ours = this._requests
    const req = ours !== null ? ours.list.pull(index, offset, length) : null
    if (req !== null) ours!.settle(req, new WireError(ErrorCodes.REQUEST_REJECTED, 'request was rejected'), null)
    this.emit('reject', index, offset, length)
  }

  /** @internal */ _onAllowedFast (index: number): void { this._ensureFast().onAllowedFast(index) }

  /**
   * @internal An extended message (BEP 10): `ext` is its id byte (0: the extended handshake), `buf`
   * the rest. The dispatch switch hands the reader's messages to the extensions directly; a direct
   * call gets the reader's checks first.
   */
  _onExtended (ext: number, buf: Uint8Array): void {
    if (ext >>> 0 !== ext || ext > 255) throw new TypeError('extended message id must be 0..255')
    if (!this._checkLength(MessageId.EXTENDED, buf.length + 2)) return
    this._ensureExtensions().onMessage(this._host, ext, toBuffer(buf, 'payload'))
  }

  /** @internal No reply to our oldest request in time (`setTimeout`): it fails, and 'timeout' is emitted. */
  _onTimeout (): void { this._ensureRequests().expire() }

  // ---------------------------------------------------------------------------
  // Helpers

  /** @internal */ _sendExtendedHandshake (): void {
    this.extended(0, this._extendedHandshakePayload())
  }

  /** @internal Our extended handshake's payload (BEP 10), which is then counted as sent. */
  _extendedHandshakePayload (): Uint8Array {
    this._extendedHandshakeSent = true
    return ourExtendedHandshake(this._extensions, this.maxPeerRequests)
  }

  /** @internal */ _ensureHashes (): HashMessages { return (this._hashes ??= new HashMessages(this._host)) }

  /** @internal
   * Whether BEP 52 hash messages are ours to handle: either side set the v2 bit, or the
   * application uses them (a `hash-request` listener, or hash messages of its own). libtorrent
   * exchanges them on v2 torrents without setting the bit, so the bit alone is not enough; for
   * everyone else, ids 21-23 stay `unknownmessage` as in 3.5.5 and nothing is sent back.
   */
  private _hashMessagesOn (): boolean {
    return this._hashes !== null || this._ourBit('v2') || this._peerBit('v2') ||
      this.listenerCount('hash-request') > 0
  }

  /** @internal What the peer has (made on first use). */
  _ensurePeerPieces (): BitField | HaveAllBitField { return (this._peerPieces ??= new PeerPieces(0, this.maxPieces)) }

  /** Send a block (wire.ts). */
  abstract piece (index: number, offset: number, buffer: Uint8Array): void
  /** Send an extended message (wire.ts). */
  abstract extended (ext: string | number, obj: unknown): void
}


/** The WireHost of one wire (io/host.ts): one small object, its methods on the prototype. */
class Host implements WireHost {
  constructor (private readonly _w: WireCore) {}
  send (data: Uint8Array): void { this._w._push(data) }
  sendRaw (data: Uint8Array): void { this._w._pushRaw(data) }
  // past REJECT_BACKLOG bytes of unread output refusals are dropped, not queued (io/output.ts)
  sendRefusal (data: Uint8Array): void { if (this._w._out.refusalFits()) this._w._push(data) }
  divert (fn: ((chunk: Buffer) => void) | null): void { this._w._divert = fn }
  feed (chunk: Buffer): void { if (!this._w._finished) this._w._reader.write(chunk) }
  setCiphers (encrypt: (data: Uint8Array) => Buffer, decrypt: (data: Uint8Array) => Buffer): void {
    this._w._out.cipher = encrypt
    this._w._decrypt = decrypt
  }

  fail (err: WireError): void { this._w._failWith(err) }
  emit (event: string | symbol, ...args: any[]): boolean { return this._w.emit(event as any, ...args) }
  listenerCount (event: string | symbol): number { return this._w.listenerCount(event) }
  get finished (): boolean { return this._w._finished }
  get destroyed (): boolean { return this._w.destroyed }
  get maxPeerRequests (): number { return this._w.maxPeerRequests }
  countDropped (): void { this._w._ensureServing().dropped++ }
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
