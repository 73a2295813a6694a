// Message stream encryption on the Wire: 3.5.5's pe1..pe4 API as WebTorrent 1.9.7 drives it,
// the promise API with its policies, and hostile handshake input; all over real TCP sockets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import crypto from 'node:crypto'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import { event, INFO_HASH, PEER_A, PEER_B } from './helpers.mjs'

const skeyHashHex = crypto.createHash('sha1').update(Buffer.concat([Buffer.from('req2'), Buffer.from(INFO_HASH, 'hex')])).digest('hex')

/** A TCP connection on 127.0.0.1 with a wire made by `makeIncoming` / `makeOutgoing` on each end. */
async function connect (t, makeOutgoing, makeIncoming) {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const socket = net.connect(server.address().port, '127.0.0.1')
  const [serverSocket] = await accepted
  server.close()
  t.after(() => { socket.destroy(); serverSocket.destroy() })
  const b = makeIncoming()
  serverSocket.pipe(b).pipe(serverSocket)
  const a = makeOutgoing()
  socket.pipe(a).pipe(socket)
  return { a, b, socket, serverSocket }
}

/** Move a block from b to a and check it, proving the payload path works after the exchange. */
async function exchangeBlock (a, b) {
  const block = crypto.randomBytes(16384)
  b.on('interested', () => b.unchoke())
  b.on('request', (i, o, l, respond) => respond(null, block))
  const unchoked = event(a, 'unchoke')
  a.interested()
  await unchoked
  const got = await new Promise((resolve, reject) => a.request(0, 0, 16384, (err, buf) => err ? reject(err) : resolve(buf)))
  assert.deepEqual(got, block)
}

test('3.5.5 API, as WebTorrent 1.9.7 drives it: sendPe1..sendPe4 / pe1..pe4, then an RC4 connection', async (t) => {
  const seen = []
  const { a, b, socket } = await connect(t,
    () => {
      const w = new Wire('tcpOutgoing', 0, true)
      w.once('pe2', () => { seen.push('a:pe2'); w.sendPe3(INFO_HASH) })
      w.once('pe4', () => { seen.push('a:pe4'); w.handshake(INFO_HASH, PEER_A, { fast: true }) })
      return w
    },
    () => {
      const w = new Wire('tcpIncoming', 0, true)
      w.once('pe1', () => { seen.push('b:pe1'); w.sendPe2() })
      w.once('pe3', hash => {
        seen.push('b:pe3')
        assert.equal(hash, skeyHashHex, 'pe3 gives HASH(req2, SKEY) as hex')
        w.sendPe4(INFO_HASH)
      })
      w.once('handshake', (ih) => w.handshake(ih, PEER_B, { fast: true }))
      return w
    })
  // watch the raw bytes: after the exchange, no plaintext protocol header may cross the socket
  const raw = []
  socket.on('data', d => raw.push(d))
  const hs = event(a, 'handshake')
  a.sendPe1()
  const [infoHash, peerId] = await hs
  assert.equal(infoHash, INFO_HASH)
  assert.equal(peerId, PEER_B)
  assert.deepEqual(seen, ['b:pe1', 'a:pe2', 'b:pe3', 'a:pe4'])
  assert.equal(a.hasFast, true)
  await exchangeBlock(a, b)
  assert.equal(Buffer.concat(raw).includes(Buffer.from('BitTorrent protocol')), false, 'encrypted on the wire')
  assert.equal(a.setEncrypt('00', INFO_HASH), true)
})

test('3.5.5 API: an incoming peEnabled wire still accepts a plain handshake', async (t) => {
  const { a, b } = await connect(t,
    () => new Wire('tcpOutgoing', 1, true), // retries > 0: WebTorrent's plaintext fallback
    () => {
      const w = new Wire('tcpIncoming', 0, true)
      w.once('handshake', ih => w.handshake(ih, PEER_B))
      return w
    })
  const hs = event(a, 'handshake')
  a.handshake(INFO_HASH, PEER_A)
  await hs
  await exchangeBlock(a, b)
})

for (const [policyA, policyB, method] of [
  ['require', 'require', 'rc4'],
  ['prefer', 'require', 'rc4'],
  ['prefer', 'prefer', 'rc4']
]) {
  test(`encrypt(): ${policyA} (outgoing) with ${policyB} (incoming) selects ${method}, both directions of payload work`, async (t) => {
    const { a, b } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
    const [ra, rb] = await Promise.all([
      a.encrypt({ policy: policyA, infoHash: INFO_HASH }),
      b.encrypt({ policy: policyB, infoHashes: [crypto.randomBytes(20), INFO_HASH] })
    ])
    assert.equal(ra.method, method)
    assert.equal(rb.method, method)
    assert.equal(ra.encrypted, true)
    assert.equal(rb.infoHash.toString('hex'), INFO_HASH)
    b.once('handshake', ih => b.handshake(ih, PEER_B))
    const hs = event(a, 'handshake')
    a.handshake(INFO_HASH, PEER_A)
    await hs
    await exchangeBlock(a, b)
    await exchangeBlock(b, a)
  })
}

test('encrypt(): a responder resolving the SKEY asynchronously; MSE with plaintext payload selected', async (t) => {
  const { a, b, socket } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
  const raw = []
  socket.on('data', d => raw.push(d))
  const [ra, rb] = await Promise.all([
    a.encrypt({ policy: 'prefer', payload: 'plaintext', infoHash: INFO_HASH }),
    b.encrypt({ policy: 'prefer', resolveSkey: async hash => hash.toString('hex') === skeyHashHex ? INFO_HASH : null })
  ])
  assert.equal(ra.method, 'plaintext')
  assert.equal(rb.method, 'plaintext')
  assert.equal(ra.encrypted, false)
  b.once('handshake', ih => b.handshake(ih, PEER_B))
  const hs = event(a, 'handshake')
  a.handshake(INFO_HASH, PEER_A)
  await hs
  await exchangeBlock(a, b)
  assert.equal(Buffer.concat(raw).includes(Buffer.from('BitTorrent protocol')), true, 'payload in the clear')
})

test('encrypt(): an RC4-only initiator and a plaintext-only responder fail with a coded error', async (t) => {
  const { a, b } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
  const errB = event(b, 'error')
  a.on('error', () => {})
  const ra = a.encrypt({ policy: 'require', infoHash: INFO_HASH })
  const rb = b.encrypt({ policy: 'prefer', payload: 'plaintext', infoHash: INFO_HASH })
  ra.catch(() => {})
  rb.catch(() => {})
  const [err] = await errB
  assert.equal(err.code, 'ERR_BT_MSE_FAILED')
  await assert.rejects(ra)
  await assert.rejects(rb)
})

test('encrypt(): prefer (incoming) accepts a plain BitTorrent handshake; require refuses it with a coded error', async (t) => {
  {
    const { a, b } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
    const result = b.encrypt({ policy: 'prefer', infoHash: INFO_HASH })
    b.once('handshake', ih => b.handshake(ih, PEER_B))
    const hs = event(a, 'handshake')
    a.handshake(INFO_HASH, PEER_A)
    assert.deepEqual(await result, { encrypted: false, method: 'none', infoHash: null })
    await hs
    await exchangeBlock(a, b)
  }
  {
    const { a, b } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
    const errored = event(b, 'error')
    const result = b.encrypt({ policy: 'require', infoHash: INFO_HASH })
    const closed = event(a, 'close')
    a.on('error', () => {})
    a.handshake(INFO_HASH, PEER_A)
    const [err] = await errored
    assert.equal(err.code, 'ERR_BT_MSE_FAILED')
    await assert.rejects(result, err, 'encrypt() rejects with the same coded error the wire emitted')
    await closed
  }
})

test('encrypt(): wrong info hash: the responder fails with ERR_BT_MSE_FAILED, the initiator closes', async (t) => {
  const { a, b } = await connect(t, () => new Wire('tcpOutgoing'), () => new Wire('tcpIncoming'))
  const errB = event(b, 'error')
  a.on('error', () => {})
  const ra = a.encrypt({ policy: 'require', infoHash: INFO_HASH })
  const rb = b.encrypt({ policy: 'require', infoHash: crypto.randomBytes(20) })
  ra.catch(() => {})
  rb.catch(() => {})
  const [err] = await errB
  assert.equal(err.code, 'ERR_BT_MSE_FAILED')
  await assert.rejects(rb, { code: 'ERR_BT_MSE_FAILED' })
  await assert.rejects(ra)
})

test('garbage, truncated and too-long handshake input: coded error, never a hang', async (t) => {
  // garbage: 2 KiB of random bytes at an incoming wire that requires encryption
  {
    const w = new Wire('tcpIncoming')
    const p = w.encrypt({ policy: 'require', infoHash: INFO_HASH, timeout: 2000 })
    const errored = event(w, 'error')
    w.write(crypto.randomBytes(2048))
    const [err] = await errored
    assert.equal(err.code, 'ERR_BT_MSE_FAILED')
    await assert.rejects(p, { code: 'ERR_BT_MSE_FAILED' })
  }
  // truncated: a public key and then nothing: the timeout ends it
  {
    const w = new Wire('tcpIncoming')
    const p = w.encrypt({ policy: 'require', infoHash: INFO_HASH, timeout: 200 })
    const errored = event(w, 'error')
    const keep = setInterval(() => {}, 1000)
    t.after(() => clearInterval(keep))
    w.write(crypto.randomBytes(96))
    const [err] = await errored
    assert.equal(err.code, 'ERR_BT_MSE_FAILED')
    assert.match(err.message, /time/i)
    await assert.rejects(p, { code: 'ERR_BT_MSE_FAILED' })
  }
  // too long: an outgoing wire gets far more than Yb + 512 bytes of padding with no VC
  {
    const w = new Wire('tcpOutgoing')
    w.on('data', () => {})
    const p = w.encrypt({ policy: 'require', infoHash: INFO_HASH, timeout: 2000 })
    const errored = event(w, 'error')
    w.write(crypto.randomBytes(96 + 4096))
    const [err] = await errored
    assert.equal(err.code, 'ERR_BT_MSE_FAILED')
    await assert.rejects(p, { code: 'ERR_BT_MSE_FAILED' })
  }
})

test('encrypt(), incoming: a silent peer, or one that stops inside the first 20 bytes, times out with a coded error', async (t) => {
  const keep = setInterval(() => {}, 1000)
  t.after(() => clearInterval(keep))
  for (const first of [null, Buffer.from('\u0013BitTorrent', 'latin1')]) {
    const w = new Wire('tcpIncoming')
    const p = w.encrypt({ policy: 'prefer', infoHash: INFO_HASH, timeout: 200 })
    const errored = event(w, 'error')
    if (first) w.write(first)
    const [err] = await errored
    assert.equal(err.code, 'ERR_BT_MSE_FAILED')
    assert.match(err.message, /timed out/)
    await assert.rejects(p, { code: 'ERR_BT_MSE_FAILED' })
  }
})

test('a wire without an error listener closes on a failed exchange, nothing thrown', async () => {
  const w = new Wire('tcpIncoming', 0, true)
  // (events.once would add an 'error' listener: use a plain one)
  const closed = new Promise(resolve => w.once('close', resolve))
  assert.equal(w.listenerCount('error'), 0)
  // MSE start (not a handshake) followed by junk that never syncs
  w.write(Buffer.concat([Buffer.from([7]), crypto.randomBytes(4000)]))
  await closed
  assert.equal(w.destroyed, true)
})
