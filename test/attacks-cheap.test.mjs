// Issue 23: five cheap attacks over real TCP (127.0.0.1) against an application in a child process
// (test/fixtures/victim.mjs: the real ut_metadata and ut_pex plugins, no 'error' listener on its
// wires). Each test shows the attack was delivered (bytes the victim read, the events it saw, the
// output it held), asserts the bound of the issue with generous margins, and has an honest peer
// served by the same victim afterwards. Memory is the victim's heap + arrayBuffers after GC.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { ID, msg, ext } from './fixtures/raw.mjs'
import { startVictim, assertAlive, attacker, honestFetch, honestServesLeech, honestBlock, sleep, MiB } from './fixtures/victim-lib.mjs'

const UT_METADATA = 1 // the victim's ids: use() order
const UT_PEX = 2
const mapBoth = ext(0, 'd1:md11:ut_metadatai3e6:ut_pexi4eee')
const fmt = n => (n / MiB).toFixed(2) + ' MiB'
const held = (m, from) => m.heap + m.arrayBuffers - from.heap - from.arrayBuffers

/** `n` handshaken attacker connections, 100 at a time, each sent `parts`. */
async function connections (v, n, parts = [], opts = {}) {
  const sockets = []
  for (let i = 0; i < n; i++) {
    sockets.push(attacker(v, opts).then(s => { for (const p of parts) s.write(p); return s }))
    if (sockets.length % 100 === 0) await Promise.all(sockets)
  }
  return Promise.all(sockets)
}

/** Ask until `ok(answer)` (or `ms` passed); the last answer. */
async function until (ask, ok, ms = 10000) {
  const t0 = Date.now()
  for (;;) {
    const answer = await ask()
    if (ok(answer) || Date.now() - t0 > ms) return answer
    await sleep(50)
  }
}

/** `n` compact IPv4 contacts (BEP 23): 10.x.y.z, port 6881. */
function compactPeers (n) {
  const buf = Buffer.alloc(n * 6)
  for (let i = 0; i < n; i++) {
    buf.writeUInt32BE((10 << 24) + i + 1, i * 6)
    buf.writeUInt16BE(6881, i * 6 + 4)
  }
  return buf
}

/** A ut_pex message (BEP 11) adding `n` IPv4 peers. */
function pexAdded (n) {
  const peers = compactPeers(n)
  return ext(UT_PEX, Buffer.concat([Buffer.from(`d5:added${peers.length}:`), peers, Buffer.from(`7:added.f${n}:`), Buffer.alloc(n), Buffer.from('e')]))
}

// the top index maxPieces allows (a torrent of 2^21 pieces); the largest that grows the bits at
// once (src/bitfield.ts: 16 KiB of bits, as the bitfield package grows them); and a chain in which
// each have would double the bits (the package's growth), up to 256 KiB for 63 bytes
for (const haves of [[2097151], [131071], [131063, 131071, 131072, 262144, 524288, 1048576, 2097151]]) {
test(`have ${haves.join(', ')} from 1,000 connections: at most 64 MiB all told`, async (t) => {
  const v = await startVictim('3', 'leech')
  t.after(() => v.child.kill())
  const base = await v.memory()
  const before = await v.ask({ count: true })
  const sockets = await connections(v, 1000)
  const handshaken = await until(() => v.memory(), m => m.live >= 1000)
  assert.ok(handshaken.live >= 1000, `${handshaken.live} wires open`)
  // 9 bytes each
  for (const s of sockets) s.write(Buffer.concat(haves.map(index => msg(ID.have, index))))
  const counts = await until(() => v.ask({ count: true }), c => c.haves - before.haves >= 1000 * haves.length)
  assert.equal(counts.haves - before.haves, 1000 * haves.length, "the victim's wires each got the haves")
  const m = await v.memory()
  t.diagnostic(`1000 wires, have ${haves.join(', ')} each: all told ${fmt(held(m, base))} (the haves: ${fmt(held(m, handshaken))}), ${m.live} wires open`)
  assert.ok(m.live >= 1000, 'the connections are open')
  assert.ok(held(m, base) <= 64 * MiB, `the victim holds ${fmt(held(m, base))} more`)
  for (const s of sockets) s.destroy()
  await assertAlive(v, `have ${haves.join(', ')}`)
  await honestServesLeech(v)
})
}

test('a fat extended handshake (9,996 empty strings in 20 KB) from 1,000 connections: refused; the largest one kept still holds at most 64 MiB all told', async (t) => {
  const v = await startVictim('3', 'leech')
  t.after(() => v.child.kill())
  const base = await v.memory()
  const before = await v.ask({ count: true })
  const closedBefore = v.closed
  // d 1:x l 0: ... e e: 9,999 values
  const fat = ext(0, 'd1:md6:ut_pexi2ee1:xl' + '0:'.repeat(9996 - 3) + 'ee')
  assert.ok(fat.length > 19000 && fat.length < 21000, `${fat.length} bytes`)
  const sockets = await connections(v, 1000, [fat])
  const counts = await until(() => v.ask({ count: true }), c => c.bytesRead - before.bytesRead >= 1000 * fat.length)
  assert.ok(counts.bytesRead - before.bytesRead >= 1000 * fat.length, `the victim read ${counts.bytesRead - before.bytesRead} bytes`)
  for (let i = 0; i < 400 && v.closed - closedBefore < 1000; i++) await sleep(50)
  assert.equal(v.closed - closedBefore, 1000, 'the victim closed every fat handshake')
  assert.equal(counts.extHandshakes, before.extHandshakes, 'no fat handshake reached the application')
  for (const s of sockets) s.destroy()
  // the most a handshake may hold in values (255 of them), kept by 1,000 open wires
  const kept = ext(0, 'd1:md6:ut_pexi2ee1:xl' + '0:'.repeat(248) + 'ee')
  const open = await connections(v, 1000, [kept])
  const seen = await until(() => v.ask({ count: true }), c => c.extHandshakes - before.extHandshakes >= 1000)
  assert.equal(seen.extHandshakes - before.extHandshakes, 1000, 'each largest handshake was taken')
  const m = await v.memory()
  t.diagnostic(`1000 fat handshakes refused; 1000 wires keeping a 255-value handshake: all told ${fmt(held(m, base))}`)
  assert.ok(m.live >= 1000, 'the connections are open')
  assert.ok(held(m, base) <= 64 * MiB, `the victim holds ${fmt(held(m, base))} more`)
  for (const s of open) s.destroy()
  await assertAlive(v, 'fat handshakes')
  await honestServesLeech(v)
})

test('a PEX flood (37,000 added peers in one 259 KB ut_pex message) from 20 connections: no plugin call, at most 1 MiB each, no stall over 200 ms', async (t) => {
  const v = await startVictim('3', 'seed')
  t.after(() => v.child.kill())
  const base = await v.memory()
  const before = await v.ask({ count: true })
  const flood = pexAdded(37000)
  assert.ok(flood.length > 250 * 1024)
  await v.ask({ delay: true }) // the stall is measured from here
  const sockets = await connections(v, 20, [mapBoth, flood])
  const counts = await until(() => v.ask({ count: true }), c => c.bytesRead - before.bytesRead >= 20 * flood.length)
  const { delayMax } = await v.ask({ delay: true })
  assert.ok(counts.bytesRead - before.bytesRead >= 20 * flood.length, `the victim read ${counts.bytesRead - before.bytesRead} bytes`)
  assert.equal(counts.pexPeers, before.pexPeers, 'no flooded peer reached ut_pex')
  const m = await v.memory()
  t.diagnostic(`20 PEX floods: ${fmt(held(m, base))} held, longest event-loop stall ${delayMax.toFixed(1)} ms, ${m.live} wires open`)
  assert.ok(m.live >= 20, 'the flooding connections are open (the messages were dropped)')
  assert.ok(held(m, base) <= 20 * MiB, `the victim holds ${fmt(held(m, base))} more`)
  assert.ok(delayMax <= 200, `event-loop stall of ${delayMax} ms`)
  for (const s of sockets) s.destroy()
  // an honest PEX message (50 peers, the size the PEX convention allows) reaches ut_pex
  const honest = await attacker(v)
  honest.write(Buffer.concat([mapBoth, pexAdded(50)]))
  const after = await until(() => v.ask({ count: true }), c => c.pexPeers - before.pexPeers >= 50)
  assert.equal(after.pexPeers - before.pexPeers, 50, 'the honest peers reached ut_pex')
  honest.destroy()
  await assertAlive(v, 'PEX flood')
  await honestFetch(v)
})

for (const version of ['3', '5']) {
  test(`ut_metadata ${version}.x: re-sent extended handshakes (metadata_size 10,000,000) to an app fetching metadata: 2,000 cost at most 32x the first, at most 32 MiB`, async (t) => {
    const v = await startVictim(version, 'leech')
    t.after(() => v.child.kill())
    const hs = ext(0, 'd1:md11:ut_metadatai3ee13:metadata_sizei10000000ee')
    const PIECES = Math.ceil(10000000 / 16384)
    /** An attacker that counts the ut_metadata requests the victim sends it. */
    async function fetcher () {
      const s = await attacker(v, { read: false })
      const got = { requests: 0, closed: false, tail: '' }
      s.on('data', d => {
        const text = got.tail + d.toString('latin1')
        got.requests += text.split('d8:msg_typei0e5:piecei').length - 1
        got.tail = text.slice(-32)
      })
      s.once('close', () => { got.closed = true })
      return { s, got }
    }
    const cpu = async () => (await v.ask({ cpu: true })).cpu
    // the first: ut_metadata allocates 10 MB and asks for all 611 pieces
    let c0 = await cpu()
    const one = await fetcher()
    one.s.write(hs)
    for (let i = 0; i < 200 && one.got.requests < PIECES; i++) await sleep(10)
    const first = (await cpu()) - c0
    assert.equal(one.got.requests, PIECES, 'the first handshake reached ut_metadata: it asked for every piece')
    one.s.destroy()
    await sleep(100)
    const base = await v.memory()
    // 2,000 of them in a row
    const before = await v.ask({ count: true })
    c0 = await cpu()
    const run = await fetcher()
    run.s.write(Buffer.concat(Array.from({ length: 2000 }, () => hs)))
    for (let i = 0; i < 300 && !run.got.closed; i++) await sleep(10)
    const cost = (await cpu()) - c0
    const counts = await v.ask({ count: true })
    const m = await v.memory()
    const taken = counts.extHandshakes - before.extHandshakes
    t.diagnostic(`first handshake: ${(first / 1000).toFixed(1)} ms of CPU; 2,000 re-sent: ${(cost / 1000).toFixed(1)} ms (${(cost / first).toFixed(1)}x), ${taken} taken, ${fmt(held(m, base))} held after`)
    // delivered past the bound: at least the 17th handshake was read (how much more depends on how TCP cut the stream)
    assert.ok(counts.bytesRead - before.bytesRead >= 17 * hs.length, `the victim read ${counts.bytesRead - before.bytesRead} bytes of re-sent handshakes`)
    assert.ok(taken >= 2, `the re-sent handshakes reached the application and its plugins (${taken})`)
    assert.equal(run.got.closed, true, 'the victim closed the re-sender')
    assert.ok(cost <= 32 * first, `2,000 re-sends cost ${(cost / first).toFixed(1)}x the first`)
    assert.ok(held(m, base) <= 32 * MiB, `the victim holds ${fmt(held(m, base))} more`)
    run.s.destroy()
    await assertAlive(v, 're-sent handshakes')
    await honestServesLeech(v)
  })

  test(`ut_metadata ${version}.x: destroy() and end() of a wire whose peer never reads (ut_metadata requests, 2 MiB of answers unread): close follows, the connection goes`, async (t) => {
    const v = await startVictim(version, 'seed')
    t.after(() => v.child.kill())
    const base = await v.memory()
    // 800 requests, 12.5 MiB of answers: more than the kernel's socket buffers on loopback take
    // (they took 4.7 MiB of 6.25 in one CI run, which left our output under its 2 MiB) and our 2 MiB
    const requests = Buffer.concat(Array.from({ length: 800 }, (_, i) => ext(UT_METADATA, `d8:msg_typei0e5:piecei${i % 7}ee`)))
    assert.ok(requests.length < 32 * 1024)
    for (const how of ['destroyAll', 'endAll']) {
      const s = await attacker(v, { read: false })
      s.write(Buffer.concat([mapBoth, requests]))
      // the attack is delivered: the victim's output for it is over the send watermark (2 MiB)
      const loaded = await until(() => v.memory(), m => m.maxBacklog >= 2 * MiB)
      assert.ok(loaded.maxBacklog >= 2 * MiB, `${how}: the wire holds ${fmt(loaded.maxBacklog)} of output`)
      assert.equal(loaded.live, 1)
      const r = await v.ask({ [how]: true })
      t.diagnostic(`${how}: ${r.ended} of ${r.of} wires closed after ${r.ms} ms (largest outputBacklog before: ${fmt(loaded.maxBacklog)})`)
      assert.equal(r.of, 1)
      assert.equal(r.ended, 1, `${how}: 'close' came`)
      const { sockets } = how === 'destroyAll' ? await until(() => v.ask({ count: true }), c => c.sockets === 0, 2000) : await v.ask({ count: true })
      // destroy(): the victim closed the connection at once, its unread output dropped; end(): it is
      // ended behind what it holds, which a peer that reads gets, then the end
      assert.equal(sockets, how === 'destroyAll' ? 0 : 1, `${how}: the victim's connections open`)
      const ended = once(s, 'end')
      let got = 0
      s.on('data', d => { got += d.length })
      s.resume()
      await Promise.race([ended, sleep(5000).then(() => assert.fail(`${how}: the connection was not ended`))])
      if (how === 'endAll') assert.ok(got >= 2 * MiB, `end(): the peer got the ${fmt(got)} it had not read`)
      s.destroy()
      const m = await until(() => v.memory(), m => m.wires === 0, 3000)
      assert.equal(m.wires, 0, `${how}: nothing holds the wire (garbage collected)`)
      assert.ok(held(m, base) <= 8 * MiB, `${how}: the victim holds ${fmt(held(m, base))} more`)
    }
    await assertAlive(v, 'destroy / end')
    await honestFetch(v)
    await honestBlock(v)
  })
}
