/**
 * Protocol errors. Every error a remote peer can cause carries a stable `code`
 * so applications can tell them apart without parsing messages.
 */
export const ErrorCodes = {
  /** Length prefix larger than the wire's `maxMessageLength`. */
  MESSAGE_TOO_LONG: 'ERR_BT_MESSAGE_TOO_LONG',
  /** A message whose body length does not fit its id. */
  BAD_LENGTH: 'ERR_BT_BAD_LENGTH',
  /** First bytes are not a BitTorrent handshake. */
  BAD_HANDSHAKE: 'ERR_BT_BAD_HANDSHAKE',
  /** A second handshake arrived on the same wire. */
  DUPLICATE_HANDSHAKE: 'ERR_BT_DUPLICATE_HANDSHAKE',
  /** A request/cancel/reject whose length is 0 or over 128 KiB. */
  REQUEST_TOO_LARGE: 'ERR_BT_REQUEST_TOO_LARGE',
  /** A piece index beyond what the wire accepts (`maxPieces`). */
  PIECE_INDEX_OUT_OF_RANGE: 'ERR_BT_PIECE_INDEX_OUT_OF_RANGE',
  /** A bitfield longer than `maxPieces` allows, or with spare bits set. */
  BAD_BITFIELD: 'ERR_BT_BAD_BITFIELD',
  /** A BEP 6 fast message from a peer that did not negotiate the fast extension. */
  FAST_NOT_NEGOTIATED: 'ERR_BT_FAST_NOT_NEGOTIATED',
  /** A BEP 52 hash message that is malformed or asks too much. */
  BAD_HASH_MESSAGE: 'ERR_BT_BAD_HASH_MESSAGE',
  /** Message stream encryption handshake failed (bad sync, VC, crypto, size, timeout). */
  MSE_FAILED: 'ERR_BT_MSE_FAILED',
  /** The peer's BitTorrent handshake (plain or after MSE) did not arrive within `handshakeTimeout`. */
  HANDSHAKE_TIMEOUT: 'ERR_BT_HANDSHAKE_TIMEOUT',
  /** Nothing (not even a keep-alive) arrived from the peer for `idleTimeout`. */
  IDLE_TIMEOUT: 'ERR_BT_IDLE_TIMEOUT',
  /** Bencoded bytes from the peer are malformed (negative or overlong length, too deep, too many values...). */
  BAD_BENCODE: 'ERR_BT_BAD_BENCODE',
  /** The peer's extended handshake is not a dictionary, is too large, or comes too often. */
  BAD_EXTENDED_HANDSHAKE: 'ERR_BT_BAD_EXTENDED_HANDSHAKE',
  /** An extension (a `wire.use()` plugin) threw while handling the peer's handshake or message. */
  EXTENSION_FAILED: 'ERR_BT_EXTENSION_FAILED',
  /** The wire was closed while a request was pending. */
  WIRE_CLOSED: 'ERR_BT_WIRE_CLOSED',
  /** The peer choked us while a request was pending (no fast extension). */
  PEER_CHOKED: 'ERR_BT_PEER_CHOKED',
  /** The peer rejected a request (BEP 6). */
  REQUEST_REJECTED: 'ERR_BT_REQUEST_REJECTED',
  /** The peer rejected a BEP 52 hash request (hash reject). */
  HASH_REJECTED: 'ERR_BT_HASH_REJECTED',
  /** We cancelled the request. */
  REQUEST_CANCELLED: 'ERR_BT_REQUEST_CANCELLED',
  /** The request timed out (`setTimeout`). */
  REQUEST_TIMEOUT: 'ERR_BT_REQUEST_TIMEOUT'
} as const

export type ErrorCode = typeof ErrorCodes[keyof typeof ErrorCodes]

export class WireError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'WireError'
    this.code = code
  }
}
