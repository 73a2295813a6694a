// peerPieces (src/bitfield.ts, PeerPieces) on its own and through a wire: memory grows with what the
// peer sends, not with the indices it names; every bit set reads back, whichever record holds it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PeerPieces } from '../dist/esm/bitfield.js'
import { ID, msg, ready, settle, mulberry32 } from './fixtures/raw.mjs'

const MAX = 0x200000
/** The first index past what the bits grow to at once (16 KiB of bits). */
const FAR = 131072

test('PeerPieces: a have far past the bits is kept aside, not allocated up to; get() reads both records', () => {
  const p = new PeerPieces(0, MAX)
  p.set(MAX - 1)
  assert.equal(p.get(MAX - 1), true)
  assert.equal(p.get(MAX - 2), false)
  assert.equal(p.buffer.length, FAR / 8, 'the bits grow as far as they grow at once, not to the far index')
  p.set(MAX) // past maxPieces: ignored, as the bitfield package ignores a bit past its grow
  assert.equal(p.get(MAX), false)
  p.set(MAX - 1, false)
  assert.equal(p.get(MAX - 1), false)
  // a bitfield message's bits are kept; a have far past them grows them as far, and goes aside
  const b = new PeerPieces(new Uint8Array([0b10000000]), MAX)
  b.set(MAX - 1)
  assert.equal(b.buffer.length, FAR / 8)
  assert.deepEqual([b.get(0), b.get(1), b.get(MAX - 1), b.get(MAX - 2)], [true, false, true, false])
  // bits longer than that stay as they are
  const c = new PeerPieces(new Uint8Array(FAR / 8 + 1), MAX)
  c.set(MAX - 1)
  assert.equal(c.buffer.length, FAR / 8 + 1)
  assert.equal(c.get(MAX - 1), true)
})

test('PeerPieces: after have-none, a first have past 131,072 pieces leaves the bits not empty (WebTorrent would take the peer for a seeder)', () => {
  const p = new PeerPieces(0, MAX)
  p.set(200000)
  assert.ok(p.buffer.length > 0)
  assert.equal(p.get(200000), true)
  let count = 0
  p.forEach(bit => { if (bit) count++ })
  assert.equal(count, 0, 'no bit within them is set by it')
})

test('PeerPieces: a have within 131,072 pieces grows the bits to cover it at once, as the bitfield package does', () => {
  // WebTorrent reads the bits' length: empty bits after have-none and a have would make it take the
  // peer for a seeder (what 5.0.9 gives after have-all) and choke it
  const p = new PeerPieces(0, MAX)
  p.set(256)
  assert.equal(p.buffer.length, 33)
  assert.deepEqual([p.get(255), p.get(256)], [false, true])
  p.set(FAR - 1)
  assert.equal(p.buffer.length, FAR / 8, 'the largest index that grows the bits at once')
  const b = new PeerPieces(new Uint8Array(2), MAX)
  b.set(1000)
  assert.equal(b.buffer.length, 126)
})

test('PeerPieces: haves in order (after have-none) grow the bits by doubling; far ones join the bits once they cost as much', () => {
  const p = new PeerPieces(0, MAX)
  for (let i = 0; i < 10000; i++) p.set(i)
  assert.ok(p.buffer.length >= 1250 && p.buffer.length <= 2 * 1250, `${p.buffer.length} bytes for 10000 pieces`)
  for (let i = 0; i < 10000; i++) assert.equal(p.get(i), true)
  // the far ones: kept aside until they cost as much as the bits up to the highest of them
  const q = new PeerPieces(0, MAX)
  const R = mulberry32(23)
  const set = new Set()
  for (let k = 0; k < 9000; k++) {
    const i = FAR + Math.floor(R() * (MAX - FAR))
    set.add(i)
    q.set(i)
    // never more bytes of bits than what a have grows them to at once and 32 per index set, doubled
    assert.ok(q.buffer.length <= 2 * (FAR / 8 + 32 * set.size), `${q.buffer.length} bytes after ${set.size} haves`)
  }
  assert.ok(q.buffer.length > FAR / 8, 'the far indices joined the bits')
  for (const i of set) assert.equal(q.get(i), true)
  let count = 0
  for (let i = 0; i < MAX; i++) if (q.get(i)) count++
  assert.equal(count, set.size)
})

test('PeerPieces: haves that would each double the bits (the bitfield package grows so) do not: 63 bytes of haves keep under 32 KiB', () => {
  const p = new PeerPieces(0, MAX)
  const chain = [FAR - 9, FAR - 1, FAR, 2 * FAR, 4 * FAR, 8 * FAR, MAX - 1]
  for (const i of chain) p.set(i)
  assert.ok(p.buffer.length <= FAR / 4, `${p.buffer.length} bytes of bits`)
  for (const i of chain) assert.equal(p.get(i), true, `have ${i}`)
  assert.equal(p.get(2 * FAR + 1), false)
})

test('a wire: have 2097151 keeps no 256 KiB of bits (16 KiB, what a have grows them to at once); have events and peerPieces as before', async () => {
  const h = ready()
  const haves = []
  h.w.on('have', i => haves.push(i))
  h.w.write(Buffer.concat([msg(ID.have, MAX - 1), msg(ID.have, MAX - 1), msg(ID.have, 3)]))
  await settle()
  assert.deepEqual(haves, [MAX - 1, 3])
  assert.equal(h.w.peerPieces.get(MAX - 1), true)
  assert.equal(h.w.peerPieces.get(3), true)
  assert.equal(h.w.peerPieces.buffer.length, FAR / 8, `${h.w.peerPieces.buffer.length} bytes of bits`)
  assert.deepEqual(h.rec.errors, [])
})

test('a wire: have-none, then a have of piece 256: the bits cover it (WebTorrent tells a seeder by their length)', async () => {
  const h = ready()
  h.w.write(Buffer.concat([msg(ID.haveNone), msg(ID.have, 256)]))
  await settle()
  assert.equal(h.w.peerPieces.buffer.length, 33)
  assert.equal(h.w.peerPieces.get(256), true)
  assert.deepEqual(h.rec.errors, [])
})
