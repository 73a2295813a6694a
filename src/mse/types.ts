/**
 * Message stream encryption as the wire sees it: the options and result of `encrypt()`, and the
 * interfaces of what a build adds to run MSE (the Node entry; the browser build has none). Types
 * only: wire.ts imports this file, never the implementation (mse/wire-adapter.ts).
 */
import type { Buffer } from 'buffer'
import type { WireHost } from '../io/host.js'
import type { InfoHashLike, PeState, SkeyResolver } from './handshake.js'

/** Connection-level policy of `wire.encrypt()`. */
export type EncryptionPolicy = 'plaintext' | 'prefer' | 'require'

export interface EncryptOptions {
  /**
   * 'require' (default): MSE with RC4 only; a plaintext peer is refused.
   * 'prefer': MSE offering RC4 or plaintext; incoming, a plain BitTorrent handshake is accepted too.
   * 'plaintext': no MSE at all; incoming MSE is refused.
   */
  policy?: EncryptionPolicy
  /**
   * Payload methods offered (initiator) or accepted (responder) inside MSE: 'rc4', 'plaintext'
   * (the handshake is obfuscated, the data is not) or 'any'. Default: 'rc4' under 'require',
   * 'any' under 'prefer'. An initiator offering 'any' gets RC4 from any peer that can.
   */
  payload?: 'rc4' | 'plaintext' | 'any'
  /** 'initiator' (we dialled) or 'responder'; by default from the wire's type. */
  role?: 'initiator' | 'responder'
  /** Initiator: the torrent's info hash. Responder: the one we accept. */
  infoHash?: InfoHashLike
  /** Responder: the info hashes we serve. */
  infoHashes?: Iterable<InfoHashLike>
  /** Responder: map HASH('req2', SKEY) to an info hash (may be async). */
  resolveSkey?: SkeyResolver
  /** Milliseconds for the whole exchange (default 30000); incoming, counted from encrypt(), so a silent peer times out too. */
  timeout?: number
  /** Responder offered both RC4 and plaintext payload: select plaintext (5.x level 1). Default: RC4. */
  preferPlaintext?: boolean
}

export interface EncryptResult {
  /** Whether the payload is RC4-encrypted. */
  encrypted: boolean
  /** 'rc4', 'plaintext' (MSE with plaintext payload) or 'none' (no MSE: plain BitTorrent). */
  method: 'rc4' | 'plaintext' | 'none'
  /** The info hash agreed in the MSE exchange (null without MSE). */
  infoHash: Buffer | null
}

/** Called once when an exchange ends: with the result, or the error the wire fails with. */
export type MseDone = (err: Error | null, result?: EncryptResult) => void

/**
 * A wire's message stream encryption, as the Wire drives it: one per wire that encrypts, made by
 * the build's MseSupport (mse/wire-adapter.ts) from the constructor's arguments or on `encrypt()`.
 */
export interface WireEncryption {
  /** Our messages are held back while an exchange runs. */
  readonly holding: boolean
  /** bittorrent-protocol 5.0.9's view of the exchange (its `_peState`, `_encryptionMethod`, `_cryptoHandshakeDone`). */
  readonly peState: PeState
  readonly selected: 1 | 2 | null
  readonly handshakeDone: boolean
  /** How the constructor asked for it: 5.x's level (1, 2), else 3.5.5's `peEnabled`. */
  readonly peEnabled: boolean | 0 | 1 | 2
  hold (data: Uint8Array): void
  /** 3.5.5: our BitTorrent handshake went out before sendPe1(): go plain. */
  abandon (): void
  /**
   * The peer's plain BitTorrent handshake is about to be read: on a 5.x outgoing wire that has not
   * started MSE, the end of the exchange (or, at level 2, a failure). False when the wire failed.
   */
  peerHandshake (ourHandshakeSent: boolean): boolean
  destroy (): void
  /** `wire.encrypt()`: run a whole exchange (once per wire). */
  encrypt (opts: EncryptOptions): Promise<EncryptResult>
  /** 5.x, outgoing: start the exchange for this torrent. */
  startEncryption (infoHash: InfoHashLike): void
  /** 5.x, incoming: the torrent the peer asked for; resolves with the outcome, never rejects. */
  setInfoHash (infoHash: InfoHashLike): Promise<boolean>
  /** 3.5.5's manual steps. */
  sendPe1 (): void
  sendPe2 (): void
  sendPe3 (infoHash: InfoHashLike): void
  sendPe4 (infoHash: InfoHashLike): void
}

/** How the constructor asked for encryption: 3.5.5's `peEnabled` (with `retries`) or 5.x's level. */
export interface EncryptionSetup {
  peEnabled: boolean
  retries: number
  level: 0 | 1 | 2
}

/** What a build adds so that wires can run MSE: installed by the Node entry's Wire subclass. */
export interface MseSupport {
  attach (host: WireHost, setup: EncryptionSetup): WireEncryption
  /** Whether RC4 comes from Node's OpenSSL. */
  nativeRC4: boolean
}
