// state/serving.ts (the peer's requests, our upload side) and state/fast.ts (BEP 6 allowed-fast
// sets, the automatic one's option checked by state/allowed-fast.ts), each on its own against a
// fake host: no Wire (but once, for a build without the set), no stream. The output is a real
// OutputQueue over a fake readable side whose unread bytes the test sets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Serving } from '../dist/esm/state/serving.js'
import { FastState, ALLOWED_FAST_SET_MAX_LENGTH } from '../dist/esm/state/fast.js'
import { autoAllowedFast } from '../dist/esm/state/allowed-fast.js'
import { Wire as PlatformWire } from '../dist/esm/browser.js'
import { OutputQueue } from '../dist/esm/io/output.js'

const BLOCK = 16384
const REJECT = 16
const ALLOWED_FAST = 17

/** A readable side that keeps nothing: `unread` is what the connection has not read yet. */
function fakeSink () {
  return { unread: 0, push (c) { this.unread += c.length; return true }, get readableLength () { return this.unread } }
}

/** Decode what the host was asked to send: [id, ...u32 fields]. */
function decode (buf) {
  const fields = []
  for (let off = 5; off < buf.length; off += 4) fields.push(buf.readUInt32BE(off))
  return [buf[4], ...fields]
}

function servingHost (over = {}) {
  return {
    amChoking: false,
    hasFast: false,
    finished: false,
    maxPeerRequests: 500,
    maxInvalidRequests: 300,
    maxPieces: 1000,
    allowed: [],
    sent: [],
    refused: [],
    pieces: [],
    requests: [],
    failed: null,
    checkIndex (index, what) {
      if (index < this.maxPieces) return true
      this.failed = what
      return false
    },
    allowsFast (index) { return this.hasFast && this.allowed.includes(index) },
    send (data) { this.sent.push(decode(Buffer.from(data))) },
    sendRefusal (data) { this.refused.push(decode(Buffer.from(data))) },
    sendPiece (index, offset, block) { this.pieces.push([index, offset, block.length]) },
    emitRequest (index, offset, length, respond) { this.requests.push({ index, offset, length, respond }) },
    fail (err) { this.failed = err },
    debug () {},
    ...over
  }
}

test('Serving: requests wait while the output is over the watermark, and are released in order while it stays under', () => {
  const sink = fakeSink()
  const out = new OutputQueue(sink, 2 * BLOCK)
  const host = servingHost()
  const s = new Serving(host, out)
  sink.unread = 2 * BLOCK // the peer has not read our output
  for (let i = 0; i < 4; i++) s.onRequest(0, i * BLOCK, BLOCK)
  assert.equal(host.requests.length, 0, 'no request event over the watermark')
  assert.equal(s.requests.length, 4, 'queued')
  assert.equal(s.waiting, true)

  sink.unread = 0 // read down: the first two fit under the watermark (as committed bytes)
  s.release()
  assert.deepEqual(host.requests.map(r => r.offset), [0, BLOCK])
  assert.equal(out.committed, 2 * BLOCK)
  assert.equal(s.waiting, true, 'two still wait')

  // a new request while some wait queues behind them, even with room
  host.requests[0].respond(null, Buffer.alloc(BLOCK))
  assert.deepEqual(host.pieces, [[0, 0, BLOCK]])
  assert.equal(out.committed, BLOCK)
  s.onRequest(1, 0, BLOCK)
  assert.equal(host.requests.length, 2)

  host.requests[1].respond(null, Buffer.alloc(BLOCK))
  s.release()
  assert.deepEqual(host.requests.map(r => r.offset), [0, BLOCK, 2 * BLOCK, 3 * BLOCK])
  host.requests[2].respond(null, Buffer.alloc(BLOCK))
  host.requests[3].respond(null, Buffer.alloc(BLOCK))
  s.release()
  assert.deepEqual(host.requests.map(r => [r.index, r.offset]), [[0, 0], [0, BLOCK], [0, 2 * BLOCK], [0, 3 * BLOCK], [1, 0]])
  assert.equal(s.waiting, false)
})

test('Serving: respond sends the block once; an error is a reject under BEP 6; a cancel frees the committed bytes', () => {
  const out = new OutputQueue(fakeSink(), 1 << 20)
  const host = servingHost({ hasFast: true })
  const s = new Serving(host, out)
  s.onRequest(3, 0, BLOCK)
  s.onRequest(3, BLOCK, BLOCK)
  s.onRequest(3, 2 * BLOCK, BLOCK)
  assert.equal(out.committed, 3 * BLOCK)
  const [a, b, c] = host.requests
  a.respond(null, Buffer.alloc(BLOCK))
  a.respond(null, Buffer.alloc(BLOCK)) // twice: nothing more
  b.respond(new Error('disk'))
  assert.deepEqual(host.pieces, [[3, 0, BLOCK]])
  assert.deepEqual(host.sent, [[REJECT, 3, BLOCK, BLOCK]])
  s.pull(3, 2 * BLOCK, BLOCK) // the peer cancelled it
  assert.equal(out.committed, 0)
  c.respond(null, Buffer.alloc(BLOCK))
  assert.equal(host.pieces.length, 1, 'a cancelled request is not answered')
  assert.equal(s.requests.length, 0)
})

test('Serving: choke under BEP 6 rejects every pending request but the allowed-fast ones; without it they are forgotten', () => {
  const out = new OutputQueue(fakeSink(), 1 << 20)
  const host = servingHost({ hasFast: true, allowed: [5] })
  const s = new Serving(host, out)
  for (const piece of [5, 6, 7]) s.onRequest(piece, 0, BLOCK)
  host.amChoking = true
  s.onChoke()
  assert.deepEqual(host.sent, [[REJECT, 6, 0, BLOCK], [REJECT, 7, 0, BLOCK]])
  assert.deepEqual(s.requests.list.map(r => r.piece), [5])
  assert.equal(out.committed, BLOCK, 'only the allowed-fast request stays committed')
  // choked: an allowed-fast piece is still served, another is refused (never queued)
  s.onRequest(5, BLOCK, BLOCK)
  s.onRequest(8, 0, BLOCK)
  assert.deepEqual(host.requests.map(r => r.index), [5, 6, 7, 5])
  assert.deepEqual(host.refused, [[REJECT, 8, 0, BLOCK]])

  const plainOut = new OutputQueue(fakeSink(), 1 << 20)
  const plain = servingHost()
  const p = new Serving(plain, plainOut)
  p.onRequest(1, 0, BLOCK)
  p.onRequest(2, 0, BLOCK)
  plain.amChoking = true
  p.onChoke()
  assert.equal(p.requests.length, 0)
  assert.equal(plainOut.committed, 0)
  assert.deepEqual(plain.sent, [])
  p.onRequest(1, 0, BLOCK) // choked, no BEP 6: dropped, nothing sent
  assert.equal(p.requests.length, 0)
  assert.deepEqual(plain.refused, [])
  plain.requests[0].respond(null, Buffer.alloc(BLOCK))
  assert.deepEqual(plain.pieces, [], 'an answer after the choke is not sent')
})

test('Serving: invalid lengths are counted and refused, and fatal past maxInvalidRequests; the cap drops and counts', () => {
  const out = new OutputQueue(fakeSink(), 1 << 20)
  const host = servingHost({ hasFast: true, maxInvalidRequests: 2, maxPeerRequests: 2 })
  const s = new Serving(host, out)
  s.onRequest(0, 0, 0)
  s.onRequest(0, 0, 128 * 1024 + 1)
  assert.equal(s.invalid, 2)
  assert.deepEqual(host.refused, [[REJECT, 0, 0, 0], [REJECT, 0, 0, 128 * 1024 + 1]])
  assert.equal(host.failed, null)
  s.onRequest(0, 0, 128 * 1024) // 128 KiB itself is valid
  s.onRequest(0, 128 * 1024, BLOCK)
  s.onRequest(0, 2 * 128 * 1024, BLOCK) // a third pending one: over the cap
  assert.equal(s.dropped, 1)
  assert.equal(host.refused.length, 3)
  assert.equal(s.requests.length, 2)
  s.onRequest(0, 0, 0) // the third invalid one
  assert.equal(host.failed?.code, 'ERR_BT_REQUEST_TOO_LARGE')
  assert.equal(s.invalid, 3)
  // an index out of range fails through the host's check and is not queued
  const h2 = servingHost()
  const s2 = new Serving(h2, new OutputQueue(fakeSink(), 1 << 20))
  s2.onRequest(1000, 0, BLOCK)
  assert.equal(h2.failed, 'request')
  assert.equal(s2.requests.length, 0)
})

function fastHost (over = {}) {
  return {
    hasFast: true,
    finished: false,
    maxPieces: 1000,
    sent: [],
    events: [],
    failed: null,
    send (data) { this.sent.push(decode(Buffer.from(data))) },
    fail (err) { this.failed = err },
    checkIndex (index, what) {
      if (index < this.maxPieces) return true
      this.failed = what
      return false
    },
    emit (...args) { this.events.push(args); return true },
    ...over
  }
}

test('FastState: the automatic allowed-fast set goes out once, after our have-message and handshake, with fast on', () => {
  const calls = []
  const fn = (ip, infoHash, pieces, k) => { calls.push([ip, Buffer.from(infoHash).toString('hex'), pieces, k]); return [7, 3] }
  const host = fastHost({ hasFast: false })
  const fast = new FastState(host, autoAllowedFast({ ip: '10.1.2.3', pieces: 50, k: 2 }, fn))
  const ih = Buffer.alloc(20, 0xab)
  fast.haveSent()
  fast.handshakeSent(ih)
  assert.deepEqual(host.sent, [], 'not before fast is negotiated')
  host.hasFast = true // the peer's handshake said fast
  fast.sendAutoWhenDue()
  assert.deepEqual(calls, [[0x0a010203, 'ab'.repeat(20), 50, 2]])
  assert.deepEqual(host.sent, [[ALLOWED_FAST, 7], [ALLOWED_FAST, 3]])
  assert.deepEqual(fast.allowed, [7, 3])
  fast.haveSent()
  fast.sendAutoWhenDue()
  assert.equal(calls.length, 1, 'once')
  assert.equal(host.sent.length, 2)

  // the handshake alone is not enough: our have-message must be out first
  const h2 = fastHost()
  const f2 = new FastState(h2, autoAllowedFast({ ip: '10.1.2.3', pieces: 50 }, fn))
  f2.handshakeSent(ih)
  assert.deepEqual(h2.sent, [])
  f2.haveSent()
  assert.equal(h2.sent.length, 2)

  // an IPv6 peer gets none, and the set is not computed
  const h3 = fastHost()
  const f3 = new FastState(h3, autoAllowedFast({ ip: new Uint8Array(16).fill(1), pieces: 50 }, fn))
  f3.haveSent()
  f3.handshakeSent(ih)
  assert.deepEqual(h3.sent, [])
  assert.equal(calls.length, 2)

  assert.throws(() => autoAllowedFast(null, fn), TypeError)
  // a build without the set (the browser's Wire, from the platform-free entry) refuses the option
  assert.throws(() => new PlatformWire({ allowedFast: { ip: '10.0.0.1', pieces: 5 } }), /not available in this build/)
  assert.throws(() => autoAllowedFast({ ip: '10.0.0.1' }, fn), /allowedFast\.pieces/)
})

test('FastState: the peer\'s allowed-fast set keeps the last 100; fast messages need fast negotiated', () => {
  const host = fastHost()
  const fast = new FastState(host, null)
  for (let i = 0; i < 150; i++) fast.onAllowedFast(i)
  fast.onAllowedFast(149) // a repeat is not added twice
  assert.equal(ALLOWED_FAST_SET_MAX_LENGTH, 100)
  assert.equal(fast.peerAllowed.length, 100)
  assert.equal(fast.peerAllowed[0], 50)
  assert.equal(fast.peerAllowed[99], 149)
  assert.equal(host.events.length, 151)
  assert.deepEqual(host.events[0], ['allowed-fast', 0])
  fast.onAllowedFast(1000) // out of range: the host's check fails the wire
  assert.equal(host.failed, 'allowed-fast')
  assert.equal(fast.peerAllowed.length, 100)

  const plain = fastHost({ hasFast: false })
  const f2 = new FastState(plain, null)
  f2.onAllowedFast(1)
  assert.equal(plain.failed?.code, 'ERR_BT_FAST_NOT_NEGOTIATED')
  assert.deepEqual(f2.peerAllowed, [])
  assert.deepEqual(plain.events, [])
})
