/**
 * The constructor's arguments as options. Four forms (docs/encryption.md, "The constructor rule"):
 * - `new Wire(type, level)`: bittorrent-protocol 5.x, `level` 0 / 1 / 2 = no MSE / MSE with
 *   plaintext fallback / MSE with RC4 only. A call whose second argument is a number and whose
 *   third is undefined takes this meaning (3.5.5's `retries` did nothing without `peEnabled`);
 *   a number other than 1 or 2 means no MSE.
 * - `new Wire(type, retries, peEnabled)`: bittorrent-protocol 3.5.5.
 * - `new Wire(options)`, `new Wire()`.
 */
import type { WireOptions, WireType } from './types.js'
import type { EncryptionSetup } from './mse/types.js'
import { DEFAULT_MAX_PIECES, DEFAULT_MAX_PEER_REQUESTS, DEFAULT_MAX_MESSAGE_LENGTH } from './protocol/codec.js'
import { DEFAULT_SEND_WATERMARK } from './io/output.js'

export function toWireOptions (type: WireType | WireOptions, retries: number | undefined, peEnabled: boolean | undefined): WireOptions {
  if (type !== null && typeof type === 'object') return type
  if (typeof retries === 'number' && peEnabled === undefined) return { type, encryptionLevel: retries === 1 || retries === 2 ? retries : 0 }
  return { type, retries: retries ?? 0, peEnabled: !!peEnabled }
}

/** An option that must be a positive integer, or its default when not given. */
export function positive (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`)
  return value
}

/**
 * Requests of 0 bytes or over 128 KiB from a peer are refused and counted; past this many the
 * wire closes. libtorrent likewise rejects them and disconnects a peer past 300 of them.
 */
export const DEFAULT_MAX_INVALID_REQUESTS = 300

/** The limits of a wire made without limit options (read only, shared by those wires). */
const DEFAULT_LIMITS: WireLimits = {
  maxMessageLength: DEFAULT_MAX_MESSAGE_LENGTH,
  maxPieces: DEFAULT_MAX_PIECES,
  maxPeerRequests: DEFAULT_MAX_PEER_REQUESTS,
  maxInvalidRequests: DEFAULT_MAX_INVALID_REQUESTS
}

/** The constructor's arguments, checked, with the defaults in. */
export interface WireSettings {
  type: WireType
  limits: WireLimits
  sendWatermark: number
  /** Milliseconds, 0 for none; both 0 (not asked for): no timers at all. */
  handshakeTimeout: number
  idleTimeout: number
  allowedFast: WireOptions['allowedFast']
  /** null: no MSE asked for by the constructor (`encrypt()` may still run it). */
  encryption: EncryptionSetup | null
  /**
   * 3.5.5's form (a third argument, as WebTorrent 1.x passes): 'close' comes from inside
   * destroy(), as 3.5.5 emits it (io/wire-stream.ts, `destroy`).
   */
  closeInsideDestroy: boolean
}

export function wireSettings (type: WireType | WireOptions, retries: number | undefined, peEnabled: boolean | undefined): WireSettings {
  const opts = toWireOptions(type, retries, peEnabled)
  const level = opts.encryptionLevel ?? 0
  if (level !== 0 && level !== 1 && level !== 2) throw new RangeError('encryptionLevel must be 0, 1 or 2')
  const pe = opts.peEnabled === true
  if (level !== 0 && pe) throw new TypeError('peEnabled (3.5.5) and encryptionLevel (5.x) are two ways to the same thing: give one')
  return {
    type: opts.type ?? null,
    limits: opts.maxMessageLength === undefined && opts.maxPieces === undefined && opts.maxPeerRequests === undefined && opts.maxInvalidRequests === undefined
      ? DEFAULT_LIMITS
      : {
          maxMessageLength: positive(opts.maxMessageLength, DEFAULT_MAX_MESSAGE_LENGTH, 'maxMessageLength'),
          maxPieces: positive(opts.maxPieces, DEFAULT_MAX_PIECES, 'maxPieces'),
          maxPeerRequests: positive(opts.maxPeerRequests, DEFAULT_MAX_PEER_REQUESTS, 'maxPeerRequests'),
          maxInvalidRequests: positive(opts.maxInvalidRequests, DEFAULT_MAX_INVALID_REQUESTS, 'maxInvalidRequests')
        },
    sendWatermark: positive(opts.sendWatermark, DEFAULT_SEND_WATERMARK, 'sendWatermark'),
    handshakeTimeout: opts.handshakeTimeout === undefined ? 0 : positive(opts.handshakeTimeout, 0, 'handshakeTimeout'),
    idleTimeout: opts.idleTimeout === undefined ? 0 : positive(opts.idleTimeout, 0, 'idleTimeout'),
    allowedFast: opts.allowedFast,
    encryption: level !== 0 || pe ? { peEnabled: pe, retries: opts.retries ?? 0, level } : null,
    closeInsideDestroy: (type === null || typeof type !== 'object') && peEnabled !== undefined
  }
}

/** A wire's limits, read by its reader (protocol/reader.ts) and through the wire's `max*` properties. */
export interface WireLimits {
  readonly maxMessageLength: number
  readonly maxPieces: number
  readonly maxPeerRequests: number
  readonly maxInvalidRequests: number
}

/**
 * A build without MSE (the browser's) refuses only a wire that would run it: WebRTC and web
 * seeds never do (DTLS / HTTPS encrypt them); 5.x's levels on TCP / uTP; 3.5.5's incoming TCP,
 * or outgoing TCP without retries.
 */
export function wouldRunMse (type: WireType, setup: EncryptionSetup): boolean {
  const t = type ?? ''
  return setup.level !== 0 ? /Incoming|Outgoing/.test(t) : t === 'tcpIncoming' || (t === 'tcpOutgoing' && setup.retries === 0)
}
