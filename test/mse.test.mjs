// Message Stream Encryption: RC4, Diffie-Hellman, the handshake state machine (both roles,
// in memory and over TCP), its bounds, timeouts and failure modes.
import test from 'node:test'
import assert from 'node:assert/strict'
import { socketPair } from './helpers.mjs'
import crypto from 'node:crypto'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  Rc4Js, createRc4, nativeRc4Available, RC4_DROP,
  DH_PRIME, generateKeyPair, computeSecret, isValidPublicKey, setDhBackend, dhBackend,
  MseHandshake, detectHandshake, createMseCiphers, skeyHash, REQ1_SYNC_WINDOW, VC_SYNC_WINDOW
} from '../dist/esm/mse/index.js'

const IH = '0123456789abcdef0123456789abcdef01234567'
const IH2 = 'fedcba9876543210fedcba9876543210fedcba98'
const CODE = 'ERR_BT_MSE_FAILED'
const hex = s => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const sha1 = (...parts) => {
  const h = crypto.createHash('sha1')
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)
  return h.digest()
}
const xor = (a, b) => Buffer.from(a.map((x, i) => x ^ b[i]))
const u32 = n => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const u16 = n => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const randInt = n => Math.floor(Math.random() * n)
const btHandshake = (ih, peer) => Buffer.concat([
  Buffer.from('\u0013BitTorrent protocol', 'latin1'), Buffer.alloc(8), Buffer.from(ih, 'hex'), Buffer.from(peer, 'hex')
])

// ---------------------------------------------------------------------------------------
// RC4

// RFC 6229 section 2: keystream bytes at the given offsets.
const RFC6229 = [
  {
    key: '0102030405',
    at: {
      0x0000: 'b2 39 63 05 f0 3d c0 27 cc c3 52 4a 0a 11 18 a8',
      0x0010: '69 82 94 4f 18 fc 82 d5 89 c4 03 a4 7a 0d 09 19',
      0x00f0: '28 cb 11 32 c9 6c e2 86 42 1d ca ad b8 b6 9e ae',
      0x0400: '30 ab bc c7 c2 0b 01 60 9f 23 ee 2d 5f 6b b7 df',
      0x0c00: 'ec 0e 11 c4 79 dc 32 9d c8 da 79 68 fe 96 56 81',
      0x1000: 'ff 25 b5 89 95 99 67 07 e5 1f bd f0 8b 34 d8 75'
    }
  },
  {
    key: '0102030405060708090a0b0c0d0e0f10',
    at: {
      0x0000: '9a c7 cc 9a 60 9d 1e f7 b2 93 28 99 cd e4 1b 97',
      0x0400: 'bd f0 32 4e 60 83 dc c6 d3 ce dd 3c a8 c5 3c 16',
      0x0ff0: 'ff 38 26 5c 16 42 c1 ab e8 d3 c2 fe 5e 57 2b f8',
      0x1000: 'a3 6a 4c 30 1a e8 ac 13 61 0c cb c1 22 56 ca cc'
    }
  },
  {
    key: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20',
    at: {
      0x0000: 'ea a6 bd 25 88 0b f9 3d 3f 5d 1e 4c a2 61 1d 91',
      0x0400: '7f ec 5b fd 9f 9b 89 ce 65 48 30 90 92 d7 e9 58',
      0x1000: 'f3 e4 c0 a2 e0 2d 1d 01 f7 f0 a7 46 18 af 2b 48'
    }
  }
]

test('rc4 (js): RFC 6229 test vectors', () => {
  for (const { key, at } of RFC6229) {
    const stream = new Rc4Js(hex(key)).update(Buffer.alloc(0x1010))
    for (const [off, want] of Object.entries(at)) {
      assert.equal(stream.subarray(+off, +off + 16).toString('hex'), hex(want).toString('hex'), `key ${key} offset ${off}`)
    }
  }
})

test('rc4: MSE drop of 1024 bytes starts at keystream offset 0x400', () => {
  assert.equal(RC4_DROP, 1024)
  for (const { key, at } of RFC6229) {
    const c = createRc4(hex(key), { impl: 'js' })
    assert.deepEqual(c.update(Buffer.alloc(16)), hex(at[0x400]))
  }
})

test('rc4 (js): chunking, update and updateInPlace give the same stream', () => {
  const key = crypto.randomBytes(20)
  const data = crypto.randomBytes(100_000)
  const whole = new Rc4Js(key, 1024).update(data)
  const c = new Rc4Js(key, 1024)
  const parts = []
  for (let i = 0; i < data.length;) {
    const n = Math.min(data.length - i, randInt(3000))
    const chunk = Buffer.from(data.subarray(i, i + n))
    parts.push(i % 2 ? c.update(chunk) : c.updateInPlace(chunk))
    i += n
  }
  assert.deepEqual(Buffer.concat(parts), whole)
  // decrypting is encrypting
  assert.deepEqual(new Rc4Js(key, 1024).update(whole), data)
  // update() leaves its input alone
  const input = Buffer.from(data.subarray(0, 64))
  new Rc4Js(key).update(input)
  assert.deepEqual(input, data.subarray(0, 64))
})

test('rc4: createRc4 picks what is available; native refuses when missing', () => {
  const c = createRc4(Buffer.from('key'))
  assert.equal(c.impl, nativeRc4Available ? 'native' : 'js')
  if (!nativeRc4Available) assert.throws(() => createRc4(Buffer.from('key'), { impl: 'native' }))
  assert.throws(() => new Rc4Js(Buffer.alloc(0)), RangeError)
})

test('rc4: native (OpenSSL legacy provider) and js agree, in a child process', (t) => {
  const rc4Url = new URL('../dist/esm/mse/rc4.js', import.meta.url).href
  const code = `
    import { Rc4Js, Rc4Native, nativeRc4Available } from ${JSON.stringify(rc4Url)}
    import crypto from 'node:crypto'
    if (!nativeRc4Available) { console.log(JSON.stringify({ native: false })); process.exit(0) }
    let ok = true
    const v = new Rc4Native(Buffer.from('0102030405', 'hex')).update(Buffer.alloc(16)).toString('hex')
    ok = ok && v === 'b2396305f03dc027ccc3524a0a1118a8'
    for (let k = 0; k < 50; k++) {
      const key = crypto.randomBytes(1 + (k % 40))
      const data = crypto.randomBytes(5000 + k * 97)
      const a = new Rc4Native(key, 1024), b = new Rc4Js(key, 1024)
      for (let i = 0; i < data.length;) {
        const n = Math.min(data.length - i, 1 + Math.floor(Math.random() * 700))
        const chunk = data.subarray(i, i + n)
        const x = i % 3 ? a.update(chunk) : a.updateInPlace(Buffer.from(chunk))
        if (!x.equals(b.update(chunk))) ok = false
        i += n
      }
    }
    console.log(JSON.stringify({ native: true, ok }))`
  const r = spawnSync(process.execPath, ['--openssl-legacy-provider', '--input-type=module', '-e', code], { encoding: 'utf8' })
  if (r.status !== 0 && /openssl-legacy-provider/.test(r.stderr)) return t.skip('node without --openssl-legacy-provider')
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  if (!out.native) return t.skip('OpenSSL offers no RC4 even with the legacy provider')
  assert.equal(out.ok, true)
})

// ---------------------------------------------------------------------------------------
// Diffie-Hellman

test('dh: native and BigInt backends agree; keys and secrets are 96 bytes', () => {
  try {
    for (let i = 0; i < 20; i++) {
      setDhBackend(null)
      const a = generateKeyPair()
      const b = generateKeyPair()
      const s1 = computeSecret(a.privateKey, b.publicKey)
      setDhBackend('bigint')
      assert.equal(dhBackend(), 'bigint')
      const s2 = computeSecret(b.privateKey, a.publicKey)
      assert.equal(a.privateKey.length, 20)
      assert.equal(a.publicKey.length, 96)
      assert.equal(s1.length, 96)
      assert.deepEqual(s1, s2)
      // public key from the BigInt side: 2^x mod P
      const x = BigInt('0x' + a.privateKey.toString('hex'))
      let r = 1n; let g = 2n; let e = x; const p = BigInt('0x' + DH_PRIME.toString('hex'))
      while (e > 0n) { if (e & 1n) r = r * g % p; g = g * g % p; e >>= 1n }
      assert.equal(r.toString(16).padStart(192, '0'), a.publicKey.toString('hex'))
    }
  } finally {
    setDhBackend(null)
  }
})

test('dh: unacceptable peer keys are refused', () => {
  const { privateKey } = generateKeyPair()
  const pMinus1 = Buffer.from(DH_PRIME); pMinus1[95] -= 1
  for (const bad of [Buffer.alloc(96), Buffer.concat([Buffer.alloc(95), Buffer.from([1])]), pMinus1, DH_PRIME, Buffer.alloc(96, 0xff), Buffer.alloc(95, 7)]) {
    assert.equal(isValidPublicKey(bad), false)
    assert.equal(computeSecret(privateKey, bad), null)
  }
  assert.equal(isValidPublicKey(Buffer.concat([Buffer.alloc(95), Buffer.from([2])])), true)
})

// ---------------------------------------------------------------------------------------
// Handshake harness: two endpoints joined by an ordered, randomly re-chunked transport.

function endpoint (hs) {
  const ep = { hs, result: null, error: null, post: [], postLength: 0, other: null, events: [] }
  ep.settled = new Promise(resolve => {
    hs.on('done', r => {
      ep.events.push('done')
      ep.result = r
      if (r.rest.length) { ep.post.push(r.rest); ep.postLength += r.rest.length }
      resolve()
    })
    hs.on('error', e => { ep.events.push('error'); ep.error = e; resolve() })
  })
  for (const name of ['pe1', 'pe2', 'pe3', 'pe4']) hs.on(name, () => ep.events.push(name))
  ep.input = chunk => {
    if (ep.result) {
      const d = ep.result.decrypt ? ep.result.decrypt.update(chunk) : chunk
      ep.post.push(d); ep.postLength += d.length
    } else if (!ep.error) {
      hs.receive(chunk)
    }
  }
  ep.data = () => Buffer.concat(ep.post)
  return ep
}

/** Join two endpoints. split: 'sync' (deliver inside 'send'), 'random' (random pieces, async), or a max piece size. */
function link (a, b, { split = 'random', max = 700 } = {}) {
  const queues = new Map([[a, []], [b, []]])
  const transmit = (to, buf) => {
    if (split === 'sync') return to.input(buf)
    const q = queues.get(to)
    for (let i = 0; i < buf.length;) {
      const n = Math.min(buf.length - i, 1 + randInt(max))
      q.push(buf.subarray(i, i + n))
      i += n
    }
    if (q.length) setImmediate(() => { while (q.length) to.input(q.shift()) })
  }
  a.other = b; b.other = a
  a.hs.on('send', buf => transmit(b, buf))
  b.hs.on('send', buf => transmit(a, buf))
  for (const ep of [a, b]) {
    ep.write = data => transmit(ep.other, ep.result.encrypt ? ep.result.encrypt.update(data) : Buffer.from(data))
    // when one side fails, the other sees the connection close
    ep.hs.on('error', () => ep.other.hs.destroy())
  }
}

/** Keep the event loop alive while waiting on something only an (unref'd) handshake timer may settle. */
function held (promise) {
  const keep = setInterval(() => {}, 1000)
  return promise.finally(() => clearInterval(keep))
}

/** Until both are done or either failed (the other is then destroyed and stays silent). */
function settledPair (a, b) {
  return held(new Promise(resolve => {
    const check = () => { if (a.error || b.error || (a.result && b.result)) resolve() }
    a.settled.then(check)
    b.settled.then(check)
  }))
}

async function waitFor (fn, ms = 3000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

async function runPair ({ a: aOpts = {}, b: bOpts = {}, split, max, startDelay = 0 } = {}) {
  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 3000, ...aOpts }))
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 3000, ...bOpts }))
  link(a, b, { split, max })
  if (startDelay) await new Promise(resolve => setTimeout(resolve, startDelay))
  a.hs.start()
  await settledPair(a, b)
  return { a, b }
}

async function exchange (a, b, size = 50_000) {
  const x = crypto.randomBytes(size)
  const y = crypto.randomBytes(size + 17)
  const baseA = a.postLength
  const baseB = b.postLength
  a.write(x)
  b.write(y)
  await waitFor(() => b.postLength >= baseB + x.length && a.postLength >= baseA + y.length)
  assert.deepEqual(b.data().subarray(baseB), x)
  assert.deepEqual(a.data().subarray(baseA), y)
}

// ---------------------------------------------------------------------------------------
// Handshake: success paths

test('mse: in memory, RC4 selected, data flows both ways encrypted', async () => {
  const { a, b } = await runPair()
  assert.equal(a.error, null); assert.equal(b.error, null)
  assert.equal(a.result.method, 'rc4')
  assert.equal(b.result.method, 'rc4')
  assert.deepEqual(a.result.infoHash, Buffer.from(IH, 'hex'))
  assert.deepEqual(b.result.infoHash, Buffer.from(IH, 'hex'))
  assert.deepEqual(b.result.skeyHash, skeyHash(IH))
  assert.equal(b.result.peerCrypto, 0x03)
  assert.equal(a.result.peerCrypto, 0x02)
  assert.deepEqual(a.events, ['pe2', 'done', 'pe4'])
  assert.deepEqual(b.events, ['pe1', 'pe3', 'done'])
  assert.ok(a.result.encrypt && a.result.decrypt && b.result.encrypt && b.result.decrypt)
  await exchange(a, b)
})

test('mse: createMseCiphers gives the streams the handshake used (3.5.5 setEncrypt)', async () => {
  const { a, b } = await runPair({ a: { ia: Buffer.from('payload') } })
  const S = a.hs.sharedSecret
  assert.deepEqual(S, b.hs.sharedSecret)
  const ca = createMseCiphers('initiator', S.toString('hex'), IH)
  const cb = createMseCiphers('responder', S, Buffer.from(IH, 'hex'))
  // step 3 encrypted part: VC, provide, len(PadC) = 0, len(IA), IA
  const step3 = cb.decrypt.update(ca.encrypt.update(Buffer.concat([Buffer.alloc(8), u32(3), u16(0), u16(7), Buffer.from('payload')])))
  assert.equal(step3.subarray(16).toString(), 'payload')
  // then both continue in step with the handshake's own streams
  const x = crypto.randomBytes(100)
  assert.deepEqual(b.result.decrypt.update(ca.encrypt.update(x)), x)
  cb.encrypt.update(Buffer.alloc(14)) // step 4
  assert.deepEqual(a.result.decrypt.update(cb.encrypt.update(x)), x)
})

test('mse: payload combinations', async () => {
  const payloads = ['rc4', 'any', 'plaintext']
  for (const pa of payloads) {
    for (const pb of payloads) {
      const { a, b } = await runPair({ a: { payload: pa }, b: { payload: pb } })
      const rc4 = pa !== 'plaintext' && pb !== 'plaintext'
      const none = (pa === 'rc4' && pb === 'plaintext') || (pa === 'plaintext' && pb === 'rc4')
      if (none) {
        assert.equal(b.error?.code, CODE, `${pa}/${pb}`)
        assert.match(b.error.message, /crypto_provide/)
        assert.equal(a.result, null)
        continue
      }
      assert.equal(a.error, null, `${pa}/${pb}: ${a.error?.message}`)
      assert.equal(b.error, null, `${pa}/${pb}: ${b.error?.message}`)
      assert.equal(a.result.method, rc4 ? 'rc4' : 'plaintext', `${pa}/${pb}`)
      assert.equal(b.result.method, a.result.method)
      assert.equal(a.result.encrypt === null, !rc4)
      assert.equal(b.result.decrypt === null, !rc4)
      await exchange(a, b, 5000)
    }
  }
})

test('mse: initial payload reaches the responder decrypted (0, 68, 65535 bytes)', async () => {
  for (const ia of [Buffer.alloc(0), btHandshake(IH, 'aa'.repeat(20)), crypto.randomBytes(65535)]) {
    for (const offer of ['any', 'plaintext']) {
      const { a, b } = await runPair({ a: { ia, payload: offer }, max: 5000 })
      assert.deepEqual(b.result.ia, ia)
      assert.equal(a.result.ia.length, 0)
    }
  }
  assert.throws(() => new MseHandshake({ role: 'initiator', infoHash: IH, ia: Buffer.alloc(65536) }), RangeError)
})

test('mse: chunked delivery at random split points, including single bytes and sync delivery', async () => {
  for (let i = 0; i < 40; i++) {
    const max = [1, 2, 7, 50, 600, 5000][i % 6]
    const offer = i % 3 === 0 ? 'plaintext' : 'any'
    const { a, b } = await runPair({ a: { payload: offer, ia: crypto.randomBytes(randInt(200)) }, b: { payload: 'any' }, max })
    assert.equal(a.error, null, a.error?.message); assert.equal(b.error, null, b.error?.message)
    await exchange(a, b, 3000)
  }
  const { a, b } = await runPair({ split: 'sync' })
  assert.equal(a.result.method, 'rc4')
  await exchange(a, b, 3000)
})

test('mse: bytes that follow the handshake in the same chunk come out in rest, decrypted', async () => {
  for (const offer of ['any', 'plaintext']) {
    // responder -> initiator: step 4 and payload in one chunk
    const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, payload: offer, timeout: 2000 }))
    const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 2000 }))
    const extraB = crypto.randomBytes(1000)
    const extraA = crypto.randomBytes(333)
    let toA = []
    a.hs.on('send', buf => b.input(buf))
    b.hs.on('send', buf => toA.push(buf))
    b.hs.on('done', r => toA.push(r.encrypt ? r.encrypt.update(extraB) : extraB))
    a.hs.start()
    // a's step 3 and some payload reach b in one chunk: hold a's step 3 until b's step 2 is in
    let chunk = Buffer.concat(toA); toA = []
    a.input(chunk)
    await held(b.settled)
    chunk = Buffer.concat(toA); toA = []
    a.input(chunk)
    await held(a.settled)
    assert.deepEqual(a.data(), extraB)
    assert.equal(a.result.method, offer === 'plaintext' ? 'plaintext' : 'rc4')
    // initiator -> responder: IA and payload after it in one chunk (initiator that knows the method)
    const c = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, payload: offer, timeout: 2000, manual: true }))
    const d = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 2000 }))
    c.hs.on('send', buf => d.input(buf))
    d.hs.on('send', buf => c.input(buf))
    c.hs.on('pe2', () => {
      // build step 3 ourselves via a second listener: append payload encrypted with keyA after it
      c.hs.removeAllListeners('send')
      let step3
      c.hs.once('send', buf => { step3 = buf })
      c.hs.sendPe3(IH, Buffer.from('ia!'))
      c.hs.on('send', buf => d.input(buf))
      // keystream after IA, from an independent cipher with the same key
      const S = c.hs.sharedSecret
      const enc = createRc4(sha1('keyA', S, Buffer.from(IH, 'hex')))
      enc.update(Buffer.alloc(step3.length - 40))
      const payload = offer === 'plaintext' ? extraA : enc.update(extraA)
      d.input(Buffer.concat([step3, offer === 'plaintext' ? extraA : payload]))
    })
    c.hs.start()
    await held(d.settled)
    assert.equal(d.error, null, d.error?.message)
    assert.deepEqual(d.result.ia, Buffer.from('ia!'))
    assert.deepEqual(d.data(), extraA)
  }
})

// ---------------------------------------------------------------------------------------
// SKEY lookup

test('mse: wrong info hash: SKEY lookup fails with a coded error', async () => {
  const { a, b } = await runPair({ b: { infoHashes: [IH2] } })
  assert.equal(b.error?.code, CODE)
  assert.match(b.error.message, /SKEY/)
  assert.equal(a.result, null)
})

test('mse: SKEY resolvers: sync, async, null, wrong, throwing, rejecting', async () => {
  const want = skeyHash(IH).toString('hex')
  const seen = []
  let r = await runPair({ b: { infoHashes: undefined, resolveSkey: h => { seen.push(h.toString('hex')); return IH } } })
  assert.equal(r.b.result.method, 'rc4'); assert.deepEqual(seen, [want])
  r = await runPair({ b: { infoHashes: undefined, resolveSkey: async () => { await new Promise(resolve => setTimeout(resolve, 20)); return Buffer.from(IH, 'hex') } } })
  assert.equal(r.b.result.method, 'rc4')
  await exchange(r.a, r.b, 1000)
  r = await runPair({ b: { infoHashes: [IH2], resolveSkey: () => IH } })
  assert.equal(r.b.result.method, 'rc4', 'resolver consulted when infoHashes has no match')
  for (const resolveSkey of [() => null, async () => undefined, () => IH2, () => 'nope', () => { throw new Error('boom') }, async () => { throw new Error('boom') }]) {
    r = await runPair({ b: { infoHashes: undefined, resolveSkey } })
    assert.equal(r.b.error?.code, CODE, String(resolveSkey))
    assert.match(r.b.error.message, /SKEY/)
  }
  // a single accepted info hash
  r = await runPair({ b: { infoHashes: undefined, infoHash: IH } })
  assert.equal(r.b.result.method, 'rc4')
  r = await runPair({ b: { infoHashes: undefined, infoHash: IH2 } })
  assert.equal(r.b.error?.code, CODE)
})

// ---------------------------------------------------------------------------------------
// Manual driving, as WebTorrent drives bittorrent-protocol 3.5.5

test('mse: manual mode, sendPe* inside the pe listeners (3.5.5 / WebTorrent 1.x)', async () => {
  const a = endpoint(new MseHandshake({ role: 'initiator', manual: true, payload: 'rc4', timeout: 2000 }))
  const b = endpoint(new MseHandshake({ role: 'responder', manual: true, timeout: 2000 }))
  link(a, b)
  let hashSeen = null
  b.hs.on('pe1', () => b.hs.sendPe2())
  a.hs.on('pe2', () => a.hs.sendPe3(IH))
  b.hs.on('pe3', h => {
    hashSeen = h
    if (h === sha1(Buffer.from('72657132' + IH, 'hex')).toString('hex')) b.hs.sendPe4(IH)
  })
  let pe4AfterDone = false
  a.hs.on('pe4', () => { pe4AfterDone = a.result !== null })
  a.hs.sendPe1()
  await Promise.all([a.settled, b.settled])
  assert.equal(hashSeen, skeyHash(IH).toString('hex'))
  assert.equal(a.result.method, 'rc4')
  assert.ok(pe4AfterDone)
  await exchange(a, b, 2000)
})

test('mse: manual mode, steps driven later (asynchronously); nothing moves without them', async () => {
  const a = endpoint(new MseHandshake({ role: 'initiator', manual: true, infoHash: IH, timeout: 2000 }))
  const b = endpoint(new MseHandshake({ role: 'responder', manual: true, timeout: 2000 }))
  const sent = { a: 0, b: 0 }
  a.hs.on('send', () => sent.a++)
  b.hs.on('send', () => sent.b++)
  link(a, b)
  b.hs.on('pe1', () => setTimeout(() => b.hs.sendPe2(), 30))
  a.hs.on('pe2', () => setTimeout(() => a.hs.sendPe3(), 30))
  b.hs.on('pe3', () => setTimeout(() => b.hs.sendPe4(IH), 30))
  a.hs.start()
  await waitFor(() => b.events.includes('pe1'))
  assert.equal(sent.b, 0, 'responder waits for sendPe2()')
  await Promise.all([a.settled, b.settled])
  assert.equal(a.result.method, 'rc4')
  await exchange(a, b, 2000)
})

test('mse: sendPe4 with the wrong info hash fails; sendPe* from the wrong side throws', async () => {
  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 2000 }))
  const b = endpoint(new MseHandshake({ role: 'responder', manual: true, timeout: 2000 }))
  link(a, b)
  b.hs.on('pe1', () => b.hs.sendPe2())
  b.hs.on('pe3', () => b.hs.sendPe4(IH2))
  a.hs.start()
  await held(b.settled)
  assert.equal(b.error?.code, CODE)
  assert.match(b.error.message, /does not match/)
  assert.throws(() => a.hs.sendPe2())
  assert.throws(() => b.hs.sendPe1())
  assert.throws(() => b.hs.sendPe3(IH))
  assert.throws(() => a.hs.sendPe4(IH))
  const c = new MseHandshake({ role: 'initiator', timeout: 0 })
  assert.throws(() => c.sendPe3(IH), /pe2/)
  assert.throws(() => new MseHandshake({ role: 'responder', infoHash: 'xyz' }), TypeError)
  assert.throws(() => new MseHandshake({ role: 'responder', payload: 'never' }), TypeError)
})

// ---------------------------------------------------------------------------------------
// Hand-made peers for the bounds

function craftInitiator ({ padA = 0, provide = 0x02, padC = 0, padCLen, ia = Buffer.alloc(0), iaLen, skey = IH } = {}) {
  const kp = generateKeyPair()
  return {
    step1: Buffer.concat([kp.publicKey, crypto.randomBytes(padA)]),
    step3 (yb) {
      const S = computeSecret(kp.privateKey, yb)
      const key = Buffer.from(skey, 'hex')
      const enc = createRc4(sha1('keyA', S, key))
      const head = Buffer.concat([sha1('req1', S), xor(sha1('req2', key), sha1('req3', S))])
      const body = Buffer.concat([Buffer.alloc(8), u32(provide), u16(padCLen ?? padC), crypto.randomBytes(padC), u16(iaLen ?? ia.length), ia])
      return Buffer.concat([head, enc.update(body)])
    }
  }
}

function craftResponder ({ padB = 0, select = 0x02, padD = 0, padDLen, vc = Buffer.alloc(8) } = {}) {
  const kp = generateKeyPair()
  return {
    step2: Buffer.concat([kp.publicKey, crypto.randomBytes(padB)]),
    step4 (ya) {
      const S = computeSecret(kp.privateKey, ya)
      const enc = createRc4(sha1('keyB', S, Buffer.from(IH, 'hex')))
      return enc.update(Buffer.concat([vc, u32(select), u16(padDLen ?? padD), crypto.randomBytes(padD)]))
    }
  }
}

function responderAgainst (crafted, opts = {}) {
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 500, ...opts }))
  let yb = null
  b.hs.on('send', buf => { if (!yb) yb = buf.subarray(0, 96) })
  b.input(crafted.step1)
  if (yb) b.input(crafted.step3(yb))
  return b
}

function initiatorAgainst (crafted, opts = {}) {
  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 500, ...opts }))
  let ya = null
  a.hs.on('send', buf => { if (!ya) ya = buf.subarray(0, 96) })
  a.hs.start()
  a.input(crafted.step2)
  if (!a.error) a.input(crafted.step4(ya))
  return a
}

test('mse: PadA of 512 bytes syncs, 513 does not (window of 532 after Ya)', async () => {
  assert.equal(REQ1_SYNC_WINDOW, 532)
  let b = responderAgainst(craftInitiator({ padA: 512 }))
  await held(b.settled)
  assert.equal(b.error, null, b.error?.message)
  b = responderAgainst(craftInitiator({ padA: 513 }))
  await held(b.settled)
  assert.equal(b.error?.code, CODE)
  assert.match(b.error.message, /req1/)
})

test('mse: PadB of 512 bytes syncs, 513 does not (window of 520 after Yb)', async () => {
  assert.equal(VC_SYNC_WINDOW, 520)
  let a = initiatorAgainst(craftResponder({ padB: 512 }))
  await held(a.settled)
  assert.equal(a.error, null, a.error?.message)
  a = initiatorAgainst(craftResponder({ padB: 513 }))
  await held(a.settled)
  assert.equal(a.error?.code, CODE)
  assert.match(a.error.message, /VC/)
})

test('mse: over-long or malformed fields end with a coded error naming the step', async () => {
  const cases = [
    [responderAgainst(craftInitiator({ padC: 513 })), /PadC/],
    [responderAgainst(craftInitiator({ padCLen: 65535 })), /PadC/],
    [responderAgainst(craftInitiator({ ia: Buffer.alloc(300) }), { maxIaLength: 100 }), /len\(IA\)/],
    [responderAgainst(craftInitiator({ provide: 0 })), /crypto_provide/],
    [responderAgainst(craftInitiator({ provide: 0xfffffff0 })), /crypto_provide/],
    [responderAgainst(craftInitiator({ skey: IH2 })), /SKEY/],
    [initiatorAgainst(craftResponder({ padD: 513 })), /PadD/],
    [initiatorAgainst(craftResponder({ select: 0x03 })), /crypto_select/],
    [initiatorAgainst(craftResponder({ select: 0x00 })), /crypto_select/],
    [initiatorAgainst(craftResponder({ select: 0x01 }), { payload: 'rc4' }), /crypto_select/],
    // a wrong VC cannot be told from PadB until the window is full: here, it times out
    [initiatorAgainst(craftResponder({ vc: Buffer.alloc(8, 1) })), /timed out after 500 ms in step 4 \(VC sync\)/]
  ]
  for (const [ep, re] of cases) {
    await held(ep.settled)
    assert.equal(ep.error?.code, CODE, `${re}: ${ep.error?.message}`)
    assert.match(ep.error.message, re)
  }
  // accepted padding lengths: PadC / PadD of exactly 512
  let b = responderAgainst(craftInitiator({ padC: 512, ia: Buffer.from('x') }))
  await held(b.settled)
  assert.equal(b.error, null); assert.deepEqual(b.result.ia, Buffer.from('x'))
  const a = initiatorAgainst(craftResponder({ padD: 512 }))
  await held(a.settled)
  assert.equal(a.error, null)
  // a responder with bits we did not ask for but RC4 among them still works
  b = responderAgainst(craftInitiator({ provide: 0x102 }))
  await held(b.settled)
  assert.equal(b.result.method, 'rc4')
})

test('mse: garbage input fails fast, at the sync bound', async () => {
  // responder: valid-looking Ya then garbage
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 2000 }))
  b.input(generateKeyPair().publicKey)
  b.input(crypto.randomBytes(531))
  assert.equal(b.error, null)
  b.input(crypto.randomBytes(1))
  assert.equal(b.error?.code, CODE)
  // initiator: Yb then garbage
  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 2000 }))
  a.hs.start()
  a.input(Buffer.concat([generateKeyPair().publicKey, crypto.randomBytes(600)]))
  assert.equal(a.error?.code, CODE)
  assert.match(a.error.message, /VC/)
  // invalid public keys
  for (const key of [Buffer.alloc(96), Buffer.alloc(96, 0xff), DH_PRIME]) {
    const r = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 2000 }))
    r.input(key)
    assert.equal(r.error?.code, CODE)
    assert.match(r.error.message, /step 1.*public key/)
    const i = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 2000 }))
    i.input(key)
    assert.match(i.error.message, /step 2.*public key/)
  }
  // a flood of random data
  for (let k = 0; k < 20; k++) {
    const r = endpoint(new MseHandshake({ role: k % 2 ? 'responder' : 'initiator', infoHash: IH, timeout: 2000 }))
    r.input(crypto.randomBytes(randInt(100_000) + 700))
    assert.equal(r.error?.code, CODE)
  }
})

test('mse: peers that talk before their turn are cut off', async () => {
  // manual responder that has not sent step 2: only PadA can legitimately arrive
  const b = endpoint(new MseHandshake({ role: 'responder', manual: true, infoHashes: [IH], timeout: 2000 }))
  b.input(Buffer.concat([generateKeyPair().publicKey, crypto.randomBytes(512)]))
  assert.equal(b.error, null)
  b.input(Buffer.alloc(1))
  assert.match(b.error?.message, /PadA/)
  // manual initiator that has not sent step 3: only PadB can arrive
  const a = endpoint(new MseHandshake({ role: 'initiator', manual: true, timeout: 2000 }))
  a.hs.start()
  a.input(Buffer.concat([generateKeyPair().publicKey, crypto.randomBytes(513)]))
  assert.match(a.error?.message, /PadB/)
  // waiting for the SKEY: bounded buffer
  const c = endpoint(new MseHandshake({ role: 'responder', manual: true, timeout: 2000, maxBuffered: 70_000 }))
  let yb
  c.hs.on('send', buf => { yb ??= buf.subarray(0, 96) })
  c.hs.on('pe1', () => c.hs.sendPe2())
  const cr = craftInitiator()
  c.input(cr.step1)
  c.input(cr.step3(yb))
  assert.equal(c.events.at(-1), 'pe3')
  c.input(crypto.randomBytes(69_000))
  assert.equal(c.error, null)
  c.input(crypto.randomBytes(2000))
  assert.match(c.error?.message, /buffered/)
})

test('mse: truncated input times out with a coded error naming the step; timers do not hold the process', async () => {
  const started = Date.now()
  const r = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 150 }))
  r.input(crypto.randomBytes(50))
  await held(r.settled)
  assert.equal(r.error.code, CODE)
  assert.match(r.error.message, /timed out after 150 ms in step 1 \(Ya\)/)
  assert.ok(Date.now() - started < 1000)

  const cr = craftInitiator({ ia: Buffer.alloc(100) })
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 150 }))
  let yb
  b.hs.on('send', buf => { yb ??= buf.subarray(0, 96) })
  b.input(cr.step1)
  b.input(cr.step3(yb).subarray(0, -10))
  await held(b.settled)
  assert.match(b.error.message, /timed out .* step 3 \(IA\)/)

  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 100 }))
  a.hs.start()
  await held(a.settled)
  assert.match(a.error.message, /step 2 \(Yb\)/)

  // a silent handshake with the default 30 s timer must not keep node alive
  const child = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { MseHandshake } from ${JSON.stringify(new URL('../dist/esm/mse/index.js', import.meta.url).href)}
     const h = new MseHandshake({ role: 'responder' }); h.on('error', () => {}); h.receive(Buffer.alloc(10))`], { timeout: 10_000 })
  assert.equal(child.status, 0)
})

test('mse: destroy() silences everything; receive() after done throws', async () => {
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 50 }))
  b.input(crypto.randomBytes(10))
  b.hs.destroy()
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.deepEqual(b.events, [])
  assert.equal(b.hs.active, false)
  b.hs.receive(crypto.randomBytes(5000)) // ignored
  assert.deepEqual(b.events, [])
  const { a } = await runPair()
  assert.equal(a.hs.finished, true)
  assert.throws(() => a.hs.receive(Buffer.alloc(1)), /done/)
})

test('mse: detectHandshake tells a plain BitTorrent handshake from MSE', () => {
  const plain = btHandshake(IH, 'aa'.repeat(20))
  assert.equal(detectHandshake(plain), 'plain')
  assert.equal(detectHandshake(plain.subarray(0, 20)), 'plain')
  assert.equal(detectHandshake(plain.subarray(0, 5)), 'more')
  assert.equal(detectHandshake(Buffer.alloc(0)), 'more')
  assert.equal(detectHandshake(Buffer.from([19, 0x42, 0x69, 0x74, 0x00])), 'mse') // Ya that starts like it
  assert.equal(detectHandshake(Buffer.from([0x12])), 'mse')
})

test('mse: an initiator\'s Ya never starts with 0x13 (3.5.5 would read it as a plain handshake)', () => {
  // 3000 keys: with a uniform first byte, the chance that none starts with 0x13 is (255/256)^3000 < 0.0001%
  let responderHits = 0
  for (let i = 0; i < 3000; i++) {
    const a = new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 0 })
    assert.notEqual(a.publicKey[0], 0x13)
    a.destroy()
  }
  // the responder is not restricted (nobody sniffs its first byte): the draw stays uniform there
  for (let i = 0; i < 3000; i++) {
    const b = new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 0 })
    if (b.publicKey[0] === 0x13) responderHits++
    b.destroy()
  }
  assert.ok(responderHits > 0, 'responder keys starting with 0x13 occur')
})

// ---------------------------------------------------------------------------------------
// Over TCP

async function tcpPair ({ initiatorIsClient = true, a: aOpts = {}, b: bOpts = {} } = {}) {
  const { client, serverSocket } = await socketPair()
  const [ia, ib] = initiatorIsClient ? [client, serverSocket] : [serverSocket, client]
  const a = endpoint(new MseHandshake({ role: 'initiator', infoHash: IH, timeout: 3000, ...aOpts }))
  const b = endpoint(new MseHandshake({ role: 'responder', infoHashes: [IH], timeout: 3000, ...bOpts }))
  for (const [ep, sock] of [[a, ia], [b, ib]]) {
    ep.sock = sock
    sock.on('data', chunk => ep.input(chunk))
    sock.on('error', () => {})
    ep.hs.on('send', buf => sock.write(buf))
    ep.hs.on('error', () => sock.destroy())
    ep.write = data => sock.write(ep.result.encrypt ? ep.result.encrypt.update(data) : data)
  }
  a.hs.start()
  await settledPair(a, b)
  return { a, b, close: () => { client.destroy(); serverSocket.destroy() } }
}

test('mse over TCP: both directions, RC4 and plaintext, 1 MiB each way', async () => {
  for (const initiatorIsClient of [true, false]) {
    for (const offer of ['rc4', 'plaintext']) {
      const { a, b, close } = await tcpPair({ initiatorIsClient, a: { payload: offer, ia: btHandshake(IH, 'ab'.repeat(20)) }, b: { payload: 'any' } })
      try {
        assert.equal(a.error, null, a.error?.message); assert.equal(b.error, null, b.error?.message)
        assert.equal(a.result.method, offer === 'rc4' ? 'rc4' : 'plaintext')
        assert.deepEqual(b.result.ia, btHandshake(IH, 'ab'.repeat(20)))
        await exchange(a, b, 1 << 20)
      } finally {
        close()
      }
    }
  }
})

test('mse over TCP: require vs plaintext-only and wrong info hash fail with a coded error, socket closed', async () => {
  let r = await tcpPair({ a: { payload: 'rc4' }, b: { payload: 'plaintext' } })
  assert.equal(r.b.error?.code, CODE)
  assert.equal(r.a.result, null)
  r.close()
  r = await tcpPair({ initiatorIsClient: false, b: { infoHashes: [IH2] } })
  assert.equal(r.b.error?.code, CODE)
  assert.match(r.b.error.message, /SKEY/)
  r.close()
})
