// Round-trip fuzzing of the codec (src/protocol/codec.ts), as anacrolix/torrent's peer_protocol
// does it: every message of the seed corpus (test/testdata/fuzz/wire) and of seeded mutations of
// it that frames and passes the length table must re-encode to exactly its bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  checkLength, decodeMessage, encodeMessage, encodeHandshake, isProtocolHeader,
  DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_PIECES
} from '../dist/esm/protocol/codec.js'
import { mulberry32 } from './fixtures/raw.mjs'

const DIR = fileURLToPath(new URL('./testdata/fuzz/wire/', import.meta.url))
const limits = { maxMessageLength: DEFAULT_MAX_MESSAGE_LENGTH, maxPieces: DEFAULT_MAX_PIECES }

/** Frame an input as a peer would send it: the handshake, then length-prefixed messages; a ragged tail is dropped. */
function * frames (bytes) {
  let off = 0
  if (bytes.length >= 68 && isProtocolHeader(bytes, 0)) { yield ['handshake', bytes.subarray(0, 68)]; off = 68 }
  while (off + 4 <= bytes.length) {
    const len = bytes.readUInt32BE(off)
    if (off + 4 + len > bytes.length) return
    yield ['message', bytes.subarray(off, off + 4 + len)]
    off += 4 + len
  }
}

/** Round-trip every frame of `bytes`; returns how many messages were checked. */
function roundTrip (bytes, label) {
  let checked = 0
  for (const [kind, unit] of frames(bytes)) {
    if (kind === 'handshake') {
      assert.deepEqual(encodeHandshake(unit.subarray(20, 28), unit.subarray(28, 48), unit.subarray(48, 68)), unit, `${label}: handshake`)
      continue
    }
    const len = unit.readUInt32BE(0)
    if (len === 0 || len > limits.maxMessageLength) continue
    const id = unit[4]
    if (checkLength(id, len, limits) !== null) continue
    const m = decodeMessage(id, unit, 5, unit.length)
    assert.equal(m.id, id)
    assert.deepEqual(encodeMessage(m), unit, `${label}: message id ${id} (${len} bytes)`)
    checked++
  }
  return checked
}

test('round trip: every corpus message that decodes re-encodes to the same bytes', () => {
  let checked = 0
  const ids = new Set()
  for (const file of readdirSync(DIR).sort()) {
    const bytes = readFileSync(DIR + file)
    checked += roundTrip(bytes, file)
    for (const [kind, unit] of frames(bytes)) if (kind === 'message' && unit.length > 4) ids.add(unit[4])
  }
  // the corpus reaches every message kind (not a vacuous pass)
  for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20, 21, 22, 23]) assert.ok(ids.has(id) || id >= 21, `corpus has id ${id}`)
  assert.ok(checked > 1000, `${checked} messages checked`)
})

test('round trip: seeded mutations of the corpus (100,000 messages)', (t) => {
  const seed = 0x40d7
  t.diagnostic(`seed ${seed}`)
  const rand = mulberry32(seed)
  const corpus = readdirSync(DIR).sort().map(f => readFileSync(DIR + f))
  let checked = 0
  for (let round = 0; checked < 100000 && round < 200000; round++) {
    const bytes = Buffer.from(corpus[Math.floor(rand() * corpus.length)])
    // flip bytes in bodies and ids (lengths too: those frames then fail the table or go ragged)
    for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256)
    checked += roundTrip(bytes, `round ${round}`)
  }
  assert.ok(checked >= 100000, `${checked} messages checked`)
})

test('round trip: BEP 52 hash messages', () => {
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
  for (const unit of [head(21, 0), head(23, 0), head(22, 6)]) {
    assert.deepEqual(encodeMessage(decodeMessage(unit[4], unit, 5, unit.length)), unit)
  }
})
