// Runs inside the browser page (bundled by esbuild and by browserify in browser.test.mjs, by each
// bundler of the matrix in bundlers.test.mjs): two wires piped to each other go through handshake,
// extended handshake, bitfield, interested / unchoke, requests and pieces, the real ut_metadata
// plugin (when the page passes one) and BEP 52 hash messages. Everything observed goes back to the
// Node test, which makes the assertions.
'use strict'
const { Buffer } = require('buffer')

function once (emitter, name, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
    emitter.once(name, (...args) => { clearTimeout(timer); resolve(args) })
  })
}

module.exports = async function run (Wire, utMetadata, input) {
  const torrent = Buffer.from(input.torrent, 'base64')
  const content = Buffer.from(input.content, 'base64')
  const { infoHash, pieceLength, pieceCount } = input
  const out = { errors: [] }

  // a seeds (and has the metadata), b leeches: the way WebTorrent runs wires over WebRTC
  const a = new Wire('webrtc')
  const b = new Wire('webrtc')
  for (const [name, w] of [['a', a], ['b', b]]) w.on('error', err => out.errors.push(`${name}: ${err.code || ''} ${err.message}`))
  if (utMetadata) {
    a.use(utMetadata(torrent))
    b.use(utMetadata())
  }
  a.pipe(b).pipe(a)

  a.once('handshake', () => a.handshake(infoHash, input.peerA))
  const gotHandshake = once(b, 'handshake', 'handshake')
  const gotExtended = once(b, 'extended', 'extended handshake')
  const gotBitfield = once(b, 'bitfield', 'bitfield')
  b.handshake(infoHash, input.peerB)

  const [hsInfoHash, hsPeerId, hsExt] = await gotHandshake
  out.handshake = { infoHash: hsInfoHash, peerId: hsPeerId, extended: hsExt.extended }
  const [extName, extHandshake] = await gotExtended
  out.extended = {
    name: extName,
    ut_metadata: b.peerExtendedHandshake.m && b.peerExtendedHandshake.m.ut_metadata,
    metadataSize: extHandshake.metadata_size
  }

  // bitfield: a has every piece
  const have = Buffer.alloc(Math.ceil(pieceCount / 8))
  for (let i = 0; i < pieceCount; i++) have[i >> 3] |= 0x80 >> (i & 7)
  a.bitfield(have)
  await gotBitfield
  out.peerPieces = Array.from({ length: pieceCount }, (_, i) => b.peerPieces.get(i))

  // interested -> unchoke
  a.on('interested', () => a.unchoke())
  const gotUnchoke = once(b, 'unchoke', 'unchoke')
  b.interested()
  await gotUnchoke
  out.state = { aPeerInterested: a.peerInterested, bPeerChoking: b.peerChoking, bAmInterested: b.amInterested }

  // requests and pieces, served from `content`
  a.on('request', (index, offset, length, respond) => {
    const start = index * pieceLength + offset
    respond(null, content.subarray(start, start + length))
  })
  const blocks = await Promise.all(Array.from({ length: pieceCount }, (_, i) => {
    const length = Math.min(pieceLength, content.length - i * pieceLength)
    return new Promise((resolve, reject) => {
      b.request(i, 0, length, (err, block) => err ? reject(err) : resolve(block))
    })
  }))
  out.blocksAreBuffers = blocks.every(block => Buffer.isBuffer(block))
  out.received = Buffer.concat(blocks).toString('base64')
  out.stats = { downloaded: b.downloaded, uploaded: a.uploaded }

  // ut_metadata: b fetches the info dictionary from a (the plugin checks its SHA-1)
  if (utMetadata) {
    const gotMetadata = once(b.ut_metadata, 'metadata', 'ut_metadata metadata')
    b.ut_metadata.once('warning', err => out.errors.push(`ut_metadata warning: ${err.message}`))
    b.ut_metadata.fetch()
    const [metadata] = await gotMetadata
    out.metadata = Buffer.from(metadata).toString('base64')
  }

  // BEP 52 hash messages: b asks, a answers with two hashes and one uncle, then rejects a second request
  const root = Buffer.alloc(32, 9)
  a.on('hash-request', (req, respond) => {
    if (req.index === 0) respond(null, [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)])
    else respond(new Error('no'))
  })
  const ask = req => new Promise(resolve => b.hashRequest(req, (err, msg) => resolve({ err, msg })))
  const got = await ask({ piecesRoot: root, baseLayer: 0, index: 0, length: 2, proofLayers: 1 })
  const refused = await ask({ piecesRoot: root, baseLayer: 0, index: 2, length: 2, proofLayers: 1 })
  out.hashes = {
    err: got.err && got.err.message,
    hashes: got.msg.hashes.map(h => h[0]),
    uncles: got.msg.uncles.map(h => h[0]),
    buffers: got.msg.hashes.every(h => Buffer.isBuffer(h)),
    rejected: refused.err && refused.err.code
  }
  // the allowed-fast set needs SHA-1, which this build leaves out
  try { new Wire({ allowedFast: { ip: '10.0.0.1', pieces: 3 } }); out.allowedFast = 'constructed' } catch (err) { out.allowedFast = err.message }

  // MSE is left out of the browser build, and says so
  out.encrypt = await new Wire('webrtc').encrypt({ infoHash }).then(() => 'resolved', err => err.message)
  // 5.x's level: WebRTC wires ignore it (as WebTorrent 3 makes them), TCP ones cannot have it
  try { out.webrtcLevel = typeof new Wire('webrtc', 1).startEncryption } catch (err) { out.webrtcLevel = err.message }
  try { new Wire('tcpOutgoing', 2); out.tcpLevel = 'constructed' } catch (err) { out.tcpLevel = err.message }
  out.nativeRC4 = Wire.nativeRC4

  // hostile bytes are a coded error and a close, not a throw
  const hostile = new Wire('webrtc')
  const gotError = once(hostile, 'error', 'hostile error')
  const gotClose = once(hostile, 'close', 'hostile close')
  hostile.write(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n............................................'))
  const [hostileErr] = await gotError
  await gotClose
  out.hostile = { code: hostileErr.code, isWireError: hostileErr instanceof Wire.WireError }

  a.destroy()
  b.destroy()
  return out
}
