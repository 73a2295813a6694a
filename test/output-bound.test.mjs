// Bounded output (issue 13) over real TCP (127.0.0.1): an application in a child process
// (test/fixtures/victim.mjs) answers every request at once with its block, as seeders do, and
// serves ~100 KB of metadata with the real ut_metadata. Peers that ask and never read must not
// make it hold more than the send watermark (2 MiB) plus a block per connection; an honest peer
// is still served. Memory is asserted with generous margins (16 MiB per attacking connection).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { ID, u32, msg, ext, handshakeBytes } from './fixtures/raw.mjs'
import { startVictim, assertAlive, attacker, honestFetch, honestBlock, sleep, MiB } from './fixtures/victim-lib.mjs'

const PER_CONNECTION = 16 * MiB
let v
before(async () => { v = await startVictim('3', 'seed') })
after(() => { if (v.child.exitCode === null) v.child.kill() })

const requests = (n, from = 0) => Buffer.concat(Array.from({ length: n }, (_, i) => msg(ID.request, (from + i) % 1000, 0, 128 * 1024)))
const fmt = n => (n / MiB).toFixed(2) + ' MiB'

/** An attacker that is unchoked (it says it is interested) and never reads. */
async function greedy () {
  const s = await attacker(v, { read: false })
  s.write(msg(ID.interested))
  return s
}

async function measure (t, label, sockets, { perConnection = PER_CONNECTION } = {}) {
  await sleep(800)
  const m = await v.memory()
  t.diagnostic(`${label}: largest outputBacklog ${fmt(m.maxBacklog)}, all wires ${fmt(m.backlog)}, sent ${fmt(m.uploaded)}, arrayBuffers ${fmt(m.arrayBuffers)}, rss ${fmt(m.rss)}, ${m.live} wires open`)
  assert.ok(m.maxBacklog <= perConnection, `${label}: a wire holds ${fmt(m.maxBacklog)}`)
  for (const s of sockets) s.destroy()
  await assertAlive(v, label)
  await honestBlock(v)
  return m
}

test('500 requests of 128 KiB (maxPeerRequests) from a peer that never reads', async (t) => {
  const base = await v.memory()
  const s = await greedy()
  await sleep(100)
  s.write(requests(500))
  const m = await measure(t, '500 x 128 KiB', [s])
  assert.ok(m.arrayBuffers - base.arrayBuffers <= PER_CONNECTION, `arrayBuffers grew ${fmt(m.arrayBuffers - base.arrayBuffers)}`)
})

test('4,000 requests of 128 KiB, pipelined, from a peer that never reads', async (t) => {
  const base = await v.memory()
  const s = await greedy()
  for (let i = 0; i < 8; i++) { s.write(requests(500, i * 500)); await sleep(100) }
  const m = await measure(t, '4000 x 128 KiB pipelined', [s])
  assert.ok(m.arrayBuffers - base.arrayBuffers <= PER_CONNECTION, `arrayBuffers grew ${fmt(m.arrayBuffers - base.arrayBuffers)}`)
})

test('100 connections x 64 requests of 128 KiB that never read', async (t) => {
  const base = await v.memory()
  const sockets = []
  for (let i = 0; i < 100; i++) sockets.push(await greedy())
  await sleep(200)
  for (const s of sockets) s.write(requests(64))
  const m = await measure(t, '100 x 64 x 128 KiB', sockets)
  assert.ok(m.backlog <= 100 * PER_CONNECTION)
  assert.ok(m.arrayBuffers - base.arrayBuffers <= 100 * PER_CONNECTION, `arrayBuffers grew ${fmt(m.arrayBuffers - base.arrayBuffers)}`)
})

test('ut_metadata amplification: 6.6 MiB of metadata requests (~100 KB of metadata) from a peer that never reads', async (t) => {
  const base = await v.memory()
  const s = await attacker(v, { read: false })
  s.write(ext(0, 'd1:md11:ut_metadatai3eee'))
  const one = ext(1, 'd8:msg_typei0e5:piecei3ee')
  const batch = Buffer.concat(Array.from({ length: 8192 }, () => one))
  let sent = 0
  // the victim stops reading once enough requests wait: our writes then only fill our own buffers
  while (sent < 6.6 * MiB) { s.write(batch); sent += batch.length }
  const m = await measure(t, `ut_metadata, ${fmt(sent)} of requests`, [s])
  assert.ok(m.arrayBuffers - base.arrayBuffers <= PER_CONNECTION, `arrayBuffers grew ${fmt(m.arrayBuffers - base.arrayBuffers)}`)
  await honestFetch(v)
})

test('1,000 connections each holding a partial max-size message add at most 64 MiB', async (t) => {
  // first 1,000 handshaken connections (the app's own cost per wire: ut_metadata 3.x keeps a
  // copy of the ~100 KB info dictionary per wire), then each sends the first 6 bytes of a
  // max-size message: 74 bytes in all per connection, as in the issue
  const sockets = []
  for (let i = 0; i < 1000; i++) {
    const s = net.connect(v.port, '127.0.0.1')
    s.on('error', () => {})
    s.resume()
    sockets.push(once(s, 'connect').then(() => { s.write(handshakeBytes({ fast: false, infoHash: v.infoHash })); return s }))
    if (sockets.length % 100 === 0) await Promise.all(sockets)
  }
  const open = await Promise.all(sockets)
  // the baseline once every connection has its wire (a loaded machine may take a while)
  let base = await v.memory()
  for (let i = 0; i < 100 && base.live < 1000; i++) { await sleep(100); base = await v.memory() }
  assert.ok(base.live >= 1000, `${base.live} wires open`)
  const prefix = Buffer.concat([u32(256 * 1024 + 4096), Buffer.from([ID.extended, 0])])
  for (const s of open) s.write(prefix)
  await sleep(1000)
  await v.memory() // one more round trip: the victim has read what was sent before this
  const m = await v.memory()
  const grew = m.arrayBuffers - base.arrayBuffers
  t.diagnostic(`1000 partial messages: arrayBuffers +${fmt(grew)}, heap +${fmt(m.heap - base.heap)}, ${m.live} wires open`)
  assert.ok(m.live >= 1000, 'the connections are open')
  assert.ok(grew <= 64 * MiB, `arrayBuffers grew ${fmt(grew)}`)
  for (const s of open) s.destroy()
  await assertAlive(v, '1000 partial messages')
  await honestBlock(v)
})
