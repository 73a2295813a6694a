// MSE interoperability with the real bittorrent-protocol 3.5.5 (devDependency `bt3`), driven
// the way WebTorrent 1.x drives it: sendPe1..sendPe4 called from the pe1..pe4 listeners.
import test from 'node:test'
import assert from 'node:assert/strict'
import { socketPair } from './helpers.mjs'
import crypto from 'node:crypto'
import { once } from 'node:events'
import { MseHandshake, skeyHash } from '../dist/esm/mse/index.js'

import { bt3Wire } from './fixtures/bt3.mjs'

const IH = '0123456789abcdef0123456789abcdef01234567'
const OUR_ID = 'cc'.repeat(20)
const THEIR_ID = 'dd'.repeat(20)
const CODE = 'ERR_BT_MSE_FAILED'
const btHandshake = (ih, peer) => Buffer.concat([
  Buffer.from('\u0013BitTorrent protocol', 'latin1'), Buffer.alloc(8), Buffer.from(ih, 'hex'), Buffer.from(peer, 'hex')
])
/** A BitTorrent handshake for (ih, peer), whatever its reserved bits (3.5.5 sets the BEP 10 bit). */
const assertHandshake = (buf, ih, peer) => {
  assert.equal(buf.length, 68)
  const want = btHandshake(ih, peer)
  assert.deepEqual(buf.subarray(0, 20), want.subarray(0, 20))
  assert.deepEqual(buf.subarray(28), want.subarray(28))
}
const INTERESTED = Buffer.from([0, 0, 0, 1, 2])

function held (promise) {
  const keep = setInterval(() => {}, 1000)
  return promise.finally(() => clearInterval(keep))
}

/** Our side of a connection over `sock`: handshake, then decrypted input collected in `post`. */
function ours (hs, sock) {
  const ep = { hs, result: null, error: null, post: [] }
  ep.settled = held(new Promise(resolve => {
    hs.on('done', r => { ep.result = r; ep.post.push(r.ia, r.rest); resolve() })
    hs.on('error', e => { ep.error = e; sock.destroy(); resolve() })
  }))
  hs.on('send', buf => sock.write(buf))
  sock.on('error', () => {})
  sock.on('data', chunk => {
    if (ep.result) ep.post.push(ep.result.decrypt ? ep.result.decrypt.update(chunk) : chunk)
    else if (!ep.error) hs.receive(chunk)
  })
  ep.write = data => sock.write(ep.result.encrypt ? ep.result.encrypt.update(data) : data)
  ep.received = () => Buffer.concat(ep.post)
  return ep
}

const connect = socketPair

async function until (fn, ms = 15000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

test('bt3 (3.5.5) outgoing with PE -> our responder over TCP: RC4, handshakes and messages both ways', async () => {
  const { client, serverSocket } = await connect()
  try {
    // their side: exactly WebTorrent 1.9.7's peer.js for an outgoing secure peer
    const wire = bt3Wire('tcpOutgoing', 0, true)
    client.pipe(wire).pipe(client)
    let theirHandshake = null
    let interested = false
    wire.once('pe2', () => wire.sendPe3(IH))
    wire.once('pe4', () => wire.handshake(IH, THEIR_ID))
    wire.once('handshake', (ih, id) => { theirHandshake = [ih, id] })
    wire.once('interested', () => { interested = true })
    // our side: incoming, serves IH
    const b = ours(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 15000 }), serverSocket)
    wire.sendPe1()
    await b.settled
    assert.equal(b.error, null, b.error?.message)
    assert.equal(b.result.method, 'rc4')
    assert.equal(b.result.ia.length, 0) // 3.5.5 sends an empty IA and its handshake afterwards
    await until(() => b.received().length >= 68)
    assertHandshake(b.received().subarray(0, 68), IH, THEIR_ID)
    b.write(btHandshake(IH, OUR_ID))
    b.write(INTERESTED)
    await until(() => theirHandshake && interested)
    assert.deepEqual(theirHandshake, [IH, OUR_ID])
    wire.unchoke()
    await until(() => b.received().length >= 68 + 5)
    assert.deepEqual(b.received().subarray(68, 73), Buffer.from([0, 0, 0, 1, 1]))
    wire.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
})

test('our initiator -> bt3 (3.5.5) incoming with PE over TCP, handshake in IA', async () => {
  const { client, serverSocket } = await connect()
  try {
    // their side: WebTorrent 1.9.7 conn-pool + peer.js for an incoming secure peer
    const wire = bt3Wire('tcpIncoming', 0, true)
    serverSocket.pipe(wire).pipe(serverSocket)
    let pe3Hash = null
    let theirHandshake = null
    wire.once('pe1', () => wire.sendPe2())
    wire.once('pe3', hash => { pe3Hash = hash; wire.sendPe4(IH) })
    wire.once('handshake', (ih, id) => { theirHandshake = [ih, id]; wire.handshake(IH, THEIR_ID); wire.interested() })
    // our side: 'rc4' offers only RC4 (0x02), which is what 3.5.5 understands
    const a = ours(new MseHandshake({ role: 'initiator', infoHash: IH, payload: 'rc4', ia: btHandshake(IH, OUR_ID), timeout: 15000 }), client)
    a.hs.start()
    await a.settled
    assert.equal(a.error, null, a.error?.message)
    assert.equal(a.result.method, 'rc4')
    assert.equal(pe3Hash, skeyHash(IH).toString('hex'))
    await until(() => a.received().length >= 68 + 5)
    assert.deepEqual(theirHandshake, [IH, OUR_ID])
    assertHandshake(a.received().subarray(0, 68), IH, THEIR_ID)
    assert.deepEqual(a.received().subarray(68, 73), INTERESTED)
    wire.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
})

test('manual (3.5.5-style) responder driven like WebTorrent 1.9.7 conn-pool against bt3', async () => {
  const { client, serverSocket } = await connect()
  try {
    const wire = bt3Wire('tcpOutgoing', 0, true)
    client.pipe(wire).pipe(client)
    wire.once('pe2', () => wire.sendPe3(IH))
    wire.once('pe4', () => wire.handshake(IH, THEIR_ID))
    const hs = new MseHandshake({ role: 'responder', manual: true, timeout: 15000 })
    const b = ours(hs, serverSocket)
    const torrents = new Map([[skeyHash(IH).toString('hex'), IH]])
    hs.once('pe1', () => hs.sendPe2())
    // WebTorrent 2.x looks the torrent up asynchronously: sendPe4 after an await
    hs.once('pe3', async hash => { await new Promise(resolve => setTimeout(resolve, 10)); hs.sendPe4(torrents.get(hash)) })
    wire.sendPe1()
    await b.settled
    assert.equal(b.error, null, b.error?.message)
    await until(() => b.received().length >= 68)
    assertHandshake(b.received().subarray(0, 68), IH, THEIR_ID)
    wire.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
})

test('bt3 initiator vs a plaintext-only responder, and a prefer initiator vs bt3 responder, fail', async () => {
  // 3.5.5 offers RC4 only: a plaintext-only responder refuses with a coded error
  let { client, serverSocket } = await connect()
  try {
    const wire = bt3Wire('tcpOutgoing', 0, true)
    wire.on('error', () => {})
    client.pipe(wire).pipe(client)
    wire.once('pe2', () => wire.sendPe3(IH))
    const b = ours(new MseHandshake({ role: 'responder', infoHashes: [IH], payload: 'plaintext', timeout: 15000 }), serverSocket)
    wire.sendPe1()
    await b.settled
    assert.equal(b.error?.code, CODE)
    assert.match(b.error.message, /crypto_provide/)
    wire.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
  // 3.5.5 reads crypto_provide as a list of bytes: the standard 0x03 ("both") has no 0x02 byte,
  // so it destroys the connection, right after having sent its step 4 (it answers before
  // checking). Our side may complete the handshake, but the connection is gone.
  ;({ client, serverSocket } = await connect())
  try {
    const wire = bt3Wire('tcpIncoming', 0, true)
    wire.on('error', () => {})
    serverSocket.pipe(wire).pipe(serverSocket)
    wire.once('pe1', () => wire.sendPe2())
    wire.once('pe3', () => wire.sendPe4(IH))
    wire.on('close', () => serverSocket.destroy())
    const a = ours(new MseHandshake({ role: 'initiator', infoHash: IH, payload: 'any', timeout: 15000 }), client)
    const closed = once(client, 'close')
    a.hs.start()
    await held(closed)
    assert.equal(wire.destroyed, true)
    a.hs.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
})

test('a 3.5.5 peer with a 95-byte key (its bug, 1 key in 256): our initiator fails with a coded error at its timeout, no hang', async () => {
  const { client, serverSocket } = await connect()
  try {
    const wire = bt3Wire('tcpIncoming', 0, true, { short: true })
    wire.on('error', () => {})
    serverSocket.pipe(wire).pipe(serverSocket)
    wire.once('pe1', () => wire.sendPe2())
    wire.once('pe3', () => wire.sendPe4(IH))
    const a = ours(new MseHandshake({ role: 'initiator', infoHash: IH, payload: 'rc4', ia: btHandshake(IH, OUR_ID), timeout: 1500 }), client)
    a.hs.start()
    await a.settled
    assert.equal(a.error?.code, CODE)
    wire.destroy()
  } finally {
    client.destroy(); serverSocket.destroy()
  }
})
