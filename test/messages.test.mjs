// Every BEP 3 / 5 / 6 / 10 message, sent by one wire and received by another.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Wire from 'bittorrent-protocol'
import { pair, event, INFO_HASH, PEER_A, PEER_B } from './helpers.mjs'
import { harness, handshakeBytes, msg, ID, settle } from './fixtures/raw.mjs'

test('handshake: both ways, hex and Buffer ids, extension bits', async () => {
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  const gotB = event(b, 'handshake')
  a.handshake(Buffer.from(INFO_HASH, 'hex'), Buffer.from(PEER_A, 'hex'), { dht: true, fast: true })
  const [infoHash, peerId, ext] = await gotB
  assert.equal(infoHash, INFO_HASH)
  assert.equal(peerId, PEER_A)
  assert.equal(ext.dht, true)
  assert.equal(ext.fast, true)
  assert.equal(ext.extended, true)
  assert.equal(b.peerId, PEER_A)
  assert.deepEqual(b.peerIdBuffer, Buffer.from(PEER_A, 'hex'))
  assert.equal(b.peerReserved.length, 8)
  const gotA = event(a, 'handshake')
  b.handshake(INFO_HASH, new Uint8Array(Buffer.from(PEER_B, 'hex')))
  const [, peerIdB, extB] = await gotA
  assert.equal(peerIdB, PEER_B)
  assert.equal(extB.dht, false)
  assert.equal(extB.fast, false)
  assert.equal(a.hasFast, false, 'fast needs both sides')
  assert.throws(() => new Wire().handshake('abcd', PEER_A), /length 20/)
  assert.throws(() => new Wire().handshake(INFO_HASH, Buffer.alloc(19)), /length 20/)
})

test('state made on first read (requests, mappings, peer id bytes) is one object from then on', async () => {
  const fresh = new Wire()
  assert.equal(fresh.peerIdBuffer, null)
  assert.equal(fresh.peerReserved, null)
  for (const name of ['requests', 'peerRequests', 'extendedMapping', 'peerExtendedMapping', 'peerExtendedHandshake']) {
    assert.equal(fresh[name], fresh[name], name)
  }
  assert.deepEqual(fresh.requests, [])
  assert.deepEqual(fresh.peerExtendedMapping, {})
  const { a, b } = await pair()
  const requests = a.requests
  const peerRequests = b.peerRequests
  const unchoked = event(a, 'unchoke')
  b.unchoke()
  await unchoked
  const got = event(b, 'request')
  a.request(0, 0, 16384, () => {})
  assert.equal(requests.length, 1, 'the array read before the request holds it')
  await got
  assert.equal(peerRequests.length, 1, 'the peer side too')
  assert.equal(b.peerIdBuffer, b.peerIdBuffer)
  assert.deepEqual(b.peerIdBuffer, Buffer.from(PEER_A, 'hex'))
  assert.equal(b.peerReserved, b.peerReserved)
  b.peerReserved[0] = 0xff
  assert.equal(b.peerReserved[0], 0xff, 'a change to the Buffer stays')
  a.destroy()
  b.destroy()
})

test('choke, unchoke, interested, uninterested: events, state, no-op when unchanged', async () => {
  const { a, b } = await pair()
  const seen = []
  for (const name of ['choke', 'unchoke', 'interested', 'uninterested']) b.on(name, () => seen.push(name))
  assert.equal(a.amChoking, true)
  a.choke() // already choking: nothing sent
  a.unchoke()
  a.unchoke()
  const p1 = event(b, 'interested')
  a.interested()
  a.interested()
  await p1
  assert.equal(b.peerChoking, false)
  assert.equal(b.peerInterested, true)
  a.uninterested()
  const p2 = event(b, 'choke')
  a.choke()
  await p2
  assert.deepEqual(seen, ['unchoke', 'interested', 'uninterested', 'choke'])
  assert.equal(b.peerChoking, true)
  assert.equal(b.peerInterested, false)
  assert.equal(a.amChoking, true)
  assert.equal(a.amInterested, false)
})

test('have: event once per new piece, peerPieces updated', async () => {
  const { a, b } = await pair()
  const haves = []
  b.on('have', i => haves.push(i))
  a.have(3)
  a.have(3)
  a.have(1000)
  a.have(3)
  const p3 = event(b, 'keep-alive')
  a.keepAlive()
  await p3
  assert.deepEqual(haves, [3, 1000])
  assert.equal(b.peerPieces.get(3), true)
  assert.equal(b.peerPieces.get(1000), true)
  assert.equal(b.peerPieces.get(4), false)
})

test('bitfield: from a BitField-like, a Buffer and a Uint8Array', async () => {
  const { a, b } = await pair()
  const got = event(b, 'bitfield')
  a.bitfield({ buffer: Buffer.from([0b10100000]) })
  const [bf] = await got
  assert.equal(bf, b.peerPieces)
  assert.equal(bf.get(0), true)
  assert.equal(bf.get(1), false)
  assert.equal(bf.get(2), true)
  assert.ok(Buffer.isBuffer(bf.buffer) || bf.buffer instanceof Uint8Array)
  const p4 = event(b, 'bitfield')
  a.bitfield(new Uint8Array([0xff, 0x01]))
  const [bf2] = await p4
  assert.equal(bf2.get(15), true)
  assert.equal(bf2.get(14), false)
  // a later have grows it
  const p5 = event(b, 'have')
  a.have(40)
  await p5
  assert.equal(b.peerPieces.get(40), true)
})

test('request / piece: callback gets a Buffer, counters, upload/download events', async () => {
  const { a, b } = await pair()
  const block = Buffer.alloc(16384, 9)
  b.on('request', (i, o, l, respond) => {
    assert.deepEqual([i, o, l], [1, 16384, 16384])
    assert.equal(b.peerRequests.length, 1)
    assert.deepEqual({ ...b.peerRequests[0], callback: undefined, _same: undefined }, { piece: 1, offset: 16384, length: 16384, callback: undefined, _same: undefined })
    respond(null, block)
    assert.equal(b.peerRequests.length, 0)
  })
  const uploads = []
  b.on('upload', n => uploads.push(n))
  const downloads = []
  a.on('download', n => downloads.push(n))
  const pieceEvent = event(a, 'piece')
  const p6 = event(a, 'unchoke')
  b.unchoke()
  await p6
  const got = await new Promise((resolve, reject) => {
    a.request(1, 16384, 16384, (err, buf) => err ? reject(err) : resolve(buf))
    assert.equal(a.requests.length, 1)
    assert.deepEqual([a.requests[0].piece, a.requests[0].offset, a.requests[0].length], [1, 16384, 16384])
  })
  assert.ok(Buffer.isBuffer(got))
  assert.deepEqual(got, block)
  const [pi, po, pb] = await pieceEvent
  assert.deepEqual([pi, po, pb.length], [1, 16384, 16384])
  assert.equal(a.requests.length, 0)
  assert.equal(a.downloaded, 16384)
  assert.equal(b.uploaded, 16384)
  assert.deepEqual(uploads, [16384])
  assert.deepEqual(downloads, [16384])
  assert.ok(a.downloadSpeed() > 0)
  assert.ok(b.uploadSpeed() > 0)
})

test('piece: blocks as Uint8Array are sent; respond with an error sends nothing (no fast)', async () => {
  const { a, b } = await pair()
  let n = 0
  b.on('request', (i, o, l, respond) => {
    if (n++ === 0) respond(new Error('no such piece'))
    else respond(null, new Uint8Array(l).fill(5))
  })
  const p7 = event(a, 'unchoke')
  b.unchoke()
  await p7
  const first = new Promise(resolve => a.request(0, 0, 10, (err, buf) => resolve([err, buf])))
  const second = new Promise(resolve => a.request(0, 10, 10, (err, buf) => resolve([err, buf])))
  const [err2, buf2] = await second
  assert.equal(err2, null)
  assert.deepEqual(buf2, Buffer.alloc(10, 5))
  assert.equal(a.requests.length, 1, 'the unanswered request stays pending')
  a.cancel(0, 0, 10)
  const [err1] = await first
  assert.match(err1.message, /cancelled/)
})

test('piece: a block given as a Uint8Array leaves as a Buffer over its own bytes, not a copy', async () => {
  const h = harness()
  h.rec.keepOut = true
  h.w.write(handshakeBytes({ fast: true }))
  await settle()
  const block = new Uint8Array(new ArrayBuffer(16384 + 100), 100, 16384).fill(7)
  h.w.piece(0, 0, block)
  const out = h.rec.out.find(chunk => chunk.length === block.length)
  assert.ok(Buffer.isBuffer(out), 'a Buffer')
  assert.equal(out.buffer, block.buffer, 'over the block\'s own memory')
  assert.equal(out.byteOffset, 100)
})

test('cancel: our callback fails, the peer gets a cancel event and drops the request', async () => {
  const { a, b } = await pair()
  const p8 = event(a, 'unchoke')
  b.unchoke()
  await p8
  const requested = event(b, 'request')
  let err
  a.request(2, 0, 100, e => { err = e })
  const [, , , respond] = await requested
  assert.equal(b.peerRequests.length, 1)
  const cancelled = event(b, 'cancel')
  a.cancel(2, 0, 100)
  assert.match(err.message, /cancelled/)
  assert.equal(err.code, 'ERR_BT_REQUEST_CANCELLED')
  assert.deepEqual((await cancelled), [2, 0, 100])
  assert.equal(b.peerRequests.length, 0)
  respond(null, Buffer.alloc(100)) // too late: nothing is sent
  const uploaded = b.uploaded
  assert.equal(uploaded, 0)
})

test('port (BEP 5)', async () => {
  const { a, b } = await pair({ dht: true })
  const p9 = event(b, 'port')
  a.port(6881)
  const [p] = await p9
  assert.equal(p, 6881)
  assert.throws(() => a.port(70000), RangeError)
})

test('fast extension messages both ways: suggest, have-all, have-none, reject, allowed-fast', async () => {
  const { a, b } = await pair({ fast: true })
  assert.equal(a.hasFast, true)
  assert.equal(b.hasFast, true)
  const sug = event(b, 'suggest')
  a.suggest(7)
  assert.deepEqual(await sug, [7])
  const p10 = event(b, 'have-all')
  a.haveAll()
  await p10
  assert.equal(b.peerPieces.get(123456), true)
  const p11 = event(a, 'have-none')
  b.haveNone()
  await p11
  assert.equal(a.peerPieces.get(0), false)
  const af = event(b, 'allowed-fast')
  a.allowedFast(4)
  a.allowedFast(4)
  assert.deepEqual(a.allowedFastSet, [4])
  assert.deepEqual(await af, [4])
  assert.deepEqual(b.peerAllowedFastSet, [4])
  // b is choked by a, but piece 4 is allowed fast: the request goes out
  const requested = event(a, 'request')
  let err
  b.request(4, 0, 16, e => { err = e })
  const [i, o, l] = await requested
  assert.deepEqual([i, o, l], [4, 0, 16])
  const rej = event(b, 'reject')
  a.reject(4, 0, 16)
  assert.deepEqual(await rej, [4, 0, 16])
  assert.equal(err.code, 'ERR_BT_REQUEST_REJECTED')
  assert.equal(a.peerRequests.length, 0)
})

test('fast methods throw when fast is not negotiated', async () => {
  const { a } = await pair()
  for (const fn of [() => a.suggest(1), () => a.haveAll(), () => a.haveNone(), () => a.reject(0, 0, 1), () => a.allowedFast(1)]) {
    assert.throws(fn, /fast extension is disabled/)
  }
})

test('extended: by name and by id, Buffer payloads, objects bencoded', async () => {
  const { a, b } = await pair()
  // give b an extension name the peer knows
  b.peerExtendedMapping.ut_test = 3
  a.extendedMapping[3] = 'ut_test'
  const got = event(a, 'extended')
  b.extended('ut_test', { hello: 'world' })
  const [name, payload] = await got
  assert.equal(name, 'ut_test')
  assert.ok(Buffer.isBuffer(payload))
  assert.equal(payload.toString(), 'd5:hello5:worlde')
  const byId = event(a, 'extended')
  b.extended(9, new Uint8Array([1, 2, 3]))
  const [id, raw] = await byId
  assert.equal(id, 9)
  assert.deepEqual(raw, Buffer.from([1, 2, 3]))
  assert.throws(() => b.extended('nope', {}), /Unrecognized extension/)
})

test('extended handshake: sent after the handshake event, carries extendedHandshake fields and m', async () => {
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  const order = []
  b.on('handshake', () => {
    order.push('b:handshake')
    b.extendedHandshake.v = 'test-client'
    b.handshake(INFO_HASH, PEER_B)
  })
  a.on('handshake', () => order.push('a:handshake'))
  const got = event(a, 'extended')
  a.handshake(INFO_HASH, PEER_A)
  const [name, hs] = await got
  order.push('a:extended')
  assert.equal(name, 'handshake')
  assert.equal(Buffer.from(hs.v).toString(), 'test-client')
  assert.deepEqual(hs.m, {})
  assert.deepEqual(order, ['b:handshake', 'a:handshake', 'a:extended'])
  assert.equal(a.peerExtendedHandshake, hs)
})

test('no extended handshake when either side lacks the BEP 10 bit', async () => {
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  let extended = 0
  a.on('extended', () => extended++)
  b.on('extended', () => extended++)
  b.on('handshake', () => b.handshake(INFO_HASH, PEER_B, { extended: false }))
  const p12 = event(a, 'handshake')
  a.handshake(INFO_HASH, PEER_A)
  await p12
  const ka = Promise.all([event(a, 'keep-alive'), event(b, 'keep-alive')])
  a.keepAlive()
  b.keepAlive()
  await ka
  assert.equal(extended, 0)
  assert.equal(a.peerExtensions.extended, false)
})

test('unknown message ids: unknownmessage with id and payload, not fatal', async () => {
  const { a, b } = await pair()
  const raw = Buffer.from([0, 0, 0, 4, 99, 1, 2, 3])
  const got = event(b, 'unknownmessage')
  a.push(raw)
  const [m] = await got
  assert.deepEqual(m, Buffer.from([99, 1, 2, 3]))
  const p13 = event(b, 'have')
  a.have(1)
  await p13
  assert.equal(b.destroyed, false)
})

test('requests answered in order and out of order: wire.requests is exact after every reply', async () => {
  const { a, b } = await pair()
  const block = Buffer.alloc(1024, 7)
  const held = []
  b.on('request', (i, o, l, respond) => held.push({ i, o, respond }))
  const unchoked = event(a, 'unchoke')
  b.unchoke()
  await unchoked
  const n = 150
  const pending = () => a.requests.map(r => r.piece * 1000 + r.offset / 1024)
  const expected = []
  let answered = 0
  const all = new Promise(resolve => {
    for (let k = 0; k < n; k++) {
      const piece = k >> 4
      const offset = (k & 15) * 1024
      expected.push(piece * 1000 + offset / 1024)
      a.request(piece, offset, 1024, err => {
        assert.equal(err, null)
        expected.splice(expected.indexOf(piece * 1000 + offset / 1024), 1)
        assert.deepEqual(pending(), expected)
        if (++answered === n) resolve()
      })
    }
  })
  const kept = a.requests
  while (held.length < n) await new Promise(resolve => setImmediate(resolve))
  // the first 100 in order (past the 32 taken from the front that are dropped together),
  // then the rest newest first
  for (const r of held.slice(0, 100)) r.respond(null, block)
  for (const r of held.slice(100).reverse()) r.respond(null, block)
  await all
  assert.equal(a.requests.length, 0)
  assert.equal(a.requests, kept, 'one array throughout')
  assert.equal(kept.length, 0)
  a.destroy()
  b.destroy()
})

test('writes into a corked wire wait, then are read in order on uncork (one by one: a wire has no _writev)', async () => {
  const { w, rec } = harness()
  const seen = []
  w.on('handshake', () => seen.push('handshake'))
  w.on('have', i => seen.push('have ' + i))
  w.on('interested', () => seen.push('interested'))
  w.cork()
  // split across chunk boundaries, so the corked chunks only make messages together
  const bytes = Buffer.concat([handshakeBytes(), msg(ID.have, 7), msg(ID.interested), msg(ID.have, 9)])
  const cuts = [0, 30, 68, 70, 80, bytes.length]
  for (let i = 1; i < cuts.length; i++) w.write(bytes.subarray(cuts[i - 1], cuts[i]))
  assert.equal(w.writableLength, bytes.length)
  assert.deepEqual(seen, [])
  w.uncork()
  await settle()
  assert.deepEqual(seen, ['handshake', 'have 7', 'interested', 'have 9'])
  assert.deepEqual(rec.errors, [])
  assert.equal(w.writableLength, 0)
})

test('listeners: names an object inherits are no events; on, once, prepend, remove and eventNames as EventEmitter has them', () => {
  const w = new Wire()
  for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
    assert.equal(w.listenerCount(name), 0, name)
    assert.equal(w.emit(name), false, name)
  }
  const calls = []
  const a = () => calls.push('a')
  const b = () => calls.push('b')
  w.on('toString', a)
  w.prependListener('toString', b)
  w.once('have', i => calls.push('have ' + i))
  assert.deepEqual(w.eventNames().filter(n => n !== 'pipe'), ['toString', 'have'])
  assert.equal(w.emit('toString'), true)
  w.emit('have', 3)
  w.emit('have', 4)
  w.removeListener('toString', b)
  w.emit('toString')
  assert.deepEqual(calls, ['b', 'a', 'have 3', 'a'])
  assert.deepEqual(w.eventNames().filter(n => n !== 'pipe'), ['toString'])
  w.removeAllListeners('toString')
  assert.equal(w.listenerCount('toString'), 0)
  w.destroy()
})
