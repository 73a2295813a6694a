// Seeded fuzzing of the Wire with random and mutated messages.
//
// The seed corpus (test/testdata/fuzz/wire/<outcome>.<name>, one binary input each, made by
// test/fixtures/make-fuzz-corpus.mjs) is run as-is first, with its expected outcome checked; then
// at least FUZZ_MESSAGES (default 100,000) messages -- mutated corpus inputs, generated sessions
// of valid messages with some of them mutated, and random bytes -- go through fresh wires in
// chunks of random sizes. No exception may escape, at most one coded error per wire, every
// request callback is called exactly once, the wire always closes, and memory stays bounded.
//
// Reproduce a failure: FUZZ_SEED=<printed seed> node --test test/fuzz.test.mjs
// A fresh seed: FUZZ_SEED=random. Longer run: FUZZ_MESSAGES=2000000.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { ErrorCodes } from 'bittorrent-protocol'
import {
  ID, EXACT, CODES, u32, msg, framed, ext, handshakeBytes, harness, settle, mulberry32, makeExtension
} from './fixtures/raw.mjs'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const CORPUS_DIR = fileURLToPath(new URL('./testdata/fuzz/wire/', import.meta.url))
const corpus = readdirSync(CORPUS_DIR).sort().map(file => {
  const outcome = file.slice(0, file.indexOf('.'))
  return { name: file, bytes: readFileSync(CORPUS_DIR + file), expect: outcome === 'ok' ? null : ErrorCodes[outcome] }
})

const envSeed = process.env.FUZZ_SEED
const SEED = envSeed === 'random' ? (Math.random() * 2 ** 32) >>> 0 : envSeed !== undefined ? Number(envSeed) >>> 0 : 0x5eed2024
const MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 100000)
const Ext = makeExtension('ut_test')
const Ext2 = makeExtension('ut_pex')

/** Split an input into units: the handshake, then length-prefixed messages; a ragged tail is one unit. */
function units (bytes) {
  const out = []
  let off = 0
  if (bytes[0] === 19 && bytes.length >= 68) { out.push(bytes.subarray(0, 68)); off = 68 }
  while (off < bytes.length) {
    const len = off + 4 <= bytes.length ? bytes.readUInt32BE(off) : Infinity
    const end = off + 4 + len
    if (end > bytes.length) { out.push(bytes.subarray(off)); break }
    out.push(bytes.subarray(off, end))
    off = end
  }
  return out
}

function makeRandom (seed) {
  const rand = mulberry32(seed)
  const r = {
    rand,
    int: (n) => Math.floor(rand() * n), // 0..n-1
    chance: (p) => rand() < p,
    pick: (arr) => arr[Math.floor(rand() * arr.length)],
    bytes: (n) => { const b = Buffer.allocUnsafe(n); for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256); return b }
  }
  return r
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 12, 13, 16383, 16384, 16385, 131071, 131072, 131073, 0x1fffff, 0x200000,
  0x200001, 0x13426974, 0x40001, 0x41000, 0x41001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
const INTERESTING_BYTES = [0, 1, 19, 0x7f, 0x80, 0xfe, 0xff]
const KNOWN_IDS = Object.values(ID)

/** A random bencoded value, sometimes malformed. */
function bencodeValue (R, depth = 0) {
  const k = R.int(depth > 3 ? 3 : 6)
  if (k === 0) return 'i' + R.pick(['0', '-1', '1', '255', '256', '-0', '99999999999999999999', String(R.int(1000))]) + 'e'
  if (k === 1) { const s = R.pick(['ut_test', 'ut_pex', 'm', 'v', '__proto__', 'constructor', 'x', '']); return s.length + ':' + s }
  if (k === 2) return R.pick(['', 'x', 'i', 'd', 'l', 'e', '5:ab', 'i1', '-1:', '01:a'])
  if (k === 3) return 'l' + Array.from({ length: R.int(4) }, () => bencodeValue(R, depth + 1)).join('') + 'e'
  return 'd' + Array.from({ length: R.int(4) }, () => {
    const key = R.pick(['m', 'v', 'p', 'reqq', 'metadata_size', 'ut_test', 'ut_pex', '__proto__', 'yourip', 'e'])
    return key.length + ':' + key + bencodeValue(R, depth + 1)
  }).join('') + 'e'
}

function extendedHandshake (R) {
  const entries = Array.from({ length: R.int(4) }, () => {
    const name = R.pick(['ut_test', 'ut_pex', 'ut_metadata', '__proto__', 'constructor', 'x'])
    const v = R.pick(['i1e', 'i2e', 'i0e', 'i255e', 'i256e', 'i-1e', 'i99999999999e', '1:a', 'le', 'de'])
    return name.length + ':' + name + v
  })
  return R.pick([
    'd1:md' + entries.join('') + 'ee',
    'd1:md' + entries.join('') + 'e1:v5:fuzz!e',
    bencodeValue(R),
    'd1:m' + bencodeValue(R) + 'e'
  ])
}

/** A valid (well-framed) message of a random kind. */
function validUnit (R) {
  const index = () => R.chance(0.8) ? R.int(64) : R.pick(INTERESTING_U32)
  const blockLen = () => R.chance(0.8) ? 16384 : R.pick([1, 1000, 131072, 0, 131073])
  switch (R.int(22)) {
    case 0: return u32(0)
    case 1: return msg(ID.choke)
    case 2: return msg(ID.unchoke)
    case 3: return msg(ID.interested)
    case 4: return msg(ID.notInterested)
    case 5: return msg(ID.have, index())
    case 6: return msg(ID.bitfield, R.bytes(R.int(40)))
    case 7: return msg(ID.request, index(), R.int(8) * 16384, blockLen())
    case 8: return msg(ID.piece, index(), R.int(8) * 16384, R.bytes(R.int(64)))
    case 9: return msg(ID.cancel, index(), R.int(8) * 16384, blockLen())
    case 10: return msg(ID.port, R.bytes(2))
    case 11: return msg(ID.suggest, index())
    case 12: return msg(ID.haveAll)
    case 13: return msg(ID.haveNone)
    case 14: return msg(ID.reject, index(), R.int(8) * 16384, blockLen())
    case 15: return msg(ID.allowedFast, index())
    case 16: case 17: return ext(0, Buffer.from(extendedHandshake(R), 'latin1'))
    case 18: return ext(R.int(4), R.bytes(R.int(32)))
    case 19: return msg(R.pick([10, 11, 12, 18, 19, 24, 100, 255]), R.bytes(R.int(16)))
    case 20: return msg(R.pick([ID.hashRequest, ID.hashReject, ID.hashes]), R.bytes(48 + (R.chance(0.5) ? 0 : 32 * R.int(3))))
    default: return handshakeBytes()
  }
}

/** Mutate one unit at the byte level. */
function mutate (R, unit) {
  const b = Buffer.from(unit)
  switch (R.int(10)) {
    case 0: if (b.length) { const i = R.int(b.length); b[i] ^= 1 << R.int(8) } return b
    case 1: if (b.length) b[R.int(b.length)] = R.pick(INTERESTING_BYTES); return b
    case 2: if (b.length >= 4) b.writeUInt32BE(R.pick(INTERESTING_U32), 0); return b // length prefix
    case 3: if (b.length >= 4) b.writeUInt32BE((b.readUInt32BE(0) + R.pick([-2, -1, 1, 2])) >>> 0, 0); return b
    case 4: if (b.length >= 5) b[4] = R.chance(0.5) ? R.pick(KNOWN_IDS) : R.int(256); return b // id
    case 5: return b.subarray(0, R.int(b.length + 1)) // truncate
    case 6: return Buffer.concat([b, R.bytes(1 + R.int(16))]) // extend
    case 7: if (b.length >= 9) b.writeUInt32BE(R.pick(INTERESTING_U32), 5 + 4 * R.int(Math.min(3, (b.length - 5) >> 2))); return b // a field
    case 8: { // the id's exact length, off by one, as a whole new message
      const id = R.pick(Object.keys(EXACT).map(Number))
      const len = EXACT[id] + R.pick([-1, 1, 2])
      return framed(Math.max(len, 1), id, R.bytes(Math.max(len - 1, 0)))
    }
    default: return R.bytes(1 + R.int(24))
  }
}

/** Build one input: a list of units (each counted as a message). */
function makeInput (R) {
  const mode = R.int(10)
  let list
  if (mode < 4) {
    // a corpus input, mutated at the unit and byte level
    list = units(R.pick(corpus).bytes).slice()
    if (list.length > 200) list = list.slice(0, 1 + R.int(200))
  } else if (mode < 9) {
    // a generated session: a handshake and valid messages
    list = [handshakeBytes({ fast: R.chance(0.7), extended: R.chance(0.9), dht: R.chance(0.3) })]
    const n = 1 + R.int(24)
    for (let i = 0; i < n; i++) list.push(validUnit(R))
  } else {
    // random bytes, after a handshake or not
    list = R.chance(0.8) ? [handshakeBytes()] : []
    for (let i = 0, n = 1 + R.int(8); i < n; i++) list.push(R.bytes(1 + R.int(48)))
  }
  // unit-level mutations: mutate, drop, duplicate, swap, insert
  const rounds = R.chance(0.15) ? 0 : 1 + R.int(3)
  for (let k = 0; k < rounds && list.length > 0; k++) {
    const i = R.int(list.length)
    switch (R.int(6)) {
      case 0: case 1: list[i] = mutate(R, list[i]); break
      case 2: list.splice(i, 1); break
      case 3: list.splice(i, 0, list[i]); break
      case 4: { const j = R.int(list.length); [list[i], list[j]] = [list[j], list[i]]; break }
      default: list.splice(i, 0, R.chance(0.7) ? validUnit(R) : mutate(R, validUnit(R)))
    }
  }
  return list
}

/** Chunk sizes: one byte at a time, small, medium or whole. */
function chunker (R, total) {
  const kind = R.int(4)
  if (kind === 0) return () => 1
  if (kind === 1) return () => 1 + R.int(16)
  if (kind === 2) return () => 1 + R.int(512)
  return () => total
}

/**
 * Run one input through a fresh wire. Returns { code, failures } where failures lists broken
 * invariants. The harness makes requests, answers the peer's, and checks bounds after each chunk.
 */
async function runInput (R, bytes, { wireOpts, errorListener = true, weFast = true } = {}) {
  const failures = []
  const { w, rec } = harness({ wire: wireOpts, errorListener, weFast, extensions: [Ext, Ext2] })
  const callbacks = new Map() // id -> times called
  let nextId = 0
  const makeRequest = () => {
    const id = nextId++
    callbacks.set(id, 0)
    try {
      w.request(R.int(64), 0, 16384, () => callbacks.set(id, callbacks.get(id) + 1))
    } catch (err) {
      failures.push('request() threw: ' + err.message)
    }
  }
  w.on('request', (index, offset, length, respond) => {
    const k = R.int(4)
    if (k === 0) respond(null, Buffer.alloc(Math.min(length, 64)))
    else if (k === 1) respond(new Error('no'))
    // else: leave it pending
  })
  const maxMessageLength = w.maxMessageLength
  const bitfieldCap = Math.ceil(w.maxPieces / 8)
  let peakBuffered = 0
  const next = chunker(R, bytes.length)
  for (let off = 0; off < bytes.length;) {
    const n = next()
    try {
      w.write(bytes.subarray(off, off + n))
    } catch (err) {
      failures.push('write threw: ' + (err && err.stack))
      break
    }
    off += n
    const buffered = w.inputBacklog
    if (buffered > Math.max(maxMessageLength, 68)) failures.push(`reader holds ${buffered} bytes > ${maxMessageLength}`)
    peakBuffered = Math.max(peakBuffered, buffered)
    if (w.peerRequests.length > w.maxPeerRequests) failures.push(`peer request queue ${w.peerRequests.length}`)
    if (w.peerPieces.buffer.length > bitfieldCap) failures.push(`peerPieces grew to ${w.peerPieces.buffer.length} bytes`)
    if (w.peerAllowedFastSet.length > 100) failures.push('allowed-fast set unbounded')
    if (R.chance(0.05)) makeRequest()
  }
  await settle(1)
  const alive = !w.destroyed
  if (alive) {
    if (R.chance(0.5)) w.destroy()
    else w.end()
    await settle(3)
  }
  if (!rec.closed) failures.push("no 'close'")
  if (rec.errors.length > 1) failures.push(`${rec.errors.length} errors`)
  for (const err of rec.errors) if (!CODES.has(err.code)) failures.push('error without a code: ' + err.message)
  for (const [id, calls] of callbacks) if (calls !== 1) failures.push(`request callback ${id} called ${calls} times`)
  if (w.requests.length !== 0) failures.push('requests left pending')
  let code = 'open'
  if (!alive) {
    if (!errorListener) code = 'closed quietly (no listener)'
    else if (rec.errors.length === 1) code = rec.errors[0].code
    else failures.push('destroyed without an error')
  }
  return { code, failures, peakBuffered }
}

test('seed corpus: each input as-is, whole and one byte at a time, has its expected outcome', async () => {
  assert.ok(corpus.length >= 30, `${corpus.length} corpus inputs`)
  for (const { name, bytes, expect } of corpus) {
    for (const oneByte of [false, true]) {
      const res = await runChunked(bytes, oneByte)
      assert.deepEqual(res.failures, [], name)
      assert.equal(res.code, expect, `${name}${oneByte ? ' (1-byte chunks)' : ''}`)
    }
  }
})

async function runChunked (bytes, oneByte) {
  const { w, rec } = harness({ extensions: [Ext, Ext2] })
  if (oneByte) for (let i = 0; i < bytes.length; i++) w.write(bytes.subarray(i, i + 1))
  else w.write(bytes)
  await settle(2)
  const code = w.destroyed ? rec.errors[0]?.code : null
  w.destroy()
  await settle(2)
  return { code, failures: rec.closed ? [] : ["no 'close'"] }
}

test(`fuzz: ${MESSAGES} random and mutated messages through fresh wires (seed printed)`, async (t) => {
  const R = makeRandom(SEED)
  t.diagnostic(`FUZZ_SEED=${SEED}`)
  console.log(`# fuzz seed ${SEED} (reproduce: FUZZ_SEED=${SEED} node --test test/fuzz.test.mjs)`)
  const uncaught = []
  const onUncaught = (err) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  const t0 = performance.now()
  gc()
  const heapStart = process.memoryUsage().heapUsed
  let heapPeak = 0
  let messages = 0
  let inputs = 0
  let bytesTotal = 0
  let peakBuffered = 0
  const outcomes = {}
  try {
    while (messages < MESSAGES) {
      const list = makeInput(R)
      const bytes = Buffer.concat(list)
      const small = R.chance(0.25)
      const wireOpts = small
        ? { maxMessageLength: 16 + R.int(4000), maxPieces: 1 + R.int(2000), maxPeerRequests: 1 + R.int(50), maxInvalidRequests: 1 + R.int(3) }
        : undefined
      const opts = { wireOpts, errorListener: R.chance(0.7), weFast: R.chance(0.7) }
      const res = await runInput(R, bytes, opts)
      if (uncaught.length) res.failures.push('uncaught: ' + (uncaught[0] && uncaught[0].stack))
      if (res.failures.length) {
        assert.fail(`seed ${SEED}, input #${inputs}: ${res.failures.join('; ')}\n` +
          `options ${JSON.stringify(opts)}\ninput (hex): ${bytes.subarray(0, 4096).toString('hex')}`)
      }
      outcomes[res.code] = (outcomes[res.code] ?? 0) + 1
      messages += list.length
      bytesTotal += bytes.length
      peakBuffered = Math.max(peakBuffered, res.peakBuffered)
      inputs++
      if (inputs % 2000 === 0) {
        gc()
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed - heapStart)
      }
    }
  } finally {
    process.off('uncaughtException', onUncaught)
  }
  await settle(2)
  gc()
  const heapEnd = process.memoryUsage().heapUsed - heapStart
  heapPeak = Math.max(heapPeak, heapEnd)
  const ms = performance.now() - t0
  const summary = `${messages} messages in ${inputs} inputs (${(bytesTotal / 1048576).toFixed(1)} MiB) in ${(ms / 1000).toFixed(1)} s; ` +
    `peak reader buffer ${peakBuffered} B; retained heap growth peak ${(heapPeak / 1024).toFixed(0)} KiB, end ${(heapEnd / 1024).toFixed(0)} KiB`
  t.diagnostic(summary)
  t.diagnostic('outcomes ' + JSON.stringify(outcomes))
  assert.deepEqual(uncaught, [])
  assert.ok(messages >= MESSAGES)
  assert.ok(heapPeak < 32 * 1024 * 1024, summary)
  // the mix reaches every kind of verdict, so it is not just bouncing off the handshake
  for (const code of ['open', ErrorCodes.BAD_LENGTH, ErrorCodes.MESSAGE_TOO_LONG, ErrorCodes.BAD_HANDSHAKE,
    ErrorCodes.DUPLICATE_HANDSHAKE, ErrorCodes.REQUEST_TOO_LARGE, ErrorCodes.PIECE_INDEX_OUT_OF_RANGE,
    ErrorCodes.FAST_NOT_NEGOTIATED]) {
    if (MESSAGES >= 100000) assert.ok(outcomes[code] > 0, `no input ended in ${code}`)
  }
})
