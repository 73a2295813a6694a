// Interop with aria2 (aria2c 1.36): it finds us through a hand-written HTTP tracker on 127.0.0.1.
import test from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, readFile } from 'node:fs/promises'
import { IMPL } from './lib/impl.mjs'
import { makeTmp, makeFixture, checkOnDisk, KiB, MiB } from './lib/fixtures.mjs'
import { startAria2 } from './lib/clients.mjs'
import { startTracker } from './lib/tracker.mjs'
import { download, seedServer, uploadRate } from './lib/peer.mjs'

const T = 60000

function report (t, what, r) {
  t.diagnostic(`[${IMPL}] ${what}: ${(r.bytes / MiB).toFixed(2)} MiB in ${r.ms} ms = ${r.mbps} MB/s`)
}

async function logTail (file) {
  try { return (await readFile(file, 'utf8')).slice(-3000) } catch { return '' }
}

test('aria2 seeds (found through our tracker), our wire downloads, single file, 256 KiB pieces', async (t) => {
  const dir = await makeTmp(t)
  const tracker = await startTracker(t)
  const fx = await makeFixture(dir, { name: 'aria-seed.bin', length: 12 * MiB + 4321, pieceLength: 256 * KiB, announce: tracker.url })
  const logFile = join(dir, 'aria2.log')
  const aria = await startAria2(t, { torrentPath: fx.torrentPath, dir: fx.seedDir, seed: true, logFile })
  // aria2 announces itself once it is up and seeding
  const a = await tracker.waitAnnounce(x => x.infoHash === fx.meta.infoHash && x.port === aria.port, 20000)
  assert.equal(a.left, 0, 'aria2 announces as a seed')
  let r
  try {
    r = await download({ meta: fx.meta, port: aria.port, fast: true, timeoutMs: T })
  } catch (err) {
    err.message += '\naria2 log:\n' + await logTail(logFile)
    throw err
  }
  assert.ok(r.data.equals(fx.payload))
  r.wire.destroy()
  report(t, 'aria2→us, 256 KiB pieces', r)
})

test('our wire seeds, aria2 downloads (our address comes from the tracker), multi-file, 1 MiB pieces', async (t) => {
  const dir = await makeTmp(t)
  const tracker = await startTracker(t)
  const fx = await makeFixture(dir, {
    name: 'aria-leech',
    pieceLength: MiB,
    announce: tracker.url,
    files: [{ path: 'p.bin', length: 5 * MiB + 3 }, { path: 'q/r.bin', length: 4 * MiB + 100 }]
  })
  const srv = await seedServer(t, { meta: fx.meta, payload: fx.payload, fast: true })
  tracker.addPeer(fx.meta.infoHash, '127.0.0.1', srv.port)
  const leech = join(dir, 'leech')
  await mkdir(leech)
  const logFile = join(dir, 'aria2.log')
  const t0 = Date.now()
  const aria = await startAria2(t, { torrentPath: fx.torrentPath, dir: leech, seed: false, logFile })
  let exit
  try {
    exit = await aria.proc.waitExit(T)
  } catch (err) {
    err.message += '\naria2 log:\n' + await logTail(logFile)
    throw err
  }
  const exitedAt = Date.now()
  const wall = exitedAt - t0
  assert.equal(exit.code, 0, `aria2c exit code ${exit.code}; output: ${aria.proc.tail}\n${await logTail(logFile)}`)
  await checkOnDisk(leech, fx)
  assert.ok(srv.sessions.length > 0, 'aria2 connected to us')
  const session = srv.sessions.reduce((a, b) => b.stats.bytes > a.stats.bytes ? b : a)
  t.diagnostic(`aria2 opened ${srv.sessions.length} connection(s); bytes served per connection: ${srv.sessions.map(s => s.stats.bytes).join(', ')}`)
  for (const s of srv.sessions) assert.equal(s.stats.invalidRequests, 0)
  assert.ok(srv.sessions.reduce((n, s) => n + s.stats.bytes, 0) >= fx.meta.length)
  const r = uploadRate(session, fx.meta.length, exitedAt)
  for (const s of srv.sessions) if (s !== session) t.diagnostic(`other aria2 connection: ${s.stats.bytes} bytes, handshake ${s.stats.peerExtensions ? 'done' : 'not received'}, errors ${JSON.stringify(s.stats.errors)}`)
  t.diagnostic(`aria2 ran ${wall} ms in all; first block served ${session.stats.firstServeAt - t0} ms after it started`)
  report(t, 'us→aria2, 1 MiB pieces', r)
})
