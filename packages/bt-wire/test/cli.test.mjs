// The bt-wire CLI end to end on 127.0.0.1, against our own wires only: demo, seed, probe, fetch,
// bad arguments and the documented exit codes. (Against libtorrent: test/interop/cli.test.mjs.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { mkdtemp, mkdir, rm, writeFile, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, createHash } from 'node:crypto'
import bencode from 'bencode'
import { runCli, startSeed, oneLineError } from './cli-lib.mjs'

const MiB = 1024 * 1024

async function tmp (t) {
  const dir = await mkdtemp(join(tmpdir(), 'bt-wire-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A folder with nested files, an empty file and sizes that do not fill the last piece. */
async function makeFolder (dir) {
  const files = { 'a.bin': randomBytes(MiB + 12345), 'sub/b.bin': randomBytes(777), 'sub/deeper/c.bin': randomBytes(300 * 1024), 'empty.txt': Buffer.alloc(0) }
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(dir, 'folder', p, '..'), { recursive: true })
    await writeFile(join(dir, 'folder', p), data)
  }
  return files
}

async function assertSameFiles (files, root) {
  for (const [p, data] of Object.entries(files)) {
    const got = await readFile(join(root, p))
    assert.ok(got.equals(data), `${p} on disk equals the original (${got.length} vs ${data.length} bytes)`)
  }
}

/** A port nobody listens on (it was free a moment ago). */
async function closedPort () {
  const srv = net.createServer().listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address()
  srv.close()
  await once(srv, 'close')
  return port
}

test('demo moves the payload over 127.0.0.1 and verifies every piece (human output)', async () => {
  const r = await runCli(['demo', '--size', '4MiB', '--no-progress'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^bt-wire demo: 4 MiB in 16 pieces of 256 KiB, seeder and leecher over 127\.0\.0\.1:\d+ \(plaintext, fast extension off\)$/m)
  assert.match(r.stdout, /^moved 4 MiB in \d+\.\d\d s: [\d.]+ MiB\/s$/m)
  assert.match(r.stdout, /^16\/16 pieces SHA-1 verified, payload identical$/m)
  assert.equal(r.stderr, '')
})

test('demo --json with --fast, --encrypt, small pieces and a short last piece', async () => {
  const r = await runCli(['demo', '--size', '3MiB', '--piece', '64KiB', '--fast', '--encrypt', '--pipeline', '8', '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.bytes, 3 * MiB)
  assert.equal(r.json.pieces, 48)
  assert.equal(r.json.piecesVerified, 48)
  assert.equal(r.json.identical, true)
  assert.equal(r.json.fast, true)
  assert.equal(r.json.encryption, 'rc4')
  assert.ok(r.json.mbPerSec > 0)
  const odd = await runCli(['demo', '--size', '1000000', '--piece', '32KiB', '--json'])
  assert.equal(odd.code, 0, odd.stderr)
  assert.equal(odd.json.pieces, Math.ceil(1000000 / 32768))
  assert.equal(odd.json.piecesVerified, odd.json.pieces)
  assert.equal(odd.json.fast, false)
  assert.equal(odd.json.encryption, 'none')
})

test('seed a folder; probe it; fetch it by magnet (metadata over ut_metadata) and by .torrent with --encrypt', async (t) => {
  const dir = await tmp(t)
  const files = await makeFolder(dir)
  const torrentPath = join(dir, 'folder.torrent')
  const seed = await startSeed(t, [join(dir, 'folder'), '--piece', '32KiB', '--save-torrent', torrentPath])
  const { port, infoHash, magnet } = seed.listening
  assert.match(infoHash, /^[0-9a-f]{40}$/)
  assert.ok(magnet.startsWith(`magnet:?xt=urn:btih:${infoHash}`))
  assert.ok(magnet.includes(`x.pe=127.0.0.1:${port}`), 'the magnet link names the seed')
  const torrent = bencode.decode(await readFile(torrentPath))
  const infoBuf = bencode.encode(torrent.info)
  assert.equal(createHash('sha1').update(infoBuf).digest('hex'), infoHash, 'the saved .torrent has the info hash printed')
  assert.equal(torrent.info['piece length'], 32 * 1024)

  const probe = await runCli(['probe', `127.0.0.1:${port}`, infoHash, '--json'])
  assert.equal(probe.code, 0, probe.stderr)
  const p = probe.json
  assert.equal(p.infoHash, infoHash)
  assert.equal(p.peerIdText.slice(0, 8), '-BP6000-', 'Azureus-style: BP and the version (package.json 6.0.0)')
  assert.deepEqual(p.reservedBits.map(b => b.name).sort(), ['extended', 'fast'])
  assert.equal(p.reserved, '0000000000100004')
  assert.equal(p.extendedHandshake.m.ut_metadata, 1)
  assert.equal(p.extendedHandshake.metadata_size, infoBuf.length)
  assert.match(p.extendedHandshake.v, /^bt-wire /)
  assert.equal(p.pieces.source, 'have-all')
  assert.equal(p.unchoked, true)
  assert.equal(p.encryption, 'none')

  const human = await runCli(['probe', `127.0.0.1:${port}`, infoHash])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /^reserved {4}0000000000100004: extended \(extension protocol \(BEP 10\)\), fast \(fast extension \(BEP 6\)\)$/m)
  // the seed's wire tells its request cap (BEP 10 reqq): the wire's default maxPeerRequests
  assert.match(human.stdout, new RegExp(`^ {12}metadata_size=${infoBuf.length} reqq=500$`, 'm'))
  assert.match(human.stdout, /^pieces {6}all \(have-all\)$/m)
  assert.match(human.stdout, /^unchoke {5}yes/m)

  const out1 = join(dir, 'out1')
  const byMagnet = await runCli(['fetch', magnet, '-o', out1, '--json'])
  assert.equal(byMagnet.code, 0, byMagnet.stderr)
  assert.equal(byMagnet.json.metadataFromPeer, true)
  assert.equal(byMagnet.json.piecesVerified, byMagnet.json.pieces)
  assert.equal(byMagnet.json.hashFailures, 0)
  assert.equal(byMagnet.json.files.length, 4)
  await assertSameFiles(files, join(out1, 'folder'))

  const out2 = join(dir, 'out2')
  const byTorrent = await runCli(['fetch', torrentPath, '--peer', `127.0.0.1:${port}`, '-o', out2, '--encrypt', '--no-progress'])
  assert.equal(byTorrent.code, 0, byTorrent.stderr)
  assert.match(byTorrent.stdout, /^connected to 127\.0\.0\.1:\d+ \(MSE, rc4\)$/m)
  assert.match(byTorrent.stdout, /^fetched 1\.\d\d MiB in [\d.]+ s: [\d.]+ MiB\/s, (\d+)\/\1 pieces SHA-1 verified$/m)
  await assertSameFiles(files, join(out2, 'folder'))

  const { code, events } = await seed.stop()
  assert.equal(code, 0, 'seed ends cleanly on SIGTERM')
  const peers = events.filter(e => e.event === 'peer')
  assert.equal(peers.length, 4, 'two probes and two fetches')
  assert.deepEqual(peers.map(e => e.encryption).sort(), ['none', 'none', 'none', 'rc4'])
  const stopped = events.find(e => e.event === 'stopped')
  assert.equal(stopped.uploaded, 2 * Object.values(files).reduce((n, b) => n + b.length, 0), 'sent the whole torrent twice')
})

test('seed a single file; fetch by info hash with --peer', async (t) => {
  const dir = await tmp(t)
  const data = randomBytes(2 * MiB + 1)
  await writeFile(join(dir, 'single.bin'), data)
  const seed = await startSeed(t, [join(dir, 'single.bin')])
  const out = join(dir, 'out')
  const r = await runCli(['fetch', seed.listening.infoHash, '--peer', `127.0.0.1:${seed.listening.port}`, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.name, 'single.bin')
  assert.deepEqual(r.json.files, [join(out, 'single.bin')])
  assert.ok((await readFile(join(out, 'single.bin'))).equals(data))
})

test('seed an existing .torrent: its data is checked first; data that does not match is a one-line error, exit 1', async (t) => {
  const dir = await tmp(t)
  const files = await makeFolder(dir)
  const torrentPath = join(dir, 'folder.torrent')
  const first = await startSeed(t, [join(dir, 'folder'), '--save-torrent', torrentPath])
  await first.stop()

  const again = await startSeed(t, [torrentPath])
  assert.equal(again.listening.infoHash, first.listening.infoHash)
  const out = join(dir, 'out')
  const r = await runCli(['fetch', torrentPath, '--peer', `127.0.0.1:${again.listening.port}`, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  await assertSameFiles(files, join(out, 'folder'))
  await again.stop()

  // --data points elsewhere: the fetched copy checks out too
  const elsewhere = await startSeed(t, [torrentPath, '--data', out])
  assert.equal(elsewhere.listening.infoHash, first.listening.infoHash)
  await elsewhere.stop()

  const bad = Buffer.from(files['a.bin'])
  bad[5000] ^= 0xff
  await writeFile(join(dir, 'folder', 'a.bin'), bad)
  const broken = await runCli(['seed', torrentPath, '--host', '127.0.0.1', '--port', '0'])
  assert.equal(broken.code, 1)
  assert.ok(oneLineError(broken.stderr), broken.stderr)
  assert.match(broken.stderr, /does not match the torrent: piece 0 fails its SHA-1 check/)
})

test('--help and help <command> on every command; --version is listed; exit 130 and the units are documented', async () => {
  for (const cmd of ['demo', 'probe', 'fetch', 'seed']) {
    const r = await runCli([cmd, '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, new RegExp(`^Usage: bt-wire ${cmd} `))
    const h = await runCli(['help', cmd])
    assert.equal(h.code, 0, h.stderr)
    assert.equal(h.stdout, r.stdout, `bt-wire help ${cmd} prints the command's help`)
  }
  const r = await runCli(['--help'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /^Exit codes:$/m)
  assert.match(r.stdout, /^ {2}130 +interrupted \(Ctrl-C, SIGINT/m)
  assert.match(r.stdout, /^ {2}-v, --version /m)
  assert.match(r.stdout, /binary units: KiB = 1024 bytes, MiB = 1024 KiB, MiB\/s/)
  const fetchHelp = await runCli(['help', 'fetch'])
  assert.match(fetchHelp.stdout, /NAME\.part/)
  assert.match(fetchHelp.stdout, /--progress-interval/)
  const v = await runCli(['--version'])
  assert.equal(v.code, 0)
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/)
  const bad = await runCli(['help', 'frobnicate'])
  assert.equal(bad.code, 2)
  assert.ok(oneLineError(bad.stderr), bad.stderr)
})

test('bad arguments: a one-line error and exit code 2', async () => {
  const ih = 'ab'.repeat(20)
  const cases = [
    [],
    ['frobnicate'],
    ['demo', '--size', '12 parsecs'],
    ['demo', '--size', '0'],
    ['demo', '--size', '2GiB'],
    ['demo', '--piece', '1000', '--size', '1MiB'],
    ['demo', '--bogus'],
    ['demo', '--pipeline', '0'],
    ['demo', 'extra'],
    ['probe'],
    ['probe', '127.0.0.1', ih],
    ['probe', '127.0.0.1:99999', ih],
    ['probe', '127.0.0.1:6881', 'not-a-hash'],
    ['probe', '127.0.0.1:6881', ih, '--timeout', 'soon'],
    ['fetch', ih],
    ['fetch', ih, '--peer', 'nowhere'],
    ['fetch', 'magnet:?xt=urn:sha1:abc', '--peer', '127.0.0.1:6881'],
    ['seed'],
    ['seed', '/nonexistent/path/for/bt-wire'],
    ['seed', '.', '--port', 'http']
  ]
  const results = await Promise.all(cases.map(args => runCli(args)))
  cases.forEach((args, i) => {
    const r = results[i]
    assert.equal(r.code, 2, `bt-wire ${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`)
    if (args.length > 0) assert.ok(oneLineError(r.stderr), `bt-wire ${args.join(' ')}: ${JSON.stringify(r.stderr)}`)
  })
})

test('a refused connection: one-line error, exit code 3 (probe and fetch)', async () => {
  const port = await closedPort()
  const ih = 'cd'.repeat(20)
  for (const args of [['probe', `127.0.0.1:${port}`, ih], ['fetch', ih, '--peer', `127.0.0.1:${port}`, '--json']]) {
    const r = await runCli(args)
    assert.equal(r.code, 3, r.stderr)
    assert.ok(oneLineError(r.stderr), r.stderr)
    assert.match(r.stderr, new RegExp(`^bt-wire: cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED$`, 'm'))
  }
})

test('a peer that does not serve the torrent: exit code 4; one that refuses MSE: exit code 4', async (t) => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'x.bin'), randomBytes(100000))
  const seed = await startSeed(t, [join(dir, 'x.bin')])
  const other = 'ef'.repeat(20)
  const r = await runCli(['probe', `127.0.0.1:${seed.listening.port}`, other])
  assert.equal(r.code, 4, r.stderr)
  assert.ok(oneLineError(r.stderr), r.stderr)
  assert.match(r.stderr, /does not serve this torrent/)
  const f = await runCli(['fetch', other, '--peer', `127.0.0.1:${seed.listening.port}`])
  assert.equal(f.code, 4, f.stderr)

  // a plain BitTorrent peer that closes on anything else, with --encrypt
  const server = net.createServer(socket => { socket.once('data', () => socket.destroy()) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const e = await runCli(['probe', `127.0.0.1:${server.address().port}`, other, '--encrypt'])
  assert.equal(e.code, 4, e.stderr)
  assert.ok(oneLineError(e.stderr), e.stderr)
})

test('a peer that breaks the protocol: one-line error naming the code, exit code 5', async (t) => {
  const ih = Buffer.from('12'.repeat(20), 'hex')
  // a valid handshake, then a choke message 2 bytes long
  const reply = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), ih, Buffer.from('-XX0000-000000000000'), Buffer.from([0, 0, 0, 2, 0, 0])])
  const server = net.createServer(socket => { socket.on('error', () => {}); socket.once('data', () => socket.write(reply)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const r = await runCli(['probe', `127.0.0.1:${server.address().port}`, ih.toString('hex')])
  assert.equal(r.code, 5, r.stderr)
  assert.ok(oneLineError(r.stderr), r.stderr)
  assert.match(r.stderr, /ERR_BT_BAD_LENGTH/)
})

test('fetch: metadata from a hostile peer cannot place files outside -o or make us allocate a huge piece', async (t) => {
  const { default: Wire } = await import('bittorrent-protocol')
  const { default: utMetadata } = await import('ut_metadata')
  const dir = await tmp(t)
  const data = randomBytes(100)
  async function fakeSeed (info) {
    const server = net.createServer(socket => {
      const wire = new Wire('tcpIncoming')
      wire.on('error', () => {})
      wire.use(utMetadata(bencode.encode(info)))
      wire.on('handshake', ih => {
        wire.handshake(ih, Buffer.from('-XX0000-hostilehosti'))
        wire.bitfield(Buffer.from([0x80]))
      })
      wire.on('interested', () => wire.unchoke())
      wire.on('request', (i, o, l, respond) => respond(null, data.subarray(o, o + l)))
      socket.on('error', () => {})
      socket.pipe(wire).pipe(socket)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => server.close())
    const ih = createHash('sha1').update(bencode.encode(info)).digest('hex')
    return { ih, peer: `127.0.0.1:${server.address().port}` }
  }
  const pieces = createHash('sha1').update(data).digest()

  // a name or paths that climb out of the torrent's own folder are refused before anything is written
  for (const info of [
    { name: Buffer.from('..'), 'piece length': 16384, pieces, files: [{ length: 100, path: [Buffer.from('..'), Buffer.from('..'), Buffer.from('evil.txt')] }] },
    { name: Buffer.from('a'), 'piece length': 16384, pieces, files: [{ length: 100, path: [Buffer.from('..'), Buffer.from('evil.txt')] }] },
    { name: Buffer.from('a/../..'), 'piece length': 16384, pieces, files: [{ length: 100, path: [Buffer.from('evil.txt')] }] }
  ]) {
    const escape = await fakeSeed(info)
    const out = join(dir, 'a', 'b', 'out')
    const r = await runCli(['fetch', escape.ih, '--peer', escape.peer, '-o', out])
    assert.equal(r.code, 1, `${info.name}: ${r.stderr}`)
    assert.ok(oneLineError(r.stderr), r.stderr)
    assert.match(r.stderr, /outside (the output directory|its own folder)/)
  }
  const entries = await readdir(dir, { recursive: true })
  assert.deepEqual(entries.filter(e => e.endsWith('evil.txt')), [])

  // a file that exists is never opened for writing: fetching again leaves it as it is
  const ok = await fakeSeed({ name: Buffer.from('ok.bin'), 'piece length': 16384, pieces, length: 100 })
  const out = join(dir, 'ok')
  const r = await runCli(['fetch', ok.ih, '--peer', ok.peer, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(r.json.files, [join(out, 'ok.bin')])
  assert.ok((await readFile(join(out, 'ok.bin'))).equals(data))
  await writeFile(join(out, 'ok.bin'), 'precious')
  const again = await runCli(['fetch', ok.ih, '--peer', ok.peer, '-o', out])
  assert.equal(again.code, 1, again.stderr)
  assert.ok(oneLineError(again.stderr), again.stderr)
  assert.match(again.stderr, /ok\.bin already exists and is not this torrent's file \(8 bytes, the torrent says 100\): fetch does not overwrite files/)
  assert.equal(await readFile(join(out, 'ok.bin'), 'utf8'), 'precious')

  const huge = await fakeSeed({ name: Buffer.from('huge.bin'), 'piece length': 2 ** 31, pieces, length: 100 })
  const h = await runCli(['fetch', huge.ih, '--peer', huge.peer, '-o', join(dir, 'huge')])
  assert.equal(h.code, 1, h.stderr)
  assert.ok(oneLineError(h.stderr), h.stderr)
  assert.match(h.stderr, /piece length \(2147483648 bytes\) is over the 64 MiB/)
})

test('probe reports a partial bitfield with haves, the allowed-fast set, extended handshake fields and a peer that keeps us choked', async (t) => {
  const { default: Wire } = await import('bittorrent-protocol')
  const ih = '34'.repeat(20)
  let sawInterested = false
  const server = net.createServer(socket => {
    const wire = new Wire('tcpIncoming')
    wire.on('error', () => {})
    wire.on('handshake', () => {
      wire.extendedHandshake.reqq = 77
      wire.extendedHandshake.upload_only = 0
      wire.extendedHandshake.yourip = Buffer.from([127, 0, 0, 1])
      wire.extendedHandshake.v = 'FakePeer 9.9'
      wire.handshake(ih, Buffer.from('-TR3000-fakefakefake'), { fast: true })
      wire.bitfield(Buffer.from([0b10100000, 0b01000000])) // pieces 0, 2, 9 of a 16-bit field
      wire.have(7)
      wire.have(2) // already in the bitfield: the wire emits no event for it
      wire.allowedFast(5)
      wire.allowedFast(2)
      wire.suggest(1)
    })
    wire.on('interested', () => { sawInterested = true }) // and never unchoke
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const r = await runCli(['probe', `127.0.0.1:${server.address().port}`, ih, '--wait', '0.5', '--json'])
  assert.equal(r.code, 0, r.stderr)
  const p = r.json
  assert.equal(sawInterested, true, 'probe said interested')
  assert.equal(p.client, 'Transmission')
  assert.equal(p.clientVersion, '3.00')
  assert.deepEqual(p.pieces, { source: 'bitfield', have: 4, bitfieldBits: 16, haveMessages: 1, total: null })
  assert.deepEqual(p.allowedFast, [2, 5])
  assert.deepEqual(p.suggested, [1])
  assert.equal(p.extendedHandshake.reqq, 77)
  assert.equal(p.extendedHandshake.upload_only, 0)
  assert.equal(p.extendedHandshake.yourip, '127.0.0.1')
  assert.equal(p.extendedHandshake.v, 'FakePeer 9.9')
  assert.equal(p.unchoked, false)
  assert.equal(p.unchokeMs, null)
  const human = await runCli(['probe', `127.0.0.1:${server.address().port}`, ih, '--wait', '0.5'])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /^peer id {5}-TR3000-fakefakefake {2}\(Transmission 3\.00\)$/m)
  assert.match(human.stdout, /^pieces {6}4 \(bitfield of 16 bits, 1 have\)$/m)
  assert.match(human.stdout, /^allowed fast 2 5$/m)
  assert.match(human.stdout, /^ {12}reqq=77 yourip=127\.0\.0\.1 upload_only=0$/m)
  assert.match(human.stdout, /^unchoke {5}no, still choked after interested$/m)
})

test('fetch: a peer without ut_metadata (exit 4) and a peer that never unchokes (--stall, exit 1)', async (t) => {
  const { default: Wire } = await import('bittorrent-protocol')
  const dir = await tmp(t)
  const data = randomBytes(40000)
  const info = { name: Buffer.from('x.bin'), 'piece length': 32768, length: data.length, pieces: Buffer.concat([createHash('sha1').update(data.subarray(0, 32768)).digest(), createHash('sha1').update(data.subarray(32768)).digest()]) }
  const ih = createHash('sha1').update(bencode.encode(info)).digest('hex')
  const torrentPath = join(dir, 'x.torrent')
  await writeFile(torrentPath, bencode.encode({ info }))
  const server = net.createServer(socket => {
    const wire = new Wire('tcpIncoming')
    wire.on('error', () => {})
    wire.on('handshake', () => { wire.handshake(ih, Buffer.from('-XX0000-stingystingy')); wire.bitfield(Buffer.from([0xc0])) })
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const peer = `127.0.0.1:${server.address().port}`

  const noMeta = await runCli(['fetch', ih, '--peer', peer, '-o', join(dir, 'a')])
  assert.equal(noMeta.code, 4, noMeta.stderr)
  assert.ok(oneLineError(noMeta.stderr), noMeta.stderr)
  assert.match(noMeta.stderr, /does not offer ut_metadata/)

  const stalled = await runCli(['fetch', torrentPath, '--peer', peer, '-o', join(dir, 'b'), '--stall', '1'])
  assert.equal(stalled.code, 1, stalled.stderr)
  assert.ok(oneLineError(stalled.stderr), stalled.stderr)
  assert.match(stalled.stderr, /no data for 1 s with 2 pieces left: the peer keeps choking us/)
})

test('seed closes peers that do not finish their handshake in time, or go silent after it', async (t) => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'file.bin'), randomBytes(40000))
  const seed = await startSeed(t, [join(dir, 'file.bin'), '--timeout', '0.5'])
  const { port } = seed.listening
  const ih = Buffer.from(seed.listening.infoHash, 'hex')
  const handshake = Buffer.concat([Buffer.from('\x13BitTorrent protocol'), Buffer.alloc(8), ih, Buffer.from('-XX0000-silentsilent')])
  async function connectAndSend (bytes) {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(bytes)
    const received = []
    socket.on('data', d => received.push(d))
    const closed = once(socket, 'close')
    return { socket, closed, received }
  }
  function within (promise, ms, what) {
    let timer
    return Promise.race([promise, new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} still open after ${ms} ms`)), ms) })]).finally(() => clearTimeout(timer))
  }
  // half a handshake, then nothing: closed at the handshake deadline
  const partial = await connectAndSend(handshake.subarray(0, 28))
  t.after(() => partial.socket.destroy())
  await within(partial.closed, 20000, 'a half-handshaken connection')
  // a whole handshake, then silence: answered, then closed when idle for 5 x 0.5 s
  const silent = await connectAndSend(handshake)
  t.after(() => silent.socket.destroy())
  await within(silent.closed, 20000, 'a silent handshaken connection')
  const got = Buffer.concat(silent.received)
  assert.ok(got.length >= 68, 'the seed answered the handshake before closing')
  assert.ok(got.subarray(28, 48).equals(ih))
  // the seed still serves: a real fetch works after those two
  const r = await runCli(['fetch', seed.listening.magnet, '-o', join(dir, 'out'), '--json'])
  assert.equal(r.code, 0, r.stderr)
})
