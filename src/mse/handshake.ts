/**
 * Message Stream Encryption (MSE, a.k.a. Protocol Encryption / PE) handshake,
 * both sides, as a byte-driven state machine that knows nothing about streams.
 *
 * ## Protocol (A = initiator / outgoing, B = responder / incoming)
 *
 *   1 A->B  Ya, PadA
 *   2 B->A  Yb, PadB
 *   3 A->B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD)
 *   5       payload, RC4-encrypted or plaintext as selected
 *
 * Ya/Yb: 96-byte DH public keys (768-bit MSE prime, G = 2, 160-bit private keys).
 * S: the 96-byte shared secret. SKEY: the torrent's 20-byte info hash.
 * HASH = SHA-1. Pad*: 0..512 bytes. VC: 8 zero bytes. A encrypts with
 * RC4(HASH('keyA', S, SKEY)), B with RC4(HASH('keyB', S, SKEY)), both dropping 1024 bytes.
 * crypto bits: 0x01 plaintext, 0x02 RC4.
 *
 * Bounds enforced here (anything else fails with WireError ERR_BT_MSE_FAILED):
 * - B finds HASH('req1', S) within the 532 bytes after Ya (PadA <= 512, + 20 hash bytes);
 * - A finds ENCRYPT(VC) within the 520 bytes after Yb (PadB <= 512, + 8 VC bytes);
 * - len(PadC), len(PadD) <= 512; len(IA) <= maxIaLength (default 65535);
 * - while waiting for the application (SKEY lookup, manual steps) at most `maxBuffered`
 *   bytes are held; before step 2/3 was sent, at most 512 bytes (the peer's padding);
 * - the whole handshake must finish within `timeout` ms (default 30 s, timer unref'd).
 *
 * ## API
 *
 *   const hs = new MseHandshake({ role: 'initiator', infoHash, payload: 'any', ia })
 *   hs.on('send', (buf: Buffer) => socket.write(buf))       // raw bytes for the peer
 *   hs.on('done', (r: MseResult) => { ... })                  // r.method, r.encrypt, r.decrypt, r.ia, r.rest
 *   hs.on('error', (err: WireError) => socket.destroy())      // err.code === 'ERR_BT_MSE_FAILED'
 *   hs.start()                                                // initiator: sends Ya + PadA
 *   socket.on('data', chunk => hs.receive(chunk))             // until 'done'; then use r.decrypt
 *
 * After 'done' the caller owns the ciphers: every further incoming chunk goes through
 * `r.decrypt.update()`, every outgoing buffer through `r.encrypt.update()` (both null when
 * the plaintext method was selected). `r.rest` holds the bytes that followed the handshake
 * in the last chunk, already decrypted; on the responder `r.ia` is the initiator's decrypted
 * initial payload, which logically comes before `r.rest` in the peer's stream.
 *
 * Events, in order:
 * - responder: 'pe1' (Ya received), 'pe3'(hex of HASH('req2', SKEY)), 'done'
 * - initiator: 'pe2' (Yb received), 'done', 'pe4'
 * - any time: 'send'(Buffer); 'error'(WireError) at most once, after which nothing else happens.
 * Events are emitted synchronously from receive(), sendPe*() or the SKEY resolver's
 * promise; listeners may call back into the object (re-entrancy is handled).
 *
 * ## Automatic and manual (bittorrent-protocol 3.5.5) driving
 *
 * Default (automatic): the responder sends step 2 as soon as Ya is in, the initiator sends
 * step 3 as soon as Yb is in (needs `infoHash`), the responder looks the SKEY up with
 * `infoHashes` and/or `resolveSkey` (sync or async). With `manual: true` nothing is sent
 * by itself and the application drives the steps exactly as WebTorrent drives 3.5.5:
 *
 *   3.5.5 Wire API                  this class
 *   ------------------------------  ---------------------------------------------------------
 *   wire.sendPe1()      (outgoing)  hs.sendPe1()  === hs.start(): Ya + PadA
 *   'pe1'               (incoming)  'pe1': the 96 bytes of Ya arrived and S is known
 *   wire.sendPe2()      (incoming)  hs.sendPe2(): Yb + PadB
 *   'pe2'               (outgoing)  'pe2': the 96 bytes of Yb arrived and S is known
 *   wire.sendPe3(ihHex) (outgoing)  hs.sendPe3(ih): step 3 (IA empty unless given)
 *   'pe3'(hashHex)      (incoming)  'pe3'(hex of HASH('req2', SKEY)), right after the sync
 *   wire.sendPe4(ihHex) (incoming)  hs.sendPe4(ih): SKEY := ih (checked against the hash);
 *                                   step 4 goes out once the rest of step 3 (VC, provide,
 *                                   PadC, IA) is in, with crypto_select chosen by payload
 *   'pe4'               (outgoing)  'pe4': step 4 fully read; emitted after 'done'
 *   wire.setEncrypt(S, ih)          createMseCiphers(role, S, ih); sendPe3/sendPe4 derive the keys
 *                                   themselves, so the Wire needs it only for API parity
 *
 * Unlike 3.5.5, sendPe3/sendPe4 may be called later (asynchronously) rather than inside the
 * pe2/pe3 listener: input is buffered meanwhile (bounded), nothing busy-waits.
 */
import { Buffer } from 'buffer'
import { EventEmitter } from 'events'
import * as crypto from 'crypto'
import { ErrorCodes, WireError } from '../errors.js'
import { createRc4, type Rc4Impl, type StreamCipher } from './rc4.js'
import { DH_KEY_LENGTH, computeSecret, generateKeyPair, type DhKeyPair } from './dh.js'

export const MAX_PAD = 512
export const VC_LENGTH = 8
export const HASH_LENGTH = 20
/** Bytes after Ya within which HASH('req1', S) must have ended (PadA <= 512). */
export const REQ1_SYNC_WINDOW = MAX_PAD + HASH_LENGTH
/** Bytes after Yb within which ENCRYPT(VC) must have ended (PadB <= 512). */
export const VC_SYNC_WINDOW = MAX_PAD + VC_LENGTH
export const CRYPTO_PLAINTEXT = 0x01
export const CRYPTO_RC4 = 0x02
export const DEFAULT_MSE_TIMEOUT = 30_000
export const DEFAULT_MAX_BUFFERED = 256 * 1024
export const MAX_IA_LENGTH = 0xffff

/**
 * The payload methods offered (initiator) or accepted (responder) after the (always obfuscated)
 * handshake, the same strings as `EncryptOptions.payload` (a connection-level `policy` of
 * `encrypt()` is another thing: whether MSE runs at all):
 * - 'rc4':       RC4 only (crypto_provide 0x02). A peer that cannot do RC4 fails.
 * - 'any':       RC4 when the peer can, otherwise plaintext (crypto_provide 0x03).
 * - 'plaintext': plaintext payload only (crypto_provide 0x01): the handshake is hidden,
 *                the data is not (saves the RC4 cost).
 * The responder selects RC4 whenever both sides allow it, unless `preferPlaintext` is set.
 */
export type MsePayload = 'rc4' | 'any' | 'plaintext'
export type MseRole = 'initiator' | 'responder'
export type MseMethod = 'rc4' | 'plaintext'
/** An info hash: 20 bytes, or 40 hex characters. */
/** bittorrent-protocol 5.0.9's names for the steps of an exchange (see `MseHandshake.peState`). */
export type PeState = 'idle' | 'sentPe1' | 'gotPe2' | 'sentPe2' | 'sentPe3' | 'gotPe3' | 'done'
export type InfoHashLike = Uint8Array | string
export type SkeyLookupResult = InfoHashLike | null | undefined | false
/**
 * Responder: map HASH('req2', SKEY) to the SKEY (the info hash of a torrent we serve), or
 * return null/undefined when we have no such torrent. May return a promise.
 */
export type SkeyResolver = (skeyHash: Buffer) => SkeyLookupResult | Promise<SkeyLookupResult>

export interface MseHandshakeOptions {
  role: MseRole
  /** Default 'any'. */
  payload?: MsePayload
  /**
   * Initiator: the SKEY (info hash) sent in step 3 when driven automatically.
   * Responder: the one SKEY we accept (same as `infoHashes: [infoHash]`).
   */
  infoHash?: InfoHashLike
  /** Responder: the info hashes we serve; HASH('req2', ih) is matched against the peer's. */
  infoHashes?: Iterable<InfoHashLike>
  /** Responder: SKEY lookup, consulted when `infoHashes` has no match. */
  resolveSkey?: SkeyResolver
  /** Initiator: initial payload sent encrypted inside step 3 (usually the BitTorrent handshake). */
  ia?: Uint8Array
  /** Do not send steps 2/3 by themselves: wait for sendPe2()/sendPe3() (3.5.5 style). */
  manual?: boolean
  /**
   * Responder under 'prefer': select plaintext when the initiator offers both (bittorrent-protocol
   * 5.x's level 1 does; the default selects RC4).
   */
  preferPlaintext?: boolean
  /** Milliseconds for the whole handshake; 0 disables. Default 30000. */
  timeout?: number
  /** Largest PadA/PadB we send (random length 0..padMax). Default 512. */
  padMax?: number
  /** Largest len(IA) we accept. Default 65535. */
  maxIaLength?: number
  /** Most bytes held while waiting for the application. Default 256 KiB. */
  maxBuffered?: number
  /** RC4 implementation: 'auto' (default), 'native' or 'js'. */
  rc4?: Rc4Impl | 'auto'
}

export interface MseResult {
  role: MseRole
  method: MseMethod
  /** Encrypts what we send after the handshake; null for plaintext. */
  encrypt: StreamCipher | null
  /** Decrypts what we receive after the handshake; null for plaintext. */
  decrypt: StreamCipher | null
  /** The SKEY: the torrent's info hash (20 bytes). */
  infoHash: Buffer
  /** HASH('req2', SKEY), what 3.5.5 hands out (as hex) in 'pe3'. */
  skeyHash: Buffer
  /** Responder: the initiator's decrypted initial payload (may be empty). Initiator: empty. */
  ia: Buffer
  /** Bytes that followed the handshake in the input so far, already decrypted. */
  rest: Buffer
  /** Responder: the peer's crypto_provide. Initiator: the peer's crypto_select. */
  peerCrypto: number
}

type State =
  // initiator
  | 'yb' | 'waitStep3' | 'vcSync' | 'select' | 'padD'
  // responder
  | 'ya' | 'waitStep2' | 'req1Sync' | 'req23' | 'waitSkey' | 'vc' | 'padC' | 'lenIA' | 'ia'
  // terminal
  | 'done' | 'failed' | 'destroyed'

const STEP_NAMES: Record<State, string> = {
  yb: 'step 2 (Yb)',
  waitStep3: 'step 2 (waiting for sendPe3)',
  vcSync: 'step 4 (VC sync)',
  select: 'step 4 (crypto_select)',
  padD: 'step 4 (PadD)',
  ya: 'step 1 (Ya)',
  waitStep2: 'step 1 (waiting for sendPe2)',
  req1Sync: "step 3 (HASH('req1', S) sync)",
  req23: "step 3 (HASH('req2') xor HASH('req3'))",
  waitSkey: 'step 3 (SKEY lookup)',
  vc: 'step 3 (VC, crypto_provide)',
  padC: 'step 3 (PadC)',
  lenIA: 'step 3 (len(IA))',
  ia: 'step 3 (IA)',
  done: 'done',
  failed: 'failed',
  destroyed: 'destroyed'
}

const EMPTY = Buffer.alloc(0)
const VC = Buffer.alloc(VC_LENGTH)
const PROTOCOL_HEADER = Buffer.from('\u0013BitTorrent protocol', 'latin1')

function payloadBits (payload: MsePayload): number {
  switch (payload) {
    case 'rc4': return CRYPTO_RC4
    case 'any': return CRYPTO_RC4 | CRYPTO_PLAINTEXT
    case 'plaintext': return CRYPTO_PLAINTEXT
    default: throw new TypeError(`unknown MSE payload ${String(payload)}`)
  }
}

function sha1 (...parts: Array<string | Uint8Array>): Buffer {
  const h = crypto.createHash('sha1')
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)
  return h.digest()
}

function xor20 (a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HASH_LENGTH)
  for (let i = 0; i < HASH_LENGTH; i++) out[i] = a[i] ^ b[i]
  return out
}

/** 20-byte Buffer from a 20-byte array or 40-char hex string; null when neither. */
export function toInfoHash (v: unknown): Buffer | null {
  if (typeof v === 'string') {
    return /^[0-9a-fA-F]{40}$/.test(v) ? Buffer.from(v, 'hex') : null
  }
  if (v instanceof Uint8Array && v.length === HASH_LENGTH) return Buffer.from(v)
  return null
}

/** HASH('req2', infoHash): what the initiator's step 3 reveals (xor HASH('req3', S)). */
export function skeyHash (infoHash: InfoHashLike): Buffer {
  const ih = toInfoHash(infoHash)
  if (!ih) throw new TypeError('info hash must be 20 bytes or 40 hex characters')
  return sha1('req2', ih)
}

/**
 * The payload ciphers for a side, from S and SKEY (what 3.5.5's `setEncrypt(S, infoHash)`
 * computes): the initiator encrypts with HASH('keyA', S, SKEY) and decrypts with
 * HASH('keyB', S, SKEY), the responder the other way round; both drop 1024 bytes.
 * Fresh streams, positioned at the start of step 3 (initiator) / step 4 (responder).
 */
export function createMseCiphers (role: MseRole, sharedSecret: string | Uint8Array, infoHash: InfoHashLike, impl: Rc4Impl | 'auto' = 'auto'): { encrypt: StreamCipher, decrypt: StreamCipher } {
  const secret = typeof sharedSecret === 'string' ? Buffer.from(sharedSecret, 'hex') : sharedSecret
  const skey = toInfoHash(infoHash)
  if (!skey) throw new TypeError('info hash must be 20 bytes or 40 hex characters')
  const a = createRc4(sha1('keyA', secret, skey), { impl })
  const b = createRc4(sha1('keyB', secret, skey), { impl })
  return role === 'initiator' ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a }
}

/**
 * Incoming connections: does the peer open with a plain BitTorrent handshake or with MSE?
 * 'plain' when `buf` starts with "\x13BitTorrent protocol", 'mse' as soon as a byte differs,
 * 'more' while all of fewer than 20 bytes match. (3.5.5 looks at the first byte only, which
 * misreads the 1 in 256 public keys that start with 0x13.)
 */
export function detectHandshake (buf: Uint8Array): 'plain' | 'mse' | 'more' {
  const n = Math.min(buf.length, PROTOCOL_HEADER.length)
  for (let i = 0; i < n; i++) if (buf[i] !== PROTOCOL_HEADER[i]) return 'mse'
  return n === PROTOCOL_HEADER.length ? 'plain' : 'more'
}

/** A FIFO of received chunks; copies only to join chunks for a read. */
class ByteQueue {
  private chunks: Buffer[] = []
  length = 0

  push (chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.length += chunk.length
  }

  /** The first n bytes (n <= length) as one buffer, without consuming them. */
  peek (n: number): Buffer {
    if (n === 0) return EMPTY
    let first = this.chunks[0]
    if (first.length < n) {
      let k = 1
      let have = first.length
      while (have < n) have += this.chunks[k++].length
      first = Buffer.concat(this.chunks.slice(0, k), have)
      this.chunks.splice(0, k, first)
    }
    return first.subarray(0, n)
  }

  skip (n: number): void {
    this.length -= n
    while (n > 0) {
      const first = this.chunks[0]
      if (first.length <= n) {
        this.chunks.shift()
        n -= first.length
      } else {
        this.chunks[0] = first.subarray(n)
        n = 0
      }
    }
  }

  take (n: number): Buffer {
    const b = this.peek(n)
    this.skip(n)
    return b
  }

  takeAll (): Buffer {
    const b = this.chunks.length === 0
      ? EMPTY
      : this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length)
    this.clear()
    return b
  }

  clear (): void {
    this.chunks = []
    this.length = 0
  }
}

export interface MseHandshakeEvents {
  send: [buf: Buffer]
  done: [result: MseResult]
  error: [err: WireError]
  pe1: []
  pe2: []
  pe3: [skeyHashHex: string]
  pe4: []
}

export class MseHandshake extends EventEmitter {
  readonly role: MseRole
  readonly payload: MsePayload
  readonly manual: boolean
  /** The result, once 'done' was emitted. */
  result: MseResult | null = null

  private state: State
  private readonly queue = new ByteQueue()
  private readonly keys: DhKeyPair
  private readonly bits: number
  private readonly padMax: number
  private readonly maxIaLength: number
  private readonly maxBuffered: number
  private readonly rc4Impl: Rc4Impl | 'auto'
  private readonly preferPlaintext: boolean
  private readonly candidates: Map<string, Buffer> | null
  private readonly resolveSkey: SkeyResolver | null
  private readonly iaOut: Uint8Array
  private timer: ReturnType<typeof setTimeout> | null = null

  private secret: Buffer | null = null
  private skey: Buffer | null = null
  private peerSkeyHash: Buffer | null = null
  private req1: Buffer | null = null
  private vcPattern: Buffer | null = null
  private enc: StreamCipher | null = null
  private dec: StreamCipher | null = null
  private sentStep1 = false
  private sentStep2 = false
  private sentStep3 = false
  private padLen = 0
  private iaLen = 0
  private iaIn: Buffer = EMPTY
  private peerCrypto = 0
  private method: MseMethod | null = null
  private pumping = false
  private again = false

  constructor (opts: MseHandshakeOptions) {
    super()
    if (opts.role !== 'initiator' && opts.role !== 'responder') throw new TypeError('MSE role must be "initiator" or "responder"')
    this.role = opts.role
    this.payload = opts.payload ?? 'any'
    this.bits = payloadBits(this.payload)
    this.manual = !!opts.manual
    this.padMax = Math.max(0, Math.min(MAX_PAD, Math.floor(opts.padMax ?? MAX_PAD)))
    this.maxIaLength = Math.max(0, Math.min(MAX_IA_LENGTH, Math.floor(opts.maxIaLength ?? MAX_IA_LENGTH)))
    this.maxBuffered = Math.max(MAX_PAD + 1, opts.maxBuffered ?? DEFAULT_MAX_BUFFERED)
    this.rc4Impl = opts.rc4 ?? 'auto'
    this.preferPlaintext = !!opts.preferPlaintext
    this.resolveSkey = opts.resolveSkey ?? null
    this.iaOut = opts.ia ?? EMPTY
    if (this.iaOut.length > MAX_IA_LENGTH) throw new RangeError('MSE initial payload is limited to 65535 bytes')

    if (opts.infoHash != null) {
      this.skey = toInfoHash(opts.infoHash)
      if (!this.skey) throw new TypeError('infoHash must be 20 bytes or 40 hex characters')
    }
    if (opts.infoHashes != null) {
      this.candidates = new Map()
      for (const v of opts.infoHashes) {
        const ih = toInfoHash(v)
        if (!ih) throw new TypeError('infoHashes must be 20 bytes or 40 hex characters each')
        this.candidates.set(sha1('req2', ih).toString('hex'), ih)
      }
    } else {
      this.candidates = null
    }

    let keys = generateKeyPair()
    // An initiator's Ya must not start with 0x13: bittorrent-protocol 3.5.5 (WebTorrent 1.x) tells a
    // plain handshake from MSE by that first byte alone and would wait for a handshake that never comes
    // (1 key in 256). Drawing again costs nothing measurable and leaves the key uniform over the rest.
    if (this.role === 'initiator') while (keys.publicKey[0] === PROTOCOL_HEADER[0]) keys = generateKeyPair()
    this.keys = keys
    this.state = this.role === 'initiator' ? 'yb' : 'ya'

    const ms = opts.timeout ?? DEFAULT_MSE_TIMEOUT
    if (ms > 0 && Number.isFinite(ms)) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.fail(`timed out after ${ms} ms in ${STEP_NAMES[this.state]}`)
      }, ms)
      if (typeof this.timer === 'object' && typeof this.timer.unref === 'function') this.timer.unref()
    }
  }

  /** Our DH public key (96 bytes). */
  get publicKey (): Buffer {
    return this.keys.publicKey
  }

  /** The 96-byte shared secret S once the peer's key is in, else null. */
  get sharedSecret (): Buffer | null {
    return this.secret
  }

  /** The current step, e.g. "step 3 (SKEY lookup)", "done", "failed". */
  get step (): string {
    return STEP_NAMES[this.state]
  }

  get finished (): boolean {
    return this.state === 'done'
  }

  /**
   * Where the exchange stands in bittorrent-protocol 5.0.9's words (its `wire._peState`):
   * initiator 'idle' -> 'sentPe1' (Ya out) -> 'gotPe2' (Yb in) -> 'sentPe3' -> 'done';
   * responder 'idle' -> 'sentPe2' (Yb out) -> 'gotPe3' (the peer's SKEY hash in) -> 'done'.
   * A failed or destroyed exchange keeps the name of the last step it reached.
   */
  get peState (): PeState {
    if (this.state === 'done') return 'done'
    if (this.role === 'initiator') return this.sentStep3 ? 'sentPe3' : this.secret !== null ? 'gotPe2' : this.sentStep1 ? 'sentPe1' : 'idle'
    return this.peerSkeyHash !== null ? 'gotPe3' : this.sentStep2 ? 'sentPe2' : 'idle'
  }

  /** Neither done, failed nor destroyed. */
  get active (): boolean {
    return this.state !== 'done' && this.state !== 'failed' && this.state !== 'destroyed'
  }

  /** Initiator: send step 1 (Ya, PadA). Responder: nothing to do (waits for Ya). Idempotent. */
  start (): void {
    if (this.role === 'initiator') this.sendPe1()
  }

  /** Initiator: step 1, Ya + PadA. */
  sendPe1 (): void {
    if (this.role !== 'initiator') throw new Error('sendPe1() is for the initiator (outgoing) side')
    if (this.sentStep1 || !this.active) return
    this.sentStep1 = true
    this.send(Buffer.concat([this.keys.publicKey, randomPad(this.padMax)]))
  }

  /** Responder: step 2, Yb + PadB. Automatic unless `manual`. Idempotent. */
  sendPe2 (): void {
    if (this.role !== 'responder') throw new Error('sendPe2() is for the responder (incoming) side')
    if (this.sentStep2 || !this.active) return
    this.sentStep2 = true
    this.send(Buffer.concat([this.keys.publicKey, randomPad(this.padMax)]))
    if (this.state === 'waitStep2') {
      this.state = 'req1Sync'
      this.pump()
    }
  }

  /**
   * Initiator: step 3 for SKEY `infoHash` (default: the `infoHash` option) with initial
   * payload `ia` (default: the `ia` option). Needs the peer's Yb ('pe2'). Idempotent.
   */
  sendPe3 (infoHash?: InfoHashLike, ia?: Uint8Array): void {
    if (this.role !== 'initiator') throw new Error('sendPe3() is for the initiator (outgoing) side')
    if (this.sentStep3 || !this.active) return
    const secret = this.secret
    if (!secret) throw new Error('sendPe3() needs the peer\'s public key first (after "pe2")')
    const skey = infoHash != null ? toInfoHash(infoHash) : this.skey
    if (!skey) throw new TypeError('sendPe3() needs an info hash (20 bytes or 40 hex characters)')
    const payload = ia ?? this.iaOut
    if (payload.length > MAX_IA_LENGTH) throw new RangeError('MSE initial payload is limited to 65535 bytes')
    this.sentStep3 = true
    this.skey = skey
    this.peerSkeyHash = sha1('req2', skey)
    const ciphers = createMseCiphers('initiator', secret, skey, this.rc4Impl)
    this.enc = ciphers.encrypt
    this.dec = ciphers.decrypt

    const head = Buffer.concat([sha1('req1', secret), xor20(this.peerSkeyHash, sha1('req3', secret))])
    // VC, crypto_provide, len(PadC) = 0 (no PadC, standard practice), len(IA), IA
    const body = Buffer.alloc(VC_LENGTH + 4 + 2 + 2 + payload.length)
    body.writeUInt32BE(this.bits, VC_LENGTH)
    body.writeUInt16BE(0, VC_LENGTH + 4)
    body.writeUInt16BE(payload.length, VC_LENGTH + 6)
    body.set(payload, VC_LENGTH + 8)
    this.enc.updateInPlace(body)
    // The responder's step 4 starts with ENCRYPT2(VC): the first 8 keystream bytes of keyB.
    this.vcPattern = this.dec.update(VC)
    this.send(Buffer.concat([head, body]))
    if (this.state === 'waitStep3') {
      this.state = 'vcSync'
      this.pump()
    }
  }

  /**
   * Responder: accept `infoHash` as the SKEY. It must match the peer's HASH('req2', SKEY)
   * (the 'pe3' value) or the handshake fails. Step 4 goes out as soon as the rest of step 3
   * is in. May be called inside the 'pe3' listener, later, or even before 'pe3'.
   */
  sendPe4 (infoHash: InfoHashLike): void {
    if (this.role !== 'responder') throw new Error('sendPe4() is for the responder (incoming) side')
    if (!this.active) return
    const skey = toInfoHash(infoHash)
    if (!skey) throw new TypeError('sendPe4() needs an info hash (20 bytes or 40 hex characters)')
    if (this.state === 'waitSkey') this.acceptSkey(skey)
    else if (!this.peerSkeyHash) this.skey = skey // before 'pe3': remembered, checked when it comes
  }

  /** Feed bytes received from the peer. Must not be called after 'done'. */
  receive (chunk: Uint8Array): void {
    if (this.state === 'done') throw new Error('MSE handshake is done: decrypt further input with result.decrypt')
    if (!this.active) return
    this.queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
    this.pump()
  }

  /** Stop: clear the timer, drop buffers, emit nothing more. */
  destroy (): void {
    if (this.state === 'destroyed') return
    if (this.active) this.state = 'destroyed'
    this.clearTimer()
    this.queue.clear()
  }

  // ---------------------------------------------------------------------------------------

  private send (buf: Buffer): void {
    this.emit('send', buf)
  }

  private clearTimer (): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
  }

  private fail (message: string): false {
    if (!this.active) return false
    this.state = 'failed'
    this.clearTimer()
    this.queue.clear()
    this.emit('error', new WireError(ErrorCodes.MSE_FAILED, `MSE handshake failed: ${message}`))
    return false
  }

  private pump (): void {
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = true
    try {
      do {
        this.again = false
        while (this.active && this.advance()) { /* next step */ }
      } while (this.again && this.active)
    } finally {
      this.pumping = false
    }
    if (this.active && this.queue.length > this.maxBuffered) {
      this.fail(`${STEP_NAMES[this.state]}: more than ${this.maxBuffered} bytes buffered`)
    }
  }

  private setPeerKey (key: Buffer, step: string): boolean {
    const s = computeSecret(this.keys.privateKey, key)
    if (!s) return this.fail(`${step}: invalid Diffie-Hellman public key`)
    this.secret = s
    return true
  }

  /** One parsing step of the current state. True when it made progress and the next step may run. */
  private advance (): boolean {
    switch (this.state) {
      case 'ya': return this.readYa()
      case 'waitStep2': return this.awaitSendPe2()
      case 'req1Sync': return this.syncReq1()
      case 'req23': return this.readSkeyHash()
      case 'waitSkey': return false
      case 'vc': return this.readVcProvide()
      case 'padC': return this.skipPadC()
      case 'lenIA': return this.readIaLength()
      case 'ia': return this.readIa()
      case 'yb': return this.readYb()
      case 'waitStep3': return this.awaitSendPe3()
      case 'vcSync': return this.syncVc()
      case 'select': return this.readSelect()
      case 'padD': return this.skipPadD()
      default: return false
    }
  }

  /** Responder, step 1: the initiator's Ya (PadA follows; it is skipped by the sync below). */
  private readYa (): boolean {
    const q = this.queue
    if (q.length < DH_KEY_LENGTH) return false
    if (!this.setPeerKey(q.take(DH_KEY_LENGTH), STEP_NAMES.ya)) return false
    this.req1 = sha1('req1', this.secret!)
    this.state = this.sentStep2 ? 'req1Sync' : 'waitStep2'
    this.emit('pe1')
    if (!this.manual && this.active) this.sendPe2()
    return true
  }

  /** Responder, manual: until sendPe2() the initiator can only have sent PadA. */
  private awaitSendPe2 (): boolean {
    if (this.queue.length > MAX_PAD) return this.fail(`${STEP_NAMES.ya}: more than ${MAX_PAD} bytes of PadA`)
    return false
  }

  /** Responder, step 3: find HASH('req1', S), which ends PadA. */
  private syncReq1 (): boolean {
    if (!this.skipPast(this.req1!, REQ1_SYNC_WINDOW, `not found within ${REQ1_SYNC_WINDOW} bytes after Ya`)) return false
    this.state = 'req23'
    return true
  }

  /** Responder, step 3: HASH('req2', SKEY) xor HASH('req3', S): which torrent the peer wants. */
  private readSkeyHash (): boolean {
    const q = this.queue
    if (q.length < HASH_LENGTH) return false
    const hash = xor20(q.take(HASH_LENGTH), sha1('req3', this.secret!))
    this.peerSkeyHash = hash
    this.state = 'waitSkey'
    this.emit('pe3', hash.toString('hex'))
    if (this.state !== 'waitSkey') return true // sendPe4() from the listener, or failed
    this.lookupSkey(hash)
    return this.state !== 'waitSkey'

  }

  /** Responder, step 3: ENCRYPT(VC, crypto_provide, len(PadC)). */
  private readVcProvide (): boolean {
    const q = this.queue
    if (q.length < VC_LENGTH + 6) return false
    const d = this.dec!.update(q.take(VC_LENGTH + 6))
    for (let i = 0; i < VC_LENGTH; i++) {
      if (d[i] !== 0) return this.fail(`${STEP_NAMES.vc}: verification constant mismatch (wrong SKEY or corrupt data)`)
    }
    this.peerCrypto = d.readUInt32BE(VC_LENGTH)
    const common = this.peerCrypto & this.bits
    if ((common & (CRYPTO_RC4 | CRYPTO_PLAINTEXT)) === 0) {
      return this.fail(`${STEP_NAMES.vc}: peer offers crypto 0x${this.peerCrypto.toString(16)}, payload '${this.payload}' needs 0x${this.bits.toString(16)}`)
    }
    this.method = (common & CRYPTO_RC4) !== 0 && !(this.preferPlaintext && (common & CRYPTO_PLAINTEXT) !== 0) ? 'rc4' : 'plaintext'
    this.padLen = d.readUInt16BE(VC_LENGTH + 4)
    if (this.padLen > MAX_PAD) return this.fail(`${STEP_NAMES.padC}: length ${this.padLen} > ${MAX_PAD}`)
    this.state = 'padC'
    return true
  }

  /** Responder, step 3: PadC. */
  private skipPadC (): boolean {
    const q = this.queue
    if (q.length < this.padLen) return false
    this.dec!.update(q.take(this.padLen))
    this.state = 'lenIA'
    return true
  }

  /** Responder, step 3: len(IA). */
  private readIaLength (): boolean {
    const q = this.queue
    if (q.length < 2) return false
    this.iaLen = this.dec!.update(q.take(2)).readUInt16BE(0)
    if (this.iaLen > this.maxIaLength) return this.fail(`${STEP_NAMES.lenIA}: ${this.iaLen} > ${this.maxIaLength}`)
    this.state = 'ia'
    return true
  }

  /** Responder, step 3: the initial payload; then step 4 goes out and the exchange is done. */
  private readIa (): boolean {
    const q = this.queue
    if (q.length < this.iaLen) return false
    this.iaIn = this.iaLen ? this.dec!.update(q.take(this.iaLen)) : EMPTY
    // Step 4: ENCRYPT2(VC, crypto_select, len(PadD) = 0)
    const step4 = Buffer.alloc(VC_LENGTH + 4 + 2)
    step4.writeUInt32BE(this.method === 'rc4' ? CRYPTO_RC4 : CRYPTO_PLAINTEXT, VC_LENGTH)
    this.send(this.enc!.updateInPlace(step4))
    if (!this.active) return false
    this.finish()
    return false
  }

  /** Initiator, step 2: the responder's Yb (PadB follows). */
  private readYb (): boolean {
    const q = this.queue
    if (q.length < DH_KEY_LENGTH) return false
    if (!this.setPeerKey(q.take(DH_KEY_LENGTH), STEP_NAMES.yb)) return false
    this.state = 'waitStep3'
    this.emit('pe2')
    if (!this.manual && this.active && !this.sentStep3 && this.skey) this.sendPe3()
    return true
  }

  /** Initiator, manual: until sendPe3() the responder can only have sent PadB. */
  private awaitSendPe3 (): boolean {
    if (this.queue.length > MAX_PAD) return this.fail(`${STEP_NAMES.yb}: more than ${MAX_PAD} bytes of PadB`)
    return false
  }

  /** Initiator, step 4: find ENCRYPT(VC), which ends PadB. */
  private syncVc (): boolean {
    if (!this.skipPast(this.vcPattern!, VC_SYNC_WINDOW, `ENCRYPT(VC) not found within ${VC_SYNC_WINDOW} bytes after Yb`)) return false
    this.state = 'select'
    return true
  }

  /**
   * Skip the padding up to and past `pattern`, which must start within `window` bytes: true once
   * it is found; the exchange fails (`lost`) when it is not found in time.
   */
  private skipPast (pattern: Buffer, window: number, lost: string): boolean {
    const q = this.queue
    const at = q.peek(Math.min(q.length, window)).indexOf(pattern)
    if (at < 0) {
      if (q.length >= window) this.fail(`${STEP_NAMES[this.state]}: ${lost}`)
      return false
    }
    q.skip(at + pattern.length)
    return true
  }

  /** Initiator, step 4: crypto_select and len(PadD). */
  private readSelect (): boolean {
    const q = this.queue
    if (q.length < 6) return false
    const d = this.dec!.update(q.take(6))
    const select = this.peerCrypto = d.readUInt32BE(0)
    if ((select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) || (select & this.bits) === 0) {
      return this.fail(`${STEP_NAMES.select}: peer selected 0x${select.toString(16)}, we offered 0x${this.bits.toString(16)}`)
    }
    this.method = select === CRYPTO_RC4 ? 'rc4' : 'plaintext'
    this.padLen = d.readUInt16BE(4)
    if (this.padLen > MAX_PAD) return this.fail(`${STEP_NAMES.padD}: length ${this.padLen} > ${MAX_PAD}`)
    this.state = 'padD'
    return true
  }

  /** Initiator, step 4: PadD; then the exchange is done. */
  private skipPadD (): boolean {
    const q = this.queue
    if (q.length < this.padLen) return false
    this.dec!.update(q.take(this.padLen))
    this.finish()
    return false
  }

  private lookupSkey (hash: Buffer): void {
    if (this.skey) return this.acceptSkey(this.skey)
    const hex = hash.toString('hex')
    const found = this.candidates?.get(hex)
    if (found) return this.acceptSkey(found)
    if (this.resolveSkey) {
      let r: SkeyLookupResult | Promise<SkeyLookupResult>
      try {
        r = this.resolveSkey(Buffer.from(hash))
      } catch (err) {
        this.fail(`${STEP_NAMES.waitSkey}: resolver threw: ${(err as Error)?.message ?? String(err)}`)
        return
      }
      if (r != null && typeof (r as Promise<SkeyLookupResult>).then === 'function') {
        (r as Promise<SkeyLookupResult>).then(
          v => { if (this.state === 'waitSkey') this.resolved(v, hex) },
          err => this.fail(`${STEP_NAMES.waitSkey}: resolver failed: ${(err as Error)?.message ?? String(err)}`)
        )
        return
      }
      return this.resolved(r as SkeyLookupResult, hex)
    }
    if (this.candidates) this.fail(`${STEP_NAMES.waitSkey}: no torrent for HASH('req2', SKEY) ${hex}`)
    // else: manual, wait for sendPe4()
  }

  private resolved (v: SkeyLookupResult, hex: string): void {
    if (!v) {
      this.fail(`${STEP_NAMES.waitSkey}: no torrent for HASH('req2', SKEY) ${hex}`)
      return
    }
    const skey = toInfoHash(v)
    if (!skey) {
      this.fail(`${STEP_NAMES.waitSkey}: resolver returned something that is not an info hash`)
      return
    }
    this.acceptSkey(skey)
  }

  private acceptSkey (skey: Buffer): void {
    if (!sha1('req2', skey).equals(this.peerSkeyHash!)) {
      this.fail(`${STEP_NAMES.waitSkey}: info hash ${skey.toString('hex')} does not match the peer's HASH('req2', SKEY)`)
      return
    }
    const secret = this.secret!
    this.skey = skey
    const ciphers = createMseCiphers('responder', secret, skey, this.rc4Impl)
    this.enc = ciphers.encrypt
    this.dec = ciphers.decrypt
    this.state = 'vc'
    this.pump()
  }

  private finish (): void {
    const rc4 = this.method === 'rc4'
    const raw = this.queue.takeAll()
    const rest = rc4 && raw.length ? this.dec!.update(raw) : raw
    this.state = 'done'
    this.clearTimer()
    const result: MseResult = {
      role: this.role,
      method: this.method!,
      encrypt: rc4 ? this.enc : null,
      decrypt: rc4 ? this.dec : null,
      infoHash: this.skey!,
      skeyHash: this.peerSkeyHash!,
      ia: this.iaIn,
      rest,
      peerCrypto: this.peerCrypto
    }
    this.result = result
    this.emit('done', result)
    if (this.role === 'initiator') this.emit('pe4')
  }
}

function randomPad (max: number): Buffer {
  if (max <= 0) return EMPTY
  const len = crypto.randomBytes(2).readUInt16BE(0) % (max + 1)
  return len ? crypto.randomBytes(len) : EMPTY
}
