// Round-trip fuzzing of the real reader (src/protocol/reader.ts), as anacrolix/torrent's
// peer_protocol fuzzes its decoder: every input of the seed corpus (test/testdata/fuzz/wire) and
// seeded mutations of it go through MessageReader into a sink that records what it hands out
// (the handshake, each message with its fields read as the wire reads them, each piece, each
// keep-alive); those are encoded again with the codec's encoders, and must give back exactly the
// bytes the reader consumed. The same input cut into random chunks must be handed out the same.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  encodeHandshake, encodeIndex, encodeBlock, encodePieceHeader, encodePort, encodeExtendedHeader,
  encodeHashRequest, encodeHashes, encodeHeader, readHashHeader, MessageId,
  DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_PIECES
} from '../dist/esm/protocol/codec.js'
import { MessageReader } from '../dist/esm/protocol/reader.js'
import { mulberry32 } from './fixtures/raw.mjs'

const DIR = fileURLToPath(new URL('./testdata/fuzz/wire/', import.meta.url))
const limits = { maxMessageLength: DEFAULT_MAX_MESSAGE_LENGTH, maxPieces: DEFAULT_MAX_PIECES }
const u32 = (buf, i) => buf.readUInt32BE(i)

/** A message's body buf[start..end) read into its fields, as the wire's dispatch reads them, and encoded again. */
function reencode (id, buf, start, end) {
  const body = buf.subarray(start, end)
  switch (id) {
    case MessageId.CHOKE: case MessageId.UNCHOKE: case MessageId.INTERESTED: case MessageId.NOT_INTERESTED:
    case MessageId.HAVE_ALL: case MessageId.HAVE_NONE:
      return encodeHeader(id, 0)
    case MessageId.HAVE: case MessageId.SUGGEST: case MessageId.ALLOWED_FAST:
      return encodeIndex(id, u32(buf, start))
    case MessageId.REQUEST: case MessageId.CANCEL: case MessageId.REJECT:
      return encodeBlock(id, u32(buf, start), u32(buf, start + 4), u32(buf, start + 8))
    case MessageId.PORT:
      return encodePort((buf[start] << 8) | buf[start + 1])
    case MessageId.EXTENDED:
      return Buffer.concat([encodeExtendedHeader(buf[start], end - start - 1), buf.subarray(start + 1, end)])
    case MessageId.HASH_REQUEST: case MessageId.HASH_REJECT:
      return encodeHashRequest(id, readHashHeader(buf, start))
    case MessageId.HASHES:
      return Buffer.concat(encodeHashes(readHashHeader(buf, start), Buffer.from(buf.subarray(start + 48, end))))
    default: // bitfield, unknown ids: the body as it is
      return Buffer.concat([encodeHeader(id, body.length), body])
  }
}

/** Feed `chunks` to a fresh reader; what it handed out, encoded again, and how it ended. */
function read (chunks) {
  const out = []
  let error = null
  const sink = {
    _onHandshakeBytes: (buf, off) => out.push(Buffer.from(encodeHandshake(buf.subarray(off + 20, off + 28), buf.subarray(off + 28, off + 48), buf.subarray(off + 48, off + 68)))),
    _onMessage: (id, buf, start, end) => out.push(Buffer.from(reencode(id, buf, start, end))),
    _onPiece: (index, offset, block) => out.push(Buffer.concat([encodePieceHeader(index, offset, block.length), block])),
    _onKeepAlive: () => out.push(Buffer.alloc(4)),
    _onReadError: err => { error = err.code }
  }
  const reader = new MessageReader(sink, limits, true)
  for (const chunk of chunks) reader.write(chunk)
  return { units: out.map(b => b.toString('hex')), bytes: Buffer.concat(out), error }
}

/** Random cut points: 1-byte slices, small, and large pieces, as TCP hands them out. */
function cut (bytes, rand) {
  const chunks = []
  for (let off = 0; off < bytes.length;) {
    const r = rand()
    const n = r < 0.2 ? 1 : r < 0.7 ? 1 + Math.floor(rand() * 80) : 1 + Math.floor(rand() * 20000)
    chunks.push(bytes.subarray(off, off + n))
    off += n
  }
  return chunks
}

/** Round-trip one input, whole and in random chunks; returns how many units the reader handed out. */
function roundTrip (bytes, rand, label) {
  const whole = read([bytes])
  // what the reader handed out is exactly the front of the input, encoded the same again
  assert.ok(bytes.subarray(0, whole.bytes.length).equals(whole.bytes), `${label}: re-encoded units differ from the input`)
  // without a framing error, what is left is less than one whole unit (held for the rest of it)
  if (whole.error === null) {
    const rest = bytes.subarray(whole.bytes.length)
    const whole68 = whole.bytes.length === 0 && bytes.length >= 68
    assert.ok(!whole68 && (rest.length < 4 || rest.length < 4 + u32(rest, 0)), `${label}: a whole unit left unread`)
  }
  const chunked = read(cut(bytes, rand))
  assert.deepEqual(chunked.units, whole.units, `${label}: chunked differs from whole`)
  assert.equal(chunked.error, whole.error, `${label}: chunked error`)
  return whole.units.length
}

test('round trip through the reader: every corpus input, whole and chunked, re-encodes to its own bytes', () => {
  const rand = mulberry32(0x5eed)
  let units = 0
  const ids = new Set()
  for (const file of readdirSync(DIR).sort()) {
    const bytes = readFileSync(DIR + file)
    units += roundTrip(bytes, rand, file)
    const { units: out } = read([bytes])
    for (const hex of out) if (hex.length > 8 && hex.length !== 136) ids.add(parseInt(hex.slice(8, 10), 16))
  }
  // the corpus reaches every message kind (not a vacuous pass)
  for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20]) assert.ok(ids.has(id), `corpus has id ${id}`)
  assert.ok(units > 1000, `${units} units checked`)
})

test('round trip through the reader: seeded mutations of the corpus (100,000 units)', (t) => {
  const seed = 0x40d7
  t.diagnostic(`seed ${seed}`)
  const rand = mulberry32(seed)
  const corpus = readdirSync(DIR).sort().map(f => readFileSync(DIR + f))
  let units = 0
  let errors = 0
  for (let round = 0; units < 100000 && round < 200000; round++) {
    const bytes = Buffer.from(corpus[Math.floor(rand() * corpus.length)])
    // flip bytes in bodies, ids and lengths (then the reader fails the unit or waits for more)
    for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256)
    units += roundTrip(bytes, rand, `round ${round}`)
    if (read([bytes]).error !== null) errors++
  }
  assert.ok(units >= 100000, `${units} units checked`)
  assert.ok(errors > 100, `${errors} mutated inputs failed framing (the mutations reach the checks)`)
})

test('round trip through the reader: BEP 52 hash messages', () => {
  const root = Buffer.alloc(32, 0xab)
  const head = (id, n) => {
    const b = Buffer.alloc(53 + 32 * n)
    b.writeUInt32BE(49 + 32 * n, 0)
    b[4] = id
    root.copy(b, 5)
    b.writeUInt32BE(1, 37); b.writeUInt32BE(4, 41); b.writeUInt32BE(4, 45); b.writeUInt32BE(3, 49)
    for (let i = 53; i < b.length; i++) b[i] = i & 0xff
    return b
  }
  const hs = Buffer.concat([Buffer.from('\u0013BitTorrent protocol', 'latin1'), Buffer.alloc(48, 1)])
  const input = Buffer.concat([hs, head(21, 0), head(23, 0), head(22, 6)])
  const r = read([input])
  assert.equal(r.error, null)
  assert.equal(r.units.length, 4)
  assert.ok(r.bytes.equals(input))
})
