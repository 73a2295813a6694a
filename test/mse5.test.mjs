// Issue 14: bittorrent-protocol 5.x's constructor and encryption API beside 3.5.5's, over real TCP
// on 127.0.0.1: our 5.x API against itself, against our 3.5.5 API (sendPe1..4), and against the
// real bittorrent-protocol 5.0.9 (devDependency bt5) and 3.5.5 (bt3). Each run moves a block and
// checks from the raw socket bytes whether the payload really was RC4-encrypted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { once } from 'node:events'
import Wire, { ErrorCodes } from 'bittorrent-protocol'
import Bt5 from 'bt5'
import { INFO_HASH as IH, PEER_A, PEER_B, socketPair } from './helpers.mjs'

import { Bt3, bt3Wire } from './fixtures/bt3.mjs'

const SKEY_HASH = crypto.createHash('sha1').update(Buffer.concat([Buffer.from('req2'), Buffer.from(IH, 'hex')])).digest('hex')
const PROTOCOL = Buffer.from('\u0013BitTorrent protocol', 'latin1')
const wait = (emitter, name, ms = 10000) => once(emitter, name, { signal: AbortSignal.timeout(ms) })

async function connect () {
  const { client, serverSocket } = await socketPair()
  // a wire that fails destroys its socket: the other end may see a reset
  client.on('error', () => {})
  serverSocket.on('error', () => {})
  return { client, serverSocket }
}

// Drivers: each makes a wire for one side and drives its encryption API as its callers do
// (WebTorrent 3 for 5.x, WebTorrent 1.9.7 for 3.5.5). `seen` records what the API reported.
const drivers = {
  ours5: { W: Wire, api: '5' },
  bt5: { W: Bt5, api: '5' },
  ours3: { W: Wire, api: '3' },
  bt3: { W: Bt3, api: '3' }
}

function outgoing (name, level) {
  const { W, api } = drivers[name]
  const seen = { cryptoHandshake: 0 }
  const wire = api === '5' ? new W('tcpOutgoing', level) : W === Bt3 ? bt3Wire('tcpOutgoing', 0, level > 0) : new W('tcpOutgoing', 0, level > 0)
  wire.on('crypto-handshake', () => seen.cryptoHandshake++)
  const start = () => {
    if (api === '5') {
      if (level > 0) {
        wire.once('crypto-handshake', () => wire.handshake(IH, PEER_A))
        wire.startEncryption(IH)
      } else {
        wire.handshake(IH, PEER_A)
      }
    } else if (level > 0) {
      wire.once('pe2', () => wire.sendPe3(IH))
      wire.once('pe4', () => wire.handshake(IH, PEER_A))
      wire.sendPe1()
    } else {
      wire.handshake(IH, PEER_A)
    }
  }
  return { wire, seen, start }
}

function incoming (name, level) {
  const { W, api } = drivers[name]
  const seen = { cryptoHandshake: 0, infoHashHash: null, setInfoHash: null }
  const wire = api === '5' ? new W('tcpIncoming', level) : W === Bt3 ? bt3Wire('tcpIncoming', 0, level > 0) : new W('tcpIncoming', 0, level > 0)
  wire.on('crypto-handshake', () => seen.cryptoHandshake++)
  if (api === '5') {
    // conn-pool.js of WebTorrent 3: look the torrent up, then await setInfoHash
    wire.once('crypto-infohash', async hash => {
      seen.infoHashHash = hash
      await new Promise(resolve => setTimeout(resolve, 5)) // the lookup is async there too
      seen.setInfoHash = await wire.setInfoHash(IH)
    })
  } else {
    wire.once('pe1', () => wire.sendPe2())
    wire.once('pe3', hash => { seen.infoHashHash = hash; wire.sendPe4(IH) })
  }
  wire.once('handshake', () => wire.handshake(IH, PEER_B))
  return { wire, seen }
}

/** Outgoing `a` dials incoming `b`; both handshake, b serves one 16 KiB block to a. */
async function run (outName, outLevel, inName, inLevel) {
  const { client, serverSocket } = await connect()
  const raw = []
  client.on('data', c => raw.push(Buffer.from(c)))
  serverSocket.on('data', c => raw.push(Buffer.from(c)))
  const a = outgoing(outName, outLevel)
  const b = incoming(inName, inLevel)
  client.pipe(a.wire).pipe(client)
  serverSocket.pipe(b.wire).pipe(serverSocket)
  for (const w of [a.wire, b.wire]) w.on('error', () => {})
  try {
    const block = crypto.randomBytes(16384)
    b.wire.on('request', (i, o, l, respond) => respond(null, block))
    const handshakes = Promise.all([wait(a.wire, 'handshake'), wait(b.wire, 'handshake')])
    a.start()
    const [[ihA, idA], [ihB, idB]] = await handshakes
    assert.deepEqual([ihA, idA, ihB, idB], [IH, PEER_B, IH, PEER_A])
    const unchoked = wait(a.wire, 'unchoke')
    b.wire.unchoke()
    await unchoked
    const got = await new Promise((resolve, reject) => a.wire.request(0, 0, 16384, (err, buf) => err ? reject(err) : resolve(buf)))
    assert.deepEqual(Buffer.from(got), block)
    const all = Buffer.concat(raw)
    const sample = block.subarray(1000, 1064)
    return { a: a.seen, b: b.seen, plainOnWire: all.includes(PROTOCOL), blockOnWire: all.includes(sample), bytes: all.length }
  } finally {
    client.destroy()
    serverSocket.destroy()
  }
}

// [outgoing driver, level, incoming driver, level, payload method: rc4 | plaintext (MSE) | none (no MSE)]
const MATRIX = [
  ['ours5', 1, 'ours5', 1, 'plaintext'], // level 1 prefers plaintext when offered both (5.0.9)
  ['ours5', 1, 'ours5', 2, 'rc4'],
  ['ours5', 2, 'ours5', 1, 'rc4'],
  ['ours5', 2, 'ours5', 2, 'rc4'],
  ['ours5', 0, 'ours5', 1, 'none'], // incoming level >= 1 accepts a plain handshake
  ['ours5', 0, 'ours5', 2, 'none'],
  ['ours5', 1, 'ours3', 1, 'rc4'], // our 3.5.5 responder selects RC4
  ['ours5', 2, 'ours3', 1, 'rc4'],
  ['ours3', 1, 'ours5', 1, 'rc4'], // a 3.5.5 initiator offers RC4 only
  ['ours3', 1, 'ours5', 2, 'rc4'],
  ['bt5', 1, 'ours5', 1, 'plaintext'],
  ['bt5', 2, 'ours5', 1, 'rc4'],
  ['bt5', 1, 'ours5', 2, 'rc4'],
  ['bt5', 0, 'ours5', 1, 'none'],
  ['ours5', 1, 'bt5', 1, 'plaintext'],
  ['ours5', 2, 'bt5', 1, 'rc4'],
  ['ours5', 1, 'bt5', 2, 'rc4'],
  ['ours5', 0, 'bt5', 2, 'none'],
  ['bt3', 1, 'ours5', 1, 'rc4'],
  ['ours5', 2, 'bt3', 1, 'rc4'],
  ['bt5', 2, 'ours3', 1, 'rc4'],
  ['ours3', 1, 'bt5', 1, 'rc4']
]

for (const [outName, outLevel, inName, inLevel, method] of MATRIX) {
  test(`${outName} level ${outLevel} -> ${inName} level ${inLevel}: handshakes, a block, payload ${method}`, async () => {
    const r = await run(outName, outLevel, inName, inLevel)
    if (method === 'rc4') {
      assert.equal(r.plainOnWire, false, 'no protocol header on the wire')
      assert.equal(r.blockOnWire, false, 'no block bytes on the wire')
    } else {
      assert.equal(r.plainOnWire, true, 'the BitTorrent handshake is readable on the wire')
      assert.equal(r.blockOnWire, true, 'the block is readable on the wire')
    }
    const mse = method !== 'none'
    // 'crypto-handshake': once per 5.x wire that ran MSE, never for a plain connection
    if (drivers[outName].api === '5') assert.equal(r.a.cryptoHandshake, mse && outLevel > 0 ? 1 : 0, 'outgoing crypto-handshake')
    if (drivers[inName].api === '5') {
      assert.equal(r.b.cryptoHandshake, mse ? 1 : 0, 'incoming crypto-handshake')
      if (mse) {
        assert.equal(r.b.infoHashHash, SKEY_HASH, "crypto-infohash is HASH('req2', infoHash) in hex")
        if (inName === 'ours5') assert.equal(r.b.setInfoHash, true, 'setInfoHash() resolved true')
      } else {
        assert.equal(r.b.infoHashHash, null, 'no crypto-infohash for a plain handshake')
      }
    }
    if (drivers[inName].api === '3' && mse) assert.equal(r.b.infoHashHash, SKEY_HASH, 'pe3 hash')
  })
}

// -----------------------------------------------------------------------------
// The constructor rule, seen from what each wire sends

/** What a fresh wire sends once `fn` ran (after a tick). */
async function sends (wire, fn) {
  const out = []
  wire.on('data', c => out.push(c))
  fn(wire)
  await new Promise(resolve => setImmediate(resolve))
  return Buffer.concat(out)
}

test('constructor: two arguments with a number second are 5.x (type, level); three are 3.5.5 (type, retries, peEnabled)', async () => {
  const ya = b => b.length >= 96 && !b.subarray(0, 20).equals(PROTOCOL) // MSE step 1: Ya + PadA
  // 5.x outgoing: nothing is sent until startEncryption(); then Ya
  for (const level of [1, 2]) {
    const w = new Wire('tcpOutgoing', level)
    assert.equal((await sends(w, () => {})).length, 0, `level ${level}: nothing before startEncryption`)
    assert.ok(ya(await sends(new Wire('tcpOutgoing', level), w => w.startEncryption(IH))), `level ${level}: Ya`)
    assert.ok(ya(await sends(new Wire('tcpOutgoing', level, undefined), w => w.startEncryption(IH))), `level ${level}, third undefined: Ya`)
  }
  // level 0, other numbers, 3.5.5 calls: startEncryption does nothing
  for (const make of [() => new Wire('tcpOutgoing', 0), () => new Wire('tcpOutgoing', 5), () => new Wire('tcpOutgoing', 1.5),
    () => new Wire('tcpOutgoing', 1, false), () => new Wire('tcpOutgoing'), () => new Wire(), () => new Wire(null)]) {
    assert.equal((await sends(make(), w => w.startEncryption(IH))).length, 0, make.toString())
  }
  // 3.5.5: (type, 0, true) outgoing runs MSE through sendPe1(); (type, 1) does not
  assert.ok(ya(await sends(new Wire('tcpOutgoing', 0, true), w => w.sendPe1())))
  assert.equal((await sends(new Wire('tcpOutgoing', 1), w => w.sendPe1())).length, 0)
  assert.equal((await sends(new Wire('tcpOutgoing', 1, true), w => w.sendPe1())).length, 0, '3.5.5: retries > 0 starts plain')
  // options
  assert.ok(ya(await sends(new Wire({ type: 'tcpOutgoing', encryptionLevel: 2 }), w => w.startEncryption(IH))))
  assert.throws(() => new Wire({ type: 'tcpOutgoing', encryptionLevel: 3 }), RangeError)
  assert.throws(() => new Wire({ type: 'tcpIncoming', encryptionLevel: 1, peEnabled: true }), TypeError)
  assert.throws(() => new Wire('tcpOutgoing', 2).startEncryption('abc'), TypeError)
  // startEncryption on an incoming wire, twice on an outgoing one: nothing more is sent
  assert.equal((await sends(new Wire('tcpIncoming', 2), w => w.startEncryption(IH))).length, 0)
  const twice = await sends(new Wire('tcpOutgoing', 2), w => { w.startEncryption(IH); w.startEncryption(IH) })
  assert.ok(twice.length <= 96 + 512, `one Ya + PadA (${twice.length} bytes)`)
  // setInfoHash where there is nothing to wait for resolves true
  assert.equal(await new Wire('tcpOutgoing', 0).setInfoHash(IH), true)
  assert.equal(await new Wire().setInfoHash(IH), true)
})

test('Wire.nativeRC4 is a boolean: whether node:crypto offers RC4 (as 5.0.9 probes it); _debugId is 8 hex digits per wire', () => {
  let native = true
  try { crypto.createCipheriv('rc4', Buffer.alloc(16), '') } catch { native = false }
  assert.equal(Wire.nativeRC4, native)
  assert.equal(Wire.nativeRC4, Bt5.nativeRC4)
  const a = new Wire()
  const b = new Wire()
  assert.match(a._debugId, /^[0-9a-f]{8}$/)
  assert.equal(a._debugId, a._debugId)
  assert.notEqual(a._debugId, b._debugId)
  b._debugId = 'peer-1' // 5.0.9's is a plain property: assignable
  assert.equal(b._debugId, 'peer-1')
})

// -----------------------------------------------------------------------------
// Failures: coded errors, clean close, setInfoHash never rejects

async function incomingWith (level, setup) {
  const { client, serverSocket } = await connect()
  const wire = new Wire('tcpIncoming', level)
  const errors = []
  wire.on('error', err => errors.push(err))
  setup?.(wire)
  serverSocket.pipe(wire).pipe(serverSocket)
  // not events.once: it rejects on 'error', which is expected here
  const closed = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no close')), 35000)
    wire.once('close', () => { clearTimeout(timer); resolve() })
  })
  return { wire, errors, client, serverSocket, closed }
}

test('incoming level 1: setInfoHash() with another info hash fails the wire (ERR_BT_MSE_FAILED) and resolves false', async (t) => {
  const other = 'ff'.repeat(20)
  let resolved
  const s = await incomingWith(1, w => w.once('crypto-infohash', async () => { resolved = await w.setInfoHash(other) }))
  t.after(() => { s.client.destroy(); s.serverSocket.destroy() })
  const a = new Wire('tcpOutgoing', 1)
  a.on('error', () => {})
  s.client.pipe(a).pipe(s.client)
  let handshook = 0
  s.wire.on('crypto-handshake', () => handshook++)
  a.startEncryption(IH)
  await s.closed
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(s.errors.map(e => e.code), [ErrorCodes.MSE_FAILED])
  assert.match(s.errors[0].message, /does not match/)
  assert.equal(resolved, false)
  assert.equal(handshook, 0)
})

test('incoming level 2 refuses an MSE peer that offers only plaintext payload (ERR_BT_MSE_FAILED), nothing leaks', async (t) => {
  const s = await incomingWith(2, w => w.once('crypto-infohash', () => w.setInfoHash(IH)))
  t.after(() => { s.client.destroy(); s.serverSocket.destroy() })
  const a = new Wire('tcpOutgoing')
  a.on('error', () => {})
  s.client.pipe(a).pipe(s.client)
  const result = a.encrypt({ policy: 'require', payload: 'plaintext', infoHash: IH }).catch(err => err)
  await s.closed
  assert.deepEqual(s.errors.map(e => e.code), [ErrorCodes.MSE_FAILED])
  assert.match(s.errors[0].message, /offers crypto 0x1/)
  assert.equal((await result).code !== undefined, true)
})

test('incoming level 1 and 2: bytes that are neither a handshake nor MSE fail with ERR_BT_MSE_FAILED, whole or byte by byte', async (t) => {
  for (const level of [1, 2]) {
    for (const chunked of [false, true]) {
      const s = await incomingWith(level)
      t.after(() => { s.client.destroy(); s.serverSocket.destroy() })
      const junk = crypto.randomBytes(96 + 600)
      junk[0] = 0x42 // not 19: not a plain handshake
      if (chunked) for (let i = 0; i < junk.length; i += 37) s.client.write(junk.subarray(i, i + 37))
      else s.client.write(junk)
      await s.closed
      assert.deepEqual(s.errors.map(e => e.code), [ErrorCodes.MSE_FAILED], `level ${level} chunked=${chunked}`)
      assert.equal(s.wire.destroyed, true)
    }
  }
})

test('incoming level 1: setInfoHash() given before the peer asks is used; crypto-infohash is still emitted', async (t) => {
  const { client, serverSocket } = await connect()
  t.after(() => { client.destroy(); serverSocket.destroy() })
  const b = new Wire('tcpIncoming', 1)
  const early = b.setInfoHash(IH)
  const hashes = []
  b.on('crypto-infohash', h => hashes.push(h))
  b.once('handshake', () => b.handshake(IH, PEER_B))
  serverSocket.pipe(b).pipe(serverSocket)
  const a = new Wire('tcpOutgoing', 2)
  client.pipe(a).pipe(client)
  a.once('crypto-handshake', () => a.handshake(IH, PEER_A))
  const done = Promise.all([wait(a, 'handshake'), wait(b, 'handshake')])
  a.startEncryption(IH)
  await done
  assert.equal(await early, true)
  assert.deepEqual(hashes, [SKEY_HASH])
})

// -----------------------------------------------------------------------------
// An outgoing 5.x wire whose peer sends a plain BitTorrent handshake instead of MSE

/**
 * A peer on the far end of a TCP connection that does not speak MSE and speaks first: it writes
 * its plain handshake at once, then skips whatever comes before our plain handshake (an MSE
 * step 1, if we sent one) and answers that with an unchoke. Resolves `ours` with the bytes that
 * came before our handshake.
 */
function plainPeerSpeakingFirst (socket) {
  socket.write(Buffer.concat([PROTOCOL, Buffer.alloc(8), Buffer.from(IH, 'hex'), Buffer.from(PEER_B, 'hex')]))
  let got = Buffer.alloc(0)
  return new Promise(resolve => {
    socket.on('data', chunk => {
      got = Buffer.concat([got, chunk])
      const at = got.indexOf(PROTOCOL)
      if (at === -1 || got.length < at + 68) return
      socket.removeAllListeners('data')
      socket.write(Buffer.from([0, 0, 0, 1, 1])) // unchoke
      resolve({ before: at, peerId: got.subarray(at + 48, at + 68).toString('hex') })
    })
  })
}

for (const [name, W] of [['ours', Wire], ['5.0.9', Bt5]]) {
  for (const started of [false, true]) {
    test(`${name}, outgoing level 1${started ? ', after startEncryption()' : ''}: the peer's plain handshake ends the exchange (crypto-handshake, then handshake) and the wire goes on plain`, async (t) => {
      const { client, serverSocket } = await connect()
      t.after(() => { client.destroy(); serverSocket.destroy() })
      const wire = new W('tcpOutgoing', 1)
      const events = []
      wire.on('error', err => events.push('error ' + err.code))
      // WebTorrent 3's peer.js: our handshake goes out on crypto-handshake
      wire.once('crypto-handshake', () => { events.push('crypto-handshake'); wire.handshake(IH, PEER_A) })
      wire.once('handshake', (ih, id) => events.push(`handshake ${ih === IH} ${id === PEER_B}`))
      const unchoked = wait(wire, 'unchoke')
      client.pipe(wire).pipe(client)
      const peer = plainPeerSpeakingFirst(serverSocket)
      if (started) wire.startEncryption(IH)
      const seen = await peer
      await unchoked
      assert.deepEqual(events, ['crypto-handshake', 'handshake true true'])
      assert.equal(seen.peerId, PEER_A, 'our plain handshake reached the peer')
      assert.equal(seen.before > 0, started, started ? 'our MSE step 1 went out first' : 'nothing before our handshake')
      assert.equal(wire._peState, 'done')
      assert.equal(wire._encryptionMethod, null)
      assert.equal(wire._cryptoHandshakeDone, true)
      assert.equal(wire.peerChoking, false)
      wire.destroy()
    })
  }
}

test('outgoing level 2 (RC4 only): a peer that sends a plain handshake fails the wire at once with ERR_BT_MSE_FAILED (5.0.9 falls back), unless we went plain ourselves', async (t) => {
  for (const started of [false, true]) {
    const { client, serverSocket } = await connect()
    t.after(() => { client.destroy(); serverSocket.destroy() })
    const wire = new Wire('tcpOutgoing', 2)
    const events = []
    wire.on('crypto-handshake', () => events.push('crypto-handshake'))
    wire.on('handshake', () => events.push('handshake'))
    const failed = wait(wire, 'error', 5000) // well before the 30 s MSE timeout
    const closed = new Promise(resolve => wire.once('close', resolve))
    client.pipe(wire).pipe(client)
    plainPeerSpeakingFirst(serverSocket)
    if (started) wire.startEncryption(IH)
    const [err] = await failed
    assert.equal(err.code, ErrorCodes.MSE_FAILED)
    assert.match(err.message, /plaintext handshake but encryption is required/)
    assert.deepEqual(events, [], 'neither crypto-handshake nor handshake')
    await closed
  }
  // our plain handshake went out first (no startEncryption): the peer's answer is taken
  const { client, serverSocket } = await connect()
  t.after(() => { client.destroy(); serverSocket.destroy() })
  const wire = new Wire('tcpOutgoing', 2)
  let cryptoHandshakes = 0
  wire.on('crypto-handshake', () => cryptoHandshakes++)
  client.pipe(wire).pipe(client)
  wire.handshake(IH, PEER_A)
  const handshake = wait(wire, 'handshake')
  plainPeerSpeakingFirst(serverSocket)
  await handshake
  await wait(wire, 'unchoke')
  assert.equal(cryptoHandshakes, 0)
  assert.equal(wire._cryptoHandshakeDone, false)
  wire.destroy()
})

test('encrypt() as initiator: a peer answering with a plain handshake resolves method none under prefer, rejects with ERR_BT_MSE_FAILED under require', async (t) => {
  for (const policy of ['prefer', 'require']) {
    const { client, serverSocket } = await connect()
    t.after(() => { client.destroy(); serverSocket.destroy() })
    const wire = new Wire('tcpOutgoing')
    wire.on('error', () => {})
    client.pipe(wire).pipe(client)
    const peer = plainPeerSpeakingFirst(serverSocket)
    // the peer's handshake is read right after the promise resolves: listen first
    const handshake = policy === 'prefer' ? wait(wire, 'handshake') : null
    const result = wire.encrypt({ policy, infoHash: IH })
    if (policy === 'prefer') {
      assert.deepEqual(await result, { encrypted: false, method: 'none', infoHash: null })
      wire.handshake(IH, PEER_A)
      const [ih, id] = await handshake
      assert.deepEqual([ih, id], [IH, PEER_B])
      assert.equal((await peer).peerId, PEER_A)
    } else {
      await assert.rejects(result, err => err.code === ErrorCodes.MSE_FAILED && /plaintext handshake/.test(err.message))
    }
    wire.destroy()
  }
})

test('outgoing level 1 after startEncryption(): a plain handshake byte by byte still ends the exchange; a handshake-like start followed by other bytes is taken as Yb', async () => {
  const handshake = Buffer.concat([PROTOCOL, Buffer.alloc(8), Buffer.from(IH, 'hex'), Buffer.from(PEER_B, 'hex')])
  {
    const wire = new Wire('tcpOutgoing', 1)
    wire.on('data', () => {})
    const events = []
    wire.on('crypto-handshake', () => events.push('crypto-handshake'))
    wire.on('handshake', () => events.push('handshake'))
    wire.startEncryption(IH)
    for (const byte of handshake) wire.write(Buffer.from([byte]))
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(events, ['crypto-handshake', 'handshake'])
    assert.equal(wire._peState, 'done')
    wire.destroy()
  }
  {
    // "\x13Bit" then a byte that breaks the protocol string: MSE's Yb (which may start with 0x13)
    const wire = new Wire('tcpOutgoing', 1)
    wire.on('data', () => {})
    const events = []
    wire.on('crypto-handshake', () => events.push('crypto-handshake'))
    wire.on('handshake', () => events.push('handshake'))
    wire.on('error', err => events.push(err.code))
    wire.startEncryption(IH)
    wire.write(handshake.subarray(0, 4))
    wire.write(Buffer.from('X'.repeat(100)))
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(events, [], 'no fallback')
    assert.equal(wire._peState, 'sentPe3', 'the 104 bytes were taken as Yb (96 bytes) and step 3 went out')
    wire.destroy()
  }
})
