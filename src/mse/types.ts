/**
 * Message stream encryption as the wire sees it: the options and result of `encrypt()`, and the
 * interfaces of what a build adds to run MSE (the Node entry; the browser build has none). Types
 * only: wire.ts imports this file, never the implementation (mse/wire-adapter.ts).
 */
import type { Buffer } from 'buffer'
import type { WireHost } from '../io/host.js'
import type { InfoHashLike, MseHandshake, SkeyResolver } from './handshake.js'

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

/** One MSE exchange on a wire, as the wire drives it. */
export interface MseSession {
  /** Our messages are held back until the exchange is done. */
  readonly holding: boolean
  hold (data: Uint8Array): void
  /** Incoming: tell a plain handshake from MSE by the first bytes. */
  listen (): void
  /** Outgoing: start the initiator (automatic mode sends step 1 at once). */
  connect (): void
  /** 3.5.5: step 1 (initiator). */
  sendPe1 (): void
  /** The running handshake, for 3.5.5's step methods (null before or after it). */
  readonly handshake: MseHandshake | null
  /** 3.5.5: our BitTorrent handshake went out before sendPe1(): go plain. */
  abandon (): void
  destroy (): void
}

/** bittorrent-protocol 5.x's encryption API (`new Wire(type, level)`). */
export interface MseLevelSession {
  start (infoHash: InfoHashLike): void
  setInfoHash (infoHash: InfoHashLike): Promise<boolean>
}

/** What a build adds so that wires can run MSE: installed by the Node entry's Wire subclass. */
export interface MseSupport {
  session (host: WireHost, opts: EncryptOptions, manual: boolean, done: MseDone | null): MseSession
  /** 5.x levels; `open` starts the wire's one session (see Wire `_createMse`). */
  level (host: WireHost, level: 1 | 2, open: (opts: EncryptOptions, done: MseDone) => MseSession): MseLevelSession
  /** Whether RC4 comes from Node's OpenSSL. */
  nativeRC4: boolean
}
