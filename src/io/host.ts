/**
 * WireHost: the one way the helper modules (BEP 52 hash messages, the MSE adapter, our requests,
 * the BEP 10 extensions) reach the wire they serve. The Wire makes one for itself on first use
 * (wire.ts); the helpers never see the Wire's own members, and can be tested against a fake host.
 * A module that keeps state keeps the host it was made with; state/extensions.ts is handed one
 * with each call instead (a wire that only exchanged extended handshakes then holds no host).
 */
import type { Buffer } from 'buffer'
import type { WireError } from '../errors.js'

export interface WireHost {
  /** Queue bytes for the peer: gathered, encrypted once MSE agreed on RC4, held while MSE runs. */
  send (data: Uint8Array): void
  /** Bytes that bypass encryption and holding: the MSE exchange itself. */
  sendRaw (data: Uint8Array): void
  /** A refusal (reject, hash reject): dropped instead when the peer has left too much of our output unread. */
  sendRefusal (data: Uint8Array): void
  /** Bytes from the peer go to `fn` instead of the message reader (null: back to the reader). */
  divert (fn: ((chunk: Buffer) => void) | null): void
  /** Hand bytes to the message reader (after MSE: its initial payload and what followed). */
  feed (chunk: Buffer): void
  /** Install the stream ciphers (MSE with RC4): what we send is encrypted, what we receive decrypted. */
  setCiphers (encrypt: (data: Uint8Array) => Buffer, decrypt: (data: Uint8Array) => Buffer): void
  /** Fail the wire with a coded error (the peer broke the protocol). */
  fail (err: WireError): void
  emit (event: string | symbol, ...args: any[]): boolean
  listenerCount (event: string | symbol): number
  /** The wire is shut down (ended, destroyed or failed): nothing more is sent or read. */
  readonly finished: boolean
  readonly destroyed: boolean
  /** The cap on the peer's pending requests. */
  readonly maxPeerRequests: number
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
}
