/**
 * The Wire: one BitTorrent peer connection as a Duplex stream.
 *
 *   socket.pipe(wire).pipe(socket)
 *
 * Bytes from the peer are framed by the MessageReader (reader.ts) and dispatched
 * here; outgoing messages are encoded by the codec (codec.ts); pending requests
 * live in RequestLists (requests.ts); BEP 10 extensions in Extensions
 * (extensions.ts). Every byte from the peer is treated as hostile: a malformed
 * message destroys the wire with a coded WireError, never a throw.
 */
import { Buffer } from 'buffer'
import { BitField, HaveAllBitField } from './bitfield.js'
import type { WireType, WireOptions, HandshakeExtensions, PeerExtensions } from './types.js'
import { debug } from './log.js'
import speedometer from 'speedometer'
import * as codec from './protocol/codec.js'
import { MessageId, u32, type ReservedBitName } from './protocol/codec.js'
import { ErrorCodes, WireError } from './errors.js'
import { Extensions, OurExtensions, extensionName, extendedId, extendedPayload, ourExtendedHandshake, type ExtensionConstructor } from './state/extensions.js'
import { MessageReader, type ReaderSink } from './protocol/reader.js'
import { OurRequests, Request, type RequestCallback } from './state/requests.js'
import { Serving, type Respond } from './state/serving.js'
import { FastState, autoAllowedFast, fastOnly, requireFast, type AllowedFastSetFn } from './state/fast.js'
import { checkUint32, toBuffer } from './util.js'
import { WireStream, FIRST_FREE_FLAG } from './io/wire-stream.js'
import { ConnectionTimeouts } from './io/timeouts.js'
import { wireSettings, wouldRunMse } from './options.js'
import type { WireHost } from './io/host.js'
import { HashMessages, toHashRequest, type HashRequest, type HashRequestInput, type HashesCallback, type HashesMessage } from './state/hashes.js'
import type { MseSupport, WireEncryption, EncryptOptions, EncryptResult } from './mse/types.js'

const KEEP_ALIVE_INTERVAL = 55000
export type { WireType, WireOptions, HandshakeExtensions, PeerExtensions, WireEvents } from './types.js'
export { HaveAllBitField } from './bitfield.js'

function noop (): void {}

// Bits of `_flags` of ours (io/wire-stream.ts has the first ones)
const F_HANDSHAKE_SENT = FIRST_FREE_FLAG
const F_HANDSHAKE_RECEIVED = FIRST_FREE_FLAG << 1
const F_EXTENDED_HANDSHAKE_SENT = FIRST_FREE_FLAG << 2

export class Wire extends WireStream {
  /** Remote peer id (hex). */
  peerId: string | null = null
  type: WireType
  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  /** What we announced in our handshake. */
  extensions: Record<string, boolean> = {}
  /** What the peer announced in its handshake (decoded reserved bits). */
  peerExtensions: Partial<PeerExtensions> = {}
  hasFast = false
  uploaded = 0
  downloaded = 0

  readonly maxMessageLength: number
  readonly maxPieces: number
  readonly maxPeerRequests: number
  readonly maxInvalidRequests: number

  /** @internal */ _reader: MessageReader

  /** @internal */ private _uploadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ private _downloadSpeed: ((delta?: number) => number) | null = null
  /** @internal */ private _keepAliveInterval: ReturnType<typeof setInterval> | null = null
  // Created on first use: an idle wire may never need them.
  /** @internal Our requests (state/requests.ts), made on the first. */ _ours: OurRequests | null = null
  /** @internal Serving the peer's requests (state/serving.ts), made on its first. */ _serving: Serving | null = null
  /** @internal BEP 10 state (state/extensions.ts). */
  _ext: Extensions | null = null
  /** @internal The peer's 8 reserved bytes: hex until `peerReserved` is read, then that Buffer. */
  private _peerReserved: Buffer | string | null = null
  /** @internal */ private _peerIdBuffer: Buffer | null = null
  /** @internal */ private _peerPieces: BitField | HaveAllBitField | null = null
  /** @internal BEP 6 allowed-fast sets (state/fast.ts), made on first use. */
  _fast: FastState | null = null
  /** @internal What helper modules reach the wire through (io/host.ts), made on first use. */
  private _wireHost: WireHost | null = null
  /** @internal Message stream encryption (mse/wire-adapter.ts), on a wire that encrypts. */
  _mse: WireEncryption | null = null
  /** @internal BEP 52 hash messages (hashes.ts), created on first use. */
  _hashMessages: HashMessages | null = null

  /** @internal The Node entry's subclass gives the allowed-fast set (SHA-1 from node:crypto); null in browser builds. */
  static _allowedFastSetFn: AllowedFastSetFn | null = null

  /** @internal The Node entry's subclass gives MSE (node:crypto); null in browser builds. */
  static _mseSupport: MseSupport | null = null

  /** Whether RC4 comes from Node's OpenSSL (else a JavaScript RC4 runs), as in 5.x. False in browser builds. */
  static nativeRC4 = false

  /** See options.ts for the four forms (3.5.5's, 5.x's, an options object, none). */
  constructor (type: WireType | WireOptions = null, retries?: number, peEnabled?: boolean) {
    const o = wireSettings(type, retries, peEnabled)
    super(o.sendWatermark)
    this.type = o.type
    this.maxPieces = o.maxPieces
    this.maxPeerRequests = o.maxPeerRequests
    this.maxMessageLength = o.maxMessageLength
    this.maxInvalidRequests = o.maxInvalidRequests
    const ctor = this.constructor as typeof Wire
    if (o.allowedFast !== undefined) this._fast = new FastState(this._host(), autoAllowedFast(o.allowedFast, ctor._allowedFastSetFn))
    this._reader = new MessageReader(this, this, true)
    if (debug.enabled) this._debug('new wire type=%s', this.type)
    if (o.handshakeTimeout !== 0 || o.idleTimeout !== 0) this._timers = new ConnectionTimeouts(o.handshakeTimeout, o.idleTimeout, (code, message) => this._fail(code, message))
    const mse = o.encryption
    if (mse !== null && ctor._mseSupport !== null) this._mse = ctor._mseSupport.attach(this._host(), mse)
    else if (mse !== null && wouldRunMse(this.type, mse)) throw new Error('message stream encryption is not available in this build')
  }


  /** The peer's id as 20 bytes (null before its handshake). */
  get peerIdBuffer (): Buffer | null {
    if (this._peerIdBuffer === null && this.peerId !== null) this._peerIdBuffer = Buffer.from(this.peerId, 'hex')
    return this._peerIdBuffer
  }

  set peerIdBuffer (value: Buffer | null) { this._peerIdBuffer = value }

  /** The peer's raw 8 reserved bytes (null before its handshake). */
  get peerReserved (): Buffer | null {
    if (typeof this._peerReserved === 'string') this._peerReserved = Buffer.from(this._peerReserved, 'hex')
    return this._peerReserved
  }

  set peerReserved (value: Buffer | null) { this._peerReserved = value }

  /** Our pending requests {piece, offset, length}. */
  get requests (): Request[] { return this._requests().list.list }

  /** The peer's pending requests {piece, offset, length}. */
  get peerRequests (): Request[] { return this._serve().requests.list }

  /** Requests from the peer we did not queue because its queue was full. */
  get droppedPeerRequests (): number { return this._serving === null ? 0 : this._serving.dropped }
  set droppedPeerRequests (n: number) { this._serve().dropped = n }

  /** Requests from the peer of 0 bytes or over 128 KiB (refused: rejected under BEP 6, else dropped). */
  get invalidPeerRequests (): number { return this._serving === null ? 0 : this._serving.invalid }
  set invalidPeerRequests (n: number) { this._serve().invalid = n }

  /** Our extension ids: id -> name. */
  get extendedMapping (): Record<number, string> { return this._ourExtensions().mapping }

  /** The peer's extension ids: name -> id. */
  get peerExtendedMapping (): Record<string, number> { return (this._extensions()._peerMapping ??= {}) }
  set peerExtendedMapping (value: Record<string, number>) { this._extensions()._peerMapping = value }

  /** The peer's extended handshake, decoded ({} until it arrives). */
  get peerExtendedHandshake (): Record<string, any> { return (this._extensions()._peerHandshake ??= {}) }
  set peerExtendedHandshake (value: Record<string, any>) { this._extensions()._peerHandshake = value }

  /** @internal */ _requests (): OurRequests { return (this._ours ??= new OurRequests(this._host())) }
  /** @internal */ _serve (): Serving { return (this._serving ??= new Serving(this._host(), this._out)) }
  /** @internal */ _fastState (): FastState { return (this._fast ??= new FastState(this._host(), null)) }
  /** @internal */ _extensions (): Extensions { return (this._ext ??= new Extensions()) }

  /** @internal Our side of BEP 10 (plugins, our ids and handshake fields): the state grows into OurExtensions, once. */
  _ourExtensions (): OurExtensions { const ext = this._ext; return ext instanceof OurExtensions ? ext : (this._ext = new OurExtensions(ext)) }

  /** What the peer has: a BitField (grows up to maxPieces), or a HaveAllBitField after have-all. */
  get peerPieces (): BitField | HaveAllBitField { return (this._peerPieces ??= new BitField(0, { grow: this.maxPieces })) }
  set peerPieces (value: BitField | HaveAllBitField) { this._peerPieces = value }

  /** Extra fields of the extended handshake we send ("m" is filled in from `use()`). */
  get extendedHandshake (): Record<string, any> { return (this._ourExtensions()._fields ??= {}) }
  set extendedHandshake (value: Record<string, any>) { this._ourExtensions()._fields = value }

  /** BEP 6: pieces we allow the peer to request while choked. */
  get allowedFastSet (): number[] { return this._fastState().allowed }
  set allowedFastSet (value: number[]) { this._fastState().allowed = value }

  /** BEP 6: pieces the peer allows us to request while choked. */
  get peerAllowedFastSet (): number[] { return this._fastState().peerAllowed }
  set peerAllowedFastSet (value: number[]) { this._fastState().peerAllowed = value }

  // ---------------------------------------------------------------------------
  // Message stream encryption

  /**
   * Run the MSE exchange and resolve when the BitTorrent handshake can follow. Call it
   * right after creating the wire, before any byte arrived. The role follows the wire's
   * type (incoming types answer, others dial) unless `role` is given.
   */
  encrypt (opts: EncryptOptions = {}): Promise<EncryptResult> {
    // a build without MSE rejects, as does a second exchange
    return new Promise(resolve => resolve(this._encryption().encrypt(opts)))
  }

  /**
   * 5.x API, outgoing: start the MSE exchange for this torrent (hex or 20 bytes); nothing is sent
   * before. 'crypto-handshake' follows when it is done, then send the BitTorrent handshake. A no-op
   * at level 0 and on incoming wires (they answer by themselves).
   */
  startEncryption (infoHash: string | Uint8Array): void { this._mse?.startEncryption(infoHash) }

  /**
   * 5.x API, incoming: the torrent the peer asked for in 'crypto-infohash' (hex or 20 bytes), or
   * the one this wire serves, given beforehand. The promise resolves when the exchange is over:
   * true when it succeeded (or the peer sent a plain handshake, or there is nothing to wait
   * for), false when it failed or the wire closed (the wire then fails with its coded error).
   * It never rejects.
   */
  setInfoHash (infoHash: string | Uint8Array): Promise<boolean> {
    return this._mse !== null ? this._mse.setInfoHash(infoHash) : Promise.resolve(true)
  }

  /** 3.5.5: outgoing, send our DH public key (step 1). */
  sendPe1 (): void { this._mse?.sendPe1() }
  /** 3.5.5: incoming, answer with our DH public key (step 2), after 'pe1'. */
  sendPe2 (): void { this._mse?.sendPe2() }
  /** 3.5.5: outgoing, send step 3 for this info hash (hex), after 'pe2'. */
  sendPe3 (infoHash: string | Uint8Array): void { this._mse?.sendPe3(infoHash) }
  /** 3.5.5: incoming, accept this info hash (hex) as the one asked for in 'pe3', send step 4. */
  sendPe4 (infoHash: string | Uint8Array): void { this._mse?.sendPe4(infoHash) }

  /** @internal */ private _encryption (): WireEncryption {
    const support = (this.constructor as typeof Wire)._mseSupport
    if (support === null) throw new Error('message stream encryption is not available in this build')
    return (this._mse ??= support.attach(this._host(), { peEnabled: false, retries: 0, level: 0 }))
  }

  /**
   * 3.5.5 API parity: the keys are derived by the exchange itself (sendPe3 / sendPe4).
   * Returns whether this wire's type can be encrypted, as 3.5.5 does.
   */
  setEncrypt (_sharedSecret: string, _infoHash: string): boolean { return this.type === 'tcpIncoming' || this.type === 'tcpOutgoing' }

  // ---------------------------------------------------------------------------
  // Settings

  /** Send a keep-alive every 55 s (or stop). */
  setKeepAlive (enable: boolean): void {
    if (this._keepAliveInterval !== null) clearInterval(this._keepAliveInterval)
    this._keepAliveInterval = null
    if (enable === false || this._finished) return
    this._keepAliveInterval = setInterval(() => this.keepAlive(), KEEP_ALIVE_INTERVAL)
    this._keepAliveInterval.unref?.()
  }

  /** Fail the oldest pending request (and emit `timeout`) when no reply came for `ms`. */
  setTimeout (ms: number, unref?: boolean): void { this._requests().setTimeout(ms, unref === true) }

  /** Our current upload speed in bytes/s. */
  uploadSpeed (delta?: number): number { this._uploadSpeed ??= speedometer(); return this._uploadSpeed(delta) }

  /** Our current download speed in bytes/s. */
  downloadSpeed (delta?: number): number { this._downloadSpeed ??= speedometer(); return this._downloadSpeed(delta) }

  /** Use a BEP 10 extension: `new Extension(wire)`, reachable as `wire[name]`. */
  use (Extension: ExtensionConstructor): void {
    const name = extensionName(Extension)
    if (debug.enabled) this._debug('use extension.name=%s', name)
    ;(this as any)[name] = this._ourExtensions().use(name, new Extension(this))
  }

  // ---------------------------------------------------------------------------
  // Outgoing messages

  /** Send our handshake. infoHash and peerId: 20 bytes as Buffer, Uint8Array or 40-char hex. */
  handshake (infoHash: Uint8Array | string, peerId: Uint8Array | string, extensions?: HandshakeExtensions): void {
    const infoHashBuffer = toBuffer(infoHash, 'infoHash')
    const peerIdBuffer = toBuffer(peerId, 'peerId')
    if (infoHashBuffer.length !== 20 || peerIdBuffer.length !== 20) {
      throw new Error('infoHash and peerId MUST have length 20')
    }
    if ((this._flags & F_HANDSHAKE_SENT) !== 0) throw new Error('handshake already sent')
    // 3.5.5: a handshake before sendPe1() on an outgoing MSE wire means a plain connection
    this._mse?.abandon()
    const raw = extensions?.reserved
    const { reserved, announced } = codec.encodeOurReserved(extensions, raw === undefined ? undefined : toBuffer(raw, 'reserved'))
    this.extensions = announced
    if (this.extensions.fast && this.peerExtensions.fast) this.hasFast = true
    if (debug.enabled) this._debug('handshake i=%s p=%s exts=%o', infoHashBuffer.toString('hex'), peerIdBuffer.toString('hex'), this.extensions)
    this._push(codec.encodeHandshake(reserved, infoHashBuffer, peerIdBuffer))
    this._flags |= F_HANDSHAKE_SENT
    if (this.peerExtensions.extended && this.extensions.extended && (this._flags & F_EXTENDED_HANDSHAKE_SENT) === 0) {
      this._sendExtendedHandshake()
    }
    this._fast?.handshakeSent(infoHashBuffer)
  }

  keepAlive (): void { this._push(codec.KEEP_ALIVE) }

  choke (): void {
    if (this.amChoking) return
    this.amChoking = true
    this._push(codec.CHOKE)
    // BEP 6: pending requests are rejected but for allowed-fast pieces; without it, forgotten
    this._serving?.onChoke()
  }

  unchoke (): void { if (!this.amChoking) return; this.amChoking = false; this._push(codec.UNCHOKE) }
  interested (): void { if (this.amInterested) return; this.amInterested = true; this._push(codec.INTERESTED) }
  uninterested (): void { if (!this.amInterested) return; this.amInterested = false; this._push(codec.NOT_INTERESTED) }
  have (index: number): void { checkUint32(index, 'index'); this._push(codec.encodeIndex(MessageId.HAVE, index)) }

  /** Send our bitfield: a BitField, Buffer or Uint8Array. */
  bitfield (bitfield: BitField | Uint8Array | { buffer: Uint8Array }): void {
    const bytes = ArrayBuffer.isView(bitfield) ? bitfield as Uint8Array : (bitfield as { buffer: Uint8Array }).buffer
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bitfield must be a BitField, Buffer or Uint8Array')
    this._push(codec.encodeHeader(MessageId.BITFIELD, bytes.length))
    if (bytes.length > 0) this._push(bytes)
    this._fast?.haveSent()
  }

  /** Request a block; `cb(err, block)` when it arrives, or with an error at once when the peer chokes us. */
  request (index: number, offset: number, length: number, cb?: RequestCallback): void {
    const callback = cb ?? noop
    if (this._finished || this.destroyed) {
      callback(new WireError(ErrorCodes.WIRE_CLOSED, 'wire is closed'))
      return
    }
    if (this.peerChoking && !(this.hasFast && this._fast !== null && this._fast.peerAllowed.includes(index))) {
      callback(new WireError(ErrorCodes.PEER_CHOKED, 'peer is choking'))
      return
    }
    checkUint32(index, 'index')
    checkUint32(offset, 'offset')
    checkUint32(length, 'length')
    this._requests().add(new Request(index, offset, length, callback))
    this._push(codec.encodeBlock(MessageId.REQUEST, index, offset, length))
  }

  /** Send a block. */
  piece (index: number, offset: number, buffer: Uint8Array): void {
    checkUint32(index, 'index')
    checkUint32(offset, 'offset')
    this._push(codec.encodePieceHeader(index, offset, buffer.length))
    this._push(buffer)
    this.uploaded += buffer.length
    this.uploadSpeed(buffer.length)
    this.emit('upload', buffer.length)
  }

  /** Cancel a request: its callback gets an error, and the peer is told. */
  cancel (index: number, offset: number, length: number): void {
    const ours = this._ours
    const req = ours !== null ? ours.list.pull(index, offset, length) : null
    if (req !== null) ours!.settle(req, new WireError(ErrorCodes.REQUEST_CANCELLED, 'request was cancelled'), null)
    this._push(codec.encodeBlock(MessageId.CANCEL, index, offset, length))
  }

  port (port: number): void {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be 0..65535')
    this._push(codec.encodePort(port))
  }

  suggest (index: number): void { requireFast(this.hasFast); checkUint32(index, 'index'); this._push(codec.encodeIndex(MessageId.SUGGEST, index)) }
  haveAll (): void { requireFast(this.hasFast); this._push(codec.HAVE_ALL); this._fast?.haveSent() }
  haveNone (): void { requireFast(this.hasFast); this._push(codec.HAVE_NONE); this._fast?.haveSent() }

  reject (index: number, offset: number, length: number): void {
    requireFast(this.hasFast)
    this._serving?.pull(index, offset, length)
    this._push(codec.encodeBlock(MessageId.REJECT, index, offset, length))
  }

  allowedFast (index: number): void { requireFast(this.hasFast); checkUint32(index, 'index'); this._fastState().allow(index) }

  /**
   * BEP 52: ask for hashes of a file's merkle tree. `cb(err, message)` gets the `hashes` reply, or an
   * ERR_BT_HASH_REJECTED error when the peer sends a hash reject (ERR_BT_WIRE_CLOSED when the wire
   * closes first). Sent whatever the choke state (BEP 52 allows that).
   */
  hashRequest (request: HashRequestInput, cb?: HashesCallback): void {
    const req = toHashRequest(request)
    if (this._finished || this.destroyed) {
      cb?.(new WireError(ErrorCodes.WIRE_CLOSED, 'wire is closed'))
      return
    }
    this._hashes().request(req, cb ?? null)
  }

  /**
   * BEP 52: answer a hash request with hashes: the `length` base-layer hashes then the uncle hashes
   * (bottom up), as 32-byte buffers or one buffer. Throws when the count does not fit the request.
   */
  hashes (request: HashRequestInput, hashes: Uint8Array | Uint8Array[]): void { this._hashes().send(toHashRequest(request), hashes) }

  /** BEP 52: refuse a hash request. */
  hashReject (request: HashRequestInput): void { this._hashes().reject(toHashRequest(request)) }

  /** Send an extended message by the peer's name for it, or by id. Objects are bencoded. */
  extended (ext: string | number, obj: unknown): void {
    const id = extendedId(this._ext, ext)
    const payload = extendedPayload(obj)
    this._push(codec.encodeExtendedHeader(id, payload.length))
    if (payload.length > 0) this._push(payload)
  }

  /** Bytes of a message from the peer that has not arrived whole yet (what the reader holds). */
  get inputBacklog (): number { return this._reader.buffered }
  /** BEP 52: our hash requests awaiting hashes or a reject, oldest first. */
  get hashRequests (): HashRequest[] { return this._hashMessages === null ? [] : this._hashMessages.requests.map(p => p.req) }
  /** BEP 52: the peer's hash requests awaiting our answer, oldest first. */
  get peerHashRequests (): HashRequest[] { return this._hashMessages === null ? [] : this._hashMessages.peerRequests.slice() }

  // ---------------------------------------------------------------------------
  // The stream layer's hooks (io/wire-stream.ts)

  /** @internal */ protected _onBytes (chunk: Buffer): void { this._reader.write(chunk) }

  /**
   * @internal Our own end, as 3.5.5 and 5.0.9 have it: the peer counts as not interested and
   * choking from now on, with the 'uninterested' and 'choke' events (pending requests fail).
   */
  protected _onLocalEnd (): void { this._onNotInterested(); this._onChoke() }

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
      this._fail(ErrorCodes.DUPLICATE_HANDSHAKE, 'second handshake on the same wire')
      return
    }
    this._flags |= F_HANDSHAKE_RECEIVED
    const infoHash = infoHashBuffer.toString('hex')
    const peerId = peerIdBuffer.toString('hex')
    const extensions = codec.decodeReserved(reserved) as PeerExtensions
    if (debug.enabled) this._debug('got handshake i=%s p=%s exts=%o', infoHash, peerId, extensions)
    this.peerId = peerId
    this._peerIdBuffer = null // made from peerId when read
    this._peerReserved = reserved.toString('hex')
    this.peerExtensions = extensions
    if (this.extensions.fast && extensions.fast) this.hasFast = true
    this._timers?.handshakeDone()
    this.emit('handshake', infoHash, peerId, extensions)
    if (this._finished) return
    if (this._ext !== null && !this._ext.onHandshake(this._hostForCall(), infoHash, peerId, extensions)) return
    if (extensions.extended && (this._flags & F_HANDSHAKE_SENT) !== 0 && this.extensions.extended && (this._flags & F_EXTENDED_HANDSHAKE_SENT) === 0) {
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
    const pieces = this.peerPieces
    if (pieces.get(index)) return
    pieces.set(index, true)
    this.emit('have', index)
  }

  /** @internal */ private _onBitfield (buf: Buffer, start: number, end: number): void {
    // a copy: the bitfield lives on and is changed by later `have`s
    const bytes = Buffer.allocUnsafe(end - start)
    bytes.set(buf.subarray(start, end))
    this.peerPieces = new BitField(bytes, { grow: this.maxPieces })
    this.emit('bitfield', this.peerPieces)
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
    this.peerPieces = new HaveAllBitField()
    this.emit('have-all')
  }

  /** @internal */ private _onHaveNone (): void {
    if (!this._fastOnly('have-none')) return
    this.peerPieces = new BitField(0, { grow: this.maxPieces })
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

  /** @internal */ private _sendExtendedHandshake (): void {
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
    return this._hashMessages !== null || this.extensions.v2 === true || this.peerExtensions.v2 === true ||
      this.listenerCount('hash-request') > 0
  }

  /** Run a request's callback, once: plugins call it too (lt_donthave, after editing `wire.requests`). */
  _callback (req: Request, err: Error | null, block: Buffer | null): void { this._requests().settle(req, err, block) }


}

/** The WireHost of one wire (io/host.ts): one small object, its methods on the prototype. */
class Host implements WireHost {
  constructor (private readonly _w: Wire) {}
  send (data: Uint8Array): void { this._w._push(data) }
  sendRaw (data: Uint8Array): void { this._w._pushRaw(data) }
  // past REJECT_BACKLOG bytes of unread output refusals are dropped, not queued (io/output.ts)
  sendRefusal (data: Uint8Array): void { if (this._w._out.refusalFits()) this._w._push(data) }
  divert (fn: ((chunk: Buffer) => void) | null): void { this._w._intercept = fn }
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




export default Wire
