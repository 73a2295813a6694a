// bt-wire as a download tool, against our own wires and plain servers on 127.0.0.1: resume after
// Ctrl-C and from data on disk, progress lines when stderr is not a terminal, a peer with none of the
// pieces (exit 4 at once), bad inputs (exit 2 with what the file is), servers that are not BitTorrent
// peers (HTTP, TLS, SSH, silent), --json failures. (Against libtorrent: test/interop/cli.test.mjs.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import http from 'node:http'
import { once } from 'node:events'
import { mkdtemp, mkdir, rm, writeFile, readFile, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, createHash } from 'node:crypto'
import bencode from 'bencode'
import Wire from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import { runCli, spawnCli, startSeed, oneLineError, until } from './cli-lib.mjs'

const KiB = 1024
const MiB = 1024 * KiB

async function tmp (t) {
  const dir = await mkdtemp(join(tmpdir(), 'bt-wire-tool-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function listen (t, server) {
  const sockets = new Set()
  server.on('connection', socket => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise(resolve => {
    server.close(() => resolve())
    for (const socket of sockets) socket.destroy()
  }))
  return `127.0.0.1:${server.address().port}`
}

/** A torrent of one file: { info, infoHash, torrentPath }. */
async function makeTorrent (dir, name, data, pieceLength, files = null) {
  const hashes = []
  for (let off = 0; off < data.length; off += pieceLength) hashes.push(createHash('sha1').update(data.subarray(off, off + pieceLength)).digest())
  const info = { name: Buffer.from(name), 'piece length': pieceLength, pieces: Buffer.concat(hashes) }
  // files: [[path, length], ...] of a multi-file torrent, the lengths adding up to data's
  if (files === null) info.length = data.length
  else info.files = files.map(([path, length]) => ({ length, path: path.split('/').map(p => Buffer.from(p)) }))
  const infoHash = createHash('sha1').update(bencode.encode(info)).digest('hex')
  const torrentPath = join(dir, `${name}.torrent`)
  await writeFile(torrentPath, bencode.encode({ info }))
  return { info, infoHash, torrentPath, numPieces: hashes.length }
}

/**
 * A seeder made of our own Wire: announces `announce` ('have-all', 'have-none', 'empty-bitfield' or
 * a bitfield Buffer), serves ut_metadata and answers each request after `delayMs`. Counts the bytes sent.
 */
async function fakeSeeder (t, { data, info, infoHash, announce = 'have-all', fast = true, delayMs = 0 }) {
  const state = { uploaded: 0, connections: 0 }
  const numPieces = info.pieces.length / 20
  const server = net.createServer(socket => {
    state.connections++
    const wire = new Wire('tcpIncoming')
    wire.on('error', () => {})
    wire.use(utMetadata(bencode.encode(info)))
    wire.on('handshake', () => {
      wire.handshake(infoHash, Buffer.from('-XX0000-fakeseedfake'), { fast })
      if (announce === 'have-all') wire.haveAll()
      else if (announce === 'have-none') wire.haveNone()
      else if (announce === 'empty-bitfield') wire.bitfield(Buffer.alloc(Math.ceil(numPieces / 8)))
      else wire.bitfield(announce)
    })
    wire.on('interested', () => wire.unchoke())
    wire.on('request', (index, offset, length, respond) => {
      const start = index * info['piece length'] + offset
      setTimeout(() => {
        if (wire.destroyed) return
        state.uploaded += length
        respond(null, data.subarray(start, start + length))
      }, delayMs)
    })
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
  })
  state.peer = await listen(t, server)
  return state
}

test('interrupted with Ctrl-C (exit 130), a fetch continues from the .part file: only the rest is fetched, data identical', async (t) => {
  const dir = await tmp(t)
  const data = randomBytes(2 * MiB + 5000)
  const tor = await makeTorrent(dir, 'big.bin', data, 64 * KiB)
  // slow: each 16 KiB block is answered after 40 ms, so the fetch is still running when interrupted
  const slow = await fakeSeeder(t, { data, ...tor, delayMs: 40 })
  const out = join(dir, 'out')
  const part = join(out, 'big.bin.part')
  const first = spawnCli(t, ['fetch', tor.infoHash, '--peer', slow.peer, '-o', out, '--pipeline', '4', '--progress-interval', '0.2'])
  // progress lines on stderr (not a terminal) while it works
  await until(() => /^fetch: \d+% [\d.]+ (KiB|MiB) of 2(\.\d+)? MiB, \d+\/33 pieces, [\d.]+ (B|KiB|MiB)\/s, ETA (\d+ s|\d+ min \d+ s|\?)$/m.test(first.stderr()), 20000, 'a progress line')
  await until(() => slow.uploaded >= 6 * 64 * KiB, 20000, 'six pieces sent')
  assert.ok((await stat(part)).size === data.length, 'the file being written has its partial name and full length')
  await assert.rejects(stat(join(out, 'big.bin')), { code: 'ENOENT' }, 'no file under the final name before it is complete')
  first.child.kill('SIGINT')
  const ended = await first.exited
  assert.equal(ended.code, 130, first.stderr())
  const said = first.stderr().match(/^bt-wire: interrupted with (\d+)\/(\d+) pieces verified \(the verified pieces stay in the \.part files: run the same command again to continue\)$/m)
  assert.ok(said, first.stderr())
  assert.ok(slow.uploaded < data.length, 'interrupted before the end')

  const fast = await fakeSeeder(t, { data, ...tor })
  const second = await runCli(['fetch', tor.infoHash, '--peer', fast.peer, '-o', out, '--json'])
  assert.equal(second.code, 0, second.stderr)
  assert.ok(second.json.piecesOnDisk >= 5, `pieces found on disk: ${second.json.piecesOnDisk}`)
  // Ctrl-C said how many were verified: all on disk (a write under way then may add more), of 33
  assert.equal(said[2], '33')
  assert.ok(Number(said[1]) > 0 && Number(said[1]) <= second.json.piecesOnDisk, `said ${said[1]}, found ${second.json.piecesOnDisk} on disk`)
  assert.equal(second.json.piecesOnDisk + second.json.piecesVerified, tor.numPieces)
  assert.ok(second.json.bytesFetched < data.length, `second run fetched ${second.json.bytesFetched} of ${data.length} bytes`)
  assert.ok(fast.uploaded <= data.length - 5 * 64 * KiB, `the seeder sent ${fast.uploaded} bytes in the second run`)
  assert.ok((await readFile(join(out, 'big.bin'))).equals(data), 'the data is identical')
  assert.deepEqual(await readdir(out), ['big.bin'], 'the .part file became big.bin')

  // complete on disk: checked, nothing fetched, no peer needed (its port is closed now)
  const again = await runCli(['fetch', tor.torrentPath, '--peer', '127.0.0.1:1', '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /^big\.bin is already complete under .*: 33\/33 pieces verified on disk, nothing to fetch$/m)
})

test('resume from a .part file with damaged pieces: the good ones are kept, the rest fetched; a complete-looking file that differs is not overwritten', async (t) => {
  const dir = await tmp(t)
  const data = randomBytes(MiB)
  const tor = await makeTorrent(dir, 'r.bin', data, 32 * KiB)
  const out = join(dir, 'out')
  await mkdir(out)
  const partial = Buffer.alloc(data.length)
  data.copy(partial, 0, 0, 10 * 32 * KiB) // pieces 0..9 right
  partial[3 * 32 * KiB + 7] ^= 1 // piece 3 damaged
  await writeFile(join(out, 'r.bin.part'), partial)
  const seed = await fakeSeeder(t, { data, ...tor })
  const r = await runCli(['fetch', tor.torrentPath, '--peer', seed.peer, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.piecesOnDisk, 9)
  assert.equal(r.json.piecesVerified, 32 - 9)
  assert.equal(r.json.bytesFetched, data.length - 9 * 32 * KiB)
  assert.equal(seed.uploaded, data.length - 9 * 32 * KiB)
  assert.ok((await readFile(join(out, 'r.bin'))).equals(data))

  // a file under the final name, of the right length, with other bytes: checked, then refused
  const out2 = join(dir, 'out2')
  await mkdir(out2)
  const other = Buffer.from(data)
  other[100] ^= 1
  await writeFile(join(out2, 'r.bin'), other)
  const refused = await runCli(['fetch', tor.torrentPath, '--peer', seed.peer, '-o', out2, '--no-progress'])
  assert.equal(refused.code, 1, refused.stderr)
  assert.ok(oneLineError(refused.stderr), refused.stderr)
  assert.match(refused.stderr, /r\.bin already exists and differs from the torrent \(piece 0\): fetch does not overwrite files/)
  assert.ok((await readFile(join(out2, 'r.bin'))).equals(other), 'left as it was')
})

test('a peer with none of the pieces: exit 4 at once (have-none, an empty bitfield), or when it lacks what is missing (--stall)', async (t) => {
  const dir = await tmp(t)
  const data = randomBytes(300 * KiB)
  const tor = await makeTorrent(dir, 'n.bin', data, 64 * KiB)
  const cases = [
    ['have-none', { announce: 'have-none' }, /the peer has none of the pieces \(it sent have-none\): it cannot serve this torrent/],
    ['empty bitfield', { announce: 'empty-bitfield', fast: false }, /the peer has none of the pieces \(its bitfield is empty\)/]
  ]
  for (const [what, opts, message] of cases) {
    const seed = await fakeSeeder(t, { data, ...tor, ...opts })
    // by info hash (metadata first) and by .torrent
    for (const target of [tor.infoHash, tor.torrentPath]) {
      const r = await runCli(['fetch', target, '--peer', seed.peer, '-o', join(dir, what), '--json'])
      assert.equal(r.code, 4, `${what}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error', 'exitCode'])
      assert.equal(r.json.code, 'PEER_HAS_NONE')
      assert.equal(r.json.exitCode, 4)
      assert.match(r.json.error, message)
    }
    assert.deepEqual(await readdir(join(dir, what)), [], 'no empty .part file is left behind')
  }
  // a torrent of files in folders: the folders the run made go with its .part files; -o stays
  const multi = await makeTorrent(dir, 'tree', data, 64 * KiB, [['a/deep/x.bin', 100 * KiB], ['a/y.bin', 100 * KiB], ['b/z.bin', 100 * KiB]])
  await mkdir(join(dir, 'multi', 'tree', 'b'), { recursive: true })
  await writeFile(join(dir, 'multi', 'tree', 'b', 'mine.txt'), 'the user\'s')
  const noneMulti = await fakeSeeder(t, { data, ...multi, announce: 'have-none' })
  const rm = await runCli(['fetch', multi.torrentPath, '--peer', noneMulti.peer, '-o', join(dir, 'multi')])
  assert.equal(rm.code, 4, rm.stderr)
  assert.deepEqual(await readdir(join(dir, 'multi')), ['tree'], 'tree/ held a folder that was there before')
  assert.deepEqual(await readdir(join(dir, 'multi', 'tree')), ['b'], 'a/ and a/deep/, made by the run, are gone')
  assert.deepEqual(await readdir(join(dir, 'multi', 'tree', 'b')), ['mine.txt'], 'the folder that was there keeps what it held')
  const fresh = await runCli(['fetch', multi.torrentPath, '--peer', noneMulti.peer, '-o', join(dir, 'multi2')])
  assert.equal(fresh.code, 4, fresh.stderr)
  assert.deepEqual(await readdir(join(dir, 'multi2')), [], 'every folder below -o was made by the run: all gone, -o stays')
  const started = Date.now()
  const none = await fakeSeeder(t, { data, ...tor, announce: 'have-none' })
  const r = await runCli(['fetch', tor.torrentPath, '--peer', none.peer, '-o', join(dir, 'quick')])
  assert.equal(r.code, 4)
  assert.ok(Date.now() - started < 10000, 'well before the 30 s stall time')

  // pieces 0 and 1 only (of 5): the rest never comes
  const some = await fakeSeeder(t, { data, ...tor, announce: Buffer.from([0b11000000]) })
  const lacks = await runCli(['fetch', tor.torrentPath, '--peer', some.peer, '-o', join(dir, 'lacks'), '--stall', '1', '--json'])
  assert.equal(lacks.code, 4, lacks.stderr)
  assert.equal(lacks.json.code, 'PEER_LACKS_PIECES')
  assert.match(lacks.json.error, /the peer does not have the 3 pieces we still need \(it has 2 of 5, and sent no have for the others\)/)
  // the two it had are on disk, under the partial name
  assert.deepEqual(await readdir(join(dir, 'lacks')), ['n.bin.part'])
})

test('bad input: exit 2 with a sentence saying what the file is, also as JSON on stdout with --json', async (t) => {
  const dir = await tmp(t)
  const files = {
    'script.torrent': [Buffer.from('#!/bin/sh\necho hello\n'), /script\.torrent is not a \.torrent file: it is a text file \(it begins "#!\/bin\/sh"\)$/m],
    'empty.torrent': [Buffer.alloc(0), /empty\.torrent is not a \.torrent file: it is empty$/m],
    'cut.torrent': [Buffer.from('d4:infod6:lengthi10e4:name'), /cut\.torrent is not a \.torrent file: it begins like one but is damaged or cut short \(not valid bencode\)$/m],
    'noinfo.torrent': [bencode.encode({ announce: 'http://example.invalid/' }), /noinfo\.torrent is not a \.torrent file: it is bencoded data without an info dictionary$/m],
    'image.torrent': [Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), randomBytes(200)]), /image\.torrent is not a \.torrent file: it is binary data of some other kind$/m],
    'v2.torrent': [bencode.encode({ info: { name: 'v2', 'piece length': 16384, 'meta version': 2, 'file tree': { v2: { '': { length: 5, 'pieces root': Buffer.alloc(32) } } } } }), /v2\.torrent is a v2-only torrent \(BEP 52\): v2-only torrents are not supported by fetch/]
  }
  for (const [name, [bytes]] of Object.entries(files)) await writeFile(join(dir, name), bytes)
  const cases = [
    ...Object.entries(files).map(([name, [, message]]) => [['fetch', join(dir, name), '--peer', '127.0.0.1:1'], message, name === 'v2.torrent' ? 'V2_ONLY' : 'NOT_A_TORRENT']),
    [['fetch', join(dir, 'missing.torrent'), '--peer', '127.0.0.1:1'], /missing\.torrent" is neither a magnet link, an info hash \(40 hex digits\) nor a readable \.torrent file \(no such file\)$/m, 'BAD_INPUT'],
    [['fetch', `magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}&x.pe=127.0.0.1:1`], /the magnet link names a v2 info hash only \(BEP 52\): v2-only torrents are not supported by fetch/, 'V2_ONLY'],
    [['probe', '127.0.0.1:1', 'cd'.repeat(32)], /v2-only torrents are not supported by probe/, 'V2_ONLY'],
    [['seed', join(dir, 'script.torrent'), '--port', '0'], /script\.torrent is not a \.torrent file: it is a text file/, 'NOT_A_TORRENT'],
    [['fetch', 'ab'.repeat(20)], /fetch needs a peer/, 'BAD_INPUT']
  ]
  for (const [args, message, code] of cases) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `bt-wire ${args.join(' ')}: ${r.stderr}`)
    assert.ok(oneLineError(r.stderr), r.stderr)
    assert.match(r.stderr, message)
    assert.doesNotMatch(r.stderr, /buffer\[|Missing delimiter|Invalid data/, 'no decoder internals')
    const j = await runCli([...args, '--json'])
    assert.equal(j.code, 2)
    assert.deepEqual(j.json, { error: r.stderr.trim().replace(/^bt-wire: /, ''), code, exitCode: 2 }, `bt-wire ${args.join(' ')} --json`)
  }
  // a hybrid magnet (v1 and v2 hashes) is accepted: it gets as far as connecting
  const hybrid = await runCli(['fetch', `magnet:?xt=urn:btih:${'cd'.repeat(20)}&xt=urn:btmh:1220${'ab'.repeat(32)}&x.pe=127.0.0.1:1`, '--json'])
  assert.equal(hybrid.code, 3, hybrid.stderr)
  assert.equal(hybrid.json.code, 'NO_CONNECTION')
})

test('connected, but not a BitTorrent peer: HTTP, TLS and SSH servers are named (exit 4), a silent one too; no connection stays exit 3', async (t) => {
  const ih = '56'.repeat(20)
  const web = http.createServer((req, res) => res.end('hello'))
  const servers = {
    http: [await listen(t, web), /but it is not a BitTorrent peer: an HTTP server \(HTTP\/1\.1 400 Bad Request\) answered$/m],
    // what a TLS server sends to a client that does not open with a ClientHello: an alert record
    tls: [await listen(t, net.createServer(s => { s.on('error', () => {}); s.once('data', () => s.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))) })), /but it is not a BitTorrent peer: a TLS server answered$/m],
    // an SSH server speaks first (RFC 4253 section 4.2)
    ssh: [await listen(t, net.createServer(s => { s.on('error', () => {}); s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n') })), /but it is not a BitTorrent peer: an SSH server \(SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u3\) answered$/m],
    silent: [await listen(t, net.createServer(s => { s.on('error', () => {}) })), /connected to 127\.0\.0\.1:\d+, but nothing answered our BitTorrent handshake within 1 s: not a BitTorrent peer, or one that ignores us$/m]
  }
  for (const [what, [peer, message]] of Object.entries(servers)) {
    for (const cmd of ['probe', 'fetch']) {
      const args = cmd === 'probe' ? ['probe', peer, ih, '--timeout', '1'] : ['fetch', ih, '--peer', peer, '--timeout', '1', '-o', tmpdir()]
      const r = await runCli([...args, '--json'])
      assert.equal(r.code, 4, `${what} ${cmd}: ${r.stderr}`)
      assert.ok(oneLineError(r.stderr), r.stderr)
      assert.match(r.stderr, message)
      assert.equal(r.json.exitCode, 4)
      assert.equal(r.json.code, what === 'silent' ? 'NO_HANDSHAKE' : 'NOT_BITTORRENT')
    }
  }
  // nothing listening: no connection at all
  const closed = net.createServer()
  const gone = await listen(t, closed)
  await new Promise(resolve => closed.close(resolve))
  const r = await runCli(['probe', gone, ih, '--json'])
  assert.equal(r.code, 3, r.stderr)
  assert.deepEqual(r.json, { error: `cannot connect to ${gone}: ECONNREFUSED`, code: 'NO_CONNECTION', exitCode: 3 })
})

test('seed listens before it hashes (a port in use fails at once) and shows hashing progress off a terminal', async (t) => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'h.bin'), randomBytes(4 * MiB))
  const taken = net.createServer()
  const peer = await listen(t, taken)
  const port = peer.split(':')[1]
  const busy = await runCli(['seed', join(dir, 'h.bin'), '--host', '127.0.0.1', '--port', port, '--json'])
  assert.equal(busy.code, 1, busy.stderr)
  assert.match(busy.stderr, new RegExp(`^bt-wire: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use \\(EADDRINUSE\\)$`, 'm'))
  assert.equal(busy.json.code, 'EADDRINUSE')
  assert.doesNotMatch(busy.stdout, /hashing/, 'the port is tried before the data is hashed')

  const s = spawnCli(t, ['seed', join(dir, 'h.bin'), '--host', '127.0.0.1', '--port', '0', '--piece', '64KiB', '--progress-interval', '0.05'])
  await until(() => /^serving on /m.test(s.stdout()), 30000, 'seed serving')
  const lines = s.stdout().split('\n')
  assert.match(lines[0], /^listening on 127\.0\.0\.1:\d+$/)
  assert.match(lines[1], /^hashing /)
  assert.match(s.stderr(), /^hash: 100% 4 MiB of 4 MiB, [\d.]+ (KiB|MiB)\/s on average, \d+ s$/m)
  s.child.kill('SIGINT')
  const { code } = await s.exited
  assert.equal(code, 0)
})

test('our own seed by magnet: the --json result tells what was fetched and what was on disk', async (t) => {
  const dir = await tmp(t)
  const data = randomBytes(MiB + 3)
  await writeFile(join(dir, 'm.bin'), data)
  const seed = await startSeed(t, [join(dir, 'm.bin'), '--piece', '32KiB'])
  const out = join(dir, 'out')
  const r = await runCli(['fetch', seed.listening.magnet, '-o', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.bytesFetched, data.length)
  assert.equal(r.json.piecesOnDisk, 0)
  assert.ok(r.json.mibPerSec > 0)
  const again = await runCli(['fetch', seed.listening.magnet, '-o', out, '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(again.json.bytesFetched, 0, 'complete on disk: nothing fetched')
  assert.equal(again.json.piecesOnDisk, again.json.pieces)
})

test('on a terminal (script(1) gives it a pty): the progress bar with a speed and an ETA, and no plain lines', async (t) => {
  const { spawn } = await import('node:child_process')
  const { BT_WIRE } = await import('./cli-lib.mjs')
  const dir = await tmp(t)
  const data = randomBytes(MiB)
  const tor = await makeTorrent(dir, 'tty.bin', data, 32 * KiB)
  const slow = await fakeSeeder(t, { data, ...tor, delayMs: 5 })
  const cmd = [process.execPath, BT_WIRE, 'fetch', tor.torrentPath, '--peer', slow.peer, '-o', join(dir, 'out'), '--pipeline', '4', '--progress-interval', '0.1']
    .map(a => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', s => { out += s })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const [code] = await once(child, 'close')
  assert.equal(code, 0, out)
  assert.match(out, /fetch [█░]+ \d+% \| [\d.]+ (KiB|MiB) of 1 MiB \| [\d.]+ (B|KiB|MiB)\/s \| ETA (\d+ s|\?) \| \d+\/32 pieces/)
  assert.doesNotMatch(out, /^fetch: \d+%/m, 'no plain progress lines on a terminal')
  assert.ok((await readFile(join(dir, 'out', 'tty.bin'))).equals(data))
})
