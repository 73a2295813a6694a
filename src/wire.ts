/**
 * The Wire: one BitTorrent peer connection as a Duplex stream, used as
 *
 *   socket.pipe(wire).pipe(socket)
 *
 * This file is its public API, what an application calls: the messages we send, the state it
 * reads, settings, encryption and BEP 10 plugins. Below it, in three layers: WireCore
 * (wire-core.ts: the protocol state and what the peer's messages do), WireStream
 * (io/wire-stream.ts: bytes in and out, piping, ending), readable-stream's Duplex. The map of
 * the modules is in docs/architecture.md.
 */
import { Buffer } from 'buffer'
import type { BitField, HaveAllBitField } from './bitfield.js'
import type { HandshakeExtensions, ExtendedHandshake, WirePlugins } from './types.js'
import { debug } from './log.js'
import * as codec from './protocol/codec.js'
import { MessageId } from './protocol/codec.js'
import { ErrorCodes, WireError } from './errors.js'
import { extensionName, extendedId, extendedPayload, type ExtensionConstructor, type ExtensionHandler } from './state/extensions.js'
import { Request, type RequestCallback } from './state/requests.js'
import { requireFast } from './state/fast.js'
import { checkUint32, toBuffer } from './util.js'
import { toHashRequest, type HashRequest, type HashRequestInput, type HashesCallback } from './state/hashes.js'
import type { WireEncryption, EncryptOptions, EncryptResult } from './mse/types.js'
import { WireCore, NO_MSE } from './wire-core.js'

export { WireType, WireOptions, HandshakeExtensions, PeerExtensions, WireEvents, ExtendedHandshake, RequestRespond, WirePlugins } from './types.js'
export { HaveAllBitField } from './bitfield.js'

const KEEP_ALIVE_INTERVAL = 55000

function noop (): void {}

// the plugins' handlers (`wire.ut_metadata`...), as a module augmentation of WirePlugins types them
export interface Wire extends WirePlugins {}

export class Wire extends WireCore {
  /** Our pending requests {piece, offset, length}. */
  get requests (): Request[] { return this._ensureRequests().list.list }

  /** The peer's pending requests {piece, offset, length}. */
  get peerRequests (): Request[] { return this._ensureServing().requests.list }

  /** Requests from the peer we did not queue because its queue was full. */
  get droppedPeerRequests (): number { return this._serving === null ? 0 : this._serving.dropped }
  set droppedPeerRequests (n: number) { this._ensureServing().dropped = n }

  /** Requests from the peer of 0 bytes or over 128 KiB (refused: rejected under BEP 6, else dropped). */
  get invalidPeerRequests (): number { return this._serving === null ? 0 : this._serving.invalid }
  set invalidPeerRequests (n: number) { this._ensureServing().invalid = n }

  /** Our extension ids: id -> name. */
  get extendedMapping (): Record<number, string> { return this._ensureExtensions().mapping }

  /** The peer's extension ids: name -> id. */
  get peerExtendedMapping (): Record<string, number> { return (this._ensureExtensions()._peerMapping ??= {}) }
  set peerExtendedMapping (value: Record<string, number>) { this._ensureExtensions()._peerMapping = value }

  /** The peer's extended handshake, decoded ({} until it arrives). */
  get peerExtendedHandshake (): ExtendedHandshake { return (this._ensureExtensions()._peerHandshake ??= {}) }
  set peerExtendedHandshake (value: ExtendedHandshake) { this._ensureExtensions()._peerHandshake = value }

  /** What the peer has: a BitField (grows up to maxPieces), or a HaveAllBitField after have-all. */
  get peerPieces (): BitField | HaveAllBitField { return this._ensurePeerPieces() }
  set peerPieces (value: BitField | HaveAllBitField) { this._peerPieces = value }

  /** Extra fields of the extended handshake we send ("m" is filled in from `use()`). */
  get extendedHandshake (): Record<string, unknown> { return (this._ensureExtensions()._fields ??= {}) }
  set extendedHandshake (value: Record<string, unknown>) { this._ensureExtensions()._fields = value }

  /** BEP 6: pieces we allow the peer to request while choked. */
  get allowedFastSet (): number[] { return this._ensureFast().allowed }
  set allowedFastSet (value: number[]) { this._ensureFast().allowed = value }

  /** BEP 6: pieces the peer allows us to request while choked. */
  get peerAllowedFastSet (): number[] { return this._ensureFast().peerAllowed }
  set peerAllowedFastSet (value: number[]) { this._ensureFast().peerAllowed = value }

  // ---------------------------------------------------------------------------
  // Message stream encryption

  /**
   * Run the MSE exchange and resolve when the BitTorrent handshake can follow. Call it
   * right after creating the wire, before any byte arrived. The role follows the wire's
   * type (incoming types answer, others dial) unless `role` is given.
   */
  encrypt (opts: EncryptOptions = {}): Promise<EncryptResult> {
    // a build without MSE rejects, as does a second exchange
    return new Promise(resolve => resolve(this._ensureMse().encrypt(opts)))
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

  // 5.0.9's view of the exchange, which WebTorrent 3's own tests read (its index.js getters)

  /** @internal Where the MSE exchange stands: 'idle', 'sentPe1', 'gotPe2', 'sentPe2', 'sentPe3', 'gotPe3', 'done'. */
  get _peState (): string { return this._mse !== null ? this._mse.peState : 'idle' }
  /** @internal The payload method the exchange chose (2 RC4, 1 plaintext); null before; undefined on a wire without MSE. */
  get _encryptionMethod (): 1 | 2 | null | undefined { return this._mse !== null ? this._mse.selected : undefined }
  /** @internal Whether the MSE exchange completed. */
  get _cryptoHandshakeDone (): boolean { return this._mse !== null && this._mse.handshakeDone }
  /** @internal The constructor's encryption setting: 5.x's level 0, 1 or 2, or 3.5.5's `peEnabled` (true). */
  get _peEnabled (): boolean | 0 | 1 | 2 { return this._mse !== null ? this._mse.peEnabled : 0 }

  /** 3.5.5: outgoing, send our DH public key (step 1). */
  sendPe1 (): void { this._mse?.sendPe1() }
  /** 3.5.5: incoming, answer with our DH public key (step 2), after 'pe1'. */
  sendPe2 (): void { this._mse?.sendPe2() }
  /** 3.5.5: outgoing, send step 3 for this info hash (hex), after 'pe2'. */
  sendPe3 (infoHash: string | Uint8Array): void { this._mse?.sendPe3(infoHash) }
  /** 3.5.5: incoming, accept this info hash (hex) as the one asked for in 'pe3', send step 4. */
  sendPe4 (infoHash: string | Uint8Array): void { this._mse?.sendPe4(infoHash) }

  /** @internal */ private _ensureMse (): WireEncryption {
    const support = (this.constructor as typeof Wire)._mseSupport
    if (support === null) throw new Error(NO_MSE)
    return (this._mse ??= support.attach(this._host, { peEnabled: false, retries: 0, level: 0 }))
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
  setTimeout (ms: number, unref?: boolean): void { this._ensureRequests().setTimeout(ms, unref === true) }

  /**
   * Use a BEP 10 extension: `new Extension(wire)`, reachable as `wire[name]` (type it with a module
   * augmentation: docs/extensions.md). Returns the handler. Throws when `Extension.prototype.name`
   * is missing.
   */
  use<T extends ExtensionHandler> (Extension: ExtensionConstructor<T>): T {
    const name = extensionName(Extension)
    if (debug.enabled) this._debug('use extension.name=%s', name)
    const handler = new Extension(this)
    ;(this as unknown as Record<string, unknown>)[name] = this._ensureExtensions().use(name, handler)
    return handler
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
    if (this._handshakeSent) throw new Error('handshake already sent')
    // 3.5.5: a handshake before sendPe1() on an outgoing MSE wire means a plain connection
    this._mse?.abandon()
    const raw = extensions?.reserved
    const { reserved, announced } = codec.encodeOurReserved(extensions, raw === undefined ? undefined : toBuffer(raw, 'reserved'))
    this.extensions = announced
    if (this._ourBit('fast') && this._peerBit('fast')) this.hasFast = true
    if (debug.enabled) this._debug('handshake i=%s p=%s exts=%o', infoHashBuffer.toString('hex'), peerIdBuffer.toString('hex'), announced)
    const handshake = codec.encodeHandshake(reserved, infoHashBuffer, peerIdBuffer)
    this._handshakeSent = true
    if (this._peerBit('extended') && this._ourBit('extended') && !this._extendedHandshakeSent) {
      // The peer's handshake came first: our extended handshake follows at once (BEP 10), and
      // both leave as one chunk, one TCP segment, as libtorrent writes them. The peer reads both
      // before it hears of anything we answer to what it sends meanwhile, piped in memory as
      // over TCP (the order of 5.0.9's events; 3.5.5 delivered the first before the second was
      // sent).
      const payload = this._extendedHandshakePayload()
      this._push(Buffer.concat([handshake, codec.encodeExtendedHeader(0, payload.length), payload]))
    } else {
      this._push(handshake)
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

  /**
   * Request a block; `cb(null, block)` when it arrives, `cb(err, null)` when it fails (at once when
   * the peer chokes us and the piece is not allowed-fast).
   */
  request (index: number, offset: number, length: number, cb?: RequestCallback): void
  /** A callback that only looks at the error. */
  request (index: number, offset: number, length: number, cb: (err: Error | null) => void): void
  request (index: number, offset: number, length: number, cb?: RequestCallback | ((err: Error | null) => void)): void {
    const callback = (cb ?? noop) as RequestCallback
    if (this._finished || this.destroyed) {
      callback(new WireError(ErrorCodes.WIRE_CLOSED, 'wire is closed'), null)
      return
    }
    if (this.peerChoking && !(this.hasFast && this._fast !== null && this._fast.peerAllowed.includes(index))) {
      callback(new WireError(ErrorCodes.PEER_CHOKED, 'peer is choking'), null)
      return
    }
    checkUint32(index, 'index')
    checkUint32(offset, 'offset')
    checkUint32(length, 'length')
    this._ensureRequests().add(new Request(index, offset, length, callback))
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
    const ours = this._requests
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

  allowedFast (index: number): void { requireFast(this.hasFast); checkUint32(index, 'index'); this._ensureFast().allow(index) }

  /**
   * BEP 52: ask for hashes of a file's merkle tree. `cb(err, message)` gets the `hashes` reply, or an
   * ERR_BT_HASH_REJECTED error when the peer sends a hash reject (ERR_BT_WIRE_CLOSED when the wire
   * closes first). Sent whatever the choke state (BEP 52 allows that).
   */
  hashRequest (request: HashRequestInput, cb?: HashesCallback): void
  /** A callback that only looks at the error. */
  hashRequest (request: HashRequestInput, cb: (err: Error | null) => void): void
  hashRequest (request: HashRequestInput, cb?: HashesCallback | ((err: Error | null) => void)): void {
    const req = toHashRequest(request)
    if (this._finished || this.destroyed) {
      ;(cb as HashesCallback | undefined)?.(new WireError(ErrorCodes.WIRE_CLOSED, 'wire is closed'), undefined)
      return
    }
    this._ensureHashes().request(req, (cb ?? null) as HashesCallback | null)
  }

  /**
   * BEP 52: answer a hash request with hashes: the `length` base-layer hashes then the uncle hashes
   * (bottom up), as 32-byte buffers or one buffer. Throws when the count does not fit the request.
   */
  hashes (request: HashRequestInput, hashes: Uint8Array | Uint8Array[]): void { this._ensureHashes().send(toHashRequest(request), hashes) }

  /** BEP 52: refuse a hash request. */
  hashReject (request: HashRequestInput): void { this._ensureHashes().reject(toHashRequest(request)) }

  /** Send an extended message by the peer's name for it, or by id. Objects are bencoded. */
  extended (ext: string | number, obj: unknown): void {
    const id = extendedId(this._extensions, ext)
    const payload = extendedPayload(obj)
    this._push(codec.encodeExtendedHeader(id, payload.length))
    if (payload.length > 0) this._push(payload)
  }

  /** Bytes of a message from the peer that has not arrived whole yet (what the reader holds). */
  get inputBacklog (): number { return this._reader.buffered }
  /** BEP 52: our hash requests awaiting hashes or a reject, oldest first. */
  get hashRequests (): HashRequest[] { return this._hashes === null ? [] : this._hashes.requests.map(p => p.req) }
  /** BEP 52: the peer's hash requests awaiting our answer, oldest first. */
  get peerHashRequests (): HashRequest[] { return this._hashes === null ? [] : this._hashes.peerRequests.slice() }

  /** Run a request's callback, once: plugins call it too (lt_donthave, after editing `wire.requests`). */
  _callback (req: Request, err: Error | null, block: Buffer | null): void { this._ensureRequests().settle(req, err, block) }
}

export default Wire
