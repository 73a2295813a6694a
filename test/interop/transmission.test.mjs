// Interop with Transmission 3.00 (transmission-cli). Transmission ignores loopback peers handed out by a
// tracker, so in both directions our wire dials Transmission's listening port.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Wire, { IMPL } from './lib/impl.mjs'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startTransmission } from './lib/clients.mjs'
import { download, seed, dial, attach, within, uploadRate } from './lib/peer.mjs'

const T = 60000

function report (t, what, r) {
  t.diagnostic(`[${IMPL}] ${what}: ${(r.bytes / MiB).toFixed(2)} MiB in ${r.ms} ms = ${r.mbps} MB/s`)
}

/** Transmission may still be checking its files: retry the whole download a few times until it serves. */
async function downloadWithRetry (t, opts, ms) {
  const deadline = Date.now() + ms
  for (let n = 1; ; n++) {
    try {
      // Transmission unchokes on its 10 s rechoke timer: allow for that before calling it a stall
      // Transmission answers requests in batches (~2 per second), so the rate follows the pipeline depth:
      // keep as many in flight as its reqq allows (capped at 256)
      return await download({ pipelineFromReqq: 256, ...opts, stallMs: 25000 })
    } catch (err) {
      if (Date.now() > deadline || !/closed before|stalled|connect/.test(err.message) || /SHA-1|bytes, expected/.test(err.message)) throw err
      t.diagnostic(`attempt ${n} failed (${err.message.slice(0, 120)}), retrying`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
}

test('Transmission seeds, our wire dials it and downloads, single file, 16 KiB pieces', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'tr-seed.bin', length: 8 * MiB + 100, pieceLength: 16 * KiB })
  const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: fx.seedDir })
  const r = await downloadWithRetry(t, { meta: fx.meta, port: tr.port, fast: true, timeoutMs: T }, T)
  assert.ok(r.data.equals(fx.payload))
  assert.equal(r.stats.peerExtensions.fast, true, 'Transmission 3.00 advertises fast')
  assert.ok(r.stats.haveAll || r.stats.bitfield, 'Transmission announced its pieces')
  r.wire.destroy()
  t.diagnostic(`waited ${r.stats.waitedForUnchokeMs} ms for Transmission to unchoke us; its reqq ${r.stats.peerReqq}`)
  report(t, 'Transmission→us, 16 KiB pieces', r)
})

test('Transmission seeds a multi-file torrent with 1 MiB pieces, our wire downloads without fast', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, {
    name: 'tr-multi',
    pieceLength: MiB,
    files: [{ path: 'a.bin', length: 3 * MiB + 11 }, { path: 'b/c.bin', length: 4 * MiB + 1234 }]
  })
  const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: fx.seedDir })
  const r = await downloadWithRetry(t, { meta: fx.meta, port: tr.port, fast: false, timeoutMs: T }, T)
  assert.ok(r.data.equals(fx.payload))
  assert.equal(r.wire.hasFast, false)
  r.wire.destroy()
  t.diagnostic(`waited ${r.stats.waitedForUnchokeMs} ms for Transmission to unchoke us`)
  report(t, 'Transmission→us no fast, 1 MiB pieces', r)
})

test('our wire dials Transmission and seeds to it, multi-file, 256 KiB pieces with a short last piece', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, {
    name: 'tr-leech',
    pieceLength: 256 * KiB,
    files: [{ path: 'one.bin', length: 4 * MiB + 77 }, { path: 'two.bin', length: 6 * MiB + 5000 }]
  })
  assert.ok(fx.meta.lastPieceLength < fx.meta.pieceLength)
  const leech = join(dir, 'leech')
  const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: leech })
  const t0 = Date.now()
  let session
  let doneAt
  for (let n = 1; ; n++) {
    const socket = await dial(tr.port, 20000)
    const wire = new Wire('tcpOutgoing')
    t.after(() => wire.destroy())
    attach(socket, wire)
    session = seed(wire, { meta: fx.meta, payload: fx.payload, fast: true, outgoing: true })
    // Transmission sends have for some pieces and drops the connection once both sides are seeds, so
    // "done" is: it has announced everything, or it closed after we served every byte; the disk decides.
    const closedAfterAll = new Promise((resolve, reject) => wire.once('close', () =>
      session.stats.bytes >= fx.meta.length ? resolve() : reject(new Error(`wire closed after ${session.stats.bytes} of ${fx.meta.length} bytes`))))
    closedAfterAll.catch(() => {})
    try {
      await within(Promise.race([session.peerComplete.catch(() => closedAfterAll), closedAfterAll]), T, 'Transmission downloading every piece')
      doneAt = Date.now()
      break
    } catch (err) {
      // Transmission drops connections while the torrent is still starting; retry a few times
      if (session.stats.bytes > 0 || n >= 5 || Date.now() - t0 > T) throw new Error(err.message + '\ntransmission output:\n' + tr.proc.tail)
      t.diagnostic(`attempt ${n}: ${err.message.slice(0, 120)}; retrying`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
  await checkOnDisk(leech, fx, 20000)
  t.diagnostic(`Transmission took ${session.stats.firstServeAt - session.stats.handshakeAt} ms from our handshake to its first request`)
  assert.equal(session.stats.invalidRequests, 0)
  assert.equal(session.wire.hasFast, true)
  report(t, 'us→Transmission, 256 KiB pieces', uploadRate(session, fx.meta.length, doneAt))
})
