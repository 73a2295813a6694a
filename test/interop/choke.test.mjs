// Choke/unchoke and cancel under load against libtorrent.
//  - our wire seeds and chokes libtorrent mid-transfer, then unchokes: libtorrent's pending requests are
//    dropped (no fast) or rejected (fast, outside the allowed-fast set), nothing else is uploaded while
//    choked, and libtorrent still completes with correct bytes;
//  - libtorrent chokes our downloading wire mid-transfer (its unchoke slots set to 0 over stdin, with the
//    loopback peer class made subject to slots and a rate limit so requests are in flight): without fast
//    all pending requests fail at the choke; with fast only libtorrent's rejects fail them, and we keep
//    downloading allowed-fast pieces while choked; after unchoke the download completes and verifies;
//  - we cancel in-flight requests under load: each cancelled request's callback gets an error and the
//    download still completes and verifies.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { IMPL } from './lib/impl.mjs'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startLibtorrent } from './lib/clients.mjs'
import { download, seedServer, uploadRate } from './lib/peer.mjs'

const T = 60000

function report (t, what, r) {
  t.diagnostic(`[${IMPL}] ${what}: ${(r.bytes / MiB).toFixed(2)} MiB in ${r.ms} ms = ${r.mbps} MB/s`)
}

for (const fast of [false, true]) {
  test(`our wire seeds and chokes libtorrent mid-transfer, then unchokes (fast ${fast ? 'on, with allowed-fast pieces' : 'off'})`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: `choke-${fast}.bin`, length: 8 * MiB + 999, pieceLength: 64 * KiB })
    const leech = join(dir, 'leech')
    await mkdir(leech)
    const allowedFast = fast ? [fx.meta.numPieces - 1, fx.meta.numPieces - 2, fx.meta.numPieces - 5] : []
    const srv = await seedServer(t, {
      meta: fx.meta,
      payload: fx.payload,
      fast,
      allowedFast,
      respondDelayMs: 3, // like a disk read: keeps libtorrent's requests pending in the wire
      choke: { afterBytes: 3 * MiB, forMs: 1500 }
    })
    const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: leech, mode: 'download', connect: ['127.0.0.1:' + srv.port] })
    await lt.proc.waitEvent('finished', T)
    const finishedAt = Date.now()
    await checkOnDisk(leech, fx)
    assert.equal(srv.sessions.length, 1)
    const { stats, wire } = srv.sessions[0]
    t.diagnostic(`choke stats: ${JSON.stringify({ chokedAt: stats.chokedAt, peerRequestsAtChoke: stats.peerRequestsAtChoke, peerRequestsAfterChoke: stats.peerRequestsAfterChoke, uploadedDuringChoke: stats.uploadedDuringChoke, requestsWhileChoked: stats.requestsWhileChoked, allowedFastServedWhileChoked: stats.allowedFastServedWhileChoked })}`)
    assert.equal(wire.hasFast, fast)
    assert.ok(stats.chokedAt !== null, 'we choked libtorrent mid-transfer')
    assert.ok(stats.chokedAt < fx.meta.length, 'the choke came before the end')
    assert.ok(stats.peerRequestsAtChoke > 0, 'libtorrent had requests pending when we choked')
    assert.equal(stats.peerRequestsAfterChokeOutsideAllowedFast, 0, 'our choke dropped/rejected every pending request outside the allowed-fast set')
    if (!fast) {
      assert.equal(stats.peerRequestsAfterChoke, 0)
      assert.equal(stats.uploadedDuringChoke, 0, 'nothing uploaded while choked')
      assert.equal(stats.requestsWhileChoked, 0, 'no request event while the peer is choked')
    } else {
      // only allowed-fast pieces may be requested and served while choked
      assert.equal(stats.requestsWhileChoked, stats.allowedFastServedWhileChoked, 'only allowed-fast requests surface while choked')
      assert.ok(stats.uploadedDuringChoke <= allowedFast.length * fx.meta.pieceLength, 'only allowed-fast blocks uploaded while choked')
    }
    assert.equal(stats.invalidRequests, 0)
    report(t, `us→libtorrent with a 1.5 s choke, fast ${fast}`, uploadRate(srv.sessions[0], fx.meta.length, finishedAt))
  })
}

for (const fast of [false, true]) {
  test(`libtorrent chokes our downloading wire mid-transfer, then unchokes (fast ${fast ? 'on: rejects + allowed-fast' : 'off: all pending requests fail'})`, async (t) => {
    const dir = await makeTmp(t)
    const fx = await makeFixture(dir, { name: `ltchoke-${fast}.bin`, length: 8 * MiB, pieceLength: 256 * KiB })
    const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', uploadLimit: 2 * MiB, unchokeInterval: 1 })
    lt.proc.send({ cmd: 'local_class', ignore_unchoke_slots: false })
    await lt.proc.waitEvent(e => e.event === 'ack' && e.cmd === 'local_class', 10000)
    await lt.proc.waitEvent('seeding', 20000)
    const seen = { commanded: false }
    const r = await download({
      meta: fx.meta,
      port: lt.port,
      fast,
      timeoutMs: T,
      onBlock ({ wire, stats, fraction }) {
        if (seen.commanded || fraction < 0.2) return
        seen.commanded = true
        lt.proc.send({ cmd: 'settings', settings: { unchoke_slots_limit: 0 } })
        wire.once('choke', () => {
          seen.choked = true
          seen.inflightAtChoke = wire.requests.length
          seen.failedBefore = stats.failed
          seen.rejectsBefore = stats.rejects
          // a request for a piece outside the allowed-fast set while choked fails at once
          const notAllowed = [...Array(fx.meta.numPieces).keys()].find(i => !(wire.peerAllowedFastSet || []).includes(i))
          let immediate = null
          wire.request(notAllowed, 0, 16 * KiB, err => { immediate = err })
          seen.requestWhileChokedError = immediate && immediate.message
          setImmediate(() => {
            seen.requestWhileChokedError = seen.requestWhileChokedError || (immediate && immediate.message)
            seen.inflightAfterChoke = wire.requests.length
            seen.failedAtChoke = stats.failed - seen.failedBefore
            seen.rejectsAtChoke = stats.rejects - seen.rejectsBefore
          })
          setTimeout(() => {
            seen.rejectsWhileChoked = stats.rejects - seen.rejectsBefore
            seen.requestedWhileChoked = stats.requestedWhileChoked
            lt.proc.send({ cmd: 'settings', settings: { unchoke_slots_limit: 8 } })
          }, 1500)
        })
      }
    })
    t.diagnostic(`choke: ${JSON.stringify(seen)}; stats: ${JSON.stringify({ chokes: r.stats.chokes, unchokes: r.stats.unchokes, failed: r.stats.failed, rejects: r.stats.rejects, allowedFast: r.stats.allowedFast, requestedWhileChoked: r.stats.requestedWhileChoked })}`)
    assert.ok(r.data.equals(fx.payload), 'download completes with correct bytes after the unchoke')
    assert.ok(seen.choked, 'libtorrent choked us mid-transfer')
    assert.ok(seen.inflightAtChoke > 0, 'requests were in flight when libtorrent choked')
    assert.match(String(seen.requestWhileChokedError), /chok/i, 'a request while choked (not allowed-fast) fails at once')
    assert.deepEqual(r.stats.errors, [])
    if (!fast) {
      assert.equal(seen.failedAtChoke, seen.inflightAtChoke, 'every pending request failed at the choke')
      assert.equal(seen.inflightAfterChoke, 0)
      assert.equal(r.stats.rejects, 0)
    } else {
      // the choke alone fails nothing: what failed by the next tick is what libtorrent rejected (it
      // may have answered every pending request, with rejects and blocks, in the choke's own chunk)
      assert.equal(seen.failedAtChoke, seen.rejectsAtChoke, 'under fast the choke alone does not fail pending requests')
      // libtorrent rejects the requests still in its queue; those it already read from disk it
      // sends after the choke (under load that can be all of them): each pending request is
      // answered one way or the other, and only rejects fail requests
      t.diagnostic(`libtorrent rejected ${seen.rejectsWhileChoked} of the ${seen.inflightAtChoke} requests pending at its choke`)
      assert.ok(seen.rejectsWhileChoked >= 0 && seen.rejectsWhileChoked <= seen.inflightAtChoke + seen.requestedWhileChoked)
      assert.equal(r.stats.failed, r.stats.rejects, 'only rejects failed requests')
      assert.ok(r.stats.allowedFast > 0, 'libtorrent sent allowed-fast')
    }
    r.wire.destroy()
    report(t, `libtorrent→us (rate-limited 2 MiB/s) with a choke, fast ${fast}`, r)
  })
}

test('cancel under load: cancelled in-flight requests fail their callbacks, the download completes', async (t) => {
  const dir = await makeTmp(t)
  const fx = await makeFixture(dir, { name: 'cancel.bin', length: 6 * MiB + 4097, pieceLength: 128 * KiB })
  const lt = await startLibtorrent(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, mode: 'seed', uploadLimit: 4 * MiB })
  await lt.proc.waitEvent('seeding', 20000)
  const marks = [0.2, 0.5, 0.8]
  const rounds = []
  const r = await download({
    meta: fx.meta,
    port: lt.port,
    fast: true,
    pipeline: 64,
    timeoutMs: T,
    onBlock ({ wire, stats, cancel, fraction }) {
      if (!marks.length || fraction < marks[0]) return
      marks.shift()
      const before = stats.cancelErrors
      const inflightBefore = wire.requests.length
      const n = cancel(8)
      const round = { n, inflightBefore, syncErrors: stats.cancelErrors - before }
      rounds.push(round)
      setImmediate(() => {
        round.errorsNextTick = stats.cancelErrors - before
        round.inflightAfter = wire.requests.length
      })
    }
  })
  t.diagnostic(`cancel rounds: ${JSON.stringify(rounds)}; cancelled ${r.stats.cancelled}, their callbacks failed ${r.stats.cancelErrors}`)
  assert.ok(r.data.equals(fx.payload))
  assert.equal(rounds.length, 3)
  for (const round of rounds) {
    assert.ok(round.n > 0, 'there were requests in flight to cancel')
    assert.equal(round.errorsNextTick, round.n, 'every cancelled request\'s callback got an error')
  }
  assert.equal(r.stats.cancelErrors, r.stats.cancelled)
  assert.deepEqual(r.stats.errors, [])
  r.wire.destroy()
  report(t, 'libtorrent→us (rate-limited 4 MiB/s) with cancels', r)
})
