// The real extension plugins from npm, unchanged, between two of our wires over real TCP.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import bencode from 'bencode'
import utMetadata3 from 'ut_metadata'
import utPex3 from 'ut_pex'
import utMetadata5 from 'ut_metadata5'
import utPex5 from 'ut_pex5'
import ltDontHave1 from 'lt_donthave'
import ltDontHave2 from 'lt_donthave2'
import { tcpPair, event, PEER_A, PEER_B } from './helpers.mjs'

// a real info dictionary and its info hash
const info = {
  length: 3 * 65536,
  name: Buffer.from('payload.bin'),
  'piece length': 65536,
  pieces: crypto.randomBytes(3 * 20)
}
const infoBuffer = bencode.encode(info)
const infoHash = crypto.createHash('sha1').update(infoBuffer).digest('hex')
const torrent = bencode.encode({ info })

async function handshakeBoth (a, b) {
  b.once('handshake', () => b.handshake(infoHash, PEER_B))
  const ext = Promise.all([event(a, 'extended'), event(b, 'extended')])
  a.handshake(infoHash, PEER_A)
  await ext
}

for (const [label, plugin, metadataFor] of [
  ['ut_metadata 3.x (CommonJS, Buffer)', utMetadata3, buf => buf],
  ['ut_metadata 5.x (ESM, Uint8Array)', utMetadata5, buf => new Uint8Array(buf)]
]) {
  test(`${label}: fetch the info dictionary over TCP`, async (t) => {
    const { a, b, socket, serverSocket } = await tcpPair((wire, side) => {
      // b (incoming) has the metadata; a (outgoing) fetches it
      wire.use(side === 'b' ? plugin(metadataFor(torrent)) : plugin())
    })
    t.after(() => { socket.destroy(); serverSocket.destroy() })
    const gotMetadata = event(a.ut_metadata, 'metadata', 10000)
    a.ut_metadata.once('warning', err => assert.fail(`warning: ${err.message}`))
    await handshakeBoth(a, b)
    assert.ok(a.peerExtendedHandshake.m.ut_metadata > 0)
    assert.equal(a.peerExtendedHandshake.metadata_size, infoBuffer.length)
    a.ut_metadata.fetch()
    const [metadata] = await gotMetadata
    const decoded = bencode.decode(Buffer.from(metadata))
    const gotInfo = bencode.encode(decoded.info)
    assert.equal(crypto.createHash('sha1').update(gotInfo).digest('hex'), infoHash)
    assert.deepEqual(Buffer.from(gotInfo), infoBuffer)
  })
}

for (const [label, utPex] of [['ut_pex 3.x (CommonJS)', utPex3], ['ut_pex 5.x (ESM)', utPex5]]) {
  test(`${label}: peers added on one wire arrive as peer events on the other, over TCP`, async (t) => {
    const { a, b, socket, serverSocket } = await tcpPair(wire => wire.use(utPex()))
    t.after(() => { socket.destroy(); serverSocket.destroy(); a.ut_pex.stop(); b.ut_pex.stop() })
    await handshakeBoth(a, b)
    const peers = []
    b.ut_pex.on('peer', (peer, flags) => peers.push([peer, flags]))
    const dropped = []
    b.ut_pex.on('dropped', peer => dropped.push(peer))
    a.ut_pex.addPeer('127.0.0.2:6881', { prefersEncryption: true })
    a.ut_pex.addPeer('127.0.0.3:51413')
    const got = event(b, 'extended')
    a.ut_pex._sendMessage() // the plugin sends every 65 s; send the batch now
    const [name, payload] = await got
    assert.equal(name, 'ut_pex')
    assert.ok(Buffer.isBuffer(payload))
    assert.deepEqual(peers.map(p => p[0]).sort(), ['127.0.0.2:6881', '127.0.0.3:51413'])
    assert.equal(peers.find(p => p[0] === '127.0.0.2:6881')[1].prefersEncryption, true)
    // the plugin enforces its one-minute rate limit by destroying the wire: that must close cleanly
    const warned = event(b.ut_pex, 'warning')
    const closed = event(b, 'close')
    a.ut_pex.dropPeer('127.0.0.3:51413')
    a.ut_pex._sendMessage()
    assert.match((await warned)[0].message, /too frequently/)
    await closed
    assert.equal(b.destroyed, true)
    assert.deepEqual(dropped, [])
  })
}

// lt_donthave (1.x for WebTorrent 1, 2.x for WebTorrent 3) removes the requests for a piece from
// wire.requests itself and calls wire._callback(req, err, null). Once a block had arrived out of
// order, a later block for such a request used to reach its callback a second time (issue 14).
for (const [label, plugin] of [['lt_donthave 1.x (CommonJS)', ltDontHave1], ['lt_donthave 2.x (ESM)', ltDontHave2]]) {
  test(`${label}: a donthave fails that piece's pending requests once; blocks for them arriving later do not reach their callbacks again`, async (t) => {
    const { a, b, socket, serverSocket } = await tcpPair(wire => wire.use(plugin()))
    t.after(() => { socket.destroy(); serverSocket.destroy() })
    await handshakeBoth(a, b)
    const gotBitfield = event(a, 'bitfield')
    b.bitfield(Buffer.from([0xf0])) // pieces 0..3
    await gotBitfield
    const unchoked = event(a, 'unchoke')
    b.unchoke()
    await unchoked
    const responders = new Map()
    const allRequested = new Promise(resolve => b.on('request', (i, o, l, respond) => {
      responders.set(`${i}:${o}`, respond)
      if (responders.size === 5) resolve()
    }))
    const calls = {}
    const blocks = {}
    for (const [i, o] of [[0, 0], [1, 0], [1, 16384], [2, 0], [3, 0]]) {
      const key = `${i}:${o}`
      calls[key] = []
      blocks[key] = crypto.randomBytes(16384)
      a.request(i, o, 16384, (err, block) => calls[key].push(err ? 'err:' + err.message : Buffer.compare(block, blocks[key]) === 0 ? 'data' : 'wrong data'))
    }
    await allRequested
    const answer = async key => {
      const piece = event(a, 'piece')
      responders.get(key)(null, blocks[key])
      await piece
    }
    // out of order first: a then matches replies through its (piece, offset) index
    await answer('2:0')
    const donthave = event(a.lt_donthave, 'donthave')
    b.lt_donthave.donthave(1)
    assert.deepEqual(await donthave, [1])
    assert.deepEqual(calls['1:0'], ['err:peer sent donthave'])
    assert.deepEqual(calls['1:16384'], ['err:peer sent donthave'])
    assert.deepEqual(a.requests.map(r => `${r.piece}:${r.offset}`).sort(), ['0:0', '3:0'])
    // the seeder sends piece 1's blocks anyway, then the rest
    for (const key of ['1:16384', '1:0', '0:0', '3:0']) await answer(key)
    assert.deepEqual(calls, {
      '0:0': ['data'],
      '1:0': ['err:peer sent donthave'],
      '1:16384': ['err:peer sent donthave'],
      '2:0': ['data'],
      '3:0': ['data']
    })
    assert.equal(a.requests.length, 0)
    assert.equal(a.peerPieces.get(1), false)
  })
}
