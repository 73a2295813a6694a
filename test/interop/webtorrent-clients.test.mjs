// WebTorrent 3.0.21 and 1.9.7, unchanged, on this package, with Transmission 3.00 and aria2 1.36 from
// Debian: each WebTorrent downloads from each client seeding and seeds to each client downloading,
// every byte compared on disk. WebTorrent dials the other client in both directions (Transmission
// ignores loopback peers, and no tracker runs). Each WebTorrent runs in a process of its own
// (lib/webtorrent-run.mjs) with DHT, LSD, trackers, web seeds, uTP, UPnP/NAT-PMP and PEX off;
// Transmission and aria2 with DHT, LPD and PEX off. Plain connections (`secure` off): the
// encryption pairings are in webtorrent.test.mjs. MB/s are printed, never asserted.
import test, { before } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, readFile } from 'node:fs/promises'
import { makeTmp, makeFixture, checkOnDisk, mbps, KiB, MiB } from './lib/fixtures.mjs'
import { startTransmission, startAria2 } from './lib/clients.mjs'
import { freePort } from './lib/procs.mjs'
import { OUR_DIST, WT_VERSION as version, startWebTorrent as start, wtStatus } from './lib/webtorrent.mjs'
import { ensureFixture } from './setup-fixtures.mjs'

const T = 90000
const SIZE = 6 * MiB + 777

before(() => {
  ensureFixture('webtorrent3')
  ensureFixture('webtorrent1')
})

const PLAIN = { webtorrent3: 0, webtorrent1: false }
/** WebTorrent with encryption off. */
const startWebTorrent = (t, opts) => start(t, { secure: PLAIN[opts.fixture], ...opts })

/** WebTorrent's wires to the other client: this package's Wire, none dropped a request or timed out. */
function checkWires (st, type) {
  assert.ok(st.wires.length >= 1, 'WebTorrent connected')
  for (const w of st.wires) {
    assert.equal(w.ours, true, "WebTorrent's wire is this package's Wire class")
    assert.equal(w.type, type)
    assert.equal(w.droppedPeerRequests, 0, 'no request of the peer dropped')
    assert.equal(w.timeouts, 0, 'no request of ours timed out')
  }
}

const CLIENTS = {
  Transmission: {
    async seed (t, dir, fx) {
      const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: fx.seedDir })
      return { port: tr.port, proc: tr.proc }
    },
    async leech (t, dir, fx, leech) {
      const tr = await startTransmission(t, { torrentPath: fx.torrentPath, configDir: join(dir, 'tr-config'), downloadDir: leech })
      return { port: tr.port, proc: tr.proc, done: () => checkOnDisk(leech, fx, T) }
    }
  },
  aria2: {
    async seed (t, dir, fx) {
      const aria = await startAria2(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, seed: true })
      return { port: aria.port, proc: aria.proc }
    },
    async leech (t, dir, fx, leech) {
      const aria = await startAria2(t, { torrentPath: fx.torrentPath, dir: leech, seed: false })
      // aria2 exits once every piece is verified (--seed-time=0)
      return {
        port: aria.port,
        proc: aria.proc,
        done: async () => {
          const exit = await aria.proc.waitExit(T)
          assert.equal(exit.code, 0, `aria2c exit code ${exit.code}; output: ${aria.proc.tail}`)
          await checkOnDisk(leech, fx)
        }
      }
    }
  }
}

for (const fixture of ['webtorrent3', 'webtorrent1']) {
  for (const [name, client] of Object.entries(CLIENTS)) {
    test(`${version[fixture]} downloads from ${name} seeding, 256 KiB pieces with a short last piece`, async (t) => {
      const dir = await makeTmp(t)
      const fx = await makeFixture(dir, { name: 'wt-from.bin', length: SIZE, pieceLength: 256 * KiB })
      const other = await client.seed(t, dir, fx)
      const dl = join(dir, 'wt')
      await mkdir(dl)
      const wt = startWebTorrent(t, { fixture, mode: 'download', torrentPath: fx.torrentPath, dir: dl, peer: '127.0.0.1:' + other.port })
      assert.equal((await wt.waitEvent('loaded', 20000)).protocol, OUR_DIST)
      let done
      try {
        done = await wt.waitEvent('done', T)
      } catch (err) {
        err.message += `\n${name} output:\n${other.proc.tail}`
        throw err
      }
      checkWires(await wtStatus(wt), 'tcpOutgoing')
      wt.send({ cmd: 'stop' })
      await wt.waitEvent('stopped', 20000)
      await checkOnDisk(dl, fx)
      assert.ok((await readFile(join(dl, fx.name))).equals(fx.payload), 'every byte equals the payload')
      t.diagnostic(`${name} → ${version[fixture]}: ${(fx.meta.length / MiB).toFixed(2)} MiB in ${done.ms} ms = ${mbps(fx.meta.length, done.ms)} MB/s`)
    })

    test(`${version[fixture]} seeds to ${name} downloading (WebTorrent dials it), multi-file, 256 KiB pieces`, async (t) => {
      const dir = await makeTmp(t)
      const fx = await makeFixture(dir, { name: 'wt-to', pieceLength: 256 * KiB, files: [{ path: 'a.bin', length: 2 * MiB + 5 }, { path: 'b/c.bin', length: 4 * MiB + 999 }] })
      const leech = join(dir, 'leech')
      await mkdir(leech)
      const other = await client.leech(t, dir, fx, leech)
      const t0 = Date.now()
      const wt = startWebTorrent(t, { fixture, mode: 'seed', torrentPath: fx.torrentPath, dir: fx.seedDir, port: await freePort(), peer: '127.0.0.1:' + other.port })
      assert.equal((await wt.waitEvent('loaded', 20000)).protocol, OUR_DIST)
      try {
        await other.done()
      } catch (err) {
        err.message += `\n${name} output:\n${other.proc.tail}`
        throw err
      }
      const ms = Date.now() - t0
      const st = await wtStatus(wt)
      checkWires(st, 'tcpOutgoing')
      assert.ok(st.uploaded >= fx.meta.length, `WebTorrent uploaded ${st.uploaded} of ${fx.meta.length} bytes`)
      t.diagnostic(`${version[fixture]} → ${name}: ${(fx.meta.length / MiB).toFixed(2)} MiB in ${ms} ms from WebTorrent's start (hashing included) = ${mbps(fx.meta.length, ms)} MB/s`)
    })
  }
}
