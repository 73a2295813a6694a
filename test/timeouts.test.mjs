// handshakeTimeout and idleTimeout (issue 12) over real TCP on 127.0.0.1: each ends the wire
// with its own code, plain and with message stream encryption (both APIs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import { INFO_HASH, PEER_A, PEER_B, socketPair } from './helpers.mjs'

/**
 * A listening server whose first connection gets `new Wire(opts)` (then `setup(wire)`), and a
 * client socket connected to it. Resolves { wire, socket, code } where `code` resolves with the
 * wire's error code once it closed.
 */
async function serve (t, opts, setup = () => {}) {
  const { client: socket, serverSocket: conn } = await socketPair()
  socket.on('error', () => {})
  t.after(() => { socket.destroy(); conn.destroy() })
  const wire = new Wire(opts)
  let err = null
  wire.on('error', e => { err = e })
  setup(wire)
  conn.pipe(wire).pipe(conn)
  // (not events.once: it rejects on 'error')
  const code = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the wire did not close within 5 s')), 5000)
    wire.once('close', () => { clearTimeout(timer); resolve(err?.code ?? null) })
  })
  return { wire, socket, code }
}

test('handshakeTimeout, plain: a peer that sends nothing, or only part of its handshake, is closed', async (t) => {
  const silent = await serve(t, { type: 'tcpIncoming', handshakeTimeout: 200 })
  assert.equal(await silent.code, 'ERR_BT_HANDSHAKE_TIMEOUT')
  const part = await serve(t, { type: 'tcpIncoming', handshakeTimeout: 300 })
  part.socket.write(Buffer.from('\x13BitTorrent proto', 'latin1'))
  assert.equal(await part.code, 'ERR_BT_HANDSHAKE_TIMEOUT')
})

test('handshakeTimeout does not fire once the handshake arrived', async (t) => {
  const s = await serve(t, { type: 'tcpIncoming', handshakeTimeout: 1000 }, w => w.on('handshake', () => w.handshake(INFO_HASH, PEER_B)))
  const client = new Wire('tcpOutgoing')
  s.socket.pipe(client).pipe(s.socket)
  client.handshake(INFO_HASH, PEER_A)
  await once(s.wire, 'handshake')
  await new Promise(resolve => setTimeout(resolve, 1300))
  assert.equal(s.wire.destroyed, false)
  client.destroy()
})

test('handshakeTimeout, MSE (3.5.5 style, peEnabled): silent, and an exchange that never finishes, are closed', async (t) => {
  const silent = await serve(t, { type: 'tcpIncoming', peEnabled: true, handshakeTimeout: 200 })
  assert.equal(await silent.code, 'ERR_BT_HANDSHAKE_TIMEOUT')
  // 96 bytes of a DH key, then nothing: the exchange waits for more
  const half = await serve(t, { type: 'tcpIncoming', peEnabled: true, handshakeTimeout: 300 })
  half.socket.write(Buffer.alloc(96, 7))
  assert.equal(await half.code, 'ERR_BT_HANDSHAKE_TIMEOUT')
})

test('handshakeTimeout, MSE (encrypt()): the exchange completes but no BitTorrent handshake follows', async (t) => {
  let encrypting
  const s = await serve(t, { type: 'tcpIncoming', handshakeTimeout: 1500 }, w => {
    encrypting = w.encrypt({ policy: 'require', infoHashes: [INFO_HASH] })
    encrypting.catch(() => {})
  })
  const client = new Wire('tcpOutgoing')
  client.on('error', () => {})
  const done = client.encrypt({ policy: 'require', infoHash: INFO_HASH })
  s.socket.pipe(client).pipe(s.socket)
  const result = await done
  assert.equal(result.method, 'rc4')
  assert.equal((await encrypting).method, 'rc4')
  // the client never sends its handshake
  assert.equal(await s.code, 'ERR_BT_HANDSHAKE_TIMEOUT')
})

test('idleTimeout: nothing after the handshake closes the wire; keep-alives keep it open', async (t) => {
  const quiet = await serve(t, { type: 'tcpIncoming', idleTimeout: 300 }, w => w.on('handshake', () => w.handshake(INFO_HASH, PEER_B)))
  const a = new Wire('tcpOutgoing')
  quiet.socket.pipe(a).pipe(quiet.socket)
  a.handshake(INFO_HASH, PEER_A)
  assert.equal(await quiet.code, 'ERR_BT_IDLE_TIMEOUT')
  const talker = await serve(t, { type: 'tcpIncoming', idleTimeout: 1000 }, w => w.on('handshake', () => w.handshake(INFO_HASH, PEER_B)))
  const b = new Wire('tcpOutgoing')
  talker.socket.pipe(b).pipe(talker.socket)
  b.handshake(INFO_HASH, PEER_A)
  for (let i = 0; i < 15; i++) { b.keepAlive(); await new Promise(resolve => setTimeout(resolve, 150)) }
  assert.equal(talker.wire.destroyed, false, 'keep-alives every 150 ms keep a 1 s idleTimeout from firing for 2.25 s')
  b.destroy()
})

test('timeouts: bad values throw', () => {
  for (const bad of [0, -1, 1.5, NaN, 'x']) {
    assert.throws(() => new Wire({ handshakeTimeout: bad }), RangeError)
    assert.throws(() => new Wire({ idleTimeout: bad }), RangeError)
  }
})
