// The three wires under test, behind one tiny adapter each, so a scenario can run
// them side by side: ours (the built dist/), bittorrent-protocol 3.5.5 (devDependency
// `bt3`) and 5.0.9 (devDependency `bt5`).
import { createRequire } from 'node:module'
import Ours from '../dist/index.mjs'
import Bt5 from 'bt5'

const require = createRequire(import.meta.url)
const Bt3 = require('bt3')

/** One listener for every wire's 'error' (a closure per wire would count in the heap measures). */
export function noop () {}

export const IH = '0123456789abcdef0123456789abcdef01234567'
export const ID_A = 'aa'.repeat(20)
export const ID_B = 'bb'.repeat(20)

/** name -> { Wire, create(opts) } ; opts: { maxMessageLength } */
export const IMPLS = {
  ours: {
    label: 'ours',
    create: (opts = {}) => new Ours(opts.maxMessageLength ? { maxMessageLength: opts.maxMessageLength } : null)
  },
  bt3: {
    label: '3.5.5',
    create: () => new Bt3()
  },
  bt5: {
    label: '5.0.9',
    create: () => new Bt5()
  }
}

export const ANCHORS = ['bt3', 'bt5']
/** Labels of the reference rows that are not wires. */
export const REFERENCES = { raw: 'raw socket', duplex: 'bare readable-stream Duplex pair' }

/** A 68-byte BitTorrent handshake (BEP 10 bit set, like every wire here sends). */
export function handshakeBytes (ih = IH, id = ID_B) {
  const b = Buffer.alloc(68)
  b[0] = 19
  b.write('BitTorrent protocol', 1, 'latin1')
  Buffer.from(ih, 'hex').copy(b, 28)
  Buffer.from(id, 'hex').copy(b, 48)
  return b
}

/** Two wires of one implementation piped into each other and handshaken; resolves when both saw the other's handshake. */
export function pipedPair (impl, opts) {
  const a = IMPLS[impl].create(opts)
  const b = IMPLS[impl].create(opts)
  a.on('error', noop)
  b.on('error', noop)
  a.pipe(b).pipe(a)
  // resolves to nothing: not the info hashes the 'handshake' events carry (heap measures hold it)
  const ready = Promise.all([new Promise(resolve => a.once('handshake', resolve)), new Promise(resolve => b.once('handshake', resolve))]).then(noop)
  a.handshake(IH, ID_A)
  b.handshake(IH, ID_B)
  return { a, b, ready }
}

/** Answer every request at once with `block` (no disk in the way), and unchoke. */
export function seed (seeder, block) {
  seeder.on('request', (index, offset, length, respond) => respond(null, block))
  seeder.unchoke()
}

/**
 * Fetch `count` blocks of `len` bytes with `inFlight` requests outstanding, starting
 * when the peer unchokes us; resolves with the elapsed seconds.
 */
export function leech (leecher, len, count, inFlight = 64) {
  const perPiece = Math.max(1, Math.floor((1 << 20) / len)) // 1 MiB pieces
  return new Promise((resolve, reject) => {
    let sent = 0
    let done = 0
    let t0 = 0n
    const next = () => {
      const n = sent++
      leecher.request(Math.floor(n / perPiece), (n % perPiece) * len, len, onBlock)
    }
    const onBlock = (err, buf) => {
      if (err) { reject(err); return }
      if (buf.length !== len) { reject(new Error('short block')); return }
      if (++done === count) { resolve(Number(process.hrtime.bigint() - t0) / 1e9); return }
      if (sent < count) next()
    }
    const start = () => {
      t0 = process.hrtime.bigint()
      for (let i = 0; i < inFlight && sent < count; i++) next()
    }
    if (leecher.peerChoking === false) start()
    else leecher.once('unchoke', start)
  })
}

/** Both directions of a piped pair: `seeder` serves `count` blocks to `leecher`; elapsed seconds. */
export function transfer (seeder, leecher, block, count, inFlight = 64) {
  const p = leech(leecher, block.length, count, inFlight)
  seed(seeder, block)
  return p
}

export function destroyAll (...wires) {
  for (const w of wires) {
    try { w.destroy() } catch {}
  }
}
