// Interop with libtorrent (python3-libtorrent 2.0): BEP 52 hash requests against a v2-only and a
// hybrid torrent that libtorrent created and seeds. Our wire handshakes with the v2 info hash
// truncated to 20 bytes, fetches a file's whole piece layer (and some leaf hashes) and checks every
// hash against the file's pieces root; an out-of-range request comes back as a hash reject.
// The other way: libtorrent downloads a v2 torrent from our wire by magnet, so it must ask us for the
// piece layer (the info dict does not hold it) and accept our hashes and uncles.
//
// This suite tests API that only our wire has (hashRequest, verifyHashes), so it always runs our
// build, whatever WIRE_IMPL says.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import bencode from 'bencode'
import utMetadata from 'ut_metadata'
import Wire, { verifyHashes, padHash, ErrorCodes } from '../../dist/esm/index.js'
import { makeTmp, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { requireLibtorrent } from './lib/procs.mjs'
import { dial, attach, within, peerId, seedServer } from './lib/peer.mjs'
import { merkleTree, answer, sha256 } from '../fixtures/merkle.mjs'

const here = dirname(fileURLToPath(import.meta.url))

/** libtorrent writes the data and the .torrent (lt_make_v2.py); we read the torrent back ourselves. */
async function makeV2 (dir, { size, pieceLength, hybrid }) {
  requireLibtorrent()
  const torrentPath = join(dir, 'v2.torrent')
  const args = [join(here, 'lib', 'lt_make_v2.py'), '--dir', dir, '--name', 'data.bin', '--size', String(size),
    '--piece-length', String(pieceLength), '--out', torrentPath]
  if (hybrid) args.push('--hybrid')
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, `lt_make_v2.py failed: ${r.stderr}`)
  const made = JSON.parse(r.stdout.trim().split('\n').pop())
  // the same facts from the .torrent, decoded here: file tree length and pieces root, piece layers
  const torrent = bencode.decode(await readFile(torrentPath))
  const file = torrent.info['file tree']['data.bin']['']
  const root = Buffer.from(file['pieces root'])
  const layer = Buffer.from(torrent['piece layers'][root.toString('latin1')] ?? torrent['piece layers'][root])
  assert.equal(torrent.info['meta version'], 2)
  assert.equal(file.length, size)
  assert.equal(root.toString('hex'), made.pieces_root)
  assert.equal(layer.toString('hex'), made.piece_layer)
  assert.equal(!!made.info_hash_v1, !!hybrid)
  return { torrentPath, made, root, length: size, pieceLength, pieceLayer: layer }
}

function ceilLog2 (n) { let k = 0; while (2 ** k < n) k++; return k }

function ask (wire, req) {
  return within(new Promise(resolve => wire.hashRequest(req, (err, m) => resolve({ err, m }))), 20000, 'hash request')
}

for (const hybrid of [false, true]) {
  const kind = hybrid ? 'hybrid' : 'v2-only'
  test(`libtorrent seeds a ${kind} torrent it made: piece layer and leaf hashes fetched with hash requests verify against the pieces root; out of range is a hash reject`, async (t) => {
    const dir = await makeTmp(t)
    const pieceLength = 64 * KiB
    const size = 5 * MiB + 12345 // 81 pieces, 321 blocks: a tree of 512 leaves, 9 layers; the piece layer (2) has 128 nodes
    const fx = await makeV2(dir, { size, pieceLength, hybrid })
    const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir, mode: 'seed' })
    assert.equal(lt.infoHashV2, fx.made.info_hash_v2)
    await lt.proc.waitEvent('seeding', 30000)

    const socket = await dial(lt.port)
    const wire = new Wire('tcpOutgoing')
    t.after(() => wire.destroy())
    const errors = []
    wire.on('error', err => errors.push(err))
    attach(socket, wire)
    const truncated = fx.made.info_hash_v2.slice(0, 40)
    const theirs = within(new Promise(resolve => wire.once('handshake', (...a) => resolve(a))), 20000, 'libtorrent handshake')
    wire.handshake(truncated, peerId('V2'), { fast: true, v2: true })
    const [infoHash, , exts] = await theirs
    assert.equal(infoHash, truncated, 'libtorrent answers with the truncated v2 info hash')
    t.diagnostic(`libtorrent reserved bytes ${wire.peerReserved.toString('hex')} (v2 bit ${exts.v2 ? 'set' : 'not set'})`)

    const blocks = Math.ceil(size / (16 * KiB))
    const height = ceilLog2(blocks)
    const pieceLayer = ceilLog2(pieceLength / (16 * KiB))
    const layerSize = 2 ** (height - pieceLayer)
    const numPieces = Math.ceil(size / pieceLength)
    const toRoot = base => height - base - 1
    const heard = { hashes: 0, rejects: [] }
    wire.on('hashes', () => heard.hashes++)
    wire.on('hash-reject', r => heard.rejects.push(r))

    // the piece layer in runs of 32 (each with its uncles), and whole
    const got = []
    for (const [index, length] of [[0, 32], [32, 32], [64, 32], [96, 32], [0, layerSize]]) {
      const req = { piecesRoot: fx.root, baseLayer: pieceLayer, index, length, proofLayers: toRoot(pieceLayer) }
      const { err, m } = await ask(wire, req)
      assert.equal(err, null, `piece layer ${index}+${length}: ${err?.message}`)
      assert.equal(m.hashes.length, length)
      assert.equal(m.uncles.length, Math.max(0, toRoot(pieceLayer) - ceilLog2(length) + 1))
      assert.equal(verifyHashes(fx.root, fx.length, m), true, `piece layer ${index}+${length} verifies against the pieces root`)
      if (length === 32) got.push(...m.hashes)
      else assert.ok(m.hashes.every((h, i) => h.equals(got[i])), 'the whole layer matches the runs')
    }
    // what we verified is the torrent's piece layer, then padding
    assert.ok(Buffer.concat(got.slice(0, numPieces)).equals(fx.pieceLayer), 'verified hashes equal the torrent\'s piece layers entry')
    assert.ok(got.slice(numPieces).every(h => h.equals(padHash(pieceLayer))), 'the rest of the layer is padding')

    // leaf hashes of piece 3, and of the last piece (its blocks run past the end of the file)
    for (const piece of [3, numPieces - 1]) {
      const per = pieceLength / (16 * KiB)
      const req = { piecesRoot: fx.root, baseLayer: 0, index: piece * per, length: per, proofLayers: toRoot(0) }
      const { err, m } = await ask(wire, req)
      assert.equal(err, null, `leaf hashes of piece ${piece}: ${err?.message}`)
      assert.equal(m.uncles.length, toRoot(0) - ceilLog2(per) + 1)
      assert.equal(verifyHashes(fx.root, fx.length, m), true, `leaf hashes of piece ${piece} verify`)
      const tampered = { ...m, hashes: [m.hashes[1], m.hashes[0], ...m.hashes.slice(2)] }
      assert.equal(verifyHashes(fx.root, fx.length, tampered), false)
    }

    // out of range: one run past the end of the piece layer
    const outOfRange = { piecesRoot: fx.root, baseLayer: pieceLayer, index: layerSize, length: 32, proofLayers: toRoot(pieceLayer) }
    const { err, m } = await ask(wire, outOfRange)
    assert.equal(m, undefined)
    assert.ok(err, 'an error for the out-of-range request')
    assert.equal(err.code, ErrorCodes.HASH_REJECTED)
    assert.equal(heard.rejects.length, 1)
    const r = heard.rejects[0]
    assert.deepEqual([r.piecesRoot.toString('hex'), r.baseLayer, r.index, r.length, r.proofLayers],
      [fx.root.toString('hex'), pieceLayer, layerSize, 32, toRoot(pieceLayer)], 'the reject echoes our request')
    assert.equal(heard.hashes, 7)
    assert.deepEqual(errors, [])
    assert.equal(wire.destroyed, false, 'the connection is still up')
    wire.destroy()
  })
}

test('libtorrent downloads a v2 torrent from our wire by magnet: it fetches the info dict, asks us for the piece layer with hash requests, accepts our hashes and completes', async (t) => {
  const dir = await makeTmp(t)
  // 16 KiB pieces, 577 of them: the piece layer is the leaf layer of 1024, more than the 512 hashes
  // libtorrent asks for at once, so its requests need uncle hashes (512 + 1, then 64 + 4)
  const pieceLength = 16 * KiB
  const size = 9 * MiB + 777
  const fx = await makeV2(dir, { size, pieceLength, hybrid: false })
  const payload = await readFile(join(dir, 'data.bin'))
  const tree = merkleTree(payload)
  assert.ok(tree.root.equals(fx.root), 'our tree has libtorrent\'s pieces root')
  const torrent = bencode.decode(await readFile(fx.torrentPath))
  const infoBuf = Buffer.from(bencode.encode(torrent.info))
  assert.equal(sha256(infoBuf).toString('hex'), fx.made.info_hash_v2, 'we serve the info dict that hashes to the v2 info hash')
  const truncated = fx.made.info_hash_v2.slice(0, 40)
  const numPieces = Math.ceil(size / pieceLength)
  // libtorrent 2.0 asks for a whole 16 KiB block at offset 0 of the 777-byte last piece (its v2
  // storage pads the file's tail), so we serve the file zero-padded to a whole number of pieces.
  const padded = Buffer.concat([payload, Buffer.alloc(numPieces * pieceLength - size)])
  const meta = { infoHash: truncated, pieceLength, length: padded.length, numPieces, lastPieceLength: pieceLength }

  const served = { hashRequests: [], answered: 0, rejected: 0 }
  const { port, sessions } = await seedServer(t, { meta, payload: padded, fast: true }, s => {
    s.wire.use(utMetadata(infoBuf))
    s.wire.on('hash-request', (req, respond) => {
      served.hashRequests.push([req.baseLayer, req.index, req.length, req.proofLayers])
      const a = req.piecesRoot.equals(tree.root) ? answer(tree, req) : null
      if (a === null) { served.rejected++; return respond(new Error('not in our tree')) }
      served.answered++
      respond(null, [...a.hashes, ...a.uncles])
    })
  })
  const out = join(dir, 'download')
  const lt = await startLibtorrent(t, {
    magnet: `magnet:?xt=urn:btmh:1220${fx.made.info_hash_v2}&dn=data.bin`,
    dir: out,
    mode: 'download',
    connect: [`127.0.0.1:${port}`]
  })
  assert.equal(lt.infoHashV2, fx.made.info_hash_v2)
  await lt.proc.waitEvent('finished', 60000)
  const got = await readFile(join(out, 'data.bin'))
  assert.ok(got.equals(payload), 'libtorrent wrote the payload')
  t.diagnostic(`hash requests from libtorrent: ${JSON.stringify(served.hashRequests)}`)
  assert.ok(served.answered >= 1, 'libtorrent asked us for hashes')
  assert.ok(served.hashRequests.some(([base, index, length, proof]) => proof - Math.log2(length) + 1 > 0), 'at least one answer carried uncle hashes')
  assert.equal(served.rejected, 0)
  assert.deepEqual(sessions[0].stats.errors, [])
  assert.equal(lt.proc.events.filter(e => e.alert === 'hash_failed_alert').length, 0, 'no piece failed its hash check')
})
