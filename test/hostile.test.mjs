// Issue 3: hostile input. Every message is validated, every buffer bounded, nothing throws.
// Each fatal case asserts the error's code, that 'close' was emitted, and that the wire's
// state is exactly what it was before the bad message.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import v8 from 'node:v8'
import vm from 'node:vm'
import Wire, { ErrorCodes } from 'bittorrent-protocol'
import {
  ID, NAME, EXACT, AT_LEAST, DEFAULTS, FAST_IDS, CODES, framingVerdict, u32, msg, framed, ext,
  handshakeBytes, harness, ready, snapshot, settle, writeChunked, makeExtension, mulberry32
} from './fixtures/raw.mjs'

const KNOWN_IDS = Object.values(ID)
const SOME_UNKNOWN_IDS = [10, 11, 12, 18, 19, 24, 100, 254, 255]
const MAX_BLOCK = 128 * 1024

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/** Write `bytes`, then check: one error with `code`, closed, destroyed, state unchanged, nothing buffered. */
async function expectFatal (h, bytes, code, label, { chunk } = {}) {
  const { w, rec } = h
  const before = snapshot(w)
  if (chunk) writeChunked(w, bytes, chunk)
  else w.write(bytes)
  await settle()
  assert.equal(rec.errors.length, 1, `${label}: one error`)
  const err = rec.errors[0]
  assert.ok(err instanceof Error, label)
  assert.equal(err.name, 'WireError', label)
  assert.equal(err.code, code, `${label}: code`)
  assert.ok(CODES.has(err.code), label)
  assert.ok(rec.closed, `${label}: 'close' emitted`)
  assert.ok(w.destroyed, `${label}: destroyed`)
  assert.deepEqual(snapshot(w), before, `${label}: state unchanged`)
  assert.equal(w.inputBacklog, 0, `${label}: nothing buffered`)
}

async function expectAlive (h, label) {
  await settle()
  assert.deepEqual(h.rec.errors.map(e => e.code), [], `${label}: no error`)
  assert.equal(h.w.destroyed, false, `${label}: alive`)
  assert.equal(h.rec.closed, false, label)
}

// -----------------------------------------------------------------------------
// Lengths

test('every message id: too-short and too-long bodies fail with the right code, state unchanged', async () => {
  let cases = 0
  for (const limits of [DEFAULTS, { maxMessageLength: 1000, maxPieces: 100, maxPeerRequests: 500 }]) {
    const wire = limits === DEFAULTS ? undefined : limits
    for (const id of [...KNOWN_IDS, ...SOME_UNKNOWN_IDS]) {
      const lens = new Set([limits.maxMessageLength + 1, limits.maxMessageLength + 1000, 0xffffffff])
      if (id in EXACT) {
        for (const l of [1, 2, EXACT[id] - 1, EXACT[id] + 1, EXACT[id] + 100, limits.maxMessageLength]) {
          if (l >= 1 && l !== EXACT[id]) lens.add(l)
        }
      }
      if (id in AT_LEAST) for (let l = 1; l < AT_LEAST[id]; l++) lens.add(l)
      if (id === ID.bitfield) {
        const cap = Math.ceil(limits.maxPieces / 8)
        for (const l of [cap + 2, cap + 100]) if (l <= limits.maxMessageLength) lens.add(l)
      }
      for (const len of lens) {
        const code = framingVerdict(len, id, limits)
        if (code === null) continue
        // the body as announced (capped at 64 KiB when beyond the limit: it must never be read)
        const bodyLen = Math.min(len - 1, len > limits.maxMessageLength ? 65536 : Infinity)
        const bytes = framed(len, id, Buffer.alloc(bodyLen, 0xab))
        const label = `${NAME[id] ?? 'id ' + id} len=${len}`
        await expectFatal(ready({ wire }), bytes, code, label)
        await expectFatal(ready({ wire }), bytes, code, label + ' (1-byte chunks)', { chunk: bytes.length <= 4096 ? 1 : 997 })
        cases++
      }
    }
  }
  assert.ok(cases > 100, `${cases} cases`)
})

test('exact lengths are accepted for every id (the table is not just rejecting everything)', async () => {
  for (const id of Object.keys(EXACT).map(Number)) {
    if (id === ID.hashRequest || id === ID.hashReject) continue // BEP 52: handled elsewhere
    const h = ready()
    h.w.unchoke()
    let body = Buffer.alloc(EXACT[id] - 1)
    if (id === ID.request || id === ID.cancel || id === ID.reject) body = Buffer.concat([u32(0), u32(0), u32(16384)])
    h.w.write(framed(EXACT[id], id, body))
    await expectAlive(h, NAME[id])
  }
  for (const [id, body] of [[ID.bitfield, Buffer.alloc(0)], [ID.bitfield, Buffer.alloc(3)], [ID.piece, Buffer.alloc(8)],
    [ID.piece, Buffer.alloc(8 + 16384)], [ID.extended, Buffer.from([0, 0x64, 0x65])], [ID.extended, Buffer.from([5, 1, 2])]]) {
    const h = ready()
    h.w.write(framed(body.length + 1, id, body))
    await expectAlive(h, NAME[id] + ' ' + body.length)
  }
})

test('length prefixes from 0 to 2^32-1 with every id: framing verdict decided before the body', async () => {
  const lens = new Set()
  for (let l = 0; l <= 80; l++) lens.add(l)
  for (let k = 7; k <= 32; k++) for (const d of [-1, 0, 1]) lens.add(Math.min(2 ** k + d, 0xffffffff))
  for (const l of [0x13426974, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) lens.add(l)
  let checked = 0
  for (const limits of [DEFAULTS, { maxMessageLength: 1000, maxPieces: 100, maxPeerRequests: 500 }]) {
    const wire = limits === DEFAULTS ? undefined : limits
    for (const l of [limits.maxMessageLength - 1, limits.maxMessageLength, limits.maxMessageLength + 1, Math.ceil(limits.maxPieces / 8) + 1, Math.ceil(limits.maxPieces / 8) + 2]) lens.add(l)
    const runs = []
    for (const len of lens) {
      for (const id of [...KNOWN_IDS, ...SOME_UNKNOWN_IDS]) {
        if (len === 0 && id !== 0) continue // a zero prefix is a keep-alive: the next byte starts a new prefix
        const h = ready({ wire })
        let keepAlive = 0
        h.w.on('keep-alive', () => keepAlive++)
        const before = snapshot(h.w)
        h.w.write(len === 0 ? u32(0) : framed(len, id))
        runs.push({ h, len, id, before, keepAlive: () => keepAlive })
      }
    }
    await settle()
    for (const { h, len, id, before, keepAlive } of runs) {
      const label = `len=${len} id=${id} maxMessageLength=${limits.maxMessageLength}`
      const expected = framingVerdict(len, id, limits)
      if (expected === null) {
        assert.deepEqual(h.rec.errors.map(e => e.code), [], label)
        assert.equal(h.w.destroyed, false, label)
        if (len === 0) assert.equal(keepAlive(), 1, label)
        if (len > 1) {
          assert.deepEqual(snapshot(h.w), before, label + ': waiting for the body, nothing changed')
          assert.equal(h.w.inputBacklog, 0, label)
        }
        h.w.destroy()
      } else {
        assert.equal(h.rec.errors.length, 1, label)
        assert.equal(h.rec.errors[0].code, expected, label)
        assert.ok(h.rec.closed, label)
        assert.deepEqual(snapshot(h.w), before, label)
      }
      checked++
    }
  }
  assert.ok(checked > 4000)
})

test('a prefix of "\\x13Bit" is a second handshake even when maxMessageLength would admit it', async () => {
  const h = ready({ wire: { maxMessageLength: 0xffffffff } })
  await expectFatal(h, handshakeBytes(), ErrorCodes.DUPLICATE_HANDSHAKE, 'huge limit')
})

// -----------------------------------------------------------------------------
// Bounded buffering

function memory () {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

test('trickled oversize bodies: the wire gives up at the length prefix, before buffering 4 MiB', async (t) => {
  const FOUR_MIB = 4 * 1024 * 1024
  for (const [label, wire, header] of [
    ['piece, 4 MiB body, default limits', undefined, framed(FOUR_MIB + 9, ID.piece, Buffer.concat([u32(0), u32(0)]))],
    ['extended, 4 MiB body, default limits', undefined, framed(FOUR_MIB + 2, ID.extended, Buffer.from([0]))],
    ['unknown id, 4 MiB body, default limits', undefined, framed(FOUR_MIB + 1, 99)],
    ['have, 4 MiB body, 16 MiB limit (exact-size check)', { maxMessageLength: 16 * 1024 * 1024 }, framed(FOUR_MIB + 1, ID.have)],
    ['bitfield, 4 MiB body, 16 MiB limit (maxPieces check)', { maxMessageLength: 16 * 1024 * 1024 }, framed(FOUR_MIB + 1, ID.bitfield)]
  ]) {
    const h = ready({ wire })
    const code = framingVerdict(header.readUInt32BE(0), header[4], { ...DEFAULTS, ...wire })
    assert.notEqual(code, null)
    gc()
    const base = memory()
    let peakBuffered = 0
    let peakMemory = 0
    // the header one byte at a time, then the body in 1 KiB chunks (4096 writes)
    for (let i = 0; i < header.length; i++) {
      h.w.write(header.subarray(i, i + 1))
      peakBuffered = Math.max(peakBuffered, h.w.inputBacklog)
    }
    const chunk = Buffer.alloc(1024, 0x5a)
    for (let sent = header.length - 5; sent < FOUR_MIB; sent += chunk.length) {
      h.w.write(chunk)
      peakBuffered = Math.max(peakBuffered, h.w.inputBacklog)
      // retained memory, sampled every 256 KiB (writes to a destroyed stream make short-lived garbage)
      if ((sent & 0x3ffff) === 0) { await settle(1); gc(); peakMemory = Math.max(peakMemory, memory() - base) }
    }
    await settle()
    assert.equal(h.rec.errors.length, 1, label)
    assert.equal(h.rec.errors[0].code, code, label)
    assert.ok(h.rec.closed)
    assert.ok(peakBuffered <= 4, `${label}: peak buffered ${peakBuffered} bytes`)
    assert.ok(peakMemory < 2 * 1024 * 1024, `${label}: memory grew by ${peakMemory} bytes`)
    t.diagnostic(`${label}: ${code}; peak reader buffer ${peakBuffered} B; peak retained heap+arrayBuffers growth ${(peakMemory / 1024).toFixed(0)} KiB while 4 MiB were written`)
  }
})

test('a body within the limit, trickled one byte at a time, is held once at its exact size', async (t) => {
  const payload = Buffer.alloc(200 * 1024, 0x61) // an extended message below the 260 KiB limit
  const bytes = ext(42, payload)
  const h = ready()
  const got = []
  h.w.on('extended', (id, buf) => got.push([id, buf.length]))
  let peak = 0
  for (let i = 0; i < bytes.length; i++) {
    h.w.write(bytes.subarray(i, i + 1))
    peak = Math.max(peak, h.w.inputBacklog)
  }
  await expectAlive(h, 'extended 200 KiB trickled')
  assert.deepEqual(got, [[42, payload.length]])
  assert.equal(h.w.inputBacklog, 0)
  assert.ok(peak <= payload.length + 1 && peak <= DEFAULTS.maxMessageLength, `peak ${peak}`)
  t.diagnostic(`200 KiB extended message in ${bytes.length} one-byte writes: peak reader buffer ${peak} B`)
})

test('before the handshake: garbage fails at once, a trickled handshake holds at most 68 bytes', async () => {
  for (const [label, bytes] of [
    ['HTTP request', Buffer.from('GET /announce HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['zero bytes', Buffer.alloc(1000)],
    ['bad protocol string', Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocoX'), Buffer.alloc(48)])],
    ['pstrlen 20', Buffer.concat([Buffer.from([20]), Buffer.from('BitTorrent protocol!'), Buffer.alloc(48)])],
    ['a message instead of a handshake', msg(ID.interested)]
  ]) {
    for (const chunk of [undefined, 1]) {
      const h = harness()
      await expectFatal(h, bytes, ErrorCodes.BAD_HANDSHAKE, label, { chunk })
      assert.equal(h.w.peerId, null)
    }
  }
  const h = harness()
  const hs = handshakeBytes()
  let peak = 0
  for (let i = 0; i < hs.length - 1; i++) { h.w.write(hs.subarray(i, i + 1)); peak = Math.max(peak, h.w.inputBacklog) }
  assert.equal(peak, 67)
  h.w.write(hs.subarray(67))
  assert.equal(h.w.inputBacklog, 0)
  assert.ok(h.w.peerId)
  await expectAlive(h, 'trickled handshake')
})

// -----------------------------------------------------------------------------
// Request queue

function requests (n, { length = 16384 } = {}) {
  const buf = Buffer.allocUnsafe(17 * n)
  for (let i = 0; i < n; i++) {
    buf.writeUInt32BE(13, i * 17)
    buf[i * 17 + 4] = ID.request
    buf.writeUInt32BE(i % 1000, i * 17 + 5)
    buf.writeUInt32BE(Math.floor(i / 1000) * length, i * 17 + 9)
    buf.writeUInt32BE(length, i * 17 + 13)
  }
  return buf
}

function countRejects (chunks) {
  const all = Buffer.concat(chunks)
  let n = 0
  for (let i = 0; i + 17 <= all.length; i++) {
    if (all.readUInt32BE(i) === 13 && all[i + 4] === ID.reject) { n++; i += 16 }
  }
  return n
}

test('request flood: 100k requests keep the queue at the cap; dropped (no fast) or rejected (fast), and counted', async (t) => {
  const N = 100000
  const flood = requests(N)
  for (const fast of [false, true]) {
    // a watermark above the whole queue (500 x 16 KiB): this is about the cap; the watermark has its own tests
    const h = ready({ peerFast: fast, wire: { sendWatermark: 64 * 1024 * 1024 } })
    assert.equal(h.w.hasFast, fast)
    h.w.unchoke()
    let events = 0
    h.w.on('request', () => events++)
    await settle() // our handshake, extended handshake and unchoke have gone out
    h.rec.keepOut = true
    h.rec.out.length = 0
    const outBefore = h.rec.outBytes
    const t0 = performance.now()
    writeChunked(h.w, flood, 65536)
    const ms = performance.now() - t0
    await expectAlive(h, `flood fast=${fast}`)
    assert.equal(h.w.peerRequests.length, 500)
    assert.equal(events, 500)
    assert.equal(h.w.droppedPeerRequests, N - 500)
    if (fast) assert.equal(countRejects(h.rec.out), N - 500)
    else assert.equal(h.rec.outBytes, outBefore, 'nothing sent for dropped requests without fast')
    t.diagnostic(`fast=${fast}: 100k requests in ${ms.toFixed(0)} ms, queue ${h.w.peerRequests.length}, dropped ${h.w.droppedPeerRequests}`)
    // the queue frees up as we answer
    const [first] = h.w.peerRequests
    if (fast) h.w.reject(first.piece, first.offset, first.length)
    else h.w.choke()
    if (fast) {
      assert.equal(h.w.peerRequests.length, 499)
      h.w.write(msg(ID.request, 7, 0, 16384))
      assert.equal(h.w.peerRequests.length, 500)
    } else {
      assert.equal(h.w.peerRequests.length, 0)
    }
  }
})

test('request flood from a peer that never reads: rejects stop at 1 MiB of unread output', async () => {
  const h = ready({ peerFast: true })
  await settle()
  h.w.removeAllListeners('data') // nobody reads what the wire sends from now on
  h.w.pause()
  const before = h.w.readableLength
  h.w.write(requests(200000)) // choked: each would be rejected
  await expectAlive(h, 'unread flood')
  assert.equal(h.w.peerRequests.length, 0)
  const backlog = h.w.readableLength - before
  assert.ok(backlog <= 1024 * 1024 + 17, `unread output ${backlog} bytes`)
  assert.ok(backlog >= 1024 * 1024 - 17 * 2, `rejects were sent up to the limit (${backlog})`)
})

test('request flood while choked: nothing queued; rejected under fast, silently dropped otherwise', async () => {
  for (const fast of [false, true]) {
    const h = ready({ peerFast: fast })
    await settle()
    h.rec.keepOut = true
    h.rec.out.length = 0
    const outBefore = h.rec.outBytes
    h.w.write(requests(10000))
    await expectAlive(h, 'choked flood')
    assert.equal(h.w.peerRequests.length, 0)
    if (fast) assert.equal(countRejects(h.rec.out), 10000)
    else assert.equal(h.rec.outBytes, outBefore)
  }
})

test('maxPeerRequests option caps the queue', async () => {
  const h = ready({ wire: { maxPeerRequests: 10 }, peerFast: false })
  h.w.unchoke()
  h.w.write(requests(1000))
  await expectAlive(h, 'maxPeerRequests 10')
  assert.equal(h.w.maxPeerRequests, 10)
  assert.equal(h.w.peerRequests.length, 10)
  assert.equal(h.w.droppedPeerRequests, 990)
})

// Issue 14: these were fatal (REQUEST_TOO_LARGE at the first one). libtorrent refuses such a request
// (reject under BEP 6) and keeps the peer; so do we, up to maxInvalidRequests of them.
test('request of 0 bytes or over 128 KiB: refused (rejected under fast, dropped otherwise), counted, the wire stays open; 128 KiB itself is served', async () => {
  const BAD = [0, MAX_BLOCK + 1, 0x7fffffff, 0xffffffff]
  for (const fast of [true, false]) {
    const h = ready({ peerFast: fast })
    await settle()
    h.w.unchoke()
    let events = 0
    h.w.on('request', () => events++)
    h.rec.keepOut = true
    h.rec.out.length = 0
    const outBefore = h.rec.outBytes
    for (const length of BAD) h.w.write(msg(ID.request, 1, 0, length))
    await expectAlive(h, `bad lengths fast=${fast}`)
    assert.equal(events, 0, 'no request event')
    assert.equal(h.w.peerRequests.length, 0, 'nothing queued')
    assert.equal(h.w.invalidPeerRequests, BAD.length)
    if (fast) {
      assert.equal(countRejects(h.rec.out), BAD.length)
      const out = Buffer.concat(h.rec.out)
      for (const length of BAD) assert.ok(out.includes(msg(ID.reject, 1, 0, length)), `reject of length ${length}`)
    } else {
      assert.equal(h.rec.outBytes, outBefore, 'nothing sent without fast')
    }
    h.w.write(msg(ID.request, 1, 0, MAX_BLOCK))
    await expectAlive(h, `128 KiB fast=${fast}`)
    assert.equal(events, 1)
    assert.equal(h.w.peerRequests.length, 1)
    assert.equal(h.w.invalidPeerRequests, BAD.length)
  }
})

test('cancel / reject of 0 bytes or over 128 KiB only remove what is pending: the wire stays open', async () => {
  for (const id of [ID.cancel, ID.reject]) {
    for (const length of [0, MAX_BLOCK + 1, 0x7fffffff, 0xffffffff]) {
      const h = ready()
      h.w.unchoke()
      h.w.write(msg(id, 1, 0, length))
      await expectAlive(h, `${NAME[id]} length=${length}`)
    }
  }
  // a request of 0 bytes of our own, rejected by the peer as it was asked: the callback fails once
  const h = ready()
  h.w.write(msg(ID.unchoke))
  const calls = []
  h.w.request(2, 0, 0, err => calls.push(err?.code))
  h.w.write(msg(ID.reject, 2, 0, 0))
  await expectAlive(h, 'reject of our 0-byte request')
  assert.deepEqual(calls, [ErrorCodes.REQUEST_REJECTED])
  assert.equal(h.w.requests.length, 0)
})

test('past maxInvalidRequests (default 300) such requests, the wire closes with REQUEST_TOO_LARGE, state unchanged', async () => {
  assert.equal(new Wire().maxInvalidRequests, 300)
  for (const [wire, limit] of [[undefined, 300], [{ maxInvalidRequests: 2 }, 2]]) {
    const h = ready({ wire })
    h.w.unchoke()
    h.w.write(Buffer.concat(Array.from({ length: limit }, (_, i) => msg(ID.request, i % 5, 0, i % 2 ? 0 : MAX_BLOCK + 1))))
    await expectAlive(h, `${limit} invalid requests`)
    assert.equal(h.w.invalidPeerRequests, limit)
    await expectFatal(h, msg(ID.request, 1, 0, 0), ErrorCodes.REQUEST_TOO_LARGE, `request ${limit + 1}`)
    assert.match(h.rec.errors[0].message, new RegExp(`more than ${limit} requests`))
  }
  assert.throws(() => new Wire({ maxInvalidRequests: 0 }), RangeError)
})

// -----------------------------------------------------------------------------
// Piece indices and bitfields

test('have / suggest / allowed-fast / request / cancel / reject beyond maxPieces: PIECE_INDEX_OUT_OF_RANGE, bitfield not grown', async () => {
  for (const wire of [undefined, { maxPieces: 100 }]) {
    const maxPieces = wire?.maxPieces ?? DEFAULTS.maxPieces
    for (const index of [maxPieces, maxPieces + 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      for (const [id, body] of [
        [ID.have, [index]], [ID.suggest, [index]], [ID.allowedFast, [index]],
        [ID.request, [index, 0, 16384]], [ID.cancel, [index, 0, 16384]], [ID.reject, [index, 0, 16384]]
      ]) {
        const h = ready({ wire })
        h.w.unchoke()
        await expectFatal(h, msg(id, ...body), ErrorCodes.PIECE_INDEX_OUT_OF_RANGE, `${NAME[id]} ${index} maxPieces=${maxPieces}`)
        assert.equal(h.w.peerPieces.buffer.length, 0)
      }
    }
    // the last valid index grows the bitfield to the cap, not beyond
    const h = ready({ wire })
    const haves = []
    h.w.on('have', i => haves.push(i))
    h.w.write(msg(ID.have, maxPieces - 1))
    h.w.write(msg(ID.have, maxPieces - 1))
    await expectAlive(h, 'last index')
    assert.deepEqual(haves, [maxPieces - 1])
    assert.equal(h.w.peerPieces.get(maxPieces - 1), true)
    assert.ok(h.w.peerPieces.buffer.length <= Math.ceil(maxPieces / 8))
  }
})

test('bitfield longer than maxPieces allows: BAD_BITFIELD; exactly the cap is accepted', async () => {
  for (const maxPieces of [1, 8, 9, 100, DEFAULTS.maxPieces]) {
    const wire = { maxPieces }
    const cap = Math.ceil(maxPieces / 8)
    await expectFatal(ready({ wire }), msg(ID.bitfield, Buffer.alloc(cap + 1, 0xff)), ErrorCodes.BAD_BITFIELD, `maxPieces=${maxPieces}`)
    const h = ready({ wire })
    h.w.write(msg(ID.bitfield, Buffer.alloc(cap, 0xff)))
    await expectAlive(h, `bitfield at cap ${cap}`)
    assert.equal(h.w.peerPieces.buffer.length, cap)
    // have after the bitfield cannot grow it beyond the cap either
    h.w.write(msg(ID.have, maxPieces))
    await settle()
    assert.equal(h.rec.errors[0].code, ErrorCodes.PIECE_INDEX_OUT_OF_RANGE)
    assert.equal(h.w.peerPieces.buffer.length, cap)
  }
})

// -----------------------------------------------------------------------------
// Fast extension, handshakes, unknown ids

test('fast messages without fast negotiated: FAST_NOT_NEGOTIATED, state unchanged', async () => {
  const bodies = {
    [ID.suggest]: [3], [ID.haveAll]: [], [ID.haveNone]: [], [ID.reject]: [3, 0, 16384], [ID.allowedFast]: [3]
  }
  for (const [peerFast, weFast] of [[false, true], [true, false], [false, false]]) {
    for (const id of FAST_IDS) {
      const h = ready({ peerFast, weFast })
      assert.equal(h.w.hasFast, false)
      await expectFatal(h, msg(id, ...bodies[id]), ErrorCodes.FAST_NOT_NEGOTIATED, `${NAME[id]} peerFast=${peerFast} weFast=${weFast}`)
      assert.notEqual(h.w.peerPieces.length, Infinity, 'have-all did not apply')
    }
  }
})

test('a second handshake: DUPLICATE_HANDSHAKE, whole or trickled, after messages too', async () => {
  for (const chunk of [undefined, 1, 7]) {
    await expectFatal(ready(), handshakeBytes(), ErrorCodes.DUPLICATE_HANDSHAKE, `chunk=${chunk}`, { chunk })
    const h = ready()
    h.w.write(msg(ID.unchoke))
    await expectFatal(h, Buffer.concat([handshakeBytes({ peerId: 'ff'.repeat(20) })]), ErrorCodes.DUPLICATE_HANDSHAKE, 'after unchoke', { chunk })
    assert.equal(h.w.peerId, '2d4242303030302d' + 'b'.repeat(24), 'peer id not replaced')
  }
})

test('unknown message ids are not fatal: unknownmessage(id + payload), state unchanged', async () => {
  const h = ready()
  const before = snapshot(h.w)
  const ids = []
  for (let id = 0; id < 256; id++) if (!KNOWN_IDS.includes(id)) ids.push(id)
  for (const id of ids) h.w.write(msg(id, Buffer.from([id, 1, 2, 3])))
  h.w.write(framed(1, 200)) // no payload at all
  await expectAlive(h, 'unknown ids')
  assert.equal(h.rec.unknown.length, ids.length + 1)
  for (let i = 0; i < ids.length; i++) {
    assert.ok(Buffer.isBuffer(h.rec.unknown[i]))
    assert.deepEqual([...h.rec.unknown[i]], [ids[i], ids[i], 1, 2, 3])
  }
  assert.deepEqual([...h.rec.unknown[ids.length]], [200])
  assert.deepEqual(snapshot(h.w), before)
})

test('hostile extended handshakes: malformed ones fail with a coded error, bad m entries are ignored, never thrown', async () => {
  const Ext = makeExtension('ut_test')
  const malformed = [
    ['', 'BAD_EXTENDED_HANDSHAKE'], ['x', 'BAD_EXTENDED_HANDSHAKE'], ['d', 'BAD_BENCODE'], ['l', 'BAD_EXTENDED_HANDSHAKE'],
    ['i', 'BAD_EXTENDED_HANDSHAKE'], ['i42', 'BAD_EXTENDED_HANDSHAKE'], ['4:spa', 'BAD_EXTENDED_HANDSHAKE'],
    ['99999999999:x', 'BAD_EXTENDED_HANDSHAKE'], ['i42e', 'BAD_EXTENDED_HANDSHAKE'], ['4:spam', 'BAD_EXTENDED_HANDSHAKE'],
    ['le', 'BAD_EXTENDED_HANDSHAKE'], ['li1ee', 'BAD_EXTENDED_HANDSHAKE'], ['l'.repeat(200000), 'BAD_EXTENDED_HANDSHAKE'],
    ['d1:a'.repeat(15000), 'BAD_BENCODE'], ['d1:md1:a', 'BAD_BENCODE'],
    ['\x00\xff\xfe', 'BAD_EXTENDED_HANDSHAKE'], ['d-3:ee', 'BAD_BENCODE'], ['d1:ml-3:eee', 'BAD_BENCODE'],
    ['d1:vi03ee', 'BAD_BENCODE'], ['d1:v' + 'x'.repeat(70000) + 'e', 'BAD_EXTENDED_HANDSHAKE']
  ]
  for (const [payload, code] of malformed) {
    const h = ready({ extensions: [Ext] })
    const events = []
    h.w.on('extended', name => events.push(name))
    const bytes = ext(0, Buffer.from(payload, 'latin1'))
    await expectFatal(h, bytes, ErrorCodes[code], `payload ${JSON.stringify(payload.slice(0, 20))}`)
    assert.deepEqual(events, [])
    assert.deepEqual(h.w.ut_test.handshakes, [])
  }
  const dicts = [
    ['de', {}],
    ['de1', {}], // bytes after the dictionary are ignored, as bencode 2 (3.5.5) does
    ['d1:mi5ee', {}],
    ['d1:m4:spame', {}],
    ['d1:mli1ei2eee', {}],
    ['d1:md6:ut_pex4:spamee', {}],
    ['d1:md1:ai-1e1:bi256e1:ci1000000000000000000000000000000e1:dle1:ede1:f0:2:oki3e7:ut_testi7e3:maxi255e5:ctorsi1ee1:vi-99e1:pi99999999999ee',
      { ok: 3, ut_test: 7, max: 255, ctors: 1 }],
    ['d1:md9:__proto__i5e11:constructori4e9:prototypei3e7:ut_testi2eee', { ut_test: 2 }],
    ['d9:__proto__d1:md7:ut_testi9eeee', null], // whatever it maps, it must not pollute Object.prototype
    ['d1:md7:ut_testi' + '9'.repeat(400) + 'eee', {}],
    ['d1:vi' + '9'.repeat(5000) + 'ee', {}] // a huge integer is well-formed (bencode 2 gives Infinity too)
  ]
  for (const [payload, mapping] of dicts) {
    const h = ready({ extensions: [Ext] })
    let emitted = 0
    h.w.on('extended', name => { if (name === 'handshake') emitted++ })
    h.w.write(ext(0, Buffer.from(payload, 'latin1')))
    await expectAlive(h, payload.slice(0, 40))
    assert.equal(emitted, 1, payload)
    if (mapping !== null) assert.deepEqual({ ...h.w.peerExtendedMapping }, mapping, payload)
    assert.equal(({}).m, undefined)
    assert.equal(Object.prototype.ut_test, undefined)
    // a message for ut_test reaches its handler only when the peer announced ut_test
    h.w.write(ext(1, Buffer.from('hi')))
    await expectAlive(h, 'after ' + payload.slice(0, 40))
    assert.equal(h.w.ut_test.messages.length, h.w.peerExtendedMapping.ut_test ? 1 : 0, payload)
  }
  // m: 0 disables a mapping
  const h = ready({ extensions: [Ext] })
  h.w.write(ext(0, 'd1:md7:ut_testi3eee'))
  assert.deepEqual({ ...h.w.peerExtendedMapping }, { ut_test: 3 })
  h.w.write(ext(0, 'd1:md7:ut_testi0eee'))
  assert.deepEqual({ ...h.w.peerExtendedMapping }, {})
  await expectAlive(h, 'm 0')
})

// -----------------------------------------------------------------------------
// Failure semantics

const FATAL = [
  [ErrorCodes.MESSAGE_TOO_LONG, framed(0x7fffffff, ID.piece)],
  [ErrorCodes.BAD_LENGTH, framed(6, ID.have, Buffer.alloc(5))],
  [ErrorCodes.DUPLICATE_HANDSHAKE, handshakeBytes()],
  [ErrorCodes.REQUEST_TOO_LARGE, Buffer.concat(Array.from({ length: 301 }, () => msg(ID.request, 0, 0, 0)))],
  [ErrorCodes.PIECE_INDEX_OUT_OF_RANGE, msg(ID.have, 0xffffffff)],
  [ErrorCodes.BAD_BITFIELD, framed(0x40002, ID.bitfield)]
]

test('on every protocol error, each pending request callback gets the error once; nothing dangles', async () => {
  for (const errorListener of [true, false]) {
    for (const [code, bytes] of FATAL) {
      const h = ready({ errorListener })
      h.w.write(msg(ID.unchoke))
      const calls = []
      for (let i = 0; i < 5; i++) h.w.request(i, 0, 16384, (err, block) => calls.push([i, err, block]))
      assert.equal(h.w.requests.length, 5)
      h.w.write(bytes)
      await settle()
      assert.equal(calls.length, 5, code)
      for (const [, err, block] of calls) {
        assert.ok(err instanceof Error)
        assert.equal(err.code, code)
        assert.ok(!block)
      }
      assert.deepEqual(calls.map(c => c[0]).sort(), [0, 1, 2, 3, 4])
      assert.equal(h.w.requests.length, 0)
      assert.equal(h.w.peerRequests.length, 0)
      assert.ok(h.rec.closed)
      assert.deepEqual(h.rec.errors.map(e => e.code), errorListener ? [code] : [])
      // a request after the failure fails at once
      let late
      h.w.request(9, 0, 16384, err => { late = err })
      assert.ok(late instanceof Error)
      // writes after the failure are ignored quietly
      h.w.write(msg(ID.have, 1))
      await settle()
      assert.equal(h.w.peerPieces.get(1), false)
    }
  }
})

test('no error listener: the wire closes quietly, also when a source is piped into it', async () => {
  const uncaught = []
  const onUncaught = err => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  try {
    for (const [code, bytes] of FATAL) {
      // plain writes
      const h = ready({ errorListener: false })
      h.w.write(bytes)
      // src.pipe(wire) adds an 'error' listener of its own; it must not count as the application's
      const src = new PassThrough()
      const dst = new PassThrough()
      const { w, rec } = harness({ errorListener: false })
      src.pipe(w).pipe(dst)
      dst.resume()
      let dstClosed = false
      dst.on('close', () => { dstClosed = true })
      src.write(handshakeBytes())
      src.write(bytes)
      await settle(4)
      assert.deepEqual(uncaught, [], code)
      assert.ok(h.rec.closed && h.w.destroyed, code)
      assert.ok(rec.closed && w.destroyed, code + ' (piped)')
      assert.ok(dstClosed, code + ': the destination is closed')
    }
  } finally {
    process.off('uncaughtException', onUncaught)
  }
})

test('two sources piped in, two destinations piped out: both get our bytes; a protocol failure unpipes both sources and closes both destinations', async () => {
  const uncaught = []
  const onUncaught = err => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  try {
    const { w, rec } = harness({ errorListener: false })
    const sources = [new PassThrough(), new PassThrough()]
    const dests = [new PassThrough(), new PassThrough()]
    for (const src of sources) src.pipe(w)
    const got = dests.map(dst => {
      const chunks = []
      w.pipe(dst)
      dst.on('data', c => chunks.push(c))
      return chunks
    })
    sources[0].write(handshakeBytes())
    await settle(4)
    const [one, two] = got.map(chunks => Buffer.concat(chunks))
    assert.equal(one.subarray(0, 20).toString('latin1'), '\u0013BitTorrent protocol', 'our handshake reached the first destination')
    assert.deepEqual(two, one, 'the second destination got the same bytes')
    for (const src of sources) assert.equal(src.listenerCount('data'), 1, 'piped')
    sources[1].write(FATAL[0][1])
    await settle(4)
    assert.deepEqual(uncaught, [])
    assert.ok(rec.closed && w.destroyed)
    for (const src of sources) assert.equal(src.listenerCount('data'), 0, 'the source was unpiped')
    for (const dst of dests) assert.ok(dst.destroyed, 'the destination is closed')
  } finally {
    process.off('uncaughtException', onUncaught)
  }
  // without a protocol failure, destroying the wire ends every destination cleanly
  const w = new Wire()
  const dests = [new PassThrough(), new PassThrough(), new PassThrough()]
  for (const dst of dests) w.pipe(dst)
  w.destroy()
  await settle(4)
  for (const dst of dests) assert.ok(dst.writableEnded && !dst.destroyed, 'the destination was ended')
})

test('every error code a peer causes is a stable WireError code', () => {
  for (const code of Object.values(ErrorCodes)) assert.match(code, /^ERR_BT_[A-Z_]+$/)
  assert.equal(ErrorCodes.MESSAGE_TOO_LONG, 'ERR_BT_MESSAGE_TOO_LONG')
  assert.equal(ErrorCodes.BAD_LENGTH, 'ERR_BT_BAD_LENGTH')
  assert.equal(ErrorCodes.DUPLICATE_HANDSHAKE, 'ERR_BT_DUPLICATE_HANDSHAKE')
  assert.equal(ErrorCodes.REQUEST_TOO_LARGE, 'ERR_BT_REQUEST_TOO_LARGE')
  assert.equal(ErrorCodes.PIECE_INDEX_OUT_OF_RANGE, 'ERR_BT_PIECE_INDEX_OUT_OF_RANGE')
  assert.equal(ErrorCodes.BAD_BITFIELD, 'ERR_BT_BAD_BITFIELD')
  assert.equal(ErrorCodes.FAST_NOT_NEGOTIATED, 'ERR_BT_FAST_NOT_NEGOTIATED')
  assert.equal(ErrorCodes.BAD_HANDSHAKE, 'ERR_BT_BAD_HANDSHAKE')
})

test('constructor options: maxMessageLength, maxPieces, maxPeerRequests; bad values throw', async () => {
  const w = new Wire({ maxMessageLength: 1000, maxPieces: 64, maxPeerRequests: 3 })
  assert.equal(w.maxMessageLength, 1000)
  assert.equal(w.maxPieces, 64)
  assert.equal(w.maxPeerRequests, 3)
  const d = new Wire()
  assert.equal(d.maxMessageLength, DEFAULTS.maxMessageLength)
  assert.equal(d.maxPieces, DEFAULTS.maxPieces)
  assert.equal(d.maxPeerRequests, DEFAULTS.maxPeerRequests)
  const old = new Wire('tcpIncoming', 0, false) // 3.5.5 signature still works
  assert.equal(old.type, 'tcpIncoming')
  for (const name of ['maxMessageLength', 'maxPieces', 'maxPeerRequests']) {
    for (const bad of [0, -1, 1.5, NaN, Infinity, '10']) {
      assert.throws(() => new Wire({ [name]: bad }), RangeError, `${name}=${bad}`)
    }
  }
  // the limits apply
  const h = ready({ wire: { maxMessageLength: 20 } })
  h.w.write(ext(1, Buffer.alloc(18)))
  await expectAlive(h, '20-byte limit, 20-byte message')
  await expectFatal(h, ext(1, Buffer.alloc(19)), ErrorCodes.MESSAGE_TOO_LONG, '21-byte message')
})

test('random chunking does not change any verdict (seeded)', async (t) => {
  const seed = 0xc0ffee
  t.diagnostic(`seed ${seed}`)
  const rand = mulberry32(seed)
  for (const [code, bytes] of FATAL) {
    for (let i = 0; i < 20; i++) {
      const stream = Buffer.concat([handshakeBytes(), msg(ID.unchoke), msg(ID.have, 3), bytes, msg(ID.have, 4)])
      const h = harness()
      writeChunked(h.w, stream, () => 1 + Math.floor(rand() * 40))
      await settle()
      assert.deepEqual(h.rec.errors.map(e => e.code), [code])
      assert.equal(h.w.peerPieces.get(3), true)
      assert.equal(h.w.peerPieces.get(4), false)
    }
  }
})
