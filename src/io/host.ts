/**
 * WireHost: the one way the helper modules (BEP 52 hash messages, the MSE adapter, our requests,
 * serving the peer's requests, BEP 6 state, the BEP 10 extensions) reach the wire they serve. Each
 * Wire has one (wire-core.ts); the helpers never see the Wire's own members, and can be tested
 * against a fake host.
 */
import type { Buffer } from 'buffer'
import type { WireError } from '../errors.js'

export interface WireHost {
  /** Queue bytes for the peer: gathered, encrypted once MSE agreed on RC4, held while MSE runs. */
  send (data: Uint8Array): void
  /** Bytes that bypass encryption and holding: the MSE exchange itself. */
  sendRaw (data: Uint8Array): void
  /**
   * A refusal (reject, hash reject): BEP 6 / BEP 52 answer a request we will not serve with one,
   * but a peer that floods requests and never reads would make them pile up without end, so past
   * REJECT_BACKLOG bytes of unread output (io/output.ts) they are dropped instead.
   */
  sendRefusal (data: Uint8Array): void
  /** Send a block (`wire.piece`: counted in `uploaded`, with the 'upload' event). */
  sendPiece (index: number, offset: number, block: Uint8Array): void
  /** Hand the peer's request to the application: the 'request' event. */
  emitRequest (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void): void
  /** Bytes from the peer go to `fn` instead of the message reader (null: back to the reader). */
  divert (fn: ((chunk: Buffer) => void) | null): void
  /** Hand bytes to the message reader (after MSE: its initial payload and what followed). */
  feed (chunk: Buffer): void
  /** Install the stream ciphers (MSE with RC4): what we send is encrypted, what we receive decrypted. */
  setCiphers (encrypt: (data: Uint8Array) => Buffer, decrypt: (data: Uint8Array) => Buffer): void
  /** Fail the wire with a coded error (the peer broke the protocol). */
  fail (err: WireError): void
  /** Whether a piece index from the peer is in range (under `maxPieces`); else the wire fails, naming `what`. */
  checkIndex (index: number, what: string): boolean
  emit (event: string | symbol, ...args: any[]): boolean
  listenerCount (event: string | symbol): number
  /** The wire is shut down (ended, destroyed or failed): nothing more is sent or read. */
  readonly finished: boolean
  readonly destroyed: boolean
  /** The cap on the peer's pending requests. */
  readonly maxPeerRequests: number
  /** Requests of a bad length the peer may send before the wire fails. */
  readonly maxInvalidRequests: number
  /** Count one of the peer's requests refused at the cap (`droppedPeerRequests`). */
  countDropped (): void
  /** The wire's connection type. */
  readonly type: string | null
  /** The peer is choking us. */
  readonly peerChoking: boolean
  /**
   * The output is under the send watermark (io/output.ts): work whose answer adds to it (a
   * plugin answering a ut_metadata request) may go ahead now. Once it was read false, the
   * wire's `_read` hands out what waited when the connection has read the output down.
   */
  readonly outputOpen: boolean
  /** A line of debug output, prefixed with the wire's id (nothing unless DEBUG names bittorrent-protocol). */
  debug (fmt: string, ...args: unknown[]): void
  /** We are choking the peer. */
  readonly amChoking: boolean
  /** Both sides announced BEP 6 (fast) in their handshakes. */
  readonly hasFast: boolean
  /** Whether BEP 6 lets the peer request `index` while we choke it (fast on, and in our allowed-fast set). */
  allowsFast (index: number): boolean
}
