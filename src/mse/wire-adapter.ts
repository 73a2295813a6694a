/**
 * Message Stream Encryption on a Wire: the glue between the MseHandshake state machine
 * (mse/handshake.ts) and the stream.
 *
 * Three ways to drive it:
 * - bittorrent-protocol 3.5.5's, as WebTorrent 1.9.7 does: `new Wire(type, retries, true)`,
 *   then sendPe1()..sendPe4() in answer to the events pe1..pe4 (RC4 required, as in 3.5.5);
 * - bittorrent-protocol 5.x's, as WebTorrent 3 does: `new Wire(type, level)`, then
 *   `startEncryption(infoHash)` (outgoing) or 'crypto-infohash' -> `setInfoHash(infoHash)`
 *   (incoming), and 'crypto-handshake' when done (WireMseLevel below);
 * - `wire.encrypt({ policy, infoHash | infoHashes | resolveSkey })`, a promise that runs the
 *   whole exchange and resolves when the plain BitTorrent handshake can follow.
 *
 * While the exchange runs, incoming bytes go to the handshake instead of the reader, and
 * our own messages are held back; when it is done the ciphers are installed, held messages
 * are flushed through them, and the initial payload plus any bytes that followed the
 * handshake go to the reader.
 *
 * Node only: it uses node:crypto. The browser entry does not install it.
 */
import { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'
import {
  MseHandshake, detectHandshake, toInfoHash, DEFAULT_MSE_TIMEOUT,
  type MseResult, type SkeyResolver, type InfoHashLike, type PeState
} from './handshake.js'
import { nativeRc4Available } from './rc4.js'
import type { WireHost } from '../io/host.js'
import type { EncryptOptions, EncryptResult, EncryptionSetup, MseDone, MseSupport, WireEncryption } from './types.js'

type Done = MseDone

/** One MSE exchange on a wire. */
export class WireMse {
  private readonly _wire: WireHost
  private _hs: MseHandshake | null = null
  /** Bytes seen before we know whether the peer speaks MSE (incoming). */
  private _probe: Buffer | null = null
  /** encrypt(), incoming: bounds the wait for the peer's first bytes (the handshake's own timer starts after). */
  private _probeTimer: ReturnType<typeof setTimeout> | null = null
  private _deadline = 0
  private _held: Uint8Array[] | null = []
  private _done: Done | null = null
  private _plainAllowed: boolean
  private _mseAllowed: boolean
  private readonly _manual: boolean
  private readonly _opts: EncryptOptions
  private _sentPe1 = false
  /** How the exchange ended, once it succeeded (`method` 'none': the peer sent a plain handshake). */
  private _result: EncryptResult | null = null
  /** The last step the exchange reached (5.0.9's names), kept once the handshake object is gone. */
  private _peState: PeState = 'idle'
  /** Initiator: the peer answered with a plain BitTorrent handshake and we went on without MSE. */
  private _fellBack = false

  constructor (wire: WireHost, opts: EncryptOptions, manual: boolean, done: Done | null) {
    this._wire = wire
    this._opts = opts
    this._manual = manual
    this._done = done
    const policy = opts.policy ?? 'require'
    if (policy !== 'plaintext' && policy !== 'prefer' && policy !== 'require') throw new TypeError(`unknown encryption policy ${String(policy)}`)
    this._plainAllowed = policy !== 'require'
    this._mseAllowed = policy !== 'plaintext'
  }

  /** Incoming: look at the first bytes to tell a plain handshake from MSE. */
  listen (): void {
    this._wire.divert(chunk => this._onProbe(chunk))
    const ms = this._opts.timeout ?? DEFAULT_MSE_TIMEOUT
    // 3.5.5's manual API never had this bound; encrypt() promises one for the whole exchange
    if (!this._manual && ms > 0 && Number.isFinite(ms)) {
      this._deadline = Date.now() + ms
      this._probeTimer = setTimeout(() => {
        this._probeTimer = null
        this._error(new WireError(ErrorCodes.MSE_FAILED, `MSE handshake failed: timed out after ${ms} ms waiting for the peer's first bytes`))
      }, ms)
      if (typeof this._probeTimer === 'object' && typeof this._probeTimer.unref === 'function') this._probeTimer.unref()
    }
  }

  private _clearProbeTimer (): void {
    if (this._probeTimer !== null) clearTimeout(this._probeTimer)
    this._probeTimer = null
  }

  /** Outgoing: start the initiator (automatic mode sends Ya at once). */
  connect (): void {
    if (!this._mseAllowed) { this._finish(null, { encrypted: false, method: 'none', infoHash: null }); return }
    this._start('initiator')
    if (!this._manual) this.sendPe1()
  }

  /** Initiator: step 1. */
  sendPe1 (): void {
    if (this._hs === null || this._hs.role !== 'initiator') return
    this._sentPe1 = true
    this._hs.sendPe1()
  }

  /** The handshake, for the 3.5.5 step methods. */
  get handshake (): MseHandshake | null {
    return this._hs
  }

  /** 5.0.9's `_peState`: 'idle' before the exchange (and for a plain incoming handshake), 'done' after it. */
  get peState (): PeState {
    return this._hs !== null ? this._hs.peState : this._peState
  }

  /** 5.0.9's `_encryptionMethod`: crypto_select once chosen (2 RC4, 1 plaintext payload), else null. */
  get selected (): 1 | 2 | null {
    const method = this._result?.method
    return method === 'rc4' ? 2 : method === 'plaintext' ? 1 : null
  }

  /** 5.0.9's `_cryptoHandshakeDone`: the MSE exchange completed, or an initiator fell back to plain (as 5.0.9 counts it). */
  get handshakeDone (): boolean {
    return this._result !== null && (this._result.method !== 'none' || this._fellBack)
  }

  /** Whether our outgoing messages are held back. */
  get holding (): boolean {
    return this._held !== null
  }

  hold (data: Uint8Array): void {
    this._held!.push(data)
  }

  /** 3.5.5's handshake() before sendPe1() on an outgoing MSE wire: go plain instead. */
  abandon (): void {
    if (this._hs !== null && this._hs.role === 'initiator' && !this._sentPe1) {
      this._hs.destroy()
      this._hs = null
      this._wire.divert(null)
      this._release(null)
    }
  }

  destroy (): void {
    this._clearProbeTimer()
    if (this._hs !== null) this._peState = this._hs.peState
    this._hs?.destroy()
    this._hs = null
    this._held = null
    if (this._done !== null) {
      const done = this._done
      this._done = null
      done(new WireError(ErrorCodes.WIRE_CLOSED, 'wire closed during the encryption handshake'))
    }
  }

  /**
   * The peer's first bytes so far, joined; null while they may still be the start of a plain
   * BitTorrent handshake (kept in `_probe` meanwhile).
   */
  private _firstBytes (chunk: Buffer): { buf: Buffer, plain: boolean } | null {
    const buf = this._probe === null ? chunk : Buffer.concat([this._probe, chunk])
    const kind = detectHandshake(buf)
    if (kind === 'more') { this._probe = buf; return null }
    this._probe = null
    return { buf, plain: kind === 'plain' }
  }

  /**
   * The peer sent a plain BitTorrent handshake (starting `buf`; null: the reader has it already):
   * go on without MSE when the policy allows it, else fail.
   */
  private _goPlain (buf: Buffer | null): void {
    if (!this._plainAllowed) {
      this._error(new WireError(ErrorCodes.MSE_FAILED, 'peer sent a plaintext handshake but encryption is required'))
      return
    }
    this._wire.divert(null)
    this._release(null)
    this._finish(null, { encrypted: false, method: 'none', infoHash: null })
    if (buf !== null) this._wire.feed(buf)
  }

  /**
   * Initiator: the peer sent a plain BitTorrent handshake in place of its Yb (starting `buf`), or
   * (null) before we started, through the reader. Allowed, the exchange counts as over, as 5.0.9
   * counts it ('crypto-handshake', `_peState` 'done', `_cryptoHandshakeDone`); see `_goPlain`.
   */
  fallBack (buf: Buffer | null = null): void {
    if (this._plainAllowed) {
      this._fellBack = true
      this._peState = 'done'
      this._hs?.destroy()
      this._hs = null
    }
    this._goPlain(buf)
  }

  private _onProbe (chunk: Buffer): void {
    const first = this._firstBytes(chunk)
    if (first === null) return
    this._clearProbeTimer()
    if (first.plain) { this._goPlain(first.buf); return }
    const buf = first.buf
    if (!this._mseAllowed) {
      this._error(new WireError(ErrorCodes.MSE_FAILED, 'peer started an encryption handshake but encryption is disabled'))
      return
    }
    this._start('responder')
    this._hs!.receive(buf)
  }

  private _start (role: 'initiator' | 'responder'): void {
    const opts = this._opts
    const payload = opts.payload ?? (opts.policy === 'prefer' ? 'any' : 'rc4')
    const infoHashes = opts.infoHashes !== undefined ? opts.infoHashes : (role === 'responder' && opts.infoHash !== undefined ? [opts.infoHash] : undefined)
    const hs = new MseHandshake({
      role,
      payload,
      manual: this._manual,
      infoHash: role === 'initiator' ? opts.infoHash : undefined,
      infoHashes,
      resolveSkey: opts.resolveSkey,
      preferPlaintext: opts.preferPlaintext,
      // incoming encrypt(): what is left of the time since listen()
      timeout: this._deadline > 0 ? Math.max(1, this._deadline - Date.now()) : opts.timeout
    })
    this._hs = hs
    const wire = this._wire
    hs.on('send', (buf: Buffer) => wire.sendRaw(buf))
    hs.on('error', (err: WireError) => this._error(err))
    hs.on('pe1', () => wire.emit('pe1'))
    hs.on('pe2', () => wire.emit('pe2'))
    hs.on('pe3', (hash: string) => wire.emit('pe3', hash))
    hs.on('done', (r: MseResult) => this._onDone(r))
    wire.divert(role === 'initiator' ? chunk => this._onReply(hs, chunk) : chunk => hs.receive(chunk))
  }

  /**
   * Initiator: the peer's first bytes. A plain BitTorrent handshake in place of its Yb means it
   * will not run MSE: under 'prefer' we go on without it (5.0.9's level 1 does), under 'require'
   * the exchange fails at once rather than at its timeout. Anything else is Yb.
   */
  private _onReply (hs: MseHandshake, chunk: Buffer): void {
    const first = this._firstBytes(chunk)
    if (first === null) return
    if (!first.plain) {
      this._wire.divert(c => hs.receive(c))
      hs.receive(first.buf)
      return
    }
    this.fallBack(first.buf)
  }

  private _onDone (r: MseResult): void {
    const wire = this._wire
    this._hs = null
    this._peState = 'done'
    wire.divert(null)
    if (r.encrypt !== null && r.decrypt !== null) {
      const enc = r.encrypt
      const dec = r.decrypt
      wire.setCiphers(data => enc.update(data), data => dec.update(data))
    }
    this._release(null)
    this._finish(null, { encrypted: r.method === 'rc4', method: r.method, infoHash: r.infoHash })
    if (r.role === 'initiator') wire.emit('pe4')
    // already decrypted: straight to the reader
    if (r.ia.length > 0) wire.feed(r.ia)
    if (r.rest.length > 0 && !wire.destroyed) wire.feed(r.rest)
  }

  /** A failed exchange: encrypt() rejects with this error (not a generic "closed"), then the wire fails with it. */
  private _error (err: WireError): void {
    this._finish(err)
    this._wire.fail(err)
  }

  /** Send what was held back while the exchange ran. */
  private _release (_err: Error | null): void {
    const held = this._held
    this._held = null
    if (held !== null) for (const data of held) this._wire.send(data)
  }

  private _finish (err: Error | null, result?: EncryptResult): void {
    if (result !== undefined) this._result = result
    const done = this._done
    this._done = null
    done?.(err, result)
  }

}

/**
 * bittorrent-protocol 5.x's encryption API on a wire made with `new Wire(type, level)`:
 * - level 1: MSE offering RC4 and plaintext payload; as responder, plaintext is selected when the
 *   peer offers both (as 5.0.9 does); level 2: RC4 only, both ways.
 * - incoming (type '...Incoming'): listens at once; a plain BitTorrent handshake is accepted too.
 *   At step 3 the peer's HASH('req2', SKEY) goes out as 'crypto-infohash' (hex), and the exchange
 *   waits (bounded by the 30 s MSE timeout) for `setInfoHash(infoHash)`.
 * - outgoing: nothing happens until `start(infoHash)` (`wire.startEncryption`). A peer that sends
 *   a plain BitTorrent handshake instead (before or after we started) does not run MSE: at level 1
 *   the wire goes on without it, as 5.0.9 does ('crypto-handshake', then 'handshake'); at level 2
 *   (RC4 only) that fails the wire with ERR_BT_MSE_FAILED, unless we sent our plain handshake
 *   ourselves before starting.
 * - 'crypto-handshake' when the exchange is done, both roles, and on an outgoing wire's fallback
 *   (not for a plain incoming handshake, as in 5.0.9).
 */
export class WireMseLevel {
  readonly level: 1 | 2
  private readonly _wire: WireHost
  private readonly _open: (opts: EncryptOptions, done: MseDone) => WireMse
  private _session: WireMse | null = null
  private _started = false
  /** The info hash from setInfoHash(), once given. */
  private _skey: Buffer | null = null
  /** The SKEY lookup waiting for setInfoHash(). */
  private _waiting: ((skey: Buffer) => void) | null = null
  /** null while the exchange runs (or has not started); then whether it succeeded. */
  private _outcome: boolean | null = null
  private _settle: Array<(ok: boolean) => void> | null = null
  private readonly _incoming: boolean

  constructor (wire: WireHost, level: 1 | 2, open: (opts: EncryptOptions, done: MseDone) => WireMse) {
    this._wire = wire
    this._open = open
    this.level = level
    const type = wire.type
    this._incoming = typeof type === 'string' && type.includes('Incoming')
    if (this._incoming) {
      this._started = true
      this._session = open({
        policy: 'prefer',
        payload: level === 2 ? 'rc4' : 'any',
        preferPlaintext: level === 1,
        role: 'responder',
        resolveSkey: hash => this._resolve(hash)
      }, (err, result) => this._done(err, result))
      this._session.listen()
    }
  }

  /** Outgoing: run the initiator for this info hash (once; later calls do nothing). */
  start (infoHash: InfoHashLike): void {
    if (this._started) return
    const skey = toInfoHash(infoHash)
    if (skey === null) throw new TypeError('startEncryption() needs an info hash (20 bytes or 40 hex characters)')
    this._started = true
    const wire = this._wire
    if (wire.finished || wire.destroyed) { this._outcome = false; return }
    this._session = this._openInitiator(skey)
    this._session.connect()
  }

  private _openInitiator (infoHash: Buffer | undefined): WireMse {
    return this._open({
      policy: this.level === 2 ? 'require' : 'prefer',
      payload: this.level === 2 ? 'rc4' : 'any',
      role: 'initiator',
      infoHash
    }, (err, result) => this._done(err, result))
  }

  /**
   * The peer's plain BitTorrent handshake is about to be read (`ourHandshakeSent`: ours went out
   * already). On an outgoing wire that has not started MSE it ends the exchange before it began
   * (see the class comment). False when that failed the wire.
   */
  peerHandshake (ourHandshakeSent: boolean): boolean {
    if (this._incoming || this._started) return true
    this._started = true
    if (this.level === 2 && !ourHandshakeSent) {
      this._outcome = false
      this._wire.fail(new WireError(ErrorCodes.MSE_FAILED, 'peer sent a plaintext handshake but encryption is required (level 2)'))
      return false
    }
    if (this.level === 1) {
      this._session = this._openInitiator(undefined)
      this._session.fallBack()
    }
    return !this._wire.finished
  }

  setInfoHash (infoHash: InfoHashLike): Promise<boolean> {
    const skey = toInfoHash(infoHash)
    if (skey === null) throw new TypeError('setInfoHash() needs an info hash (20 bytes or 40 hex characters)')
    this._skey = skey
    const waiting = this._waiting
    this._waiting = null
    if (waiting !== null) waiting(skey)
    // outgoing, or a wire that never runs the exchange: nothing to wait for
    if (this._outcome !== null || !this._started || this._session === null) return Promise.resolve(this._outcome ?? true)
    return new Promise(resolve => (this._settle ??= []).push(resolve))
  }

  private _resolve (hash: Buffer): Buffer | Promise<Buffer> {
    // emitted even when setInfoHash() came first, as 5.0.9 does (applications route on it)
    this._wire.emit('crypto-infohash', hash.toString('hex'))
    // given beforehand, or by a listener right now
    if (this._skey !== null) return this._skey
    return new Promise(resolve => { this._waiting = resolve })
  }

  private _done (err: Error | null, result?: EncryptResult): void {
    this._outcome = err === null
    this._waiting = null
    const settle = this._settle
    this._settle = null
    // a failure has already failed the wire with its coded error (WireMse._error); a plain
    // handshake counts as the end of the exchange on an outgoing wire only (as in 5.0.9)
    if (err === null && (result!.method !== 'none' || !this._incoming)) this._wire.emit('crypto-handshake')
    if (settle !== null) for (const resolve of settle) resolve(this._outcome)
  }
}

/**
 * A wire's encryption: its one exchange (3.5.5's manual steps, encrypt(), or the 5.x level
 * driving it) and what the Wire asks of it.
 */
export class Encryption implements WireEncryption {
  private readonly _wire: WireHost
  private _session: WireMse | null = null
  private _level: WireMseLevel | null = null
  private readonly _setup: EncryptionSetup

  constructor (wire: WireHost, setup: EncryptionSetup) {
    this._wire = wire
    this._setup = setup
    const type = wire.type
    if (setup.level !== 0) {
      this._level = new WireMseLevel(wire, setup.level, (opts, done) => this._open(opts, false, done))
    } else if (setup.peEnabled) {
      // 3.5.5: an incoming wire accepts a plain or an MSE handshake; an outgoing one with no
      // retries expects to run MSE, driven step by step with sendPe1()..sendPe4()
      if (type === 'tcpIncoming') this._open({ policy: 'prefer', role: 'responder' }, true, null).listen()
      else if (type === 'tcpOutgoing' && setup.retries === 0) this._open({ policy: 'require', role: 'initiator' }, true, null).connect()
    }
  }

  private _open (opts: EncryptOptions, manual: boolean, done: MseDone | null): WireMse {
    if (this._session !== null) throw new Error('encryption was already set up on this wire')
    return (this._session = new WireMse(this._wire, opts, manual, done))
  }

  get holding (): boolean {
    return this._session !== null && this._session.holding
  }

  get peState (): PeState { return this._session !== null ? this._session.peState : 'idle' }
  get selected (): 1 | 2 | null { return this._session !== null ? this._session.selected : null }
  get handshakeDone (): boolean { return this._session !== null && this._session.handshakeDone }
  get peEnabled (): boolean | 0 | 1 | 2 { return this._setup.level !== 0 ? this._setup.level : this._setup.peEnabled }

  hold (data: Uint8Array): void {
    this._session!.hold(data)
  }

  abandon (): void {
    this._session?.abandon()
  }

  peerHandshake (ourHandshakeSent: boolean): boolean {
    return this._level !== null ? this._level.peerHandshake(ourHandshakeSent) : true
  }

  destroy (): void {
    this._session?.destroy()
  }

  encrypt (opts: EncryptOptions): Promise<EncryptResult> {
    return new Promise((resolve, reject) => {
      const type = this._wire.type
      const role = opts.role ?? (type === 'tcpIncoming' || type === 'utpIncoming' ? 'responder' : 'initiator')
      const session = this._open({ ...opts, role }, false, (err, result) => err ? reject(err) : resolve(result!))
      if (role === 'responder') session.listen()
      else session.connect()
    })
  }

  startEncryption (infoHash: InfoHashLike): void {
    this._level?.start(infoHash)
  }

  setInfoHash (infoHash: InfoHashLike): Promise<boolean> {
    return this._level !== null ? this._level.setInfoHash(infoHash) : Promise.resolve(true)
  }

  sendPe1 (): void {
    this._session?.sendPe1()
  }

  sendPe2 (): void {
    const hs = this._session?.handshake
    if (hs?.role === 'responder') hs.sendPe2()
  }

  sendPe3 (infoHash: InfoHashLike): void {
    const hs = this._session?.handshake
    if (hs?.role === 'initiator') hs.sendPe3(infoHash)
  }

  sendPe4 (infoHash: InfoHashLike): void {
    const hs = this._session?.handshake
    if (hs?.role === 'responder') hs.sendPe4(infoHash)
  }
}

/** MSE for the Node entry's Wire (node:crypto). */
export const mseSupport: MseSupport = {
  attach: (host, setup) => new Encryption(host, setup),
  nativeRC4: nativeRc4Available
}
