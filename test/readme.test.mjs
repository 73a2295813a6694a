// The README's usage examples (the user's own, with Buffer.from for new Buffer) run for real.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import crypto from 'node:crypto'
import { format } from 'node:util'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import bencode from 'bencode'
import utMetadata from 'ut_metadata'
import Wire from 'bittorrent-protocol'
import { event } from './helpers.mjs'

const require = createRequire(import.meta.url)
const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function exampleBody (file) {
  // the README shows each example without its last two lines (listen port / export for the test)
  const src = fs.readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8')
  return src.split('\n').filter(l => !l.startsWith('server.listen') && !l.startsWith('module.exports')).join('\n').trim()
}

async function start (file) {
  process.env.PORT = '0'
  const server = require(`../examples/${file}`)
  if (!server.listening) await once(server, 'listening')
  return server
}

test('README shows the examples verbatim', () => {
  for (const file of ['server.cjs', 'metadata.cjs']) {
    assert.ok(readme.includes(exampleBody(file)), `README contains examples/${file}`)
  }
})

test('example: the handshake server answers a handshake and reports unchoke', async (t) => {
  const server = await start('server.cjs')
  t.after(() => server.close())
  const socket = net.connect(server.address().port, '127.0.0.1')
  t.after(() => socket.destroy())
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  const hs = event(wire, 'handshake')
  wire.handshake(crypto.randomBytes(20), crypto.randomBytes(20))
  const [infoHash, peerId] = await hs
  assert.equal(infoHash, Buffer.from('my info hash........').toString('hex'))
  assert.equal(peerId, Buffer.from('my peer id..........').toString('hex'))
  const logs = []
  const log = console.log
  console.log = (...args) => logs.push(format(...args))
  t.after(() => { console.log = log })
  const ka = event(wire, 'keep-alive').catch(() => {})
  wire.unchoke()
  wire.keepAlive()
  await new Promise(resolve => setTimeout(resolve, 100))
  console.log = log
  void ka
  assert.deepEqual(logs, ['peer is no longer choking us: false'])
})

test('example: the ut_metadata server fetches metadata from a peer that has it', async (t) => {
  const server = await start('metadata.cjs')
  t.after(() => server.close())
  const info = { length: 1, name: Buffer.from('x'), 'piece length': 16384, pieces: crypto.randomBytes(20) }
  const torrent = bencode.encode({ info })
  const infoHash = crypto.createHash('sha1').update(bencode.encode(info)).digest()
  const socket = net.connect(server.address().port, '127.0.0.1')
  t.after(() => socket.destroy())
  const wire = new Wire()
  wire.use(utMetadata(torrent))
  socket.pipe(wire).pipe(socket)
  const logs = []
  const log = console.log
  const gotLog = new Promise(resolve => {
    console.log = (...args) => { logs.push(format(...args)); resolve() }
  })
  t.after(() => { console.log = log })
  wire.handshake(infoHash, crypto.randomBytes(20))
  await gotLog
  console.log = log
  assert.match(logs[0], /^got metadata of \d+ bytes$/)
})
