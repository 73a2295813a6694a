// WebTorrent 3.0.21 and 1.9.7, unchanged, running on this package (each from its fixture folder,
// see setup-fixtures.mjs), against libtorrent on 127.0.0.1: downloads from a libtorrent seed and
// seeds to a libtorrent leecher, plain and with encryption forced; every byte compared.
//
// WebTorrent 3 (`secure` 0 / 1 / 2, 1 by default) drives the 5.x API: new Wire(type, secure),
// startEncryption, crypto-infohash -> setInfoHash, crypto-handshake. WebTorrent 1.9.7 (`secure`
// true / false, false by default) drives 3.5.5's: new Wire(type, retries, secure), sendPe1..4.
// Each WebTorrent runs in a process of its own (lib/webtorrent-run.mjs; WebTorrent 1 keeps
// `secure` process-wide), with DHT, LSD, trackers, web seeds, uTP, UPnP/NAT-PMP and PEX off, and
// peers added by address. MB/s are printed, never asserted.
import test, { before } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import Wire from './lib/impl.mjs'
import { attach, peerId } from './lib/peer.mjs'
import { makeTmp, makeFixture, checkOnDisk, mbps, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { freePort } from './lib/procs.mjs'
import { OUR_DIST, WT_VERSION as version, startWebTorrent, wtStatus } from './lib/webtorrent.mjs'
import { ensureFixture } from './setup-fixtures.mjs'

const T = 90000
const SIZE = 16 * MiB + 12345

before(() => {
  ensureFixture('webtorrent3')
  ensureFixture('webtorrent1')
})

/** libtorrent's view of its peers (rc4 / plaintext_encrypted flags), from a status line. */
async function ltPeers (lt) {
  lt.proc.events = lt.proc.events.filter(e => e.event !== 'status')
  lt.proc.send({ cmd: 'status' })
  const st = await lt.proc.waitEvent(e => e.event === 'status', 10000, 'status')
  return st.peers
}

const ENC = {
  plain: { outEncPolicy: 'disabled', inEncPolicy: 'disabled' },
  forced: { outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4' },
  default: {} // libtorrent's defaults: encryption enabled, not required
}

/** What the run must show: `mse` (an MSE exchange ran on WebTorrent's wire) and libtorrent's rc4 flag. */
function checkWire (st, fixture, expect) {
  assert.equal(st.wires.length, 1, 'one connection')
  const w = st.wires[0]
  assert.equal(w.ours, true, "WebTorrent's wire is this package's Wire class")
  // the events each API emits when its MSE exchange completes
  const mseDone = fixture === 'webtorrent3' ? ['crypto-handshake'] : [w.type === 'tcpOutgoing' ? 'pe4' : 'pe3']
  assert.equal(mseDone.every(e => w.encryptionEvents.includes(e)), expect.mse, `MSE on WebTorrent's wire (${JSON.stringify(w)})`)
  if (!expect.mse) assert.deepEqual(w.encryptionEvents, [], 'no encryption event')
  return w
}

/** Checks libtorrent's flags for the connection; returns how it describes the payload. */
function checkLt (peers, expect) {
  assert.equal(peers.length, 1, 'libtorrent lists one peer')
  const p = peers[0]
  if (expect.rc4 !== undefined) assert.equal(p.rc4, expect.rc4, 'libtorrent: rc4_encrypted')
  if (expect.mse === false) assert.equal(p.plaintext_encrypted, false, 'libtorrent: no MSE')
  if (expect.mse === true) assert.equal(p.rc4 || p.plaintext_encrypted, true, 'libtorrent: MSE')
  return p.rc4 ? 'MSE, RC4' : p.plaintext_encrypted ? 'MSE, plaintext payload' : 'no MSE'
}

const RUNS = [
  // [fixture, label, secure option (undefined: WebTorrent's default), libtorrent encryption, expectation]
  ['webtorrent3', 'default secure (1)', undefined, 'default', { mse: true }],
  ['webtorrent3', 'secure: 2, libtorrent encryption forced', 2, 'forced', { mse: true, rc4: true }],
  ['webtorrent3', 'secure: 0, plain', 0, 'plain', { mse: false, rc4: false }],
  ['webtorrent1', 'default (secure: false)', undefined, 'default', { mse: false, rc4: false }],
  ['webtorrent1', 'secure: true, libtorrent encryption forced', true, 'forced', { mse: true, rc4: true }],
  ['webtorrent1', 'secure: false, plain', false, 'plain', { mse: false, rc4: false }]
]

const SEED_RUNS = [
  ['webtorrent3', 'default secure (1), libtorrent plain', undefined, 'plain', { mse: false, rc4: false }],
  ['webtorrent3', 'default secure (1), libtorrent encryption forced', undefined, 'forced', { mse: true, rc4: true }],
  ['webtorrent3', 'secure: 2, libtorrent encryption forced', 2, 'forced', { mse: true, rc4: true }],
  ['webtorrent1', 'secure: false, libtorrent plain', false, 'plain', { mse: false, rc4: false }],
  ['webtorrent1', 'secure: true, libtorrent encryption forced', true, 'forced', { mse: true, rc4: true }]
]

for (const [fixture, label, secure, enc, expect] of RUNS) {
  test(`${version[fixture]} downloads from a libtorrent seed, ${label}`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: 'wt-down.bin', length: SIZE, pieceLength: 256 * KiB })
    const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', keepRedundantConnections: true, ...ENC[enc] })
    await lt.proc.waitEvent('seeding', 20000)
    const dl = join(dir, 'wt')
    await mkdir(dl)
    const wt = startWebTorrent(t, { fixture, mode: 'download', torrentPath: fx.torrentPath, dir: dl, peer: '127.0.0.1:' + lt.port, secure })
    const loaded = await wt.waitEvent('loaded', 20000)
    assert.equal(loaded.protocol, OUR_DIST, "WebTorrent's bittorrent-protocol resolves to this package's dist/")
    const done = await wt.waitEvent('done', T)
    const st = await wtStatus(wt)
    const w = checkWire(st, fixture, expect)
    assert.equal(w.type, 'tcpOutgoing')
    const crypto = checkLt(await ltPeers(lt), expect)
    wt.send({ cmd: 'stop' })
    await wt.waitEvent('stopped', 20000)
    await checkOnDisk(dl, fx)
    assert.ok((await readFile(join(dl, fx.name))).equals(fx.payload), 'every byte equals the payload')
    t.diagnostic(`${version[fixture]} ← libtorrent, ${label}: ${(fx.meta.length / MiB).toFixed(2)} MiB in ${done.ms} ms = ${mbps(fx.meta.length, done.ms)} MB/s (${crypto})`)
  })
}

for (const [fixture, label, secure, enc, expect] of SEED_RUNS) {
  test(`${version[fixture]} seeds to libtorrent, ${label}`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: 'wt-up.bin', length: SIZE, pieceLength: 256 * KiB })
    const port = await freePort()
    const wt = startWebTorrent(t, { fixture, mode: 'seed', torrentPath: fx.torrentPath, dir: fx.seedDir, port, secure })
    const loaded = await wt.waitEvent('loaded', 20000)
    assert.equal(loaded.protocol, OUR_DIST, "WebTorrent's bittorrent-protocol resolves to this package's dist/")
    await wt.waitEvent('done', T) // the data on disk verified: seeding
    const leech = join(dir, 'leech')
    await mkdir(leech)
    const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + port], keepRedundantConnections: true, ...ENC[enc] })
    const fin = await lt.proc.waitEvent('finished', T)
    const finishedAt = Date.now()
    assert.equal(fin.total_download, fx.meta.length)
    const st = await wtStatus(wt)
    const w = checkWire(st, fixture, expect)
    assert.equal(w.type, 'tcpIncoming')
    const crypto = checkLt(await ltPeers(lt), expect)
    await checkOnDisk(leech, fx)
    assert.ok((await readFile(join(leech, fx.name))).equals(fx.payload), 'every byte equals the payload')
    const ms = finishedAt - st.wires[0].at
    t.diagnostic(`${version[fixture]} → libtorrent, ${label}: ${(fx.meta.length / MiB).toFixed(2)} MiB in ${ms} ms = ${mbps(fx.meta.length, ms)} MB/s (${crypto})`)
  })
}

// WebTorrent to WebTorrent, both on this package: each line from itself, and each from the other
// (a swarm mixing the 3.5.5 API and the 5.x API: MSE through sendPe1..4 on one side and
// startEncryption on the other). A fast WebTorrent leecher keeps as many requests in flight as a
// second of its download speed fills (thousands on loopback), up to the seeder's BEP 10 `reqq`,
// and does not use BEP 6: a request past the seeding wire's `maxPeerRequests` would be
// dropped unanswered, and the leecher would wait its 30 s piece timeout for it. The seeding wire
// announces its cap as `reqq`, so none is dropped and none times out.
const WT_PAIRS = [
  // [seeder, its secure option, leecher, its secure option (undefined: WebTorrent's default), MSE expected]
  ['webtorrent3', undefined, 'webtorrent3', undefined, true],
  ['webtorrent1', undefined, 'webtorrent1', undefined, false],
  ['webtorrent1', true, 'webtorrent3', 2, true],
  ['webtorrent3', undefined, 'webtorrent1', true, true],
  ['webtorrent1', false, 'webtorrent3', 0, false],
  ['webtorrent3', 0, 'webtorrent1', false, false]
]
const secureLabel = secure => secure === undefined ? 'default secure' : `secure: ${secure}`

for (const [seedFixture, seedSecure, leechFixture, leechSecure, mse] of WT_PAIRS) {
  test(`${version[leechFixture]} (${secureLabel(leechSecure)}) downloads from ${version[seedFixture]} (${secureLabel(seedSecure)}), both on this package, ${mse ? 'MSE' : 'plain'}: the seeder's reqq is honoured, no request dropped or timed out`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: 'wt-wt.bin', length: 64 * MiB + 4321, pieceLength: 256 * KiB })
    const port = await freePort()
    const seeder = startWebTorrent(t, { fixture: seedFixture, mode: 'seed', torrentPath: fx.torrentPath, dir: fx.seedDir, port, secure: seedSecure })
    assert.equal((await seeder.waitEvent('loaded', 20000)).protocol, OUR_DIST)
    await seeder.waitEvent('done', T) // the data on disk verified: seeding
    const dl = join(dir, 'wt')
    await mkdir(dl)
    const leecher = startWebTorrent(t, { fixture: leechFixture, mode: 'download', torrentPath: fx.torrentPath, dir: dl, peer: '127.0.0.1:' + port, secure: leechSecure })
    assert.equal((await leecher.waitEvent('loaded', 20000)).protocol, OUR_DIST)
    const done = await leecher.waitEvent('done', T)
    const [seedStatus, leechStatus] = [await wtStatus(seeder), await wtStatus(leecher)]
    const up = checkWire(seedStatus, seedFixture, { mse })
    const down = checkWire(leechStatus, leechFixture, { mse })
    assert.equal(up.type, 'tcpIncoming')
    assert.equal(down.type, 'tcpOutgoing')
    assert.equal(down.peerReqq, 500, "the leecher's wire saw the seeder's reqq (maxPeerRequests, default 500)")
    assert.equal(up.droppedPeerRequests, 0, 'the seeder dropped no request')
    assert.equal(down.timeouts, 0, 'no request of the leecher timed out')
    // WebTorrent 1.9.7 listens for have-all a microtask after its 'wire' event, so it misses one
    // that came in the same chunk as the handshake, and keeps isSeeder false
    if (leechFixture === 'webtorrent3') assert.equal(down.isSeeder, true, 'the leecher takes its seeder for one')
    assert.equal(up.isSeeder, false, 'the seeder does not take its leecher for one')
    assert.equal(up.uploaded, fx.meta.length)
    for (const wt of [leecher, seeder]) {
      wt.send({ cmd: 'stop' })
      await wt.waitEvent('stopped', 20000)
    }
    await checkOnDisk(dl, fx)
    t.diagnostic(`${version[seedFixture]} → ${version[leechFixture]}, ${mse ? 'MSE' : 'plain'}: ${(fx.meta.length / MiB).toFixed(2)} MiB in ${done.ms} ms = ${mbps(fx.meta.length, done.ms)} MB/s`)
  })
}

// 3.5.5 emits 'close' from inside destroy(), and WebTorrent 1.9.7 relies on it: its rarity map
// listens for each wire's 'close', and once the torrent is destroyed (the map with it) a later
// 'close' makes it call removeListener with null, which throws (uncaught: the process ends).
// WebTorrent 3 checks for that. A peer dropped and the client destroyed in the same tick, on a
// seeder of each line; the leecher is WebTorrent 3.
for (const fixture of ['webtorrent1', 'webtorrent3']) {
  test(`${version[fixture]} seeding: a peer dropped and the client destroyed in the same tick ends cleanly`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: 'wt-drop.bin', length: 4 * MiB + 99, pieceLength: 256 * KiB })
    const port = await freePort()
    const seeder = startWebTorrent(t, { fixture, mode: 'seed', torrentPath: fx.torrentPath, dir: fx.seedDir, port })
    assert.equal((await seeder.waitEvent('loaded', 20000)).protocol, OUR_DIST)
    await seeder.waitEvent('done', T)
    const dl = join(dir, 'wt')
    await mkdir(dl)
    const leecher = startWebTorrent(t, { fixture: 'webtorrent3', mode: 'download', torrentPath: fx.torrentPath, dir: dl, peer: '127.0.0.1:' + port, secure: 0 })
    await leecher.waitEvent('done', T)
    assert.equal((await wtStatus(seeder)).wires.length, 1)
    seeder.send({ cmd: 'drop-and-stop' })
    await seeder.waitEvent('stopped', 20000)
    const exit = await seeder.waitExit(20000)
    assert.equal(exit.code, 0, 'the seeder exited cleanly')
  })
}

// A torrent of more pieces than a peer's bits grow to at once (131,072: see src/bitfield.ts). A
// leecher that announces its first piece with have-none and a have past that index must not look
// like a seeder to WebTorrent 3: it takes a peer whose `peerPieces.buffer` is empty for one (5.0.9
// gives empty bits after have-all) and chokes it for good. WebTorrent 3 leeches here, dialing a
// peer of ours; only its view of that peer is checked (no data moves). WebTorrent 1.9.7 compares
// the bits' length with its own, so empty bits never looked like a seeder to it.
test(`${version.webtorrent3}: a peer that sent have-none, then a have past piece 131,072, is not taken for a seeder`, async (t) => {
  const dir = await makeTmp(t)
  const PIECES = 140000
  const FAR_PIECE = PIECES - 1
  const info = { name: Buffer.from('many-pieces.bin'), 'piece length': 16 * KiB, length: PIECES * 16 * KiB, pieces: randomBytes(20 * PIECES) }
  const torrentPath = join(dir, 'many-pieces.torrent')
  await writeFile(torrentPath, bencode.encode({ info }))
  const seen = []
  const server = net.createServer(socket => {
    const wire = new Wire()
    attach(socket, wire)
    wire.on('handshake', (infoHash) => {
      wire.handshake(infoHash, peerId(), { fast: true })
    })
    // WebTorrent's own have-none (or bitfield) comes once its handlers are set: then announce
    const announce = (what) => {
      seen.push(what)
      wire.haveNone()
      wire.have(FAR_PIECE)
    }
    wire.once('have-none', () => announce('have-none'))
    wire.once('bitfield', () => announce('bitfield'))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const dl = join(dir, 'wt')
  await mkdir(dl)
  const wt = startWebTorrent(t, { fixture: 'webtorrent3', mode: 'download', torrentPath, dir: dl, peer: '127.0.0.1:' + server.address().port, secure: 0 })
  assert.equal((await wt.waitEvent('loaded', 20000)).protocol, OUR_DIST)
  await wt.waitEvent('wire', T)
  let st
  const deadline = Date.now() + T
  do {
    await new Promise(resolve => setTimeout(resolve, 100))
    st = await wtStatus(wt)
  } while (st.wires[0]?.haves !== 1 && Date.now() < deadline)
  assert.deepEqual(seen, ['have-none'], 'WebTorrent 3 sent have-none (fast negotiated)')
  assert.equal(st.wires.length, 1)
  assert.equal(st.wires[0].haves, 1, 'WebTorrent 3 got the have')
  assert.equal(st.wires[0].ours, true)
  assert.equal(st.wires[0].destroyed, false)
  assert.equal(st.wires[0].isSeeder, false, 'WebTorrent 3 takes the peer for a seeder')
})
