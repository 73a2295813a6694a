// Message stream encryption (MSE/PE) against real clients: libtorrent with encryption forced (RC4 only)
// in both directions, with wire.encrypt() and with 3.5.5's sendPe1..4 API as WebTorrent drives it, and
// Transmission with encryption required in both directions.
//
// An encrypted test must not pass over a connection that fell back to plaintext, so each one checks
// three things: the method our side reports (wire.encrypt() resolves { method: 'rc4' }), the other
// client's view where it has one (libtorrent's peer_info rc4_encrypted flag), and the raw bytes on the
// socket: neither the BitTorrent protocol header nor any sampled 64-byte run of the payload may appear
// in them. A plaintext control test shows that the raw-byte check does find both in a plain transfer.
//
// 3.5.5 has no policy API (wire.encrypt()), so those tests always run our build; the two tests of the
// 3.5.5 API (sendPe1..4) follow WIRE_IMPL like the rest of the suite (WIRE_IMPL=bt3: bittorrent-protocol 3.5.5).
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import Wire from '../../dist/esm/index.js'
import { nativeRc4Available } from '../../dist/esm/mse/rc4.js'
import ImplWire, { IMPL } from './lib/impl.mjs'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent, startTransmission } from './lib/clients.mjs'
import { download, seed, seedServer, dial, attach, within, uploadRate } from './lib/peer.mjs'

const T = 60000
const HEADER = Buffer.from('\u0013BitTorrent protocol', 'latin1')
const SAMPLES = 32

/** HASH('req2', SKEY) as hex: what 'pe3' hands out. */
const skeyHashHex = (ih) => createHash('sha1').update(Buffer.concat([Buffer.from('req2'), ih])).digest('hex')

function report (t, what, r, method, impl = 'ours') {
  const rc4 = method === 'rc4' && impl === 'ours' ? (nativeRc4Available ? ' (OpenSSL RC4)' : ' (typed-array RC4)') : ''
  t.diagnostic(`[${impl}] ${what}: ${(r.bytes / MiB).toFixed(2)} MiB in ${r.ms} ms = ${r.mbps} MB/s, crypto ${method}${rc4}`)
}

/** Record every raw byte a socket receives and sends (what goes over TCP, before/after our ciphers). */
function tap (socket) {
  const rx = []
  const tx = []
  socket.on('data', d => rx.push(d))
  const write = socket.write
  socket.write = function (chunk, ...rest) {
    if (chunk && chunk.length) tx.push(Buffer.from(chunk))
    return write.call(this, chunk, ...rest)
  }
  return { rx: () => Buffer.concat(rx), tx: () => Buffer.concat(tx) }
}

/** What of the plaintext shows in raw bytes: the protocol header, and how many payload samples. */
function sightings (raw, payload) {
  let found = 0
  for (let k = 0; k < SAMPLES; k++) {
    // 4 KiB into a 16 KiB block (blocks are 16 KiB-aligned in the payload): never across a message boundary
    const off = Math.floor(k * (payload.length - 32 * 1024) / SAMPLES / (16 * 1024)) * 16 * 1024 + 4096
    if (raw.indexOf(payload.subarray(off, off + 64)) >= 0) found++
  }
  return { header: raw.indexOf(HEADER) >= 0, samples: found }
}

/** The payload went over `raw` (one direction) and nothing of the plaintext can be seen in it. */
function assertOpaque (raw, other, payload, what) {
  assert.ok(raw.length >= payload.length, `${what}: the whole payload went over the socket (${raw.length} raw bytes)`)
  assert.deepEqual(sightings(raw, payload), { header: false, samples: 0 }, `${what}: no plaintext in the payload direction`)
  assert.equal(other.indexOf(HEADER), -1, `${what}: no plaintext handshake in the other direction`)
}

/** Ask libtorrent for its peer list; resolves the first status line that lists a peer. */
async function ltPeers (lt) {
  lt.proc.events = lt.proc.events.filter(e => e.event !== 'status')
  lt.proc.send({ cmd: 'status' })
  const st = await lt.proc.waitEvent(e => e.event === 'status', 10000, 'status')
  return st.peers
}

async function libtorrentSeed (t, { name, length, pieceLength, ...lt }) {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name, length, pieceLength })
  const peer = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', ...lt })
  assert.equal(peer.infoHash, fx.meta.infoHash)
  await peer.proc.waitEvent('seeding', 20000)
  return { fx, lt: peer }
}

test('control: in a plaintext transfer from libtorrent the raw-byte check sees the header and the payload', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'plain.bin', length: 4 * MiB + 3, pieceLength: 256 * KiB, outEncPolicy: 'disabled', inEncPolicy: 'disabled' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const r = await download({ meta: fx.meta, socket, wire: new Wire('tcpOutgoing'), timeoutMs: T })
  assert.ok(r.data.equals(fx.payload))
  const peers = await ltPeers(lt)
  assert.equal(peers.length, 1)
  assert.equal(peers[0].rc4, false, 'libtorrent: not rc4_encrypted')
  assert.equal(peers[0].plaintext_encrypted, false, 'libtorrent: no MSE at all')
  r.wire.destroy()
  assert.deepEqual(sightings(raw.rx(), fx.payload), { header: true, samples: SAMPLES }, 'plaintext is visible')
  report(t, 'libtorrent→us, plaintext control', r, 'none')
})

test('libtorrent seeds with encryption forced (RC4 only); our wire dials with MSE offering RC4 and plaintext, downloads over RC4', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'lt-enc-seed.bin', length: 16 * MiB + 5 * KiB, pieceLength: 256 * KiB, outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const wire = new Wire('tcpOutgoing')
  // 'prefer' offers crypto 0x03: the RC4 below is libtorrent's choice, so a plaintext fallback would show
  const encrypted = wire.encrypt({ policy: 'prefer', infoHash: fx.meta.infoHash })
  encrypted.catch(() => {})
  const r = await download({ meta: fx.meta, socket, wire, timeoutMs: T })
  assert.ok(r.data.equals(fx.payload), 'downloaded bytes equal the payload')
  assert.deepEqual(await encrypted, { encrypted: true, method: 'rc4', infoHash: fx.meta.infoHashBuf })
  const peers = await ltPeers(lt)
  assert.equal(peers.length, 1)
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  assert.deepEqual(r.stats.errors, [])
  r.wire.destroy()
  assertOpaque(raw.rx(), raw.tx(), fx.payload, 'libtorrent→us')
  report(t, 'libtorrent→us, MSE forced', r, 'rc4')
})

test('our wire seeds behind MSE; libtorrent (encryption forced, RC4 only) dials in and downloads over RC4', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'lt-enc-leech.bin', length: 12 * MiB + 54321, pieceLength: MiB })
  const leech = join(dir, 'leech')
  await mkdir(leech)
  const taps = []
  const results = []
  const srv = await seedServer(t, {
    meta: fx.meta,
    payload: fx.payload,
    fast: true,
    makeWire: () => new Wire('tcpIncoming'),
    before (wire, socket) {
      taps.push(tap(socket))
      // incoming: accept MSE (RC4 or plaintext payload) or a plain handshake; libtorrent must pick RC4
      const p = wire.encrypt({ policy: 'prefer', infoHashes: [fx.meta.infoHash] })
      p.catch(() => {})
      results.push(p)
    }
  })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + srv.port], outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4', keepRedundantConnections: true })
  const fin = await lt.proc.waitEvent('finished', T)
  const finishedAt = Date.now()
  const peers = await ltPeers(lt)
  await checkOnDisk(leech, fx)
  assert.equal(srv.sessions.length, 1, 'libtorrent connected to us once')
  assert.equal(fin.total_download, fx.meta.length)
  assert.deepEqual(await results[0], { encrypted: true, method: 'rc4', infoHash: fx.meta.infoHashBuf })
  assert.equal(peers.length, 1, 'libtorrent still lists us')
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  const session = srv.sessions[0]
  assert.equal(session.stats.invalidRequests, 0)
  assertOpaque(taps[0].tx(), taps[0].rx(), fx.payload, 'us→libtorrent')
  report(t, 'us→libtorrent, MSE forced', uploadRate(session, fx.meta.length, finishedAt), 'rc4')
})

test('3.5.5 API as WebTorrent 1.9.7 drives it (sendPe1..4 on pe1..pe4): our wire dials libtorrent (encryption forced, RC4) and downloads', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'lt-wt-seed.bin', length: 8 * MiB + 77, pieceLength: 256 * KiB, outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const wire = new ImplWire('tcpOutgoing', 0, true)
  const seen = []
  wire.once('pe2', () => { seen.push('pe2'); wire.sendPe3(fx.meta.infoHash) })
  wire.once('pe4', () => seen.push('pe4'))
  wire.sendPe1()
  const r = await download({ meta: fx.meta, socket, wire, handshakeOn: 'pe4', timeoutMs: T })
  assert.ok(r.data.equals(fx.payload))
  assert.deepEqual(seen, ['pe2', 'pe4'])
  const peers = await ltPeers(lt)
  assert.equal(peers.length, 1)
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  r.wire.destroy()
  assertOpaque(raw.rx(), raw.tx(), fx.payload, 'libtorrent→us (3.5.5 API)')
  report(t, 'libtorrent→us, 3.5.5 MSE API', r, 'rc4', IMPL)
})

test('3.5.5 API as WebTorrent 1.9.7 drives it: libtorrent (encryption forced, RC4) dials our incoming wire and downloads', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'lt-wt-leech.bin', length: 8 * MiB + 4321, pieceLength: 256 * KiB })
  const leech = join(dir, 'leech')
  await mkdir(leech)
  const torrents = new Map([[skeyHashHex(fx.meta.infoHashBuf), fx.meta.infoHash]])
  const taps = []
  const seen = []
  const srv = await seedServer(t, {
    meta: fx.meta,
    payload: fx.payload,
    fast: true,
    makeWire: () => new ImplWire('tcpIncoming', 0, true),
    before (wire, socket) {
      taps.push(tap(socket))
      wire.once('pe1', () => { seen.push('pe1'); wire.sendPe2() })
      wire.once('pe3', hash => { seen.push('pe3'); wire.sendPe4(torrents.get(hash)) })
    }
  })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + srv.port], outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4', keepRedundantConnections: true })
  const fin = await lt.proc.waitEvent('finished', T)
  const finishedAt = Date.now()
  const peers = await ltPeers(lt)
  await checkOnDisk(leech, fx)
  assert.equal(srv.sessions.length, 1, 'libtorrent connected to us once')
  const session = srv.sessions[0]
  assert.equal(fin.total_download, fx.meta.length)
  assert.deepEqual(seen, ['pe1', 'pe3'])
  assert.equal(peers.length, 1, 'libtorrent still lists us')
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  assertOpaque(taps[0].tx(), taps[0].rx(), fx.payload, 'us→libtorrent (3.5.5 API)')
  report(t, 'us→libtorrent, 3.5.5 MSE API', uploadRate(session, fx.meta.length, finishedAt), 'rc4', IMPL)
})

test('libtorrent with encryption forced and plaintext payload only: MSE selects plaintext (0x01), the download works', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'lt-enc-plain.bin', length: 4 * MiB + 1, pieceLength: 256 * KiB, outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'plaintext' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const wire = new Wire('tcpOutgoing')
  const encrypted = wire.encrypt({ policy: 'prefer', infoHash: fx.meta.infoHash })
  encrypted.catch(() => {})
  const r = await download({ meta: fx.meta, socket, wire, timeoutMs: T })
  assert.ok(r.data.equals(fx.payload))
  assert.deepEqual(await encrypted, { encrypted: false, method: 'plaintext', infoHash: fx.meta.infoHashBuf })
  const peers = await ltPeers(lt)
  assert.equal(peers[0].plaintext_encrypted, true, 'libtorrent reports an MSE connection with plaintext payload')
  assert.equal(peers[0].rc4, false)
  r.wire.destroy()
  // the MSE exchange comes first, in the clear only after it: the BitTorrent handshakes, the payload
  // (libtorrent: Yb, PadB, VC, crypto_select, len(PadD); we: Ya, PadA, two hashes, VC, crypto_provide, len(PadC), len(IA))
  assert.ok(raw.rx().indexOf(HEADER) >= 96 + 8 + 4 + 2, `libtorrent's handshake follows its MSE reply (at ${raw.rx().indexOf(HEADER)})`)
  assert.ok(raw.tx().indexOf(HEADER) >= 96 + 20 + 20 + 8 + 4 + 2 + 2, `our handshake follows our MSE step 3 (at ${raw.tx().indexOf(HEADER)})`)
  assert.equal(sightings(raw.rx(), fx.payload).samples, SAMPLES)
  report(t, 'libtorrent→us, MSE with plaintext payload', r, 'plaintext')
})

test('our wire requires RC4; libtorrent with encryption disabled cannot be talked to in plaintext: a coded error, no transfer', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'lt-noenc.bin', length: 256 * KiB, pieceLength: 16 * KiB, outEncPolicy: 'disabled', inEncPolicy: 'disabled' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const wire = new Wire('tcpOutgoing')
  attach(socket, wire)
  const errors = []
  wire.on('error', err => errors.push(err))
  let handshakes = 0
  wire.on('handshake', () => handshakes++)
  const encrypted = wire.encrypt({ policy: 'require', infoHash: fx.meta.infoHash, timeout: 15000 })
  wire.handshake(fx.meta.infoHash, Buffer.alloc(20, 1).toString('hex'))
  const err = await within(encrypted.then(() => null, e => e), 20000, 'the refused exchange')
  assert.ok(err, 'wire.encrypt() rejects')
  assert.match(err.code, /^ERR_BT_/, `coded error (${err.code}: ${err.message})`)
  assert.equal(handshakes, 0, 'no BitTorrent handshake came through')
  if (!wire.destroyed) await new Promise(resolve => wire.once('close', resolve))
  assert.equal(raw.tx().indexOf(HEADER), -1, 'our handshake was never sent in plaintext')
  t.diagnostic(`refused with ${err.code}: ${err.message}`)
})

// ---- Transmission 3.00 (transmission-cli -er, settings.json encryption: 2) --------------------------
// Transmission ignores loopback peers from a tracker, so our wire dials it in both directions.

/** Transmission may still be checking its files: retry (fresh wire, fresh exchange) until it serves. */
async function encryptedDownloadWithRetry (t, { meta, port }) {
  const deadline = Date.now() + T
  for (let n = 1; ; n++) {
    const socket = await dial(port)
    const raw = tap(socket)
    const wire = new Wire('tcpOutgoing')
    const encrypted = wire.encrypt({ policy: 'require', infoHash: meta.infoHash })
    encrypted.catch(() => {})
    try {
      // Transmission unchokes on its 10 s rechoke timer and answers requests in batches: keep its reqq in flight
      const r = await download({ meta, socket, wire, pipelineFromReqq: 256, stallMs: 25000, timeoutMs: T })
      return { r, raw, mse: await encrypted }
    } catch (err) {
      if (Date.now() > deadline || !/closed before|stalled|connect/.test(err.message) || /SHA-1|bytes, expected/.test(err.message)) throw err
      t.diagnostic(`attempt ${n} failed (${err.message.slice(0, 120)}), retrying`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
}

test('Transmission seeds with encryption required; our wire dials with MSE (RC4 required) and downloads', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'tr-enc-seed.bin', length: 8 * MiB + 100, pieceLength: 256 * KiB })
  const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: fx.seedDir, encryption: 2 })
  const { r, raw, mse } = await encryptedDownloadWithRetry(t, { meta: fx.meta, port: tr.port })
  assert.ok(r.data.equals(fx.payload))
  assert.deepEqual(mse, { encrypted: true, method: 'rc4', infoHash: fx.meta.infoHashBuf })
  r.wire.destroy()
  assertOpaque(raw.rx(), raw.tx(), fx.payload, 'Transmission→us')
  t.diagnostic(`waited ${r.stats.waitedForUnchokeMs} ms for Transmission to unchoke us; its reqq ${r.stats.peerReqq}`)
  report(t, 'Transmission→us, encryption required', r, 'rc4')
})

test('Transmission with encryption required downloads from our wire: we dial with MSE (RC4 required) and seed', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'tr-enc-leech.bin', length: 10 * MiB + 5000, pieceLength: 256 * KiB })
  const leech = join(dir, 'leech')
  const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: leech, encryption: 2 })
  const t0 = Date.now()
  let session, raw, mse, doneAt
  for (let n = 1; ; n++) {
    const socket = await dial(tr.port, 20000)
    raw = tap(socket)
    const wire = new Wire('tcpOutgoing')
    t.after(() => wire.destroy())
    const encrypted = wire.encrypt({ policy: 'require', infoHash: fx.meta.infoHash })
    encrypted.catch(() => {})
    attach(socket, wire)
    session = seed(wire, { meta: fx.meta, payload: fx.payload, fast: true, outgoing: true })
    // Transmission drops the connection once both sides are seeds: done is "it announced everything" or
    // "it closed after we served every byte"; the files on disk decide
    const closedAfterAll = new Promise((resolve, reject) => wire.once('close', () =>
      session.stats.bytes >= fx.meta.length ? resolve() : reject(new Error(`wire closed after ${session.stats.bytes} of ${fx.meta.length} bytes`))))
    closedAfterAll.catch(() => {})
    try {
      await within(Promise.race([session.peerComplete.catch(() => closedAfterAll), closedAfterAll]), T, 'Transmission downloading every piece')
      doneAt = Date.now()
      mse = await encrypted
      break
    } catch (err) {
      // Transmission drops connections while the torrent is still starting; retry a few times
      if (session.stats.bytes > 0 || n >= 5 || Date.now() - t0 > T) throw new Error(err.message + '\ntransmission output:\n' + tr.proc.tail)
      t.diagnostic(`attempt ${n}: ${err.message.slice(0, 120)}; retrying`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
  await checkOnDisk(leech, fx, 20000)
  assert.deepEqual(mse, { encrypted: true, method: 'rc4', infoHash: fx.meta.infoHashBuf })
  assert.equal(session.stats.invalidRequests, 0)
  assertOpaque(raw.tx(), raw.rx(), fx.payload, 'us→Transmission')
  report(t, 'us→Transmission, encryption required', uploadRate(session, fx.meta.length, doneAt), 'rc4')
})

// Issue 14: bittorrent-protocol 5.x's encryption API (new Wire(type, level), startEncryption,
// crypto-infohash -> setInfoHash, crypto-handshake) as WebTorrent 3 drives it, against libtorrent.
test('5.x API as WebTorrent 3 drives it (level 2, startEncryption, crypto-handshake): our wire dials libtorrent (encryption forced, RC4) and downloads', async (t) => {
  const { fx, lt } = await libtorrentSeed(t, { name: 'lt-wt3-seed.bin', length: 8 * MiB + 99, pieceLength: 256 * KiB, outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4' })
  const socket = await dial(lt.port)
  const raw = tap(socket)
  const wire = new Wire('tcpOutgoing', 2)
  let cryptoHandshakes = 0
  wire.on('crypto-handshake', () => cryptoHandshakes++)
  wire.startEncryption(fx.meta.infoHash)
  const r = await download({ meta: fx.meta, socket, wire, handshakeOn: 'crypto-handshake', timeoutMs: T })
  assert.ok(r.data.equals(fx.payload), 'downloaded bytes equal the payload')
  assert.equal(cryptoHandshakes, 1)
  const peers = await ltPeers(lt)
  assert.equal(peers.length, 1)
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  r.wire.destroy()
  assertOpaque(raw.rx(), raw.tx(), fx.payload, 'libtorrent→us (5.x API)')
  report(t, 'libtorrent→us, 5.x MSE API level 2', r, 'rc4')
})

test('5.x API as WebTorrent 3 drives it (level 1, crypto-infohash -> await setInfoHash): libtorrent (encryption forced, RC4) dials our incoming wire and downloads', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'lt-wt3-leech.bin', length: 8 * MiB + 1234, pieceLength: 256 * KiB })
  const leech = join(dir, 'leech')
  await mkdir(leech)
  const torrents = new Map([[skeyHashHex(fx.meta.infoHashBuf), fx.meta.infoHash]])
  const taps = []
  const seen = []
  const srv = await seedServer(t, {
    meta: fx.meta,
    payload: fx.payload,
    fast: true,
    makeWire: () => new Wire('tcpIncoming', 1),
    before (wire, socket) {
      taps.push(tap(socket))
      wire.once('crypto-infohash', async hash => {
        seen.push('crypto-infohash')
        await new Promise(resolve => setTimeout(resolve, 10)) // an async torrent lookup, as WebTorrent's
        seen.push('setInfoHash:' + await wire.setInfoHash(torrents.get(hash)))
      })
      wire.once('crypto-handshake', () => seen.push('crypto-handshake'))
    }
  })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + srv.port], outEncPolicy: 'forced', inEncPolicy: 'forced', encLevel: 'rc4', keepRedundantConnections: true })
  const fin = await lt.proc.waitEvent('finished', T)
  const finishedAt = Date.now()
  const peers = await ltPeers(lt)
  await checkOnDisk(leech, fx)
  assert.equal(srv.sessions.length, 1, 'libtorrent connected to us once')
  assert.equal(fin.total_download, fx.meta.length)
  assert.deepEqual(seen, ['crypto-infohash', 'crypto-handshake', 'setInfoHash:true'])
  assert.equal(peers.length, 1, 'libtorrent still lists us')
  assert.equal(peers[0].rc4, true, 'libtorrent reports the connection as rc4_encrypted')
  assertOpaque(taps[0].tx(), taps[0].rx(), fx.payload, 'us→libtorrent (5.x API)')
  report(t, 'us→libtorrent, 5.x MSE API level 1', uploadRate(srv.sessions[0], fx.meta.length, finishedAt), 'rc4')
})
