// Interop with libtorrent (python3-libtorrent 2.0): downloads, seeding, magnet-style metadata fetch.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import ut_metadata from 'ut_metadata'
import bencode from 'bencode'
import Wire, { IMPL } from './lib/impl.mjs'
import { makeTmp, makeFixture, checkOnDisk, sha1, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { download, seedServer, dial, attach, within, peerId, uploadRate } from './lib/peer.mjs'

const T = 60000

function report (t, what, r) {
  const line = `[${IMPL}] ${what}: ${(r.bytes / MiB).toFixed(2)} MiB in ${r.ms} ms = ${r.mbps} MB/s`
  t.diagnostic(line)
}

test('libtorrent seeds, our wire downloads with the fast extension (have-all), single file, 256 KiB pieces', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'single-256k.bin', length: 16 * MiB + 5 * KiB, pieceLength: 256 * KiB })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  assert.equal(lt.infoHash, fx.meta.infoHash)
  await lt.proc.waitEvent('seeding', 20000)
  const r = await download({ meta: fx.meta, port: lt.port, fast: true, timeoutMs: T })
  assert.ok(r.data.equals(fx.payload), 'downloaded bytes equal the payload')
  assert.equal(r.stats.peerExtensions.fast, true, 'libtorrent advertises fast')
  assert.equal(r.wire.hasFast, true)
  assert.equal(r.stats.haveAll, true, 'libtorrent sent have-all')
  assert.equal(r.stats.piecesVerified, fx.meta.numPieces)
  assert.deepEqual(r.stats.errors, [])
  r.wire.destroy()
  report(t, 'libtorrent→us fast, 256 KiB pieces', r)
})

test('libtorrent seeds, our wire downloads without the fast bit (bitfield), multi-file, 16 KiB pieces', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, {
    name: 'multi-16k',
    pieceLength: 16 * KiB,
    files: [{ path: 'a.bin', length: 3 * MiB + 100 }, { path: 'sub/b.bin', length: 5 * MiB - 7 }, { path: 'sub/c.bin', length: 777 }]
  })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  await lt.proc.waitEvent('seeding', 20000)
  const r = await download({ meta: fx.meta, port: lt.port, fast: false, timeoutMs: T })
  assert.ok(r.data.equals(fx.payload), 'downloaded bytes equal the payload')
  assert.equal(r.wire.hasFast, false, 'fast is not negotiated when we leave the bit off')
  assert.equal(r.stats.haveAll, false)
  assert.equal(r.stats.bitfield, true, 'libtorrent sent a bitfield')
  assert.deepEqual(r.stats.errors, [])
  r.wire.destroy()
  report(t, 'libtorrent→us no fast, 16 KiB pieces, multi-file', r)
})

test('libtorrent seeds a mktorrent-made multi-file torrent with 1 MiB pieces and a short last piece', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, {
    name: 'multi-1m',
    tool: 'mktorrent',
    pieceLength: MiB,
    files: [{ path: 'x.bin', length: 6 * MiB + 12345 }, { path: 'y.bin', length: 5 * MiB + 1 }]
  })
  assert.ok(fx.meta.lastPieceLength < fx.meta.pieceLength, 'short last piece')
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  assert.equal(lt.infoHash, fx.meta.infoHash)
  await lt.proc.waitEvent('seeding', 20000)
  const r = await download({ meta: fx.meta, port: lt.port, fast: true, pipeline: 64, timeoutMs: T })
  assert.ok(r.data.equals(fx.payload))
  r.wire.destroy()
  report(t, 'libtorrent→us fast, 1 MiB pieces, short last piece', r)
})

test('magnet-style: our wire fetches the info dictionary from libtorrent with ut_metadata', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'meta.bin', length: 20 * MiB + 3, pieceLength: 16 * KiB }) // 1281 pieces: a ~25 KiB info dict, two ut_metadata blocks
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  await lt.proc.waitEvent('seeding', 20000)
  const wire = new Wire('tcpOutgoing')
  t.after(() => wire.destroy())
  wire.use(ut_metadata())
  const got = new Promise((resolve, reject) => {
    wire.ut_metadata.on('metadata', resolve)
    wire.ut_metadata.on('warning', err => reject(new Error('ut_metadata warning: ' + err.message)))
    wire.on('close', () => reject(new Error('wire closed before metadata arrived')))
  })
  let extHandshake
  wire.on('extended', (ext, obj) => { if (ext === 'handshake') extHandshake = obj })
  wire.once('handshake', () => {})
  const socket = await dial(lt.port)
  attach(socket, wire)
  wire.handshake(fx.meta.infoHash, peerId(), { dht: false, fast: true })
  wire.ut_metadata.fetch()
  const t0 = Date.now()
  const buf = await within(got, T, 'ut_metadata fetch')
  const ms = Date.now() - t0
  const torrent = bencode.decode(buf)
  const infoBuf = bencode.encode(torrent.info)
  assert.equal(sha1(infoBuf).toString('hex'), fx.meta.infoHash, 'sha1(info) equals the info hash')
  assert.ok(infoBuf.equals(fx.meta.infoBuf), 'info dictionary is byte-identical')
  assert.ok(extHandshake && extHandshake.m && extHandshake.m.ut_metadata, 'libtorrent advertised ut_metadata')
  assert.equal(extHandshake.metadata_size, fx.meta.infoBuf.length)
  assert.equal(wire.peerExtendedMapping.ut_metadata, extHandshake.m.ut_metadata)
  assert.ok(infoBuf.length > 16 * KiB, 'the metadata spans more than one ut_metadata block')
  const line = `[${IMPL}] metadata fetch: ${infoBuf.length} bytes in ${ms} ms`
  t.diagnostic(line)
})

async function weSeedLibtorrentDownloads (t, { fast, name, pieceLength, length, files }) {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, files ? { name, pieceLength, files } : { name, pieceLength, length })
  const leech = join(dir, 'leech')
  await mkdir(leech)
  const srv = await seedServer(t, { meta: fx.meta, payload: fx.payload, fast })
  const t0 = Date.now()
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + srv.port] })
  const fin = await lt.proc.waitEvent('finished', T)
  const finishedAt = Date.now()
  const ms = finishedAt - t0
  await checkOnDisk(leech, fx)
  assert.equal(srv.sessions.length, 1, 'libtorrent connected to us once')
  const session = srv.sessions[0]
  assert.equal(session.wire.hasFast, fast)
  assert.equal(session.stats.invalidRequests, 0)
  assert.equal(fin.total_download, fx.meta.length, 'libtorrent downloaded every byte once')
  const s = session.stats.bytes
  assert.ok(s >= fx.meta.length, `we uploaded ${s} bytes`)
  return { fx, session, r: uploadRate(session, fx.meta.length, finishedAt), wallMs: ms }
}

test('our wire seeds (fast, have-all), libtorrent downloads via connect_peer, 1 MiB pieces with a short last piece', async (t) => {
  const { r } = await weSeedLibtorrentDownloads(t, { fast: true, name: 'up-1m.bin', pieceLength: MiB, length: 12 * MiB + 54321 })
  report(t, 'us→libtorrent fast, 1 MiB pieces', r)
})

test('our wire seeds without fast (bitfield), libtorrent downloads, multi-file 16 KiB pieces', async (t) => {
  const { r } = await weSeedLibtorrentDownloads(t, {
    fast: false,
    name: 'up-multi-16k',
    pieceLength: 16 * KiB,
    files: [{ path: 'one.bin', length: 4 * MiB }, { path: 'two/three.bin', length: 2 * MiB + 999 }]
  })
  report(t, 'us→libtorrent no fast, 16 KiB pieces', r)
})
