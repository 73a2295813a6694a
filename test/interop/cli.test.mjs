// The bt-wire CLI against libtorrent (python3-libtorrent 2.0) on 127.0.0.1: fetch by info hash only
// (metadata over ut_metadata), libtorrent downloading from `bt-wire seed`, probe reporting libtorrent.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, writeFile, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { runCli, startSeed } from '../../packages/bt-wire/test/cli-lib.mjs'

test('bt-wire fetch from a libtorrent seed by info hash only: metadata over ut_metadata, multi-file on disk', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, {
    name: 'multi',
    pieceLength: 32 * KiB,
    files: [{ path: 'a.bin', length: 2 * MiB + 100 }, { path: 'sub/b.bin', length: 300 * KiB - 7 }, { path: 'sub/c.bin', length: 5 }]
  })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  await lt.proc.waitEvent('seeding', 20000)
  const out = join(dir, 'out')
  const r = await runCli(['fetch', fx.meta.infoHash, '--peer', `127.0.0.1:${lt.port}`, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.metadataFromPeer, true, 'the info dictionary came from libtorrent')
  assert.equal(r.json.name, 'multi')
  assert.equal(r.json.piecesVerified, fx.meta.numPieces)
  assert.equal(r.json.hashFailures, 0)
  await checkOnDisk(out, fx, 0)
  t.diagnostic(`libtorrent → bt-wire fetch: ${r.json.mbPerSec} MB/s`)
})

test('bt-wire fetch from libtorrent with a magnet link and --encrypt (MSE, RC4), single file', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'single.bin', length: 3 * MiB + 3, pieceLength: 256 * KiB })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', inEncPolicy: 'enabled', encLevel: 'both' })
  await lt.proc.waitEvent('seeding', 20000)
  const out = join(dir, 'out')
  const magnet = `magnet:?xt=urn:btih:${fx.meta.infoHash}&dn=single.bin&x.pe=127.0.0.1:${lt.port}`
  const r = await runCli(['fetch', magnet, '-o', out, '--encrypt', '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.encryption, 'rc4')
  assert.equal(r.json.piecesVerified, fx.meta.numPieces)
  await checkOnDisk(out, fx, 0)
})

test('libtorrent downloads a folder from bt-wire seed', async (t) => {
  const dir = await makeTmp(t)
  const files = { 'a.bin': randomBytes(MiB + 999), 'deep/er/b.bin': randomBytes(64 * KiB), 'c.txt': Buffer.from('hello\n') }
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(dir, 'share', p, '..'), { recursive: true })
    await writeFile(join(dir, 'share', p), data)
  }
  const torrentPath = join(dir, 'share.torrent')
  const seed = await startSeed(t, [join(dir, 'share'), '--piece', '64KiB', '--save-torrent', torrentPath])
  const dl = join(dir, 'dl')
  await mkdir(dl)
  const lt = await startLibtorrent(t, { torrentPath, dir: dl, mode: 'download', connect: [`127.0.0.1:${seed.listening.port}`] })
  assert.equal(lt.infoHash, seed.listening.infoHash)
  await lt.proc.waitEvent('finished', 60000)
  for (const [p, data] of Object.entries(files)) {
    assert.ok((await readFile(join(dl, 'share', p))).equals(data), `${p} downloaded by libtorrent equals the original`)
  }
  const { code, events } = await seed.stop()
  assert.equal(code, 0)
  const peer = events.find(e => e.event === 'peer')
  assert.match(peer.client, /libtorrent/, 'the seed names libtorrent from its peer id')
})

test('bt-wire probe against libtorrent reports its client name and extensions, plain and with MSE', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'probe.bin', length: 512 * KiB + 1, pieceLength: 64 * KiB })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed' })
  await lt.proc.waitEvent('seeding', 20000)
  const r = await runCli(['probe', `127.0.0.1:${lt.port}`, fx.meta.infoHash, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const p = r.json
  assert.equal(p.client, 'libtorrent (Rasterbar)')
  assert.match(p.peerIdText, /^-LT/)
  const bits = p.reservedBits.map(b => b.name)
  assert.ok(bits.includes('extended') && bits.includes('fast'), `reserved bits: ${bits}`)
  assert.match(p.extendedHandshake.v, /^lt-interop\//, 'v is libtorrent\'s user agent')
  assert.equal(typeof p.extendedHandshake.m.ut_metadata, 'number')
  assert.equal(p.extendedHandshake.metadata_size, fx.meta.infoBuf.length)
  assert.equal(p.extendedHandshake.yourip, '127.0.0.1')
  assert.ok(p.extendedHandshake.reqq > 0)
  assert.equal(p.pieces.source, 'have-all', 'libtorrent seeds with have-all under the fast extension')
  assert.equal(p.unchoked, true)

  // with a .torrent the piece total is known; the human report names the client
  const human = await runCli(['probe', `127.0.0.1:${lt.port}`, fx.torrentPath])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /^peer id {5}-LT\S+ {2}\(libtorrent \(Rasterbar\)\)$/m)
  assert.match(human.stdout, /^pieces {6}all of 9 \(have-all\)$/m)
  assert.match(human.stdout, /^ {12}m: .*ut_metadata=\d+/m)

  // and over MSE: libtorrent accepts RC4 by default
  const enc = await runCli(['probe', `127.0.0.1:${lt.port}`, fx.meta.infoHash, '--encrypt', '--json'])
  assert.equal(enc.code, 0, enc.stderr)
  assert.equal(enc.json.encryption, 'rc4')
  assert.equal(enc.json.client, 'libtorrent (Rasterbar)')
})
