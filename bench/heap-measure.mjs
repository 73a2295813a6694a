// Heap held per idle handshaken wire, two measures (needs --expose-gc):
//   unpiped: two wires that exchanged handshakes (and extended handshakes) by hand, each
//            one's output read off and written into the other, then nothing attached: what
//            the wire itself holds;
//   piped:   the same through a.pipe(b).pipe(a), as a client holds a wire on its socket:
//            the wire plus the stream machinery of the pipe.
// Floors, under the same two measures: bare readable-stream Duplexes (the base class of our
// Wire) with no protocol state, unpiped and piped into each other.
import stream from 'readable-stream'
import { createRequire } from 'node:module'
import bencode from 'bencode'
import streamx from 'streamx'
import { overWebTorrentPipes } from './webtorrent-pipes.mjs'
import { IMPLS, IH, ID_A, ID_B, pipedPair, destroyAll, noop } from './impls.mjs'

function bare () {
  return new stream.Duplex({ read () {}, write (chunk, enc, cb) { cb() } })
}

// streamx is the stream base of 5.0.9 (the same version: npm dedupes it)
function bareStreamx () {
  return new streamx.Duplex({ write (data, cb) { cb() } })
}

/**
 * The stream base of implementation `impl` alone: a pair of its bare Duplexes piped into each
 * other (readable-stream 3 for ours and 3.5.5, streamx for 5.0.9).
 */
export function basePair (impl) {
  const make = impl === 'bt5' ? bareStreamx : bare
  const a = make()
  const b = make()
  a.pipe(b).pipe(a)
  return { a, b, ready: Promise.resolve() }
}

/** Bytes of heap per stream of `pairs` pairs of `impl`'s stream base, piped (see `basePair`). */
export async function heapPerBase (impl, pairs) {
  return heapOf(() => basePair(impl), pairs)
}

export function barePair (piped) {
  const a = bare()
  const b = bare()
  if (piped) a.pipe(b).pipe(a)
  return { a, b, ready: Promise.resolve() }
}

/** Move what each wire has to say to the other until both are quiet. */
async function exchange (a, b) {
  for (let quiet = 0; quiet < 3;) {
    let moved = false
    for (const [from, to] of [[a, b], [b, a]]) {
      let chunk
      while ((chunk = from.read()) !== null && chunk !== undefined) { to.write(chunk); moved = true }
    }
    quiet = moved ? 0 : quiet + 1
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** Two wires of one implementation, handshaken without pipe(); resolves when both saw the other's handshake. */
export function unpipedPair (impl) {
  const a = IMPLS[impl].create()
  const b = IMPLS[impl].create()
  a.on('error', noop)
  b.on('error', noop)
  const seen = Promise.all([new Promise(resolve => a.once('handshake', resolve)), new Promise(resolve => b.once('handshake', resolve))])
  a.handshake(IH, ID_A)
  b.handshake(IH, ID_B)
  return { a, b, ready: exchange(a, b).then(() => seen).then(noop) }
}

export async function settle () {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

function gcHeap () {
  globalThis.gc(); globalThis.gc()
  return process.memoryUsage().heapUsed
}

/**
 * Bytes of heap per wire for `pairs` pairs of `impl` ('ours', 'bt3', 'bt5' or 'duplex'),
 * `piped` or not. The pairs are destroyed before it resolves.
 */
export async function heapPerWire (impl, piped, pairs) {
  return heapOf(impl === 'duplex' ? () => barePair(piped) : piped ? () => pipedPair(impl) : () => unpipedPair(impl), pairs)
}

/** Bytes of heap per wire of `pairs` pairs made by `make`; they are destroyed before it resolves. */
async function heapOf (make, pairs) {
  // two rounds of as many pairs first build shared state (prototypes, module caches) and get the
  // code that makes them compiled: JIT code and feedback made while measuring counted 0.1 to
  // 0.4 KiB per wire, varying from run to run (heap snapshots of 500 pairs; 0.1 with one round)
  for (let round = 0; round < 2; round++) {
    const warm = []
    for (let i = 0; i < pairs; i++) warm.push(make())
    await Promise.all(warm.map(p => p.ready))
    await settle()
    for (const p of warm) destroyAll(p.a, p.b, ...(p.streams ?? []))
    // destroy() lets the last of a wire's events come within a timer tick
    await new Promise(resolve => setTimeout(resolve, 10))
    await settle()
  }
  const held = []
  const before = gcHeap()
  for (let i = 0; i < pairs; i++) held.push(make())
  await Promise.all(held.map(p => p.ready))
  await settle()
  const after = gcHeap()
  for (const p of held) destroyAll(p.a, p.b, ...(p.streams ?? []))
  await settle()
  return (after - before) / (pairs * 2)
}

// A wire as WebTorrent holds one (lib/peer.js, lib/torrent.js of WebTorrent 1.9.7 and 3.0.21):
// the three plugins of its line, keep-alive on, a request timeout set, our handshake with DHT and
// the fast extension asked for, both handshakes and extended handshakes exchanged, and each
// side's bitfield of a 1,000-piece torrent sent and received, interested. The plugins of
// WebTorrent 3 (ut_metadata 5, ut_pex 5, lt_donthave 2) run on ours and on 5.0.9, those of
// WebTorrent 1.9.7 (ut_metadata 3, ut_pex 3, lt_donthave 1) on ours and on 3.5.5.
const require = createRequire(import.meta.url)
const PLUGINS = {
  5: async () => [(await import('ut_metadata5')).default, (await import('ut_pex5')).default, (await import('lt_donthave2')).default],
  3: async () => [require('ut_metadata'), require('ut_pex'), require('lt_donthave')]
}
const plugins = {}
// one torrent's info dictionary and bitfield, shared by every wire, as in a client
const METADATA = bencode.encode({ info: { name: Buffer.from('data.bin'), 'piece length': 16384, length: 16384 * 1000, pieces: Buffer.alloc(20 * 1000, 7) } })
const BITFIELD = Buffer.alloc(125, 0xff)

function webtorrentPair (impl, [utMetadata, utPex, ltDontHave], connect = pipeInMemory) {
  const pair = pipedPairWith(impl, connect, w => {
    w.use(utMetadata(METADATA))
    w.use(utPex())
    w.use(ltDontHave())
    w.setKeepAlive(true)
    w.setTimeout(30000, true)
  }, { dht: true, fast: true })
  const bitfields = Promise.all([new Promise(resolve => pair.a.once('bitfield', resolve)), new Promise(resolve => pair.b.once('bitfield', resolve))])
  pair.ready = pair.ready.then(() => {
    for (const w of [pair.a, pair.b]) { w.bitfield(BITFIELD); w.interested() }
    return bitfields
  }).then(() => {
    // WebTorrent's _updateWire, run on every 'bitfield' and 'have', reads each wire's requests
    for (const w of [pair.a, pair.b]) if (w.requests.length !== 0) throw new Error('no request was made')
  })
  return pair
}

function pipeInMemory (a, b) {
  a.pipe(b).pipe(a)
  return Promise.resolve([])
}

function pipedPairWith (impl, connect, setup, extensions) {
  const a = IMPLS[impl].create()
  const b = IMPLS[impl].create()
  a.on('error', noop)
  b.on('error', noop)
  setup(a)
  setup(b)
  const extended = w => new Promise(resolve => w.on('extended', ext => { if (ext === 'handshake') resolve() }))
  const ready = Promise.all([extended(a), extended(b)]).then(noop)
  b.once('handshake', () => b.handshake(IH, ID_B, extensions))
  const pair = { a, b, streams: [], ready: null }
  const connected = connect(a, b).then(streams => { pair.streams = streams; a.handshake(IH, ID_A, extensions) })
  pair.ready = connected.then(() => ready)
  return pair
}

/** Bytes of heap per wire set up as WebTorrent `line` (3 or 5) sets one up, `pairs` pairs of `impl`. */
export async function heapPerWebTorrentWire (impl, line, pairs, tcp = false) {
  return heapOf(await webTorrentPairMaker(impl, line, tcp), pairs)
}

/**
 * A function making one pair of `impl` wires set up as WebTorrent `line` (3 or 5) does, piped into
 * each other in memory or (`tcp`) each on its end of a loopback TCP connection through WebTorrent's
 * own pipes (bench/webtorrent-pipes.mjs; for heap snapshots too).
 */
export async function webTorrentPairMaker (impl, line, tcp = false) {
  const set = (plugins[line] ??= await PLUGINS[line]())
  return () => webtorrentPair(impl, set, tcp ? (a, b) => overWebTorrentPipes(line, a, b) : pipeInMemory)
}
