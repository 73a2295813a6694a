// The bt-wire CLI against libtorrent (python3-libtorrent 2.0) on 127.0.0.1: fetch by info hash only
// (metadata over ut_metadata), libtorrent downloading from `bt-wire seed`, probe reporting libtorrent;
// a fetch interrupted with Ctrl-C and resumed from a rate-limited libtorrent, progress lines off a
// terminal, a libtorrent with none of the data (exit 4), a hybrid (v1 + v2) magnet link.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile, readFile, readdir, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { runCli, spawnCli, startSeed, until } from '../../packages/bt-wire/test/cli-lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))

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

test('bt-wire fetch from a rate-limited libtorrent: progress lines while it works, Ctrl-C (exit 130), then the next run fetches only the rest', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'resume.bin', length: 6 * MiB + 777, pieceLength: 128 * KiB })
  // libtorrent's upload_rate_limit for loopback peers: about 3 s for the whole file
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', uploadLimit: 2 * MiB })
  await lt.proc.waitEvent('seeding', 20000)
  const out = join(dir, 'out')
  const args = ['fetch', fx.meta.infoHash, '--peer', `127.0.0.1:${lt.port}`, '-o', out]
  const first = spawnCli(t, [...args, '--progress-interval', '0.3'])
  // stderr is a pipe here, not a terminal: plain progress lines, each with a speed and an ETA
  const progressLine = /^fetch: (\d+)% [\d.]+ (B|KiB|MiB) of 6(\.\d+)? MiB, (\d+)\/49 pieces, [\d.]+ (B|KiB|MiB)\/s, ETA (\d+ s|\d+ min \d+ s|\?)$/gm
  const percents = () => [...first.stderr().matchAll(progressLine)].map(m => Number(m[1]))
  await until(() => percents().some(p => p >= 20), 30000, 'a progress line at 20 % or more')
    .catch(err => { throw new Error(`${err.message}; stderr: ${JSON.stringify(first.stderr())}`) })
  assert.ok(percents().length >= 2, `progress lines while it works: ${JSON.stringify(first.stderr())}`)
  first.child.kill('SIGINT')
  const ended = await first.exited
  assert.equal(ended.code, 130, first.stderr())
  const said = first.stderr().match(/^bt-wire: interrupted with (\d+)\/49 pieces verified \(the verified pieces stay in the \.part files/m)
  assert.ok(said, first.stderr())
  const partial = await readdir(out, { recursive: true })
  assert.ok(partial.includes('resume.bin.part') && !partial.includes('resume.bin'), `after Ctrl-C only the partial file: ${partial}`)
  const lastPct = Math.max(...percents())
  assert.ok(lastPct < 100, `interrupted mid-way (last line ${lastPct} %)`)

  const second = await runCli([...args, '--json'])
  assert.equal(second.code, 0, second.stderr)
  const { bytesFetched, bytes, piecesOnDisk, piecesVerified, pieces } = second.json
  assert.ok(piecesOnDisk > 0, 'pieces of the first run were found on disk')
  // what Ctrl-C said was verified is on disk (a write under way then may have added more)
  assert.ok(Number(said[1]) <= piecesOnDisk, `said ${said[1]} verified, found ${piecesOnDisk} on disk`)
  assert.equal(piecesOnDisk + piecesVerified, pieces)
  assert.ok(bytesFetched < bytes, `the second run fetched ${bytesFetched} of ${bytes} bytes`)
  await checkOnDisk(out, fx, 0)
  assert.deepEqual(await readdir(out), ['resume.bin'], 'the partial file got its final name')
  t.diagnostic(`first run stopped at ${lastPct} %; second run: ${piecesOnDisk}/${pieces} pieces on disk, fetched ${bytesFetched} of ${bytes} bytes`)
})

test('bt-wire fetch from a libtorrent that has none of the data: exit 4 within 10 s, by .torrent and by info hash', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'nothing.bin', length: 2 * MiB, pieceLength: 64 * KiB })
  const empty = join(dir, 'empty')
  await mkdir(empty)
  // libtorrent "downloading" into an empty folder: it has the torrent and none of the pieces
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: empty, mode: 'download' })
  for (const target of [fx.torrentPath, fx.meta.infoHash]) {
    const started = Date.now()
    const r = await runCli(['fetch', target, '--peer', `127.0.0.1:${lt.port}`, '-o', join(dir, 'out'), '--json'])
    const ms = Date.now() - started
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.json.code, 'PEER_HAS_NONE')
    assert.equal(r.json.exitCode, 4)
    assert.match(r.json.error, /^the peer has none of the pieces \((it sent have-none|its bitfield is empty)\): it cannot serve this torrent$/)
    assert.ok(ms < 10000, `ended after ${ms} ms`)
  }
})

test('bt-wire fetch of a hybrid (v1 + v2) torrent from libtorrent by a magnet link with both hashes; a v2-only magnet is refused (exit 2)', async (t) => {
  const dir = await makeTmp(t)
  const seedDir = join(dir, 'seed')
  await mkdir(seedDir)
  const torrentPath = join(dir, 'hybrid.torrent')
  const r = spawnSync('/usr/bin/python3', [join(here, 'lib', 'lt_make_v2.py'), '--dir', seedDir, '--name', 'data.bin', '--size', String(MiB + 4321),
    '--piece-length', String(64 * KiB), '--hybrid', '--out', torrentPath], { encoding: 'utf8', timeout: 60000 })
  assert.equal(r.status, 0, `lt_make_v2.py failed: ${r.stderr}`)
  const made = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.match(made.info_hash_v1, /^[0-9a-f]{40}$/)
  const lt = await startLibtorrent(t, { torrentPath, dir: seedDir, mode: 'seed' })
  await lt.proc.waitEvent('seeding', 20000)
  const btmh = `urn:btmh:1220${made.info_hash_v2}`
  const out = join(dir, 'out')
  const hybrid = await runCli(['fetch', `magnet:?xt=${btmh}&xt=urn:btih:${made.info_hash_v1}&dn=data.bin&x.pe=127.0.0.1:${lt.port}`, '-o', out, '--json'])
  assert.equal(hybrid.code, 0, hybrid.stderr)
  assert.equal(hybrid.json.infoHash, made.info_hash_v1)
  assert.equal(hybrid.json.metadataFromPeer, true)
  assert.ok((await readFile(join(out, 'data.bin'))).equals(await readFile(join(seedDir, 'data.bin'))), 'the file is identical')

  const v2only = await runCli(['fetch', `magnet:?xt=${btmh}&x.pe=127.0.0.1:${lt.port}`, '-o', join(dir, 'v2'), '--json'])
  assert.equal(v2only.code, 2, v2only.stderr)
  assert.equal(v2only.json.code, 'V2_ONLY')
  assert.match(v2only.json.error, /v2-only torrents are not supported by fetch/)
  await assert.rejects(stat(join(dir, 'v2')), { code: 'ENOENT' }, 'nothing written')
})
