// Private members that code and test suites written for bittorrent-protocol 3.5.5 and 5.0.9 use
// (../shared/API-CONTRACT.md, docs/api.md "Private members kept for compatibility"):
// - the per-message handlers, which both originals' suites call to play a message from the peer:
//   a direct call must do exactly what the message does, checks included;
// - 5.0.9's MSE getters (`_peState`, `_encryptionMethod`, `_cryptoHandshakeDone`, `_peEnabled`),
//   which WebTorrent 3's own encryption tests read;
// - the order of events when a handshake is answered asynchronously (5.0.9's suite asserts it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import Wire, { ErrorCodes } from 'bittorrent-protocol'
import Bt5 from 'bt5'
import { ID, msg, ext, handshakeBytes, ready, harness, snapshot, settle, INFO_HASH, PEER_A, PEER_B } from './fixtures/raw.mjs'
import { socketPair } from './helpers.mjs'

const EVENTS = ['handshake', 'choke', 'unchoke', 'interested', 'uninterested', 'have', 'bitfield', 'request', 'piece', 'cancel',
  'port', 'keep-alive', 'extended', 'suggest', 'have-all', 'have-none', 'reject', 'allowed-fast', 'timeout', 'download', 'unknownmessage']

function show (v) {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return 'bytes:' + Buffer.from(v).toString('hex')
  if (typeof v === 'function') return 'function'
  if (v !== null && typeof v === 'object' && v.buffer instanceof Uint8Array) return 'bitfield:' + Buffer.from(v.buffer).toString('hex')
  if (v !== null && typeof v === 'object') return JSON.parse(JSON.stringify(v, (k, x) => x?.type === 'Buffer' ? Buffer.from(x.data).toString('hex') : x))
  return v
}

/** A handshaken wire (`ready`), with its events, output and requests recorded. */
function recorded (opts = {}) {
  const h = ready(opts)
  const events = []
  for (const name of EVENTS) h.w.on(name, (...args) => events.push([name, ...args.map(show)]))
  h.rec.keepOut = true
  h.rec.out.length = 0
  const callbacks = []
  if (opts.ourRequest) {
    h.w.write(msg(ID.unchoke))
    events.length = 0
    h.w.request(1, 0, 16384, (err, block) => callbacks.push(err ? err.message : show(block)))
  }
  return { ...h, events, callbacks }
}

/** What a wire went through: its events, output, state, errors, whether it closed. */
async function outcome (h) {
  await settle()
  return {
    events: h.events,
    out: Buffer.concat(h.rec.out).toString('hex'),
    state: snapshot(h.w),
    errors: h.rec.errors.map(e => e.code),
    closed: h.rec.closed,
    callbacks: h.callbacks
  }
}

const block = Buffer.alloc(16384, 7)
const bigBitfield = Buffer.alloc(0x200000 / 8 + 1, 0xff)

// [title, the message's bytes, the handler and its arguments, options (ready(): peerFast...)]
const CASES = [
  ['keep-alive', Buffer.alloc(4), ['_onKeepAlive']],
  ['choke', msg(ID.choke), ['_onChoke']],
  ['choke fails our pending request (no fast)', msg(ID.choke), ['_onChoke'], { peerFast: false, ourRequest: true }],
  ['unchoke', msg(ID.unchoke), ['_onUnchoke']],
  ['interested', msg(ID.interested), ['_onInterested']],
  ['uninterested', msg(ID.notInterested), ['_onUninterested']],
  ['have', msg(ID.have, 5), ['_onHave', 5]],
  ['have beyond maxPieces', msg(ID.have, 0x200000), ['_onHave', 0x200000]],
  ['bitfield', msg(ID.bitfield, Buffer.from([0xa5, 0x01])), ['_onBitField', Buffer.from([0xa5, 0x01])]],
  ['bitfield longer than maxPieces allows', msg(ID.bitfield, bigBitfield), ['_onBitField', bigBitfield]],
  ['request', msg(ID.request, 1, 0, 16384), ['_onRequest', 1, 0, 16384]],
  ['request while choking, fast: rejected', msg(ID.request, 1, 0, 16384), ['_onRequest', 1, 0, 16384], { choking: true }],
  ['request of 0 bytes', msg(ID.request, 1, 0, 0), ['_onRequest', 1, 0, 0]],
  ['request beyond maxPieces', msg(ID.request, 0x200000, 0, 16384), ['_onRequest', 0x200000, 0, 16384]],
  ['piece answers our request', msg(ID.piece, 1, 0, block), ['_onPiece', 1, 0, block], { ourRequest: true }],
  ['cancel', msg(ID.cancel, 1, 0, 16384), ['_onCancel', 1, 0, 16384]],
  ['cancel beyond maxPieces', msg(ID.cancel, 0x200000, 0, 16384), ['_onCancel', 0x200000, 0, 16384]],
  ['port', msg(ID.port, Buffer.from([0x1a, 0xe1])), ['_onPort', 6881]],
  ['suggest', msg(ID.suggest, 3), ['_onSuggest', 3]],
  ['suggest without fast', msg(ID.suggest, 3), ['_onSuggest', 3], { peerFast: false }],
  ['suggest beyond maxPieces', msg(ID.suggest, 0x200000), ['_onSuggest', 0x200000]],
  ['have-all', msg(ID.haveAll), ['_onHaveAll']],
  ['have-all without fast', msg(ID.haveAll), ['_onHaveAll'], { peerFast: false }],
  ['have-none', msg(ID.haveNone), ['_onHaveNone']],
  ['have-none without fast', msg(ID.haveNone), ['_onHaveNone'], { peerFast: false }],
  ['reject of our request', msg(ID.reject, 1, 0, 16384), ['_onReject', 1, 0, 16384], { ourRequest: true }],
  ['reject without fast', msg(ID.reject, 1, 0, 16384), ['_onReject', 1, 0, 16384], { peerFast: false }],
  ['allowed-fast', msg(ID.allowedFast, 42), ['_onAllowedFast', 42]],
  ['allowed-fast without fast', msg(ID.allowedFast, 42), ['_onAllowedFast', 42], { peerFast: false }],
  ['allowed-fast beyond maxPieces', msg(ID.allowedFast, 0x200000), ['_onAllowedFast', 0x200000]],
  ['extended handshake', ext(0, Buffer.from('d1:md6:ut_pexi3eee')), ['_onExtended', 0, Buffer.from('d1:md6:ut_pexi3eee')]],
  ['extended handshake that is not a dictionary', ext(0, Buffer.from('i5e')), ['_onExtended', 0, Buffer.from('i5e')]],
  ['extended message under an id of ours', ext(1, Buffer.from('hello')), ['_onExtended', 1, Buffer.from('hello')]]
]

for (const [title, bytes, [method, ...args], opts = {}] of CASES) {
  test(`${method}(${args.map(a => Buffer.isBuffer(a) ? `<${a.length} bytes>` : a).join(', ')}) does what the message does: ${title}`, async () => {
    const viaMessage = recorded(opts)
    const direct = recorded(opts)
    if (opts.choking) {
      viaMessage.w.choke()
      direct.w.choke()
      viaMessage.rec.out.length = direct.rec.out.length = 0
    }
    viaMessage.w.write(bytes)
    assert.equal(typeof direct.w[method], 'function', `wire.${method} exists`)
    direct.w[method](...args)
    const [a, b] = [await outcome(viaMessage), await outcome(direct)]
    assert.deepEqual(b, a)
    // the case did something to check: an event, output, a callback or a failure
    assert.ok(a.events.length + a.out.length + a.callbacks.length + a.errors.length > 0, 'the message had an effect')
  })
}

test('the bad-input cases fail the wire with their coded errors (direct calls included)', async () => {
  const expect = [
    ['_onHave', [0x200000], ErrorCodes.PIECE_INDEX_OUT_OF_RANGE],
    ['_onHave', [-1], ErrorCodes.PIECE_INDEX_OUT_OF_RANGE],
    ['_onHave', [1.5], ErrorCodes.PIECE_INDEX_OUT_OF_RANGE],
    ['_onBitField', [bigBitfield], ErrorCodes.BAD_BITFIELD],
    ['_onSuggest', [3], ErrorCodes.FAST_NOT_NEGOTIATED, { peerFast: false }],
    ['_onAllowedFast', [0x200000], ErrorCodes.PIECE_INDEX_OUT_OF_RANGE],
    ['_onReject', [1, 0, 16384], ErrorCodes.FAST_NOT_NEGOTIATED, { peerFast: false }],
    ['_onExtended', [0, Buffer.from('i5e')], ErrorCodes.BAD_EXTENDED_HANDSHAKE],
    ['_onExtended', [1, Buffer.alloc(300 * 1024)], ErrorCodes.MESSAGE_TOO_LONG]
  ]
  for (const [method, args, code, opts] of expect) {
    const { w, rec } = ready(opts)
    w[method](...args)
    await settle()
    assert.deepEqual(rec.errors.map(e => e.code), [code], `${method}(${args.length > 1 ? '...' : args[0]})`)
    assert.equal(rec.closed, true)
  }
})

test('_onHandshake takes the originals\' arguments (an object of named bits) as well as the reserved bytes', async () => {
  for (const third of [{ dht: true, fast: true, extended: true }, handshakeBytes({ fast: true, extended: true, dht: true }).subarray(20, 28)]) {
    const { w, rec } = harness()
    const seen = []
    w.on('handshake', (ih, id, exts) => seen.push([ih, id, exts.dht, exts.fast, exts.extended]))
    w._onHandshake(Buffer.from(INFO_HASH, 'hex'), Buffer.from(PEER_B, 'hex'), third)
    assert.deepEqual(seen, [[INFO_HASH, PEER_B, true, true, true]])
    assert.equal(w.peerId, PEER_B)
    assert.equal(w.hasFast, true, 'we answered with fast: negotiated')
    assert.deepEqual({ ...w.peerExtensions, v2: undefined }, { ...w.peerExtensions, dht: true, fast: true, extended: true, v2: undefined })
    // a second one is the peer's protocol error, as over the wire
    w._onHandshake(Buffer.from(INFO_HASH, 'hex'), Buffer.from(PEER_B, 'hex'), third)
    await settle()
    assert.deepEqual(rec.errors.map(e => e.code), [ErrorCodes.DUPLICATE_HANDSHAKE])
  }
})

test('_onTimeout fails the oldest request and emits timeout, as the request timeout does', async () => {
  const { w } = recorded({ ourRequest: true })
  const results = []
  w.request(2, 0, 16384, err => results.push(['second', err?.message]))
  w.requests[0].callback = (err) => results.push(['first', err?.message])
  let timeouts = 0
  w.on('timeout', () => timeouts++)
  w._onTimeout()
  assert.deepEqual(results, [['first', 'request has timed out']])
  assert.equal(timeouts, 1)
  assert.deepEqual(w.requests.map(r => r.piece), [2])
})

test('_onClose is free for consumers to write (WebTorrent 1.x assigns it)', () => {
  const w = new Wire()
  assert.equal(w._onClose, undefined)
  assert.equal('_onClose' in w, false)
})

// -----------------------------------------------------------------------------
// 5.0.9's MSE getters

function getters (w) {
  return { peState: w._peState, method: w._encryptionMethod, done: w._cryptoHandshakeDone }
}

test('MSE getters on wires without MSE and on a fresh 5.x wire, as 5.0.9 has them', () => {
  assert.deepEqual(getters(new Wire()), { peState: 'idle', method: undefined, done: false })
  assert.deepEqual(getters(new Wire('tcpOutgoing', 0)), { peState: 'idle', method: undefined, done: false })
  for (const level of [1, 2]) {
    for (const type of ['tcpOutgoing', 'tcpIncoming']) {
      assert.deepEqual(getters(new Wire(type, level)), { peState: 'idle', method: null, done: false }, `${type} level ${level}`)
      assert.equal(new Wire(type, level)._peEnabled, level)
    }
  }
  assert.equal(new Wire('tcpOutgoing', 0)._peEnabled, 0)
  assert.equal(new Wire()._peEnabled, 0)
  assert.equal(new Wire('tcpIncoming', 0, true)._peEnabled, true, '3.5.5 form: its boolean')
})

test('MSE getters while the exchange runs, piped in memory: each step under 5.0.9\'s name', async () => {
  const a = new Wire('tcpOutgoing', 2)
  const b = new Wire('tcpIncoming', 2)
  const states = []
  const note = (where) => states.push([where, a._peState, b._peState, a._encryptionMethod, b._encryptionMethod, a._cryptoHandshakeDone, b._cryptoHandshakeDone])
  b.on('crypto-infohash', () => { note('crypto-infohash'); setImmediate(() => b.setInfoHash(INFO_HASH)) })
  const done = Promise.all([once(a, 'crypto-handshake'), once(b, 'crypto-handshake')])
  // step by step: a's Ya goes to b only when we pass it on
  const aOut = []
  a.on('data', c => aOut.push(c))
  b.pipe(a)
  a.startEncryption(INFO_HASH)
  note('after startEncryption')
  await settle()
  b.write(Buffer.concat(aOut.splice(0)))
  // b answers at once, and its Yb reaches a at once (b pipes into a): a sends step 3
  note('Ya in, Yb back')
  a.removeAllListeners('data')
  a.pipe(b)
  b.write(Buffer.concat(aOut.splice(0)))
  await done
  note('done')
  assert.deepEqual(states, [
    ['after startEncryption', 'sentPe1', 'idle', null, null, false, false],
    ['Ya in, Yb back', 'sentPe3', 'sentPe2', null, null, false, false],
    ['crypto-infohash', 'sentPe3', 'gotPe3', null, null, false, false],
    ['done', 'done', 'done', 2, 2, true, true]
  ])
  a.destroy()
  b.destroy()
})

/** Our 5.x wire against 5.0.9 over TCP: the getters on our side when the exchange is done. */
async function tcpAgainstBt5 (ours, level5, theirs, level) {
  const { client, serverSocket } = await socketPair()
  const a = ours === 'out' ? new Wire('tcpOutgoing', level5) : new Bt5('tcpOutgoing', level)
  const b = ours === 'out' ? new Bt5('tcpIncoming', level) : new Wire('tcpIncoming', level5)
  client.pipe(a).pipe(client)
  serverSocket.pipe(b).pipe(serverSocket)
  b.once('crypto-infohash', () => b.setInfoHash(INFO_HASH))
  const ourWire = ours === 'out' ? a : b
  const theirWire = ours === 'out' ? b : a
  const before = getters(ourWire)
  const done = Promise.all([once(a, 'crypto-handshake'), once(b, 'crypto-handshake')])
  const handshakes = Promise.all([once(a, 'handshake'), once(b, 'handshake')])
  a.once('crypto-handshake', () => a.handshake(INFO_HASH, PEER_A))
  b.once('handshake', () => b.handshake(INFO_HASH, PEER_B))
  a.startEncryption(INFO_HASH)
  await done
  await handshakes
  const after = getters(ourWire)
  const expected = getters(theirWire)
  client.destroy()
  serverSocket.destroy()
  return { before, after, expected }
}

for (const [ours, oursLevel, theirsLevel, method] of [['out', 2, 2, 2], ['out', 1, 1, 1], ['in', 1, 1, 1], ['in', 2, 1, 2], ['out', 1, 2, 2]]) {
  test(`MSE getters over TCP against 5.0.9: ours ${ours === 'out' ? 'outgoing' : 'incoming'} level ${oursLevel}, 5.0.9 level ${theirsLevel}: method ${method}`, async () => {
    const r = await tcpAgainstBt5(ours, oursLevel, ours, theirsLevel)
    assert.deepEqual(r.before, { peState: 'idle', method: null, done: false })
    assert.deepEqual(r.after, { peState: 'done', method, done: true })
    assert.deepEqual(r.after, r.expected, '5.0.9 on the other side reads the same')
  })
}

// -----------------------------------------------------------------------------
// A handshake answered asynchronously: the order of events

const ASYNC = { nextTick: process.nextTick, queueMicrotask, setImmediate }

function orderOf (connect, defer) {
  return new Promise((resolve, reject) => {
    const log = []
    connect((w1, w2) => {
      w1.on('handshake', () => log.push('w1 hs'))
      w2.on('handshake', (ih, id) => { log.push('w2 hs'); defer(() => w2.handshake(ih, id)) })
      w1.on('extended', e => { if (e === 'handshake') log.push('w1 ex') })
      w2.on('extended', e => {
        if (e !== 'handshake') return
        log.push('w2 ex')
        setTimeout(() => { resolve(log); w1.destroy(); w2.destroy() }, 20)
      })
      for (const w of [w1, w2]) w.on('error', reject)
      w1.handshake(INFO_HASH, PEER_A)
    })
  })
}

for (const [name, defer] of Object.entries(ASYNC)) {
  test(`a handshake answered from ${name}, piped in memory: both handshakes, then the extended handshakes in 5.0.9's order`, async () => {
    const log = await orderOf(done => {
      const w1 = new Wire()
      const w2 = new Wire()
      w1.pipe(w2).pipe(w1)
      done(w1, w2)
    }, defer)
    assert.deepEqual(log, ['w2 hs', 'w1 hs', 'w1 ex', 'w2 ex'])
  })

  test(`a handshake answered from ${name}, over TCP: the same order`, async () => {
    const { client, serverSocket } = await socketPair()
    const log = await orderOf(done => {
      const w1 = new Wire('tcpOutgoing')
      const w2 = new Wire('tcpIncoming')
      client.pipe(w1).pipe(client)
      serverSocket.pipe(w2).pipe(serverSocket)
      done(w1, w2)
    }, defer)
    assert.deepEqual(log, ['w2 hs', 'w1 hs', 'w1 ex', 'w2 ex'])
  })
}

test('an answering handshake and its extended handshake leave as one chunk', async () => {
  const w = new Wire()
  const chunks = []
  w.on('data', c => chunks.push(c))
  w.write(handshakeBytes({ extended: true }))
  w.handshake(INFO_HASH, PEER_A)
  await settle()
  assert.equal(chunks.length, 1)
  assert.equal(chunks[0].readUInt32BE(68), chunks[0].length - 72, 'one extended message after the 68-byte handshake')
  assert.deepEqual([chunks[0][72], chunks[0][73]], [20, 0])
})


test('peerExtensions is the very object the handshake event carried; peerIdBuffer and peerReserved are the peer\'s bytes', async () => {
  const { w } = harness()
  let carried = null
  w.on('handshake', (ih, id, exts) => { carried = exts })
  w.write(handshakeBytes({ fast: true, extended: true, dht: true }))
  await settle()
  assert.equal(w.peerExtensions, carried)
  assert.equal(carried.fast && carried.extended && carried.dht, true)
  assert.deepEqual(w.peerIdBuffer, Buffer.from(PEER_B, 'hex'))
  assert.deepEqual(w.peerReserved, handshakeBytes({ fast: true, extended: true, dht: true }).subarray(20, 28))
  assert.equal(w.extensions.fast, true, 'ours: as announced in our answering handshake')
})
