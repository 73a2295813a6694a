/**
 * The Wire's public types: constructor options, handshake bits, and its events, with the
 * EventEmitter methods typed for them (wire.ts merges `TypedWireEvents` into the class).
 */
import type { Buffer } from 'buffer'
import type { BitField } from './bitfield.js'
import type { NamedReservedBits } from './protocol/codec.js'
import type { HashRequest, HashesMessage } from './protocol/codec.js'

export type WireType = 'tcpIncoming' | 'tcpOutgoing' | 'webrtc' | 'webSeed' | 'utpIncoming' | 'utpOutgoing' | null

export interface WireOptions {
  /** Connection type, as in 3.5.5's first constructor argument. */
  type?: WireType
  /** 3.5.5's `retries` (MSE: an outgoing wire with 0 retries starts encrypted). */
  retries?: number
  /** 3.5.5's `peEnabled`: accept (incoming) or start (outgoing) an MSE handshake. */
  peEnabled?: boolean
  /**
   * bittorrent-protocol 5.x's encryption level (its second constructor argument): 0 no MSE, 1 MSE
   * with plaintext fallback, 2 MSE with RC4 only. Incoming wires (level 1 or 2) accept a plain or an
   * MSE handshake; outgoing ones start MSE on `startEncryption(infoHash)`. Not with `peEnabled`.
   */
  encryptionLevel?: 0 | 1 | 2
  /** Requests of 0 bytes or over 128 KiB the peer may send (each refused) before the wire closes. Default 300. */
  maxInvalidRequests?: number
  /** Largest length prefix accepted, checked before any body is buffered. */
  maxMessageLength?: number
  /** Largest number of pieces a peer's bitfield / have / request may refer to. */
  maxPieces?: number
  /** Cap on the peer's pending requests; requests past it are rejected (fast) or dropped. */
  maxPeerRequests?: number
  /**
   * Send watermark in bytes (default 2 MiB): while our output that the connection has not read,
   * plus the requests handed to the application and not yet answered, is at or over it, the
   * peer's next requests wait in `peerRequests` (their `request` events come once the output
   * drains) and its extended messages wait before reaching plugins.
   */
  sendWatermark?: number
  /**
   * BEP 6: send the peer its canonical allowed-fast set (k pieces, default 10, computed from its
   * IPv4 address, our info hash and the torrent's piece count) once fast is negotiated and our
   * bitfield / have-all / have-none has gone out. Nothing is sent to an IPv6 peer.
   */
  allowedFast?: { ip: string | Uint8Array | number, pieces: number, k?: number }
  /**
   * Close the wire (ERR_BT_HANDSHAKE_TIMEOUT) when the peer's BitTorrent handshake has not
   * arrived this many ms after the wire was made (an MSE exchange before it counts against
   * the same deadline). Off by default, as in 3.5.5.
   */
  handshakeTimeout?: number
  /**
   * Close the wire (ERR_BT_IDLE_TIMEOUT) when nothing at all (not even a keep-alive, sent every
   * 55 s by most clients) arrived from the peer for this many ms. Off by default.
   */
  idleTimeout?: number
}

export interface HandshakeExtensions {
  /** BEP 5: we participate in the DHT. */
  dht?: boolean
  /** BEP 6: fast extension. */
  fast?: boolean
  /** BEP 10: extension protocol (always on, as in 3.5.5, unless explicitly false). */
  extended?: boolean
  /** BEP 52: BitTorrent v2. */
  v2?: boolean
  /** Additional raw reserved bits to OR into our handshake (8 bytes). */
  reserved?: Uint8Array | string
  [name: string]: unknown
}

/**
 * Reserved bits by name: `dht`, `fast` and `extended` always (as 5.0.9 gives them), every other
 * bit of `ReservedBits` (`v2`, `nat`, ...) only when set, as `true`.
 */
export interface PeerExtensions extends NamedReservedBits {}

/**
 * A peer's extended handshake (BEP 10), as decoded: byte strings are Buffers, integers numbers.
 * The keys BEP 10 names are typed; any other key a peer or a plugin puts there is `unknown`.
 */
export interface ExtendedHandshake {
  /** Extension name -> the id the peer receives it under (0: dropped). */
  m?: Record<string, number>
  /** The peer's listening port. */
  p?: number
  /** The client's name and version (UTF-8). */
  v?: Buffer
  /** Our address as the peer sees it (4 or 16 bytes). */
  yourip?: Buffer
  ipv6?: Buffer
  ipv4?: Buffer
  /** How many outstanding requests the peer takes. */
  reqq?: number
  /** BEP 9: the size of the info dictionary. */
  metadata_size?: number
  [key: string]: unknown
}

/**
 * The handlers `wire.use()` puts on a wire, by their names: empty here, for a module augmentation
 * to fill, so that `wire.ut_metadata` is typed (docs/extensions.md):
 *
 *   declare module 'bittorrent-protocol' { interface WirePlugins { ut_metadata: UtMetadata } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface WirePlugins {}

/** What `respond` of a 'request' event takes: an error, or the block. */
export type RequestRespond = (err: Error | null, block?: Uint8Array) => void

/**
 * The wire's events and their arguments: `wire.on(name, listener)` compiles for these names
 * only, with the listener's arguments typed. The stream's own events are among them.
 */
export interface WireEvents {
  handshake: [infoHash: string, peerId: string, extensions: PeerExtensions]
  choke: []
  unchoke: []
  interested: []
  uninterested: []
  have: [index: number]
  bitfield: [bitfield: BitField]
  request: [index: number, offset: number, length: number, respond: RequestRespond]
  piece: [index: number, offset: number, block: Buffer]
  cancel: [index: number, offset: number, length: number]
  port: [port: number]
  'keep-alive': []
  /**
   * ('handshake', the peer's extended handshake), or (our name for the extension, or its id when we
   * have none, the message's payload: a Buffer).
   */
  extended: [ext: string | number, payload: Buffer | ExtendedHandshake]
  timeout: []
  upload: [bytes: number]
  download: [bytes: number]
  suggest: [index: number]
  'have-all': []
  'have-none': []
  reject: [index: number, offset: number, length: number]
  'allowed-fast': [index: number]
  'hash-request': [request: HashRequest, respond: (err: Error | null, hashes?: Uint8Array | Uint8Array[]) => void]
  hashes: [message: HashesMessage]
  'hash-reject': [request: HashRequest]
  unknownmessage: [message: Buffer]
  /** The connection read our output down after it had reached the send watermark. */
  'output-drain': []
  pe1: []
  pe2: []
  pe3: [sKeyHash: string]
  pe4: []
  /** 5.x API, incoming: the peer's HASH('req2', infoHash) in hex; answer with `setInfoHash()`. */
  'crypto-infohash': [infoHashHash: string]
  /** 5.x API: the MSE exchange is done (either role); the BitTorrent handshake can follow. */
  'crypto-handshake': []
  close: []
  end: []
  finish: []
  error: [err: Error]
  // the stream's own (readable-stream 3)
  data: [chunk: Buffer]
  readable: []
  drain: []
  pipe: [src: NodeJS.ReadableStream]
  unpipe: [src: NodeJS.ReadableStream]
  pause: []
  resume: []
}
