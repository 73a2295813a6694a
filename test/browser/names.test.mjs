// The browser build shortens the property names only our own code uses (scripts/build.mjs,
// scripts/browser-names.mjs). Here its Wire (dist/browser.cjs, run in Node) is held to the Node
// build's, which keeps every name: what a consumer or a plugin can reach has the same name in both.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const node = require('../../dist/index.cjs')
const browser = require('../../dist/browser.cjs')

// the Node build's names of the node-only exports (node:crypto)
const NODE_ONLY = ['allowedFastSet', 'DEFAULT_ALLOWED_FAST_K', 'verifyHashes', 'padHash', 'MERKLE_BLOCK_SIZE']
// what plugins and clients use of the Wire's `_` members (lt_donthave, WebTorrent), and the stream's hooks
const UNDERSCORE_API = ['_callback', '_debugId', '_read', '_write', '_destroy', '_readableState', '_writableState',
  // the per-message handlers and 5.0.9's MSE getters the originals' test suites use (README "Private members kept for compatibility")
  '_onKeepAlive', '_onHandshake', '_onChoke', '_onUnchoke', '_onInterested', '_onUninterested', '_onHave', '_onBitField', '_onRequest',
  '_onPiece', '_onCancel', '_onPort', '_onSuggest', '_onHaveAll', '_onHaveNone', '_onReject', '_onAllowedFast', '_onExtended', '_onTimeout',
  '_peState', '_encryptionMethod', '_cryptoHandshakeDone', '_peEnabled']

function names (obj) {
  const out = new Set()
  for (let o = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) out.add(key)
  }
  return out
}

const isPublic = name => !name.startsWith('_') || UNDERSCORE_API.includes(name)

test('browser build: the named exports and the values behind them keep their names', () => {
  // (the entries' module.exports is the Wire class with the named exports on it: its statics are among its keys)
  assert.deepEqual(Object.keys(node).filter(k => isPublic(k) && !NODE_ONLY.includes(k) && !(k in browser)), [])
  for (const table of ['ErrorCodes', 'MessageId', 'ReservedBits']) assert.deepEqual(browser[table], node[table], table)
  const missing = (ours, theirs) => [...names(ours)].filter(k => isPublic(k) && !(k in theirs))
  assert.deepEqual(missing(new node.Request(1, 2, 3, () => {}), new browser.Request(1, 2, 3, () => {})), [])
  assert.deepEqual(missing(new node.HaveAllBitField(), new browser.HaveAllBitField()), [])
  const err = new browser.WireError(browser.ErrorCodes.BAD_LENGTH, 'x')
  assert.equal(err.code, 'ERR_BT_BAD_LENGTH')
  assert.equal(typeof browser.Wire.nativeRC4, 'boolean')
})

test('browser build: a wire has every public member of the Node build\'s wire, before and after a session', async () => {
  const pair = Wire => {
    const a = new Wire('webrtc')
    const b = new Wire('webrtc')
    a.pipe(b).pipe(a)
    return [a, b]
  }
  const session = async Wire => {
    const [a, b] = pair(Wire)
    const before = names(a)
    a.on('request', (i, o, l, respond) => respond(null, Buffer.alloc(l)))
    const extended = new Promise(resolve => b.once('extended', resolve))
    b.once('handshake', () => b.handshake('11'.repeat(20), '22'.repeat(20), { fast: true }))
    a.handshake('11'.repeat(20), '33'.repeat(20), { fast: true })
    await extended
    const unchoked = new Promise(resolve => b.once('unchoke', resolve))
    a.haveAll()
    a.unchoke()
    b.interested()
    await unchoked
    await new Promise((resolve, reject) => b.request(0, 0, 16, err => err ? reject(err) : resolve()))
    const after = names(b)
    a.destroy()
    b.destroy()
    return new Set([...before, ...after].filter(isPublic))
  }
  const want = await session(node.Wire)
  const got = await session(browser.Wire)
  // readable-stream 3's wrap() is left out of the browser build on purpose (scripts/build.mjs)
  assert.deepEqual([...want].filter(n => !got.has(n)), ['wrap'])
  assert.deepEqual(Object.getOwnPropertyNames(node.Wire).filter(k => isPublic(k) && !NODE_ONLY.includes(k) && !(k in browser.Wire)), [])
})

test('browser build: options, plugin hooks, request fields and the extended handshake, against a Node build wire', async () => {
  const opts = { maxPieces: 7, maxPeerRequests: 9, maxMessageLength: 100000, maxInvalidRequests: 11 }
  const w = new browser.Wire(opts)
  assert.deepEqual({ maxPieces: w.maxPieces, maxPeerRequests: w.maxPeerRequests, maxMessageLength: w.maxMessageLength, maxInvalidRequests: w.maxInvalidRequests }, opts)
  w.destroy()

  const seen = []
  function Plugin (wire) { this.wire = wire }
  Plugin.prototype.name = 'x_test'
  Plugin.prototype.onHandshake = function () { seen.push('onHandshake') }
  Plugin.prototype.onExtendedHandshake = function (h) { seen.push('onExtendedHandshake', typeof h.m.x_test) }
  Plugin.prototype.onMessage = function (buf) { seen.push('onMessage', buf.toString()) }
  // the browser build's wire talks to the Node build's: what goes over the wire keeps its names
  const a = new browser.Wire('webrtc')
  const b = new node.Wire('webrtc')
  a.use(Plugin)
  b.use(Plugin)
  a.pipe(b).pipe(a)
  a.extendedHandshake.v = 'browser 1.0'
  b.extendedHandshake.v = 'node 1.0'
  const extended = Promise.all([a, b].map(w => new Promise(resolve => w.once('extended', resolve))))
  b.once('handshake', () => b.handshake('11'.repeat(20), '22'.repeat(20), { fast: true }))
  a.handshake('11'.repeat(20), '33'.repeat(20), { fast: true })
  await extended
  assert.equal(b.peerExtendedHandshake.v.toString(), 'browser 1.0')
  assert.equal(a.peerExtendedHandshake.v.toString(), 'node 1.0')
  assert.equal(typeof b.peerExtendedMapping.x_test, 'number')
  assert.equal(typeof a.peerExtendedMapping.x_test, 'number')
  assert.equal(a.hasFast, true)
  const message = new Promise(resolve => b.once('extended', resolve))
  a.extended('x_test', Buffer.from('hi'))
  await message
  assert.deepEqual(seen.filter(x => x !== 'onHandshake'), ['onExtendedHandshake', 'number', 'onExtendedHandshake', 'number', 'onMessage', 'hi'])
  assert.equal(seen.filter(x => x === 'onHandshake').length, 2)

  // BEP 52: the browser wire asks, the Node wire answers
  b.on('hash-request', (req, respond) => respond(null, [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)]))
  const reply = await new Promise((resolve, reject) => a.hashRequest({ piecesRoot: Buffer.alloc(32, 9), baseLayer: 0, index: 0, length: 2, proofLayers: 1 }, (err, msg) => err ? reject(err) : resolve(msg)))
  assert.deepEqual({ index: reply.index, length: reply.length, hashes: reply.hashes.map(h => h[0]), uncles: reply.uncles.map(h => h[0]) }, { index: 0, length: 2, hashes: [1, 2], uncles: [3] })

  // lt_donthave's way: a request taken out of wire.requests, then failed through _callback
  const unchoked = new Promise(resolve => a.once('unchoke', resolve))
  b.unchoke()
  await unchoked
  a.request(0, 0, 16, () => {})
  const [req] = a.requests
  assert.deepEqual({ piece: req.piece, offset: req.offset, length: req.length, callback: typeof req.callback }, { piece: 0, offset: 0, length: 16, callback: 'function' })
  let failed = 0
  req.callback = () => failed++
  a.requests.splice(0, 1)
  a._callback(req, new Error('dont have'), null)
  assert.equal(failed, 1)
  a.destroy()
  b.destroy()
})
