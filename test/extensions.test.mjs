// state/extensions.ts on its own against a fake host (no Wire, no stream): the peer's messages
// for our plugins held while the output is over the watermark, the write held at 32, guarded
// plugins, messages before the peer announced the extension, the extended-handshake budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  Extensions, HELD_EXTENDED_MAX, MAX_EXTENDED_HANDSHAKE_LENGTH,
  MAX_EXTENDED_HANDSHAKES, EXTENDED_HANDSHAKE_LIMITS, MAX_METADATA_SIZE,
  extendedId, ourExtendedHandshake, extensionName
} from '../dist/esm/state/extensions.js'
import { MAX_PEX_CONTACTS } from '../dist/esm/state/pex.js'

/** A WireHost that records what the module does to it; `open` is the watermark gate. */
function fakeHost () {
  const host = {
    open: true,
    events: [],
    failures: [],
    debugLines: [],
    finished: false,
    destroyed: false,
    type: null,
    maxPeerRequests: 500,
    get outputOpen () { return this.open },
    send () { throw new Error('the module sends nothing itself') },
    sendRaw () { throw new Error('unexpected sendRaw') },
    sendRefusal () { throw new Error('unexpected sendRefusal') },
    divert () {},
    feed () {},
    setCiphers () {},
    countDropped () {},
    listenerCount: () => 0,
    fail (err) { this.failures.push(err); this.finished = true },
    emit (event, ...args) { this.events.push([event, ...args]); return true },
    debug (fmt, ...args) { this.debugLines.push([fmt, ...args]) }
  }
  return host
}

/** A plugin recording what it is handed; `throwOn` names the hook that throws. */
function plugin (throwOn = null) {
  return {
    calls: [],
    onHandshake (...args) { this.calls.push(['handshake', ...args]); if (throwOn === 'onHandshake') throw new Error('boom') },
    onExtendedHandshake (hs) { this.calls.push(['extended-handshake', hs]); if (throwOn === 'onExtendedHandshake') throw new Error('boom') },
    onMessage (buf) { this.calls.push(['message', buf.toString()]); if (throwOn === 'onMessage') throw new Error('boom') }
  }
}

/** An extended handshake announcing `m` (bencoded). */
function handshake (m) {
  const entries = Object.keys(m).sort().map(k => `${k.length}:${k}i${m[k]}e`).join('')
  return Buffer.from(`d1:md${entries}ee`)
}

/** Extensions with plugin `ut_test` (our id 1), the peer having announced it as its id 7. */
function announced (p = plugin()) {
  const ext = new Extensions()
  const host = fakeHost()
  ext.use('ut_test', p)
  ext.onMessage(host, 0, handshake({ ut_test: 7 }))
  host.events.length = 0
  p.calls.length = 0
  return { ext, host, p }
}

test('Extensions: messages for a plugin wait while the output is over the watermark, and go in order when it drains', () => {
  const { ext, host, p } = announced()
  host.open = false
  for (let i = 0; i < 5; i++) ext.onMessage(host, 1, Buffer.from('m' + i))
  assert.equal(ext.holding, true)
  assert.deepEqual(p.calls, [], 'nothing handed out over the watermark')
  // the held copies do not alias the peer's chunk
  const chunk = Buffer.from('xx')
  ext.onMessage(host, 1, chunk)
  chunk.write('yy')
  // the output drains for two messages only, then shuts again
  host.open = true
  let n = 0
  const gate = Object.getOwnPropertyDescriptor(host, 'outputOpen')
  Object.defineProperty(host, 'outputOpen', { get: () => n++ < 2, configurable: true })
  ext.release(host)
  assert.deepEqual(p.calls.map(c => c[1]), ['m0', 'm1'])
  assert.equal(ext.holding, true)
  // a message arriving now queues behind the held ones, even if the output is open
  Object.defineProperty(host, 'outputOpen', gate)
  ext.onMessage(host, 1, Buffer.from('late'))
  assert.equal(p.calls.length, 2)
  ext.release(host)
  assert.deepEqual(p.calls.map(c => c[1]), ['m0', 'm1', 'm2', 'm3', 'm4', 'xx', 'late'])
  assert.deepEqual(host.events.map(e => [e[0], e[1], e[2].toString()]), p.calls.map(c => ['extended', 'ut_test', c[1]]))
  assert.equal(ext.holding, false)
  // open output: straight through
  ext.onMessage(host, 1, Buffer.from('now'))
  assert.equal(p.calls.at(-1)[1], 'now')
  assert.deepEqual(host.failures, [])
})

test(`Extensions: at ${HELD_EXTENDED_MAX} held messages the write callback is kept, and let go when they are handed out`, () => {
  const { ext, host, p } = announced()
  host.open = false
  let acked = 0
  const cb = () => { acked++ }
  for (let i = 0; i < HELD_EXTENDED_MAX - 1; i++) ext.onMessage(host, 1, Buffer.from('m' + i))
  assert.equal(ext.holdWrite(cb), false, `${HELD_EXTENDED_MAX - 1} held: the chunk is acknowledged`)
  ext.onMessage(host, 1, Buffer.from('m' + (HELD_EXTENDED_MAX - 1)))
  assert.equal(ext.holdWrite(cb), true, `${HELD_EXTENDED_MAX} held: the callback is kept`)
  ext.release(host) // still over the watermark
  assert.equal(acked, 0)
  host.open = true
  ext.release(host)
  assert.equal(acked, 1, 'released once')
  assert.equal(p.calls.length, HELD_EXTENDED_MAX)
  ext.release(host)
  assert.equal(acked, 1, 'not twice')

  // shutdown lets a kept write go too, and drops what waits
  const b = announced()
  b.host.open = false
  for (let i = 0; i < HELD_EXTENDED_MAX; i++) b.ext.onMessage(b.host, 1, Buffer.from('m' + i))
  let bAcked = 0
  assert.equal(b.ext.holdWrite(() => { bAcked++ }), true)
  b.ext.shutdown()
  assert.equal(bAcked, 1)
  assert.equal(b.ext.holding, false)
  assert.deepEqual(b.p.calls, [])
})

test('Extensions: a plugin that throws fails the host with ERR_BT_EXTENSION_FAILED, naming it', () => {
  const { ext, host } = announced(plugin('onMessage'))
  ext.onMessage(host, 1, Buffer.from('x'))
  assert.equal(host.failures.length, 1)
  const err = host.failures[0]
  assert.equal(err.code, 'ERR_BT_EXTENSION_FAILED')
  assert.match(err.message, /ut_test/)
  assert.equal(err.cause.message, 'boom')
  assert.deepEqual(host.events, [], 'no event for the failed message')

  // in the peer's extended handshake: no 'extended' 'handshake' event after the failure
  const e2 = new Extensions()
  const h2 = fakeHost()
  e2.use('ut_test', plugin('onExtendedHandshake'))
  e2.onMessage(h2, 0, handshake({ ut_test: 3 }))
  assert.deepEqual(h2.failures.map(e => e.code), ['ERR_BT_EXTENSION_FAILED'])
  assert.deepEqual(h2.events, [])

  // in the BitTorrent handshake: the loop stops and says so
  const e3 = new Extensions()
  const h3 = fakeHost()
  const second = plugin()
  e3.use('a', plugin('onHandshake'))
  e3.use('b', second)
  assert.equal(e3.onHandshake(h3, 'ih', 'id', {}), false)
  assert.deepEqual(h3.failures.map(e => e.code), ['ERR_BT_EXTENSION_FAILED'])
  assert.deepEqual(second.calls, [], 'the next plugin is not called on a failed wire')
  const e4 = new Extensions()
  const p4 = plugin()
  e4.use('a', p4)
  assert.equal(e4.onHandshake(fakeHost(), 'ih', 'id', { dht: true }), true)
  assert.deepEqual(p4.calls, [['handshake', 'ih', 'id', { dht: true }]])
})

test('Extensions: a message for our plugin before the peer announced the extension is dropped', () => {
  const ext = new Extensions()
  const host = fakeHost()
  const p = plugin()
  ext.use('ut_test', p)
  ext.onMessage(host, 1, Buffer.from('early'))
  assert.deepEqual(p.calls, [])
  assert.deepEqual(host.events, [])
  assert.equal(host.debugLines.length, 1)
  // announced, then the same message reaches the plugin
  ext.onMessage(host, 0, handshake({ ut_test: 9 }))
  ext.onMessage(host, 1, Buffer.from('later'))
  assert.deepEqual(p.calls.map(c => c[0] === 'message' ? c[1] : c[0]), ['extended-handshake', 'later'])
  // and removed (BEP 10: id 0 disables it): dropped again
  ext.onMessage(host, 0, handshake({ ut_test: 0 }))
  ext.onMessage(host, 1, Buffer.from('gone'))
  assert.equal(p.calls.filter(c => c[0] === 'message').length, 1)
  // ids that are not ours, and our names without a handler, go to the event
  ext.mapping[2] = 'app_only'
  ext.onMessage(host, 2, Buffer.from('a'))
  ext.onMessage(host, 42, Buffer.from('b'))
  assert.deepEqual(host.events.filter(e => e[1] !== 'handshake').map(e => [e[1], e[2].toString()]), [['ut_test', 'later'], ['app_only', 'a'], [42, 'b']])
  assert.deepEqual(host.failures, [])
})

test('Extensions: the extended-handshake budget (64 KiB each, 1 MiB per wire)', () => {
  const pad = n => {
    // a dictionary of exactly n bytes: d1:m de + 1:x <len>:<bytes> e
    const fixed = 'd1:mde1:x'.length + 'e'.length
    const body = n - fixed
    const digits = String(body).length
    const s = body - digits - 1
    return Buffer.from(`d1:mde1:x${s}:${'a'.repeat(s)}e`)
  }
  assert.equal(pad(1000).length, 1000)
  const ext = new Extensions()
  const host = fakeHost()
  const big = pad(MAX_EXTENDED_HANDSHAKE_LENGTH)
  for (let i = 0; i < MAX_EXTENDED_HANDSHAKES; i++) ext.onMessage(host, 0, big)
  assert.equal(host.failures.length, 0, `${MAX_EXTENDED_HANDSHAKES} handshakes of ${big.length} bytes are taken`)
  assert.equal(host.events.length, MAX_EXTENDED_HANDSHAKES, "each one is an 'extended' 'handshake' event")
  assert.equal(ext._peerHandshake.x.length, big.length - 'd1:mde1:x65520:e'.length)
  // the next, however small, fails the wire: at most 16 × 64 KiB (1 MiB) is decoded for a peer
  ext.onMessage(host, 0, Buffer.from('d1:mdee'))
  assert.deepEqual(host.failures.map(e => e.code), ['ERR_BT_BAD_EXTENDED_HANDSHAKE'])
  assert.match(host.failures[0].message, /more than 16 extended handshakes/)
  assert.equal(MAX_EXTENDED_HANDSHAKES * MAX_EXTENDED_HANDSHAKE_LENGTH, 1024 * 1024)

  // one handshake over 64 KiB fails at once; so does one that is not a dictionary
  const h2 = fakeHost()
  new Extensions().onMessage(h2, 0, pad(MAX_EXTENDED_HANDSHAKE_LENGTH + 1))
  const h3 = fakeHost()
  new Extensions().onMessage(h3, 0, Buffer.from('li1ee'))
  assert.deepEqual([...h2.failures, ...h3.failures].map(e => e.code), ['ERR_BT_BAD_EXTENDED_HANDSHAKE', 'ERR_BT_BAD_EXTENDED_HANDSHAKE'])
})

test('Extensions: our extended handshake, the ids we send under, use() defaults', () => {
  // reqq (BEP 10): the wire's maxPeerRequests, passed in
  assert.equal(ourExtendedHandshake(null, 500).toString(), 'd1:mde4:reqqi500ee', 'no state: an empty m')
  assert.equal(ourExtendedHandshake(new Extensions(), 64).toString(), 'd1:mde4:reqqi64ee', 'no side of ours: an empty m')
  const ext = new Extensions()
  ext.use('ut_b', {})
  const a = ext.use('ut_a', {})
  assert.equal(typeof a.onMessage, 'function', 'missing hooks become no-ops')
  ext._fields = { v: 'x', metadata_size: 5 }
  assert.equal(ourExtendedHandshake(ext, 500).toString(), 'd1:md4:ut_ai2e4:ut_bi1ee13:metadata_sizei5e4:reqqi500e1:v1:xe')
  ext._fields.reqq = 77
  assert.equal(ourExtendedHandshake(ext, 500).toString(), 'd1:md4:ut_ai2e4:ut_bi1ee13:metadata_sizei5e4:reqqi77e1:v1:xe', "the application's reqq wins")
  assert.equal(ext._fields.reqq, 77, 'the fields are not changed')
  assert.throws(() => extendedId(ext, 'ut_a'), /Unrecognized extension: ut_a/, 'the peer has not announced it')
  ext.onMessage(fakeHost(), 0, handshake({ ut_a: 4 }))
  assert.equal(extendedId(ext, 'ut_a'), 4)
  assert.equal(extendedId(null, 0), 0)
  assert.throws(() => extendedId(null, 256), /Unrecognized/)
  assert.throws(() => extendedId(ext, 'constructor'), /Unrecognized/)
  assert.throws(() => extensionName(class {}), /requires a "name"/)
})

test('Extensions without plugins: every message is the application\'s; a plugin used later gets the messages of a name the peer announced', () => {
  const ext = new Extensions()
  const host = fakeHost()
  ext.onMessage(host, 0, handshake({ ut_x: 3 }))
  ext.onMessage(host, 1, Buffer.from('a'))
  assert.deepEqual(host.events.map(e => [e[1], e[1] === 'handshake' ? e[2] : e[2].toString()]), [['handshake', { m: { ut_x: 3 } }], [1, 'a']])
  assert.equal(ext.holding, false)
  assert.equal(ext.holdWrite(() => {}), false)
  assert.equal(ext.onHandshake(host, 'ih', 'id', {}), true)
  assert.deepEqual(ext._peerMapping, { ut_x: 3 })
  const p = plugin()
  ext.use('ut_x', p)
  ext.onMessage(host, 1, Buffer.from('b'))
  assert.deepEqual(p.calls, [['message', 'b']], 'announced before our use(): delivered')
  assert.deepEqual(host.failures, [])
})

test('Extensions: the peer\'s re-sent extended handshakes wait behind held messages, in order; past MAX_EXTENDED_HANDSHAKES the wire fails', () => {
  const { ext, host, p } = announced()
  host.open = false
  ext.onMessage(host, 1, Buffer.from('m0'))
  ext.onMessage(host, 0, handshake({ ut_test: 8 }))
  ext.onMessage(host, 1, Buffer.from('m1'))
  assert.deepEqual(p.calls, [], 'over the watermark: neither the message nor the handshake reaches the plugin')
  assert.equal(ext._peerMapping.ut_test, 7, 'the held handshake has not taken effect yet')
  host.open = true
  ext.release(host)
  assert.deepEqual(p.calls.map(c => c[0] === 'message' ? c[1] : c[0] + ':' + c[1].m.ut_test), ['m0', 'extended-handshake:8', 'm1'])
  assert.equal(ext._peerMapping.ut_test, 8)
  // the first handshake (in announced()) and that one: up to MAX_EXTENDED_HANDSHAKES in all
  for (let n = 2; n < MAX_EXTENDED_HANDSHAKES; n++) ext.onMessage(host, 0, handshake({ ut_test: 7 }))
  assert.deepEqual(host.failures, [])
  ext.onMessage(host, 0, handshake({ ut_test: 7 }))
  assert.deepEqual(host.failures.map(e => e.code), ['ERR_BT_BAD_EXTENDED_HANDSHAKE'])
  assert.match(host.failures[0].message, new RegExp(`more than ${MAX_EXTENDED_HANDSHAKES} extended handshakes`))
  assert.equal(p.calls.filter(c => c[0] === 'extended-handshake').length, MAX_EXTENDED_HANDSHAKES - 1, 'the one past the limit reached no plugin')
})

test('Extensions: our end() lets a held write go and holds nothing back any more', () => {
  const { ext, host } = announced()
  host.open = false
  for (let i = 0; i < HELD_EXTENDED_MAX; i++) ext.onMessage(host, 1, Buffer.from('m' + i))
  let acked = 0
  assert.equal(ext.holdWrite(() => { acked++ }), true)
  ext.endHolding()
  assert.equal(acked, 1)
  ext.onMessage(host, 1, Buffer.from('more'))
  assert.equal(ext.mustHoldWrite, false)
  assert.equal(ext.holdWrite(() => { acked++ }), false)
})

test(`Extensions: an extended handshake of more than ${EXTENDED_HANDSHAKE_LIMITS.maxItems} values fails; a metadata_size over ${MAX_METADATA_SIZE} never reaches plugins`, () => {
  const strings = n => Buffer.from('d1:md7:ut_testi3ee1:xl' + '0:'.repeat(n) + 'ee')
  const inside = EXTENDED_HANDSHAKE_LIMITS.maxItems - 7
  const ok = announced()
  ok.ext.onMessage(ok.host, 0, strings(inside))
  assert.deepEqual(ok.host.failures, [])
  assert.equal(ok.ext._peerHandshake.x.length, inside)
  const over = announced()
  over.ext.onMessage(over.host, 0, strings(inside + 1))
  assert.deepEqual(over.host.failures.map(e => e.code), ['ERR_BT_BAD_BENCODE'])
  assert.match(over.host.failures[0].message, /values/)
  // metadata_size (BEP 9): up to libtorrent's max_metadata_size it is the plugins'; over it, taken out
  for (const [size, kept] of [[1, true], [MAX_METADATA_SIZE, true], [MAX_METADATA_SIZE + 1, false], [2 ** 60, false]]) {
    const { ext, host, p } = announced()
    ext.onMessage(host, 0, Buffer.from(`d1:md7:ut_testi3ee13:metadata_sizei${size}ee`))
    const seen = p.calls.find(c => c[0] === 'extended-handshake')[1]
    assert.equal('metadata_size' in seen, kept, `metadata_size ${size}`)
    assert.equal(seen, ext._peerHandshake)
    assert.equal(host.events.find(e => e[1] === 'handshake')[2], seen, 'the event has the same object')
  }
})

test(`Extensions: a ut_pex message of more than ${MAX_PEX_CONTACTS} added or dropped contacts is dropped (BEP 11), the connection kept`, () => {
  const ext = new Extensions()
  const host = fakeHost()
  const p = plugin()
  ext.use('ut_pex', p)
  ext.onMessage(host, 0, handshake({ ut_pex: 5 }))
  p.calls.length = 0
  const pex = (key4, n4, key6, n6) => Buffer.concat([
    Buffer.from('d'),
    ...(n4 ? [Buffer.from(`${key4.length}:${key4}${n4 * 6}:`), Buffer.alloc(n4 * 6, 1)] : []),
    ...(n6 ? [Buffer.from(`${key6.length}:${key6}${n6 * 18}:`), Buffer.alloc(n6 * 18, 2)] : []),
    Buffer.from('e')
  ])
  const cases = [
    [pex('added', MAX_PEX_CONTACTS, 'added6', 0), true],
    [pex('added', 60, 'added6', MAX_PEX_CONTACTS - 60), true],
    [pex('dropped', MAX_PEX_CONTACTS, 'dropped6', 0), true],
    [pex('added', MAX_PEX_CONTACTS + 1, 'added6', 0), false],
    [pex('added', 60, 'added6', MAX_PEX_CONTACTS - 59), false],
    [pex('dropped', 0, 'dropped6', MAX_PEX_CONTACTS + 1), false],
    [pex('added', 37000, 'added6', 0), false]
  ]
  for (const [message, delivered] of cases) {
    const before = p.calls.length
    ext.onMessage(host, 1, message)
    assert.equal(p.calls.length - before, delivered ? 1 : 0, `${message.length} bytes`)
  }
  assert.deepEqual(host.failures, [])
  assert.equal(host.debugLines.filter(l => /ut_pex/.test(l[0])).length, 4)
})

test('a wire announces its maxPeerRequests as reqq (BEP 10) in its extended handshake, unless the application set one', async () => {
  const { default: Wire } = await import('bittorrent-protocol')
  const IH = '01'.repeat(20)
  /** The peer's extended handshake as `b` sees it, from a wire made with `opts` and set up by `setup`. */
  async function seen (opts, setup = () => {}) {
    const a = new Wire(opts)
    const b = new Wire()
    setup(a)
    a.pipe(b).pipe(a)
    const got = new Promise(resolve => b.on('extended', (ext, hs) => { if (ext === 'handshake') resolve(hs) }))
    b.once('handshake', () => b.handshake(IH, 'bb'.repeat(20)))
    a.handshake(IH, 'aa'.repeat(20))
    const hs = await got
    a.destroy()
    b.destroy()
    return hs
  }
  assert.equal((await seen()).reqq, 500, 'the default cap')
  assert.equal((await seen({ maxPeerRequests: 64 })).reqq, 64)
  assert.equal((await seen({ maxPeerRequests: 64 }, a => { a.extendedHandshake.reqq = 7 })).reqq, 7, "the application's own")
})
