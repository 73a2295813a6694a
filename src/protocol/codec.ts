/**
 * The message codec: ids, fixed lengths, limits, and pure encoders.
 *
 * Nothing here keeps state. Decoding of whole messages happens in the reader
 * (framing) and the wire (dispatch); this module answers "is this (id, length)
 * acceptable" and writes messages into fresh buffers without intermediate arrays.
 */
import { Buffer } from 'buffer'
import { ErrorCodes, WireError } from '../errors.js'

export const MessageId = {
  CHOKE: 0,
  UNCHOKE: 1,
  INTERESTED: 2,
  NOT_INTERESTED: 3,
  HAVE: 4,
  BITFIELD: 5,
  REQUEST: 6,
  PIECE: 7,
  CANCEL: 8,
  PORT: 9,
  SUGGEST: 13,
  HAVE_ALL: 14,
  HAVE_NONE: 15,
  REJECT: 16,
  ALLOWED_FAST: 17,
  EXTENDED: 20,
  HASH_REQUEST: 21,
  HASHES: 22,
  HASH_REJECT: 23
} as const

/** The largest block a request, cancel or reject may name (libtorrent, Transmission: 128 KiB). */
export const MAX_BLOCK_LENGTH = 128 * 1024
/** Default cap on the number of pieces a peer's bitfield may describe (libtorrent's max_pieces). */
export const DEFAULT_MAX_PIECES = 0x200000
/** Default cap on the peer's pending requests (libtorrent's max_allowed_in_request_queue is 2000, Transmission 500). */
export const DEFAULT_MAX_PEER_REQUESTS = 500
/**
 * Default maximum message length (length prefix value): admits a 128 KiB block with its header,
 * the bitfield of DEFAULT_MAX_PIECES pieces (256 KiB + 1), a BEP 52 `hashes` reply of 8192 hashes
 * with its proof, and extended messages up to the same size. Nothing much larger.
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 256 * 1024 + 4096
/** Handshake length: pstrlen + 'BitTorrent protocol' + reserved + info hash + peer id. */
export const HANDSHAKE_LENGTH = 68
export const PROTOCOL = Buffer.from('\u0013BitTorrent protocol', 'latin1')

/**
 * Exact body length (id byte included) of each fixed-size message, 0 for variable ones,
 * -1 for ids we do not know (those are passed to the application as `unknownmessage`).
 */
const FIXED = new Int32Array(256).fill(-1)
FIXED[MessageId.CHOKE] = 1
FIXED[MessageId.UNCHOKE] = 1
FIXED[MessageId.INTERESTED] = 1
FIXED[MessageId.NOT_INTERESTED] = 1
FIXED[MessageId.HAVE] = 5
FIXED[MessageId.BITFIELD] = 0
FIXED[MessageId.REQUEST] = 13
FIXED[MessageId.PIECE] = 0
FIXED[MessageId.CANCEL] = 13
FIXED[MessageId.PORT] = 3
FIXED[MessageId.SUGGEST] = 5
FIXED[MessageId.HAVE_ALL] = 1
FIXED[MessageId.HAVE_NONE] = 1
FIXED[MessageId.REJECT] = 13
FIXED[MessageId.ALLOWED_FAST] = 5
FIXED[MessageId.EXTENDED] = 0
FIXED[MessageId.HASH_REQUEST] = 49
FIXED[MessageId.HASHES] = 0
FIXED[MessageId.HASH_REJECT] = 49

/** Smallest body length (id byte included) of the variable-size messages. */
const MIN = new Int32Array(256)
MIN[MessageId.BITFIELD] = 1
MIN[MessageId.PIECE] = 9
MIN[MessageId.EXTENDED] = 2
MIN[MessageId.HASHES] = 49

export interface Limits {
  maxMessageLength: number
  maxPieces: number
}

/**
 * Check a message's length against its id, before its body is buffered.
 * `length` is the value of the length prefix (id byte included). Returns an error or null.
 */
export function checkLength (id: number, length: number, limits: Limits): WireError | null {
  const fixed = FIXED[id]
  if (fixed > 0) {
    if (length === fixed) return null
    return new WireError(ErrorCodes.BAD_LENGTH, `bad length for message id ${id}: ${length} bytes, expected ${fixed}`)
  }
  if (fixed === 0) {
    if (length < MIN[id]) {
      return new WireError(ErrorCodes.BAD_LENGTH, `bad length for message id ${id}: ${length} bytes, expected at least ${MIN[id]}`)
    }
    if (id === MessageId.HASHES && (length - MIN[id]) % 32 !== 0) {
      return new WireError(ErrorCodes.BAD_HASH_MESSAGE, `hashes message of ${length} bytes: its hashes are not a whole number of 32-byte hashes`)
    }
    if (id === MessageId.BITFIELD && length - 1 > bitfieldBytes(limits.maxPieces)) {
      return new WireError(ErrorCodes.BAD_BITFIELD, `bitfield of ${length - 1} bytes is longer than the ${bitfieldBytes(limits.maxPieces)} bytes of ${limits.maxPieces} pieces`)
    }
  }
  return null
}

/** The error for a length prefix over `maxMessageLength`. */
export function messageTooLong (length: number, limits: Limits): WireError {
  return new WireError(ErrorCodes.MESSAGE_TOO_LONG, `message too long: ${length} bytes, limit ${limits.maxMessageLength}`)
}

export function bitfieldBytes (pieces: number): number {
  return Math.ceil(pieces / 8)
}

/** Read a big-endian u32 without bounds checks (callers have checked the length). */
export function u32 (buf: Uint8Array, i: number): number {
  return ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0
}

function w32 (buf: Uint8Array, i: number, n: number): void {
  buf[i] = n >>> 24
  buf[i + 1] = n >>> 16
  buf[i + 2] = n >>> 8
  buf[i + 3] = n
}

function fixedMessage (id: number): Buffer {
  return Buffer.from([0, 0, 0, 1, id])
}

export const KEEP_ALIVE = Buffer.from([0, 0, 0, 0])
export const CHOKE = fixedMessage(MessageId.CHOKE)
export const UNCHOKE = fixedMessage(MessageId.UNCHOKE)
export const INTERESTED = fixedMessage(MessageId.INTERESTED)
export const NOT_INTERESTED = fixedMessage(MessageId.NOT_INTERESTED)
export const HAVE_ALL = fixedMessage(MessageId.HAVE_ALL)
export const HAVE_NONE = fixedMessage(MessageId.HAVE_NONE)

/** A message carrying one u32: have, suggest, allowed-fast. */
export function encodeIndex (id: number, index: number): Buffer {
  const buf = Buffer.allocUnsafe(9)
  w32(buf, 0, 5)
  buf[4] = id
  w32(buf, 5, index)
  return buf
}

/** A message carrying three u32: request, cancel, reject. */
export function encodeBlock (id: number, index: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(17)
  w32(buf, 0, 13)
  buf[4] = id
  w32(buf, 5, index)
  w32(buf, 9, offset)
  w32(buf, 13, length)
  return buf
}

/** The 13-byte header of a piece message; the block follows as its own buffer. */
export function encodePieceHeader (index: number, offset: number, blockLength: number): Buffer {
  const buf = Buffer.allocUnsafe(13)
  w32(buf, 0, 9 + blockLength)
  buf[4] = MessageId.PIECE
  w32(buf, 5, index)
  w32(buf, 9, offset)
  return buf
}

/** Header of a message with a variable payload that follows as its own buffer (bitfield). */
export function encodeHeader (id: number, payloadLength: number): Buffer {
  const buf = Buffer.allocUnsafe(5)
  w32(buf, 0, 1 + payloadLength)
  buf[4] = id
  return buf
}

/** Header of an extended message: length, id 20, extended id; the payload follows. */
export function encodeExtendedHeader (extId: number, payloadLength: number): Buffer {
  const buf = Buffer.allocUnsafe(6)
  w32(buf, 0, 2 + payloadLength)
  buf[4] = MessageId.EXTENDED
  buf[5] = extId
  return buf
}

export function encodePort (port: number): Buffer {
  const buf = Buffer.allocUnsafe(7)
  w32(buf, 0, 3)
  buf[4] = MessageId.PORT
  buf[5] = port >>> 8
  buf[6] = port
  return buf
}

export function encodeHandshake (reserved: Uint8Array, infoHash: Uint8Array, peerId: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(HANDSHAKE_LENGTH)
  PROTOCOL.copy(buf, 0)
  buf.set(reserved, 20)
  buf.set(infoHash, 28)
  buf.set(peerId, 48)
  return buf
}

/** True when the 4 bytes at `i` are the start of a handshake ("\x13Bit"). */
export function looksLikeHandshake (buf: Uint8Array, i: number): boolean {
  return buf[i] === 19 && buf[i + 1] === 0x42 && buf[i + 2] === 0x69 && buf[i + 3] === 0x74
}

/** Check the protocol string of a handshake at buf[i..i+20). */
export function isProtocolHeader (buf: Uint8Array, i: number): boolean {
  for (let k = 0; k < 20; k++) if (buf[i + k] !== PROTOCOL[k]) return false
  return true
}

/** Named bits of the 8 reserved handshake bytes: [byte index, mask]. */
export const ReservedBits = {
  /** BEP 30 / Azureus messaging protocol (byte 0, 0x80). */
  azureus: [0, 0x80],
  /** uTorrent LTEP: BEP 10 extension protocol (byte 5, 0x10). */
  extended: [5, 0x10],
  /** BitTorrent Location-aware protocol (byte 2, 0x08). */
  location: [2, 0x08],
  /** BEP 52: BitTorrent v2 (byte 7, 0x10). */
  v2: [7, 0x10],
  /** BEP 6: fast extension (byte 7, 0x04). */
  fast: [7, 0x04],
  /** Extension Negotiation Protocol (BEP 4: byte 5, 0x01 and 0x02). */
  extensionNegotiation: [5, 0x03],
  /** NAT traversal (libtorrent, byte 7, 0x08). */
  nat: [7, 0x08],
  /** BEP 5: DHT (byte 7, 0x01). */
  dht: [7, 0x01],
  /** XBT peer exchange (byte 7, 0x02). */
  xbtPex: [7, 0x02]
} as const

export type ReservedBitName = keyof typeof ReservedBits

/** The 8 reserved handshake bytes: the named bits for which `on(name)` is true, OR'ed onto `extra` (8 raw bytes). */
export function encodeReserved (on: (name: ReservedBitName) => boolean, extra?: Uint8Array): Buffer {
  const reserved = Buffer.alloc(8)
  if (extra !== undefined) reserved.set(extra)
  for (const name of Object.keys(ReservedBits) as ReservedBitName[]) {
    if (on(name)) reserved[ReservedBits[name][0]] |= ReservedBits[name][1]
  }
  return reserved
}

/** Whether the named bit is set in 8 reserved bytes. */
export function hasReservedBit (reserved: Uint8Array, name: ReservedBitName): boolean {
  return (reserved[ReservedBits[name][0]] & ReservedBits[name][1]) !== 0
}

/** The names 3.5.5 and 5.0.9 always give (true or false); every other known bit is named only when set. */
const ALWAYS_NAMED = ['dht', 'fast', 'extended'] as const

/** Reserved bits by name (`PeerExtensions` in the API): see `decodeReserved`. */
export type NamedReservedBits = Partial<Record<ReservedBitName, boolean>> & {
  dht: boolean
  fast: boolean
  extended: boolean
}

/**
 * 8 reserved bytes by name, as the 'handshake' event and `peerExtensions` give them: `dht`, `fast`
 * and `extended` always, as 5.0.9's object has them, and each other bit of ReservedBits (`v2`,
 * `nat`, ...) as `true` when it is set. The raw bytes stay in `peerReserved`.
 */
export function decodeReserved (reserved: Uint8Array): NamedReservedBits {
  const named: Partial<Record<ReservedBitName, boolean>> = {
    dht: hasReservedBit(reserved, 'dht'),
    fast: hasReservedBit(reserved, 'fast'),
    extended: hasReservedBit(reserved, 'extended')
  }
  for (const name of Object.keys(ReservedBits) as ReservedBitName[]) {
    if (!(ALWAYS_NAMED as readonly string[]).includes(name) && hasReservedBit(reserved, name)) named[name] = true
  }
  return named as NamedReservedBits
}

/**
 * The reserved bytes of our handshake, and the extensions they announce: BEP 10 on unless
 * `extended: false`; dht, fast and v2 when true; any other known bit set by name (nat, xbtPex,
 * location, azureus...); the raw bits of `extra` (8 bytes) OR'ed in. What is announced is read
 * from the bytes, except that the four named options win over raw bits (`dht: false` with the
 * DHT bit among the raw ones announces no DHT).
 */
export function encodeOurReserved (opts: Record<string, unknown> | undefined, extra: Uint8Array | undefined): { reserved: Buffer, announced: NamedReservedBits } {
  if (extra !== undefined && extra.length !== 8) throw new Error('reserved must be 8 bytes')
  const named = { extended: opts?.extended !== false, dht: opts?.dht === true, fast: opts?.fast === true, v2: opts?.v2 === true }
  const isNamed = (name: ReservedBitName): name is keyof typeof named => name in named
  const reserved = encodeReserved(name => isNamed(name) ? named[name] : opts?.[name] === true, extra)
  const announced = encodeReserved(name => isNamed(name) ? named[name] : hasReservedBit(reserved, name))
  return { reserved, announced: decodeReserved(announced) }
}

// ---------------------------------------------------------------------------
// BEP 52 hash messages

export interface HashRequest {
  /** The file's merkle root (32 bytes). */
  piecesRoot: Buffer
  /** Layers above the leaf (16 KiB block) layer: 0 for block hashes, log2(piece length / 16 KiB) for piece hashes. */
  baseLayer: number
  /** Offset (in hashes) of the first requested hash in the base layer. */
  index: number
  /** Number of base-layer hashes. */
  length: number
  /** Number of ancestor layers whose uncle hashes are included. */
  proofLayers: number
}

export interface HashesMessage extends HashRequest {
  /** The `length` base-layer hashes, 32 bytes each. */
  hashes: Buffer[]
  /** The uncle hashes, bottom up, 32 bytes each. */
  uncles: Buffer[]
}

/** The 48-byte header of a BEP 52 message at buf[start..start+48) (the root is copied). */
export function readHashHeader (buf: Buffer, start: number): HashRequest {
  const piecesRoot = Buffer.allocUnsafe(32)
  piecesRoot.set(buf.subarray(start, start + 32))
  return {
    piecesRoot,
    baseLayer: buf.readUInt32BE(start + 32),
    index: buf.readUInt32BE(start + 36),
    length: buf.readUInt32BE(start + 40),
    proofLayers: buf.readUInt32BE(start + 44)
  }
}

/** The 53-byte head of a hash request, hashes or hash reject (BEP 52): length, id, root, four u32s. */
function encodeHashHeader (id: number, req: HashRequest, hashCount: number): Buffer {
  const buf = Buffer.allocUnsafe(53)
  buf.writeUInt32BE(49 + 32 * hashCount, 0)
  buf[4] = id
  req.piecesRoot.copy(buf, 5)
  buf.writeUInt32BE(req.baseLayer, 37)
  buf.writeUInt32BE(req.index, 41)
  buf.writeUInt32BE(req.length, 45)
  buf.writeUInt32BE(req.proofLayers, 49)
  return buf
}

/** A hash request or hash reject message. */
export function encodeHashRequest (id: typeof MessageId.HASH_REQUEST | typeof MessageId.HASH_REJECT, req: HashRequest): Buffer {
  return encodeHashHeader(id, req, 0)
}

/** A hashes message: header, then the base-layer hashes and uncles as one 32n-byte payload. */
export function encodeHashes (req: HashRequest, payload: Buffer): Buffer[] {
  return [encodeHashHeader(MessageId.HASHES, req, payload.length / 32), payload]
}
