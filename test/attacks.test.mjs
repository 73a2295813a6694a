// Attacks from issue 12 over real TCP (127.0.0.1) against an application in a child process
// (test/fixtures/victim.mjs) that uses the real ut_metadata (3.x and 5.x) and ut_pex plugins,
// keep-alives on, and no 'error' listener on its wires. After each attack the victim must be
// alive, its event loop ticking, and an honest peer on the same app still served.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import crypto from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { ID, u32, msg, ext, handshakeBytes } from './fixtures/raw.mjs'
import { startVictim, assertAlive, attacker, sendAndWait, honestFetch, honestServesLeech, sleep, MiB } from './fixtures/victim-lib.mjs'

const UT_METADATA = 1 // our victim's ids: use() order
const UT_PEX = 2
const mapBoth = ext(0, 'd1:md11:ut_metadatai3e6:ut_pexi4eee')
const request = piece => ext(UT_METADATA, `d8:msg_typei0e5:piecei${piece}ee`)

for (const version of ['3', '5']) {
  let seed, leech
  const victims = []
  before(async () => {
    seed = await startVictim(version, 'seed')
    leech = await startVictim(version, 'leech')
    victims.push(seed, leech)
  })
  after(() => { for (const v of victims) if (v.child.exitCode === null) v.child.kill() })

  test(`ut_metadata ${version}.x: plugin crashes are closed per wire (request before the extended handshake, unmapped, piece -1, data before metadata_size)`, async () => {
    // 99 bytes: a request on our ut_metadata id from a peer that never announced ut_metadata
    const early = Buffer.concat([handshakeBytes({ fast: false, infoHash: seed.infoHash }), request(0)])
    assert.ok(early.length <= 99)
    let s = await attacker(seed)
    await sendAndWait(s, [request(0)], 300)
    await assertAlive(seed, 'request before extended handshake')
    // mapped, then unmapped with m.ut_metadata = 0, then asked
    s = await attacker(seed)
    await sendAndWait(s, [ext(0, 'd1:md11:ut_metadatai3eee'), ext(0, 'd1:md11:ut_metadatai0eee'), request(0)], 300)
    await assertAlive(seed, 'unmapped before asking')
    // piece -1 and a piece far past the end
    for (const piece of [-1, 99999, 2 ** 40]) {
      s = await attacker(seed)
      await sendAndWait(s, [mapBoth, request(piece)], 300)
      await assertAlive(seed, `piece ${piece}`)
    }
    // a leech that called fetch() gets data before any metadata_size
    s = await attacker(leech)
    await sendAndWait(s, [mapBoth, ext(UT_METADATA, Buffer.concat([Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei100ee'), Buffer.alloc(100, 7)]))], 500)
    await assertAlive(leech, 'data before metadata_size')
    await honestFetch(seed)
    await honestServesLeech(leech)
  })

  test(`ut_metadata ${version}.x: bencode that hangs bencode.decode (d-3:ee, l-3:ee) closes the wire; the event loop keeps ticking`, async () => {
    const payloads = [
      ext(0, 'd-3:ee'), ext(0, 'l-3:ee'), ext(0, 'd1:ml-3:eee'),
      Buffer.concat([mapBoth, ext(UT_METADATA, 'd-3:ee')]),
      Buffer.concat([mapBoth, ext(UT_METADATA, 'd8:msg_typei0e5:piece-3:ee')]),
      Buffer.concat([mapBoth, ext(UT_METADATA, 'l-3:ee')]),
      Buffer.concat([mapBoth, ext(UT_PEX, 'd5:added-3:ee')]),
      Buffer.concat([mapBoth, ext(UT_PEX, 'l-3:ee')])
    ]
    for (const [i, p] of payloads.entries()) {
      for (const v of [seed, leech]) {
        const s = await attacker(v)
        const closed = await sendAndWait(s, [p], 2000)
        assert.equal(closed, true, `payload ${i}: the victim closed the connection`)
        await assertAlive(v, `payload ${i}`)
      }
    }
    await honestFetch(seed)
    await honestServesLeech(leech)
  })

  test(`ut_metadata ${version}.x: 300 large extended handshakes keep the victim's memory bounded`, async (t) => {
    const base = await seed.memory()
    // one connection, 300 distinct handshakes of 250 KiB (over the size cap: closed at the first)
    let s = await attacker(seed)
    // a dictionary of distinct names ("m" entries) of about `bytes` bytes
    const mDict = (tag, bytes) => {
      let body = ''
      for (let k = 0; body.length < bytes; k++) { const key = `${tag}-${k}`; body += key.length + ':' + key + 'i1e' }
      return ext(0, 'd1:md' + body + 'ee')
    }
    const big = n => mDict('n' + n, 250 * 1024)
    const hs = Array.from({ length: 8 }, (_, n) => big(n))
    const parts = []
    for (let i = 0; i < 300; i++) parts.push(hs[i % hs.length])
    assert.ok(parts[0].length > 200 * 1024)
    assert.equal(await sendAndWait(s, parts, 3000), true, 'closed')
    // 300 connections, one handshake each just under the cap (60 KiB, thousands of names)
    const mid = mDict('mid', 60 * 1024)
    const pending = []
    for (let i = 0; i < 300; i++) {
      pending.push((async () => { const c = await attacker(seed); await sendAndWait(c, [mid, mid, mid], 300) })())
      if (pending.length >= 30) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    // one connection, re-sending 60 KiB handshakes: the budget closes it
    s = await attacker(seed)
    assert.equal(await sendAndWait(s, Array.from({ length: 300 }, () => mid), 3000), true, 'budget closes a re-sender')
    await assertAlive(seed, 'large handshakes')
    const now = await seed.memory()
    const grew = (now.heap + now.arrayBuffers - base.heap - base.arrayBuffers) / MiB
    t.diagnostic(`victim heap + arrayBuffers after GC grew ${grew.toFixed(2)} MiB`)
    assert.ok(grew <= 32, `victim grew ${grew.toFixed(1)} MiB`)
    await honestFetch(seed)
  })

  test(`ut_metadata ${version}.x: a TCP reset with keep-alive on destroys the wire within a second; memory is released`, async (t) => {
    const base = await seed.memory()
    const closedBefore = seed.closed
    // a peer that asks for lots and never reads, then resets
    const s = await attacker(seed, { read: false })
    s.write(msg(ID.interested))
    await sleep(100)
    const reqs = []
    for (let i = 0; i < 400; i++) reqs.push(msg(ID.request, i, 0, 128 * 1024))
    s.write(Buffer.concat(reqs))
    await sleep(500)
    const loaded = await seed.memory()
    s.resetAndDestroy()
    const t0 = Date.now()
    while (seed.closed === closedBefore && Date.now() - t0 < 1000) await sleep(10)
    assert.equal(seed.closed, closedBefore + 1, 'the wire closed within a second of the reset')
    t.diagnostic(`closed ${Date.now() - t0} ms after the reset`)
    await sleep(100)
    const now = await seed.memory()
    const held = (now.heap + now.arrayBuffers - base.heap - base.arrayBuffers) / MiB
    const was = (loaded.heap + loaded.arrayBuffers - base.heap - base.arrayBuffers) / MiB
    t.diagnostic(`held ${was.toFixed(1)} MiB while connected, ${held.toFixed(2)} MiB after the reset and GC`)
    assert.ok(held < 8, `after the reset the victim holds ${held.toFixed(1)} MiB more (it held ${was.toFixed(1)} MiB with the peer connected)`)
    assert.equal(now.wires, 0, 'the wire was garbage collected')
    await assertAlive(seed, 'reset')
    await honestFetch(seed)
  })
}

test('timeouts: a silent connection, a dripped handshake and a peer that goes quiet are closed; keep-alives keep a wire open', async (t) => {
  const v = await startVictim('3', 'seed', ['--timeouts'])
  t.after(() => v.child.kill())
  // silent: no byte at all
  const silent = net.connect(v.port, '127.0.0.1')
  silent.on('error', () => {})
  silent.resume()
  await once(silent, 'connect')
  assert.equal(await sendAndWait(silent, [], 3000), true, 'a silent connection is closed (handshakeTimeout)')
  // a handshake dripped at one byte per 50 ms (68 bytes: 3.4 s) never completes within 500 ms
  const drip = net.connect(v.port, '127.0.0.1')
  drip.on('error', () => {})
  drip.resume()
  await once(drip, 'connect')
  const hs = handshakeBytes({ fast: false, infoHash: v.infoHash })
  let dripClosed = false
  drip.once('close', () => { dripClosed = true })
  for (let i = 0; i < hs.length && !dripClosed; i++) { drip.write(hs.subarray(i, i + 1)); await sleep(50) }
  assert.equal(dripClosed, true, 'a dripped handshake is closed')
  // handshaken, then quiet: idleTimeout
  const quiet = await attacker(v)
  assert.equal(await sendAndWait(quiet, [], 3000), true, 'a quiet peer is closed (idleTimeout)')
  // keep-alives every 300 ms keep it open for 2.5 s (idleTimeout is 1 s)
  const talker = await attacker(v)
  let talkerClosed = false
  talker.once('close', () => { talkerClosed = true })
  for (let i = 0; i < 8; i++) { talker.write(u32(0)); await sleep(300) }
  assert.equal(talkerClosed, false, 'keep-alives keep the wire open')
  talker.destroy()
  await assertAlive(v, 'timeouts')
  await honestFetch(v)
})

test('the wire ends with its connection: a source or destination that closes, errors or is destroyed destroys it', async () => {
  const { PassThrough } = await import('node:stream')
  for (const [label, kill] of [
    ['source destroyed', (src) => src.destroy()],
    ['source errors', (src) => src.destroy(new Error('ECONNRESET'))],
    ['destination destroyed', (_src, dest) => dest.destroy()],
    ['destination errors', (_src, dest) => dest.destroy(new Error('EPIPE'))]
  ]) {
    const src = new PassThrough()
    const dest = new PassThrough()
    src.on('error', () => {})
    dest.on('error', () => {})
    const wire = new Wire()
    src.pipe(wire).pipe(dest)
    wire.setKeepAlive(true)
    wire.setTimeout(60000)
    const closed = once(wire, 'close', { signal: AbortSignal.timeout(1000) })
    // a pending request of ours: its callback must get an error
    src.write(handshakeBytes({ fast: true }))
    wire.handshake('0123456789abcdef0123456789abcdef01234567', '2d4141303030302d' + 'a'.repeat(24), { fast: true })
    src.write(msg(ID.haveAll))
    src.write(msg(ID.allowedFast, 0))
    await new Promise(resolve => setImmediate(resolve))
    const failed = new Promise(resolve => wire.request(0, 0, 16384, err => resolve(err)))
    kill(src, dest)
    await closed
    const err = await failed
    assert.equal(err?.code, 'ERR_BT_WIRE_CLOSED', `${label}: the pending request failed`)
    assert.equal(wire.destroyed, true, label)
  }
})

test('the wire ends with its connection when one stream is piped both ways (socket.pipe(wire).pipe(socket)) or only read from', async () => {
  const { PassThrough, Duplex } = await import('node:stream')
  const shapes = {
    // one Duplex, piped both ways: followed through our pipe into it
    'both ways': () => {
      const s = new Duplex({ read () {}, write (chunk, enc, cb) { cb() } })
      const wire = new Wire()
      s.pipe(wire).pipe(s)
      return { wire, conn: s, feed: b => s.push(b) }
    },
    // only read from: followed by a listener of its own
    'source only': () => {
      const s = new PassThrough()
      const wire = new Wire()
      s.pipe(wire)
      wire.resume()
      return { wire, conn: s, feed: b => s.write(b) }
    },
    // another Wire piped both ways (its 'close' alone is followed)
    'another wire': () => {
      const other = new Wire()
      const wire = new Wire()
      other.on('error', () => {})
      wire.pipe(other).pipe(wire)
      other.handshake('0123456789abcdef0123456789abcdef01234567', '2d4141303030302d' + 'b'.repeat(24), { fast: true })
      // its handshake and unchoke stand for the bytes fed to the others
      return { wire, conn: other, feed: () => other.unchoke() }
    }
  }
  for (const [shape, make] of Object.entries(shapes)) {
    for (const [label, kill] of [['destroyed', c => c.destroy()], ['errors', c => c.destroy(new Error('ECONNRESET'))]]) {
      const { wire, conn, feed } = make()
      conn.on('error', () => {})
      wire.setKeepAlive(true)
      const closed = once(wire, 'close', { signal: AbortSignal.timeout(1000) })
      feed(handshakeBytes({ fast: true }))
      wire.handshake('0123456789abcdef0123456789abcdef01234567', '2d4141303030302d' + 'a'.repeat(24), { fast: true })
      feed(msg(ID.haveAll))
      feed(msg(ID.allowedFast, 0))
      for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve))
      const failed = new Promise(resolve => wire.request(0, 0, 16384, err => resolve(err)))
      kill(conn)
      await closed
      assert.equal((await failed)?.code, 'ERR_BT_WIRE_CLOSED', `${shape}, ${label}: the pending request failed`)
      assert.equal(wire.destroyed, true, `${shape}, ${label}`)
    }
  }
  // a TCP connection reset under socket.pipe(wire).pipe(socket)
  const server = net.createServer()
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const accepted = once(server, 'connection')
  const client = net.connect(server.address().port, '127.0.0.1')
  const [socket] = await accepted
  socket.on('error', () => {})
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  wire.setKeepAlive(true)
  const closed = once(wire, 'close', { signal: AbortSignal.timeout(2000) })
  client.resetAndDestroy()
  await closed
  assert.equal(wire.destroyed, true, 'TCP reset')
  server.close()
})

test('bt-wire seed survives every attack and still serves an honest peer', async (t) => {
  const { startSeed } = await import('../packages/bt-wire/test/cli-lib.mjs')
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'bt-attacks-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'data.bin'), crypto.randomBytes(256 * 1024))
  const seed = await startSeed(t, [join(dir, 'data.bin'), '--timeout', '2'])
  let stderr = ''
  seed.child.stderr.on('data', d => { stderr += d })
  const v = { port: seed.listening.port, infoHash: seed.listening.infoHash }
  const alive = (label) => {
    assert.equal(seed.child.exitCode, null, `${label}: bt-wire seed exited: ${stderr}`)
    assert.doesNotMatch(stderr, /Error|Unhandled|at /, label)
  }
  const attacks = [
    [request(0)], // ut_metadata before the extended handshake
    [ext(0, 'd1:md11:ut_metadatai3eee'), ext(0, 'd1:md11:ut_metadatai0eee'), request(0)],
    [mapBoth, request(-1)],
    [ext(0, 'd-3:ee')], [ext(0, 'l-3:ee')],
    [mapBoth, ext(UT_METADATA, 'd-3:ee')], [mapBoth, ext(UT_METADATA, 'l-3:ee')],
    Array.from({ length: 20 }, (_, i) => ext(0, 'd1:md' + Array.from({ length: 6000 }, (_, k) => `${String(i * 10000 + k).padStart(8, '0')}i1e`).map(kv => '8:' + kv).join('') + 'ee'))
  ]
  for (const [i, parts] of attacks.entries()) {
    const s = await attacker(v)
    await sendAndWait(s, parts, 500)
    await sleep(50)
    alive(`attack ${i}`)
  }
  // a reset with unread output
  const s = await attacker(v, { read: false })
  s.write(Buffer.concat([msg(ID.interested), ...Array.from({ length: 200 }, (_, i) => msg(ID.request, i % 16, 0, 16384))]))
  await sleep(300)
  s.resetAndDestroy()
  await sleep(200)
  alive('reset')
  await honestFetch(v)
  alive('honest fetch')
})
