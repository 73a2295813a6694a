// The malformed inputs of the hostile and fuzz tests, sent over real TCP (127.0.0.1) to a server
// in a child process that attaches no 'error' listener to its wires: the server closes each
// offending connection, keeps running, and accepts (and handshakes) the next connection.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import net from 'node:net'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import { ID, u32, msg, framed, ext, handshakeBytes, INFO_HASH, PEER_A, mulberry32 } from './fixtures/raw.mjs'

const SERVER = fileURLToPath(new URL('./fixtures/wire-server.mjs', import.meta.url))
const CORPUS_DIR = fileURLToPath(new URL('./testdata/fuzz/wire/', import.meta.url))

let child
let port
let stderr = ''
const closedOnServer = new Set()

before(async () => {
  // CRASH_BARE=1: no 'error' listener on the sockets either (clients here close cleanly, so no RST)
  child = spawn(process.execPath, [SERVER, ...(process.env.CRASH_BARE ? ['--bare'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.on('data', d => { stderr += d })
  const lines = createInterface({ input: child.stdout })
  port = await new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error(`server exited (${code}): ${stderr}`)))
    lines.on('line', line => {
      const m = JSON.parse(line)
      if (m.port) resolve(m.port)
      if (m.closed) closedOnServer.add(m.closed)
    })
  })
})

after(() => {
  if (child && child.exitCode === null) child.kill()
})

function assertServerAlive (label) {
  assert.equal(child.exitCode, null, `${label}: server exited: ${stderr}`)
  assert.equal(child.signalCode, null, `${label}: server killed: ${stderr}`)
  assert.doesNotMatch(stderr, /Error|Unhandled/, label)
}

/** Send `bytes` in chunks on a fresh connection; resolve with whether the server closed it within `ms`. */
async function send (bytes, { chunks = 1, ms = 3000 } = {}) {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {}) // the server may reset a connection it closes with unread data
  socket.resume()
  await once(socket, 'connect')
  let closed = false
  const closing = new Promise(resolve => socket.once('close', () => { closed = true; resolve() }))
  const size = Math.max(1, Math.ceil(bytes.length / chunks))
  for (let off = 0; off < bytes.length && !closed; off += size) {
    socket.write(bytes.subarray(off, off + size))
    if (chunks > 1) await new Promise(resolve => setTimeout(resolve, 1))
  }
  await Promise.race([closing, new Promise(resolve => setTimeout(resolve, ms))])
  const closedByServer = closed
  if (!closed) {
    socket.end() // a clean FIN: the server's wire ends and closes its side too
    await Promise.race([closing, new Promise(resolve => setTimeout(resolve, 1000))])
    if (!closed) socket.destroy()
  }
  return closedByServer
}

/** A well-behaved client: a full handshake with the server. */
async function handshakeWorks () {
  const socket = net.connect(port, '127.0.0.1')
  const w = new Wire('tcpOutgoing')
  socket.pipe(w).pipe(socket)
  const got = once(w, 'handshake', { signal: AbortSignal.timeout(3000) })
  w.handshake(INFO_HASH, PEER_A, { fast: true })
  const [infoHash] = await got
  assert.equal(infoHash, INFO_HASH)
  assert.equal(w.hasFast, true)
  const closed = once(socket, 'close', { signal: AbortSignal.timeout(3000) })
  w.destroy() // ends the socket cleanly (no protocol failure on our side)
  await once(w, 'close')
  socket.resume() // unpiped from the closed wire: read the server's FIN
  await closed
}

const corpus = readdirSync(CORPUS_DIR).sort().map(name => ({ name, bytes: readFileSync(CORPUS_DIR + name), fatal: !name.startsWith('ok.') }))
const hs = handshakeBytes()
const table = [
  ['garbage before the handshake', Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'latin1')],
  ['length prefix 2^32-1', Buffer.concat([hs, u32(0xffffffff), Buffer.alloc(32)])],
  ['oversize piece, 1 MiB of body', Buffer.concat([hs, framed(4 * 1024 * 1024 + 9, ID.piece), Buffer.alloc(1024 * 1024)])],
  ['choke with a body', Buffer.concat([hs, framed(2, ID.choke, Buffer.alloc(1))])],
  // one request of 0 bytes is refused, not fatal (issue 14); past 300 of them the wire closes
  ['301 requests of 0 bytes', Buffer.concat([hs, msg(ID.unchoke), ...Array.from({ length: 301 }, () => msg(ID.request, 0, 0, 0))])],
  ['have beyond maxPieces', Buffer.concat([hs, msg(ID.have, 0xffffffff)])],
  ['bitfield over the cap', Buffer.concat([hs, framed(0x40002, ID.bitfield), Buffer.alloc(0x40001, 0xff)])],
  ['second handshake', Buffer.concat([hs, msg(ID.interested), hs])],
  ['fast message without fast', Buffer.concat([handshakeBytes({ fast: false }), msg(ID.haveAll)])],
  ['extended message over the limit', Buffer.concat([hs, ext(0, Buffer.alloc(300000, 0x6c))])]
]

test('the server is up and handshakes', async () => {
  await handshakeWorks()
  assertServerAlive('start')
})

test('every malformed input closes its connection; the server survives and accepts the next one', async (t) => {
  const inputs = [...table.map(([name, bytes]) => ({ name, bytes, fatal: true })), ...corpus.filter(c => c.fatal)]
  for (const { name, bytes } of inputs) {
    for (const chunks of [1, 7]) {
      const closed = await send(bytes, { chunks })
      assert.ok(closed, `${name} (${chunks} chunks): the server closed the connection`)
      assertServerAlive(name)
    }
    await handshakeWorks()
  }
  t.diagnostic(`${inputs.length} malformed inputs x 2 chunkings; server pid ${child.pid} still running`)
})

test('benign corpus inputs keep the connection open', async () => {
  for (const { name, bytes } of corpus.filter(c => !c.fatal)) {
    const closed = await send(bytes, { ms: 150 })
    assert.equal(closed, false, `${name}: connection stays open`)
    assertServerAlive(name)
  }
  await handshakeWorks()
})

test('random and mutated bytes over TCP (seeded): the server never dies', async (t) => {
  const seed = 0x7c9
  t.diagnostic(`seed ${seed}`)
  const rand = mulberry32(seed)
  const valid = [msg(ID.unchoke), msg(ID.have, 3), msg(ID.request, 1, 0, 16384), ext(0, 'd1:md7:ut_testi1eee'), msg(ID.haveAll)]
  const pending = []
  for (let i = 0; i < 60; i++) {
    const parts = [hs]
    for (let k = 0; k < 6; k++) {
      const m = Buffer.from(valid[Math.floor(rand() * valid.length)])
      if (rand() < 0.4) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256)
      parts.push(m)
    }
    pending.push(send(Buffer.concat(parts), { chunks: 1 + Math.floor(rand() * 5), ms: 300 }))
  }
  const closed = (await Promise.all(pending)).filter(Boolean).length
  t.diagnostic(`${closed} of 60 mutated sessions were closed by the server`)
  assertServerAlive('random')
  await handshakeWorks()
  assertServerAlive('after random')
  assert.ok(closedOnServer.size > 0)
})
