// Heap held per idle handshaken wire, two measures (needs --expose-gc):
//   unpiped: two wires that exchanged handshakes (and extended handshakes) by hand, each
//            one's output read off and written into the other, then nothing attached: what
//            the wire itself holds;
//   piped:   the same through a.pipe(b).pipe(a), as a client holds a wire on its socket:
//            the wire plus the stream machinery of the pipe.
// Floors, under the same two measures: bare readable-stream Duplexes (the base class of our
// Wire) with no protocol state, unpiped and piped into each other.
import stream from 'readable-stream'
import { IMPLS, IH, ID_A, ID_B, pipedPair, destroyAll, noop } from './impls.mjs'

function bare () {
  return new stream.Duplex({ read () {}, write (chunk, enc, cb) { cb() } })
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
  const make = impl === 'duplex' ? () => barePair(piped) : piped ? () => pipedPair(impl) : () => unpipedPair(impl)
  // two rounds of as many pairs first build shared state (prototypes, module caches) and get the
  // code that makes them compiled: JIT code and feedback made while measuring counted 0.1 to
  // 0.4 KiB per wire, varying from run to run (heap snapshots of 500 pairs; 0.1 with one round)
  for (let round = 0; round < 2; round++) {
    const warm = []
    for (let i = 0; i < pairs; i++) warm.push(make())
    await Promise.all(warm.map(p => p.ready))
    await settle()
    for (const p of warm) destroyAll(p.a, p.b)
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
  for (const p of held) destroyAll(p.a, p.b)
  await settle()
  return (after - before) / (pairs * 2)
}
