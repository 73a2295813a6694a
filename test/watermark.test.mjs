// The send watermark (io/output.ts) through the public API: the peer's requests and extended
// messages wait while our unread output is over it and come once it drains; waiting requests
// stay cancelable and are rejected on choke; nothing deadlocks when both sides upload flat out.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import net from 'node:net'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import { ID, msg, ext, handshakeBytes, settle, makeExtension, INFO_HASH, PEER_A } from './fixtures/raw.mjs'
import { runSide } from './fixtures/upload-peer.mjs'

const UPLOAD_PEER = fileURLToPath(new URL('./fixtures/upload-peer.mjs', import.meta.url))
const KiB = 1024

/** A wire that answered the peer's handshake (fast), unchoked it, and whose output nobody reads yet. */
function unread (opts = {}, extensions = []) {
  const w = new Wire({ sendWatermark: 64 * KiB, ...opts })
  for (const E of extensions) w.use(E)
  w.on('handshake', () => w.handshake(INFO_HASH, PEER_A, { fast: true }))
  w.write(handshakeBytes({ fast: true }))
  w.unchoke()
  return w
}

test('watermark: requests wait while unread output is over it, then come in order; output-drain; outputBacklog', async () => {
  const w = unread()
  const seen = []
  w.on('request', (index, offset, length, respond) => { seen.push(index); respond(null, Buffer.alloc(length)) })
  w.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  // 64 KiB of blocks fill the watermark: the rest wait in peerRequests, with no event yet
  assert.deepEqual(seen, [0, 1, 2, 3])
  assert.equal(w.peerRequests.length, 16)
  assert.ok(w.outputBacklog >= 64 * KiB && w.outputBacklog < 64 * KiB + 16 * KiB + 200, `backlog ${w.outputBacklog}`)
  let drains = 0
  w.on('output-drain', () => drains++)
  // the connection reads: the waiting requests come, oldest first, a watermark's worth at a time
  let read = 0
  w.on('data', chunk => { read += chunk.length })
  for (let i = 0; i < 20 && seen.length < 20; i++) await settle()
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i))
  assert.equal(w.peerRequests.length, 0)
  assert.ok(drains >= 1, 'output-drain was emitted')
  assert.ok(read >= 20 * 16 * KiB)
})

test('watermark: a waiting request can be cancelled (no event) and is rejected when we choke (fast)', async () => {
  const w = unread()
  const seen = []
  w.on('request', (index, offset, length, respond) => { seen.push(index); respond(null, Buffer.alloc(length)) })
  const cancels = []
  w.on('cancel', i => cancels.push(i))
  w.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  assert.deepEqual(seen, [0, 1, 2, 3])
  w.write(msg(ID.cancel, 5, 0, 16 * KiB))
  assert.deepEqual(cancels, [5])
  assert.deepEqual(w.peerRequests.map(r => r.piece), [4, 6, 7])
  // our choke rejects the waiting requests (BEP 6), they never reach the application
  const out = []
  w.on('data', c => out.push(c))
  w.choke()
  await settle()
  assert.deepEqual(w.peerRequests, [])
  const bytes = Buffer.concat(out)
  const rejects = []
  for (let i = 0; i + 17 <= bytes.length; i++) {
    if (bytes.readUInt32BE(i) === 13 && bytes[i + 4] === ID.reject) rejects.push(bytes.readUInt32BE(i + 5))
  }
  assert.deepEqual(rejects, [4, 6, 7])
  assert.deepEqual(seen, [0, 1, 2, 3])
})

test('watermark: an application that answers later is bounded too (unanswered requests count)', async () => {
  const w = unread()
  const pending = []
  w.on('request', (index, offset, length, respond) => pending.push(() => respond(null, Buffer.alloc(length))))
  w.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  assert.equal(pending.length, 4, 'only a watermark of requests is handed out')
  w.resume()
  for (const answer of pending.splice(0)) answer()
  for (let i = 0; i < 20 && pending.length < 3; i++) await settle()
  await settle()
  // the next ones, once those were answered and read: never more than a watermark unanswered
  assert.ok(pending.length >= 3 && pending.length <= 4, `${pending.length} handed out`)
  assert.equal(w.peerRequests.length, 10 - 4)
})

/** A wire with a ut_test plugin whose output is over the watermark (5 answered requests unread), and 40 messages for the plugin. */
function overWatermarkWithPlugin () {
  const w = unread({}, [makeExtension('ut_test')])
  w.write(ext(0, 'd1:md7:ut_testi7eee'))
  w.on('request', (index, offset, length, respond) => respond(null, Buffer.alloc(length)))
  w.write(Buffer.concat(Array.from({ length: 5 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  return { w, many: Array.from({ length: 40 }, (_, i) => ext(1, 'm' + i)) }
}

test('watermark: extended messages for plugins wait in order; too many stop the wire reading', async () => {
  // over the watermark: messages for ut_test wait
  const { w, many } = overWatermarkWithPlugin()
  let written = 0
  w.write(Buffer.concat(many), () => { written++ })
  assert.equal(w.ut_test.messages.length, 0, 'held while over the watermark')
  await settle()
  assert.equal(written, 0, 'too many held: the chunk is not acknowledged (TCP would hold the peer back)')
  // state messages in that chunk still took effect
  w.write(msg(ID.have, 3)) // queued behind the held write
  w.resume()
  for (let i = 0; i < 20 && w.ut_test.messages.length < 40; i++) await settle()
  assert.deepEqual(w.ut_test.messages.map(b => b.toString()), many.map((_, i) => 'm' + i))
  assert.equal(written, 1)
  await settle()
  assert.equal(w.peerPieces.get(3), true)
})

test('watermark: too many held extended messages hold back writes without a callback too (as pipe() writes)', async () => {
  const { w, many } = overWatermarkWithPlugin()
  w.write(Buffer.concat(many))
  assert.equal(w.ut_test.messages.length, 0, 'held while over the watermark')
  // the next chunk is not read: it waits in the stream until the held messages are handed out
  w.write(msg(ID.have, 3))
  await settle()
  assert.equal(w.peerPieces.get(3), false, 'not read while held')
  assert.ok(w.writableLength > 0, 'waiting in the stream')
  w.resume()
  for (let i = 0; i < 20 && w.ut_test.messages.length < 40; i++) await settle()
  assert.deepEqual(w.ut_test.messages.map(b => b.toString()), many.map((_, i) => 'm' + i))
  await settle()
  assert.equal(w.peerPieces.get(3), true)
  assert.equal(w.writableLength, 0)
})

test('no deadlock: two piped wires uploading flat out to each other both finish', async () => {
  const a = new Wire({ sendWatermark: 256 * KiB })
  const b = new Wire({ sendWatermark: 256 * KiB })
  a.pipe(b).pipe(a)
  b.once('handshake', () => b.handshake(INFO_HASH, PEER_A))
  const hs = Promise.all([once(a, 'handshake'), once(b, 'handshake')])
  a.handshake(INFO_HASH, PEER_A)
  await hs
  await Promise.all([runSide(a, 4096), runSide(b, 4096)]) // 64 MiB each way
  assert.equal(a.downloaded, 64 * 1024 * KiB)
  assert.equal(b.downloaded, 64 * 1024 * KiB)
  a.destroy()
})

test('no deadlock: two processes uploading flat out to each other over TCP both finish', async (t) => {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const peer = fork(UPLOAD_PEER, [String(server.address().port), '4096'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.after(() => peer.kill())
  const [socket] = await once(server, 'connection')
  server.close()
  const w = new Wire({ type: 'tcpIncoming', sendWatermark: 256 * KiB })
  socket.pipe(w).pipe(socket)
  const theirs = once(peer, 'message')
  await once(w, 'handshake')
  w.handshake(INFO_HASH, PEER_A)
  await runSide(w, 4096) // 64 MiB each way
  const [m] = await theirs
  assert.equal(w.downloaded, 64 * 1024 * KiB)
  assert.equal(m.downloaded, 64 * 1024 * KiB, 'the other process got all of it')
  w.destroy()
})

test('a connection that half-closes and goes while the wire holds a write back: the wire is destroyed, not left waiting', async () => {
  const { PassThrough } = await import('node:stream')
  const Ext = makeExtension('ut_test')
  const src = new PassThrough()
  const w = new Wire({ sendWatermark: 64 * KiB })
  w.use(Ext)
  w.on('handshake', () => w.handshake(INFO_HASH, PEER_A, { fast: true }))
  src.pipe(w) // our output: nobody reads it
  src.write(handshakeBytes({ fast: true }))
  w.unchoke()
  src.write(ext(0, 'd1:md7:ut_testi7eee'))
  w.on('request', (index, offset, length, respond) => respond(null, Buffer.alloc(length)))
  src.write(Buffer.concat(Array.from({ length: 5 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  src.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => ext(1, 'm' + i))))
  await settle()
  const closed = once(w, 'close', { signal: AbortSignal.timeout(2000) })
  src.end() // the peer's FIN: pipe calls w.end(), which waits for the held write
  await settle()
  src.destroy() // then the connection goes
  await closed
  assert.equal(w.destroyed, true)
})

/**
 * A net.Socket (16 KiB mark, as a connected one) whose writes go to `write(sizes, cb)`: the chunk
 * sizes of each _write / _writev call, and the callback that says it was written.
 */
function socketLike (write) {
  class SocketLike extends net.Socket {
    _write (chunk, enc, cb) { write([chunk.length], cb) }
    _writev (chunks, cb) { write(chunks.map(c => c.chunk.length), cb) }
  }
  return new SocketLike()
}

test('a socket-like destination that drained gets each piece header with its block in one writev, not in two writes', async () => {
  const { PassThrough } = await import('node:stream')
  const calls = [] // the chunk sizes of each _write / _writev call
  const dest = socketLike((sizes, cb) => { calls.push(sizes); setImmediate(cb) })
  const src = new PassThrough()
  const w = new Wire()
  w.on('handshake', () => { w.handshake(INFO_HASH, PEER_A); w.unchoke() })
  w.on('request', (index, offset, length, respond) => respond(null, Buffer.alloc(length)))
  src.pipe(w).pipe(dest)
  src.write(handshakeBytes())
  src.write(Buffer.concat(Array.from({ length: 32 }, (_, i) => msg(ID.request, i, 0, 16 * KiB))))
  const blocks = () => calls.flat().filter(n => n === 16 * KiB).length
  for (let i = 0; i < 200 && blocks() < 32; i++) await new Promise(resolve => setImmediate(resolve))
  assert.equal(blocks(), 32, 'every block was written')
  const alone = calls.filter(c => c.length === 1 && c[0] === 16 * KiB).length
  assert.equal(alone, 0, `blocks written alone, their header in a write before: ${alone} of 32`)
  w.destroy()
})

test('a socket-like destination holds our output up to the send watermark: many blocks per writev, and the watermark still bounds what it and the wire hold', async () => {
  const { PassThrough } = await import('node:stream')
  const calls = []
  const held = [] // callbacks of a destination that stops writing
  let stuck = false
  const dest = socketLike((sizes, cb) => { calls.push(sizes); stuck ? held.push(cb) : setImmediate(cb) })
  const src = new PassThrough()
  const w = new Wire({ sendWatermark: 256 * KiB })
  let asked = 0
  w.on('handshake', () => { w.handshake(INFO_HASH, PEER_A); w.unchoke() })
  w.on('request', (index, offset, length, respond) => { asked++; respond(null, Buffer.alloc(length)) })
  src.pipe(w).pipe(dest)
  src.write(handshakeBytes())
  const requests = (from, n) => Buffer.concat(Array.from({ length: n }, (_, i) => msg(ID.request, from + i, 0, 16 * KiB)))
  src.write(requests(0, 64))
  const blocks = () => calls.flat().filter(n => n === 16 * KiB).length
  for (let i = 0; i < 200 && blocks() < 64; i++) await new Promise(resolve => setImmediate(resolve))
  assert.equal(blocks(), 64)
  const most = Math.max(...calls.map(c => c.filter(n => n === 16 * KiB).length))
  assert.ok(most >= 8, `at most ${most} blocks in one write to the destination`)
  // now the destination stops writing: what it and the wire hold stays under the watermark
  stuck = true
  src.write(requests(64, 64))
  await settle()
  const bound = 256 * KiB + 16 * KiB + 64
  assert.ok(w.outputBacklog <= bound, `outputBacklog ${w.outputBacklog}`)
  assert.ok(w.outputBacklog >= dest.writableLength, 'what the destination holds is counted')
  assert.ok(asked < 128, `${asked} requests handed out while the destination holds the watermark`)
  // it writes again: the waiting requests come
  stuck = false
  for (let i = 0; i < 400 && asked < 128; i++) {
    while (held.length > 0) held.shift()()
    await new Promise(resolve => setImmediate(resolve))
  }
  assert.equal(asked, 128, 'every request was handed out once the destination drained')
  w.destroy()
})
