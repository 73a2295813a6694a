// The behaviour people depend on: choke / request / timeout / cancel / end rules, BEP 6 rules, use().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import Wire from 'bittorrent-protocol'
import Bt5 from 'bt5'
import { pair, event, INFO_HASH, PEER_A, PEER_B } from './helpers.mjs'

const Bt3 = createRequire(import.meta.url)('bt3')

function pending (wire, i, o, l) {
  return new Promise(resolve => wire.request(i, o, l, (err, buf) => resolve({ err, buf })))
}

test('request while choked fails at once (synchronously) with PEER_CHOKED', async () => {
  const { a } = await pair()
  let called = null
  a.request(0, 0, 16, err => { called = err })
  assert.ok(called, 'callback ran synchronously')
  assert.equal(called.code, 'ERR_BT_PEER_CHOKED')
  assert.equal(a.requests.length, 0)
})

test('peer choke fails all our pending requests (no fast)', async () => {
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  const r1 = pending(a, 0, 0, 16)
  const r2 = pending(a, 0, 16, 16)
  assert.equal(a.requests.length, 2)
  b.choke()
  const [x, y] = await Promise.all([r1, r2])
  assert.equal(x.err.code, 'ERR_BT_PEER_CHOKED')
  assert.equal(y.err.code, 'ERR_BT_PEER_CHOKED')
  assert.equal(a.requests.length, 0)
})

test('our choke drops the peer\'s pending requests (no fast)', async () => {
  const { a, b } = await pair()
  const u = event(b, 'unchoke')
  a.unchoke()
  await u
  let responds = []
  a.on('request', (i, o, l, respond) => responds.push(respond))
  b.request(0, 0, 16, () => {})
  b.request(1, 0, 16, () => {})
  assert.equal(a.peerRequests.length, 2)
  a.choke()
  assert.equal(a.peerRequests.length, 0)
  // a late response is not sent
  responds[0](null, Buffer.alloc(16))
  assert.equal(a.uploaded, 0)
})

test('BEP 6: peer choke does not fail requests; rejects do', async () => {
  const { a, b } = await pair({ fast: true })
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  const r = pending(a, 0, 0, 16)
  let pendingAtChoke = -1
  a.once('choke', () => { pendingAtChoke = a.requests.length })
  b.choke()
  assert.equal(pendingAtChoke, 1, 'still pending after choke under fast')
  // b (choking) rejected it already? Under fast, b rejects pending requests not in its allowed-fast set when it chokes
  const { err } = await r
  assert.equal(err.code, 'ERR_BT_REQUEST_REJECTED')
  assert.equal(a.requests.length, 0)
})

test('BEP 6: our choke rejects pending requests outside the allowed-fast set, keeps allowed ones', async () => {
  const { a, b } = await pair({ fast: true })
  a.allowedFast(5)
  const u = event(b, 'unchoke')
  a.unchoke()
  await u
  const r1 = pending(b, 1, 0, 16)
  const r5 = pending(b, 5, 0, 16)
  assert.equal(a.peerRequests.length, 2)
  const rejected = event(b, 'reject')
  a.choke()
  assert.deepEqual(await rejected, [1, 0, 16])
  assert.equal((await r1).err.code, 'ERR_BT_REQUEST_REJECTED')
  assert.deepEqual(a.peerRequests.map(r => r.piece), [5])
  assert.equal(b.requests.length, 1)
  // the allowed one may still be served while choked
  const served = r5
  a.once('request', () => {})
  const req = a.peerRequests[0]
  a.piece(req.piece, req.offset, Buffer.alloc(16, 1))
  const { err, buf } = await served
  assert.equal(err, null)
  assert.deepEqual(buf, Buffer.alloc(16, 1))
})

test('BEP 6: a request while we choke is rejected (fast) or ignored (no fast)', async () => {
  {
    const { a, b } = await pair({ fast: true })
    b.peerChoking = false // pretend b thinks it is unchoked, to get the request out
    const r = pending(b, 3, 0, 16)
    assert.equal((await r).err.code, 'ERR_BT_REQUEST_REJECTED')
    assert.equal(a.peerRequests.length, 0)
  }
  {
    const { a, b } = await pair()
    b.peerChoking = false
    let requests = 0
    a.on('request', () => requests++)
    b.request(3, 0, 16, () => {})
    const ka = event(a, 'keep-alive')
    b.keepAlive()
    await ka
    assert.equal(requests, 0)
    assert.equal(a.peerRequests.length, 0)
  }
})

test('BEP 6: allowed-fast lets us request while choked', async () => {
  const { a, b } = await pair({ fast: true })
  const af = event(a, 'allowed-fast')
  b.allowedFast(2)
  await af
  const req = event(b, 'request')
  let err = 'unset'
  a.request(2, 0, 8, e => { err = e })
  await req
  assert.equal(err, 'unset', 'not failed at once')
  let err2 = null
  a.request(3, 0, 8, e => { err2 = e })
  assert.equal(err2.code, 'ERR_BT_PEER_CHOKED')
})

test('request timeout: the oldest request fails, timeout is emitted, timer unref works', async (t) => {
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  a.setTimeout(50, true)
  const keepLoop = setInterval(() => {}, 1000) // the wire's timer is unref'd
  t.after(() => clearInterval(keepLoop))
  const first = pending(a, 0, 0, 16)
  const second = pending(a, 0, 16, 16)
  const timedOut = event(a, 'timeout')
  const r = await first
  await timedOut
  assert.equal(r.err.code, 'ERR_BT_REQUEST_TIMEOUT')
  assert.match(r.err.message, /timed out/)
  assert.deepEqual(a.requests.map(x => x.offset), [16])
  const r2 = await second
  assert.equal(r2.err.code, 'ERR_BT_REQUEST_TIMEOUT')
  assert.equal(a.requests.length, 0)
  a.setTimeout(0)
})

test('end(): fails every pending request, emits uninterested/choke as 3.5.5, closes the stream', async () => {
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  a.setKeepAlive(true)
  const r = pending(a, 0, 0, 16)
  const seen = []
  a.on('choke', () => seen.push('choke'))
  a.on('uninterested', () => seen.push('uninterested'))
  const closed = event(b, 'end')
  a.end()
  const { err } = await r
  assert.ok(err)
  assert.deepEqual(seen, ['uninterested', 'choke'])
  await closed
  let late = null
  a.request(0, 0, 16, e => { late = e })
  assert.equal(late.code, 'ERR_BT_WIRE_CLOSED')
})

test('destroy(): fails every pending request, clears timers, emits close', async () => {
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  a.setKeepAlive(true)
  a.setTimeout(10000)
  const r1 = pending(a, 0, 0, 16)
  const r2 = pending(a, 1, 0, 16)
  const closed = event(a, 'close')
  a.destroy()
  const [x, y] = await Promise.all([r1, r2])
  assert.equal(x.err.code, 'ERR_BT_WIRE_CLOSED')
  assert.equal(y.err.code, 'ERR_BT_WIRE_CLOSED')
  await closed
  assert.equal(a.destroyed, true)
  assert.equal(a.requests.length, 0)
  // nothing keeps the event loop alive: the test would hang otherwise (timers cleared)
})

// Issue 14: both upstream suites request 0 bytes of a peer to see their request time out. The peer
// refuses such a request (dropped, or rejected under BEP 6) and the wire stays open.
test('a request of 0 bytes: without fast the peer drops it and ours times out; under fast it is rejected', async () => {
  for (const fast of [false, true]) {
    const { a, b } = await pair({ fast })
    const u = event(a, 'unchoke')
    b.unchoke()
    await u
    let requests = 0
    b.on('request', () => requests++)
    a.setTimeout(50)
    const timedOut = fast ? null : event(a, 'timeout')
    const { err } = await pending(a, 0, 0, 0)
    assert.equal(err.code, fast ? 'ERR_BT_REQUEST_REJECTED' : 'ERR_BT_REQUEST_TIMEOUT')
    if (timedOut) await timedOut
    assert.equal(requests, 0, 'never reaches the application')
    assert.equal(b.invalidPeerRequests, 1)
    assert.equal(a.destroyed || b.destroyed, false, 'both stay open')
    // and a normal request still works
    b.on('request', (i, o, l, respond) => respond(null, Buffer.alloc(l, 7)))
    const { err: e2, buf } = await pending(a, 0, 0, 16)
    assert.equal(e2, null)
    assert.deepEqual(buf, Buffer.alloc(16, 7))
    a.destroy()
    b.destroy()
  }
})

// Issue 14: 3.5.5's and 5.0.9's destroy() both run end(): their own state flips ('uninterested',
// 'choke'), then 'finish', 'end' and 'close' (3.5.5 emits 'close' first). Checked here against both.
const LIFECYCLE = ['uninterested', 'choke', 'finish', 'end', 'close', 'error']
function record (wire) {
  const seen = []
  for (const name of LIFECYCLE) wire.on(name, err => seen.push(name === 'error' ? 'error:' + err.message : name))
  return seen
}
const settled = () => new Promise(resolve => setTimeout(resolve, 30))

test('destroy(): uninterested and choke, then finish, end and close, in 5.0.9\'s order (3.5.5: the same events)', async () => {
  const anchors = {}
  for (const [name, W] of [['bt3', Bt3], ['bt5', Bt5], ['ours', Wire]]) {
    const w = new W()
    const seen = record(w)
    w.destroy()
    await settled()
    anchors[name] = seen
  }
  assert.deepEqual(anchors.bt5, ['uninterested', 'choke', 'finish', 'end', 'close'])
  assert.deepEqual(anchors.ours, anchors.bt5)
  assert.deepEqual([...anchors.bt3].sort(), [...anchors.bt5].sort())

  // on a live pair: the state flips, pending requests fail with ERR_BT_WIRE_CLOSED before the choke
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  const i = event(a, 'interested')
  b.unchoke()
  b.interested()
  await Promise.all([u, i])
  assert.equal(a.peerChoking, false)
  assert.equal(a.peerInterested, true)
  const seen = record(a)
  const failed = new Promise(resolve => a.request(0, 0, 16384, err => { seen.push('request:' + err.code); resolve() }))
  const peerEnded = event(b, 'end')
  a.destroy()
  assert.equal(a.peerChoking, true)
  assert.equal(a.peerInterested, false)
  a.destroy() // a second call changes nothing
  await failed
  await event(a, 'close')
  await peerEnded // the peer's side sees a clean end
  assert.deepEqual(seen, ['request:ERR_BT_WIRE_CLOSED', 'uninterested', 'choke', 'finish', 'end', 'close'])
  assert.equal(a.destroyed, true)
})

// 3.5.5 emits 'close' from inside destroy(), and WebTorrent 1.x relies on it (interop:
// webtorrent.test.mjs, "a peer dropped and the client destroyed in the same tick"): a wire made
// with 3.5.5's constructor form does so too, after the state flips and 'finish'; 'end' follows.
test('destroy() of a wire made as 3.5.5 makes it (type, retries, peEnabled): close before destroy() returns, as 3.5.5', async () => {
  for (const [name, W] of [['bt3', Bt3], ['ours', Wire]]) {
    const w = new W('tcpIncoming', 0, false)
    const seen = record(w)
    w.destroy()
    assert.equal(w.destroyed, true, name)
    assert.equal(seen.includes('close'), true, `${name}: 'close' before destroy() returned`)
    await settled()
    if (name === 'ours') assert.deepEqual(seen, ['uninterested', 'choke', 'finish', 'close', 'end'])
    else assert.deepEqual(seen, ['close', 'uninterested', 'choke', 'finish', 'end'])
  }
  // with an error: 'error' first, then 'close', both after destroy() returned
  const w = new Wire('tcpIncoming', 0, false)
  const seen = record(w)
  w.destroy(new Error('boom'))
  assert.deepEqual(seen, ['uninterested', 'choke'])
  await settled()
  assert.deepEqual(seen, ['uninterested', 'choke', 'error:boom', 'close'])
  // output a destination never takes: 'close' still comes inside destroy()
  const stuck = new Wire('tcpIncoming', 0, false)
  stuck.pipe(new Writable({ highWaterMark: 1, write () {} })) // never calls back
  stuck.handshake(INFO_HASH, PEER_A)
  for (let k = 0; k < 64; k++) stuck.have(k)
  const stuckSeen = record(stuck)
  stuck.destroy()
  assert.deepEqual(stuckSeen, ['uninterested', 'choke', 'finish', 'close'])
  assert.equal(stuck.destroyed, true)
  // destroy() from a handler of the peer's message (inside a write into the wire): the same
  const src = new Wire()
  const inner = new Wire('tcpIncoming', 0, false)
  src.pipe(inner)
  const innerSeen = record(inner)
  let closedInside = null
  inner.once('handshake', () => { inner.destroy(); closedInside = innerSeen.includes('close') })
  src.handshake(INFO_HASH, PEER_A)
  await event(inner, 'close')
  assert.equal(closedInside, true, "'close' before destroy() returned, inside a write too")
  assert.deepEqual(innerSeen.slice(0, 4), ['uninterested', 'choke', 'finish', 'close'])
  assert.equal(inner.destroyed, true)
  src.destroy()
  // 5.x's form and an options object keep 5.0.9's order (code written for it may listen for
  // 'close' after destroy())
  for (const w of [new Wire('tcpIncoming', 1), new Wire({ type: 'tcpIncoming' }), new Wire('tcpIncoming')]) {
    const seen = record(w)
    w.destroy()
    assert.equal(seen.includes('close'), false)
    await settled()
    assert.deepEqual(seen, ['uninterested', 'choke', 'finish', 'end', 'close'])
  }
})

test('destroy(err): uninterested and choke, then error and close; a wire nobody reads is destroyed all the same', async () => {
  const w = new Wire()
  const seen = record(w)
  w.destroy(new Error('boom'))
  await settled()
  assert.deepEqual(seen, ['uninterested', 'choke', 'error:boom', 'close'])
  // output a destination never takes holds 'end' back: destroy() still gets to 'close'
  const { a } = await pair()
  a.unpipe()
  a.pipe(new Writable({ highWaterMark: 1, write () {} })) // never calls back
  for (let k = 0; k < 64; k++) a.have(k)
  const stuck = record(a)
  const closed = event(a, 'close')
  a.destroy()
  await closed
  assert.deepEqual(stuck, ['uninterested', 'choke', 'finish', 'close'])
  assert.equal(a.destroyed, true)
})

test('use() of a name already in use: a new id and the new handler, as 3.5.5 (WebTorrent 1.9.7 does it on encrypted incoming wires)', async () => {
  const made = []
  class Ext {
    constructor (wire) { this.wire = wire; this.got = []; made.push(this) }
    onMessage (buf) { this.got.push(buf.toString()) }
  }
  Ext.prototype.name = 'ut_twice'
  class Other {}
  Other.prototype.name = 'ut_other'
  const maps = []
  for (const W of [Bt3, Wire]) {
    const w = new W()
    w.use(Ext)
    w.use(Other)
    w.use(Ext)
    maps.push({ ...w.extendedMapping })
    assert.equal(w.ut_twice, made[made.length - 1])
  }
  assert.deepEqual(maps[1], maps[0])
  assert.deepEqual(maps[1], { 1: 'ut_twice', 2: 'ut_other', 3: 'ut_twice' })
  // over a pair: the peer learns the newest id; messages under either id reach the newest handler
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  b.use(Ext)
  b.use(Ext)
  a.use(Ext)
  b.on('handshake', () => b.handshake(INFO_HASH, PEER_B))
  const ext = Promise.all([event(a, 'extended'), event(b, 'extended')])
  a.handshake(INFO_HASH, PEER_A)
  await ext
  assert.equal(a.peerExtendedMapping.ut_twice, 2)
  const got = event(b, 'extended')
  a.extended(1, Buffer.from('one'))
  a.extended('ut_twice', Buffer.from('two'))
  await got
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(b.ut_twice.got, ['one', 'two'])
  assert.equal(made.filter(e => e.wire === b)[0].got.length, 0, 'the replaced handler hears nothing')
})

test('use(): custom extension gets onHandshake, onExtendedHandshake (same name only), onMessage; ids from 1', async () => {
  const calls = []
  function makeExt (name) {
    class Ext {
      constructor (wire) { this.wire = wire; calls.push(`${name}:new`) }
      onHandshake (infoHash, peerId, ext) { calls.push(`${name}:handshake:${infoHash === INFO_HASH}:${ext.extended}`) }
      onExtendedHandshake (hs) { calls.push(`${name}:extended-handshake:${hs.m[name]}`) }
      onMessage (buf) { calls.push(`${name}:message:${buf.toString()}`) }
      send (text) { this.wire.extended(name, Buffer.from(text)) }
    }
    Ext.prototype.name = name
    return Ext
  }
  const ExtOne = makeExt('ext_one')
  const ExtTwo = makeExt('ext_two')
  const OnlyA = makeExt('only_a')
  const a = new Wire()
  const b = new Wire()
  a.pipe(b).pipe(a)
  a.use(ExtOne)
  a.use(OnlyA)
  a.use(ExtTwo)
  b.use(ExtTwo)
  b.use(ExtOne)
  assert.deepEqual(a.extendedMapping, { 1: 'ext_one', 2: 'only_a', 3: 'ext_two' })
  assert.ok(a.ext_one instanceof ExtOne)
  assert.throws(() => a.use(class {}), /name/)
  b.on('handshake', () => b.handshake(INFO_HASH, PEER_B))
  const hsB = event(b, 'extended')
  const hsA = event(a, 'extended')
  a.handshake(INFO_HASH, PEER_A)
  await Promise.all([hsA, hsB])
  assert.equal(b.peerExtendedMapping.ext_one, 1)
  assert.equal(a.peerExtendedMapping.ext_one, 2)
  const got = event(b, 'extended')
  a.ext_one.send('hi')
  assert.deepEqual(await got, ['ext_one', Buffer.from('hi')])
  assert.ok(calls.includes('ext_one:message:hi'))
  assert.ok(calls.includes('only_a:handshake:true:true'))
  assert.ok(!calls.some(c => c.startsWith('only_a:extended-handshake')), 'only when the peer has the same name')
  assert.ok(calls.includes('ext_two:extended-handshake:3'), 'a sees b\'s id for ext_two')
})

test('peerPieces is capped: bitfield grows with have, up to maxPieces', async () => {
  const a = new Wire({ maxPieces: 64 })
  assert.equal(a.maxPieces, 64)
  const { b } = await pair()
  assert.equal(b.maxPieces, 0x200000)
})

test('the same block requested twice: each respond() answers its own request, in any order', async () => {
  const { a, b } = await pair()
  const u = event(a, 'unchoke')
  b.unchoke()
  await u
  const responds = []
  b.on('request', (i, o, l, respond) => responds.push(respond))
  // (0, 16, 16) twice, with another request between them so the peer's list is not only duplicates
  const r1 = pending(a, 0, 16, 16)
  const r2 = pending(a, 1, 0, 16)
  const r3 = pending(a, 0, 16, 16)
  while (responds.length < 3) await new Promise(resolve => setImmediate(resolve))
  assert.equal(b.peerRequests.length, 3)
  // answer the later duplicate first, then the middle one (out of order), then the first
  const blockA = Buffer.alloc(16, 1)
  const blockB = Buffer.alloc(16, 2)
  const blockC = Buffer.alloc(16, 3)
  responds[2](null, blockC)
  assert.equal(b.peerRequests.length, 2)
  assert.deepEqual(b.peerRequests.map(r => [r.piece, r.offset]), [[0, 16], [1, 0]])
  responds[2](null, blockC) // a second answer to the same request sends nothing
  responds[1](null, blockB)
  responds[0](null, blockA)
  assert.equal(b.peerRequests.length, 0)
  const got = await Promise.all([r1, r2, r3])
  assert.ok(got.every(g => g.err === null))
  // the two (0, 16, 16) requests on our side are matched oldest first
  assert.deepEqual(got.map(g => g.buf[0]), [3, 2, 1])
  assert.equal(b.uploaded, 48)
  assert.equal(a.downloaded, 48)
})

test('RequestList.remove takes out the very request given, with and without the (piece, offset) index', async () => {
  const { RequestList, Request } = await import('../dist/esm/state/requests.js')
  for (const indexed of [false, true]) {
    const list = new RequestList()
    const reqs = [[0, 0, 16], [0, 16, 16], [1, 0, 16], [0, 16, 16], [0, 16, 8]].map(([p, o, l]) => new Request(p, o, l, () => {}))
    for (const r of reqs) list.add(r)
    // an out-of-order pull builds the index
    if (indexed) assert.equal(list.pull(1, 0, 16), reqs[2])
    assert.equal(list.remove(reqs[3]), true)
    assert.equal(list.remove(reqs[3]), false)
    assert.equal(list.list.includes(reqs[1]), true)
    assert.equal(list.pull(0, 16, 16), reqs[1])
    assert.equal(list.pull(0, 16, 16), null)
    assert.equal(list.remove(reqs[4]), true)
    assert.deepEqual(list.list, indexed ? [reqs[0]] : [reqs[0], reqs[2]])
  }
})

test('over TCP: 64 blocks answered at once, past what the socket takes before drain, all arrive whole and in order', async () => {
  const { tcpPair } = await import('./helpers.mjs')
  const { a, b, socket, serverSocket } = await tcpPair()
  b.once('handshake', () => b.handshake(INFO_HASH, PEER_B))
  const shaken = event(a, 'handshake')
  a.handshake(INFO_HASH, PEER_A)
  await shaken
  b.on('request', (i, o, l, respond) => respond(null, Buffer.alloc(l, i)))
  const unchoked = event(a, 'unchoke')
  b.unchoke()
  await unchoked
  const order = []
  await Promise.all(Array.from({ length: 64 }, (_, i) => new Promise((resolve, reject) => {
    a.request(i, 0, 16384, (err, block) => {
      if (err) { reject(err); return }
      assert.equal(block.length, 16384)
      assert.ok(block.every(x => x === i))
      order.push(i)
      resolve()
    })
  })))
  assert.deepEqual(order, Array.from({ length: 64 }, (_, i) => i))
  a.destroy(); b.destroy(); socket.destroy(); serverSocket.destroy()
})
